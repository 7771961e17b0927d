"""Training checkers: the paper's learning-rate schedule (notebook 07) and what trains in
phase two of fine-tuning (08)."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from reslab.autodiff import to_numpy
from reslab.checks.verdict import Verdict, _call, _fail, _result

# --- Notebook 07: the paper's learning-rate schedule -------------------------------------

# Not at 400, 32,000 or 48,000 themselves: at an edge either side's rate is a fair answer.
SCHEDULE_PROBES = (
    0,
    1,
    200,
    399,
    401,
    1_000,
    20_000,
    31_999,
    32_001,
    40_000,
    47_999,
    48_001,
    63_999,
)


def check_paper_schedule(fn: Callable) -> Verdict:
    """Check `fn(iteration, warmup)` returns He et al. 2015's CIFAR learning rate (§4.2): 0.1,
    divided by 10 at 32k and at 48k iterations; with `warmup`, 0.01 for the first 400."""
    from reslab.experiments import step_schedule

    for warmup in (False, True):
        reference = step_schedule(0.1, 64_000, warmup_steps=400 if warmup else 0)
        for step in SCHEDULE_PROBES:
            got, error = _result(fn, step, warmup)
            if error is not None:
                return error
            try:
                got = float(to_numpy(got))
            except Exception:
                return _fail(
                    f"Return one number, the learning rate. Received: {type(got).__name__}"
                )
            expected = float(reference(step))
            if np.isclose(got, expected, rtol=1e-6):
                continue
            where = f"At iteration {step:,}{' with warm-up' if warmup else ''}"
            if warmup and step < 400 and np.isclose(got, 0.1):
                return _fail(f"{where}: {got:g}; the warm-up runs at 0.01 for the first 400.")
            if warmup and step > 400 and np.isclose(got, 0.01) and step < 32_000:
                return _fail(
                    f"{where}: {got:g}; after 400 iterations the warm-up ends: back to 0.1."
                )
            if step < 32_000 and got < expected:
                return _fail(
                    f"{where}: {got:g}, expected {expected:g}: the rate drops too early. The "
                    "boundaries count iterations, 32,000 and 48,000 (of 64,000), not epochs."
                )
            if step < 32_000:
                return _fail(f"{where}: {got:g}; the paper starts at 0.1 (§4.2).")
            if step < 48_000:
                return _fail(
                    f"{where}: {got:g}, expected {expected:g}: divided by 10 once so far, at "
                    "iteration 32,000."
                )
            return _fail(
                f"{where}: {got:g}, expected {expected:g}: divided by 10 at 32,000 and again "
                "at 48,000."
            )
    return Verdict(True, "Correct: 0.1, then 0.01 from 32k and 0.001 from 48k; warm-up at 0.01.")


# --- Notebook 08: which layers train in phase two ----------------------------------------


def _small_trunk() -> keras.Model:
    from reslab import models

    return models.resnet(50, include_top=False, input_shape=(32, 32, 3), width=0.0625)


def check_phase_two(fn: Callable) -> Verdict:
    """Check `fn(trunk)` makes ResNet-50's conv5 layers trainable for fine-tuning, keeps every
    other layer and every BN layer frozen (He et al.'s BN, frozen, runs in inference mode)."""
    from reslab import train

    trunk = _small_trunk()
    trunk.trainable = False  # as after phase one
    _, error = _call(fn, trunk)
    if error is not None:
        return error
    reference = _small_trunk()
    train.set_trainable(reference, ("conv5_",))
    if not trunk.trainable:
        return _fail(
            "The trunk itself is still frozen (trunk.trainable is False), so no layer in it "
            "trains. Set trunk.trainable = True first, then freeze layer by layer."
        )
    for mine, theirs in zip(trunk.layers, reference.layers, strict=True):
        if mine.trainable == theirs.trainable or not mine.weights:
            continue
        if isinstance(mine, keras.layers.BatchNormalization):
            return _fail(
                f"`{mine.name}` is trainable. Keep every BN layer frozen: in Keras a frozen BN "
                "also runs in inference mode, with its pretrained statistics (the pitfall "
                "notebook 08 measures)."
            )
        state = "trainable" if mine.trainable else "frozen"
        should = "only conv5's layers train" if mine.trainable else "conv5's layers train"
        return _fail(f"`{mine.name}` is {state}; in phase two {should}.")
    count = len(trunk.trainable_weights)
    return Verdict(True, f"Correct: conv5's convolutions train ({count} weights), BN frozen.")
