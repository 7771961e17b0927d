"""Exercise checkers: run the learner's code on fixed inputs, compare with the reference,
and say specifically what is wrong. Each returns a `Verdict` that prints as one message.
One module per topic; every checker is imported from here (`checks.check_grad_cam`).
"""

from reslab.checks.blocks import check_convolutional_block, check_identity_block, check_preact_block
from reslab.checks.grad_cam import check_grad_cam
from reslab.checks.gradients import check_gradient_norms, check_healthy_mlp
from reslab.checks.images import check_prepare_images
from reslab.checks.networks import check_keras_trunk, check_plain_parameters, check_resnet50
from reslab.checks.successors import check_squeeze_excite
from reslab.checks.training import check_paper_schedule, check_phase_two
from reslab.checks.verdict import Verdict

__all__ = [
    "Verdict",
    "check_convolutional_block",
    "check_grad_cam",
    "check_gradient_norms",
    "check_healthy_mlp",
    "check_identity_block",
    "check_keras_trunk",
    "check_paper_schedule",
    "check_phase_two",
    "check_plain_parameters",
    "check_preact_block",
    "check_prepare_images",
    "check_resnet50",
    "check_squeeze_excite",
]
