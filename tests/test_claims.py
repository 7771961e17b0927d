"""Every measured claim in the prose of notebooks 01, 02 and 07, checked against the committed
results it rests on (`figures/results/`, written by a real `cpu` run of the notebook or by
`python -m reslab.experiments`). A re-run that changes an outcome fails here, so the text
cannot silently go wrong. Each test quotes the sentence it pins."""

from __future__ import annotations

import json
import math

import pytest

from reslab import config

RESULTS = config.ROOT / "figures" / "results"


def _json(name: str) -> dict:
    record = json.loads((RESULTS / f"{name}.json").read_text())
    assert record.get("profile", "cpu") == "cpu", f"{name}.json must come from a cpu run"
    return record


# --- 01 · vanishing gradients ----------------------------------------------------------------


@pytest.fixture(scope="module")
def nb01() -> dict:
    return _json("01_vanishing_gradients")


def test_01_sigmoid_gradients_vanish_towards_the_input(nb01):
    """ "in the deepest network the first layers' gradients are many orders of magnitude below
    the last ones', or underflow to exactly zero"; the factor is below sigma' <= 1/4."""
    deepest = nb01["at_init"]["sigmoid, Glorot, 50"]
    assert deepest["first / last hidden"] < 1e-6
    assert nb01["sigmoid_factor_per_layer"] < 0.3


def test_01_glorot_relu_shrinks_by_one_over_root_two_per_layer(nb01):
    """ "compare the fitted factor with 0.71"."""
    assert nb01["glorot_factor_per_depth"] == pytest.approx(1 / math.sqrt(2), abs=0.05)


def test_01_he_keeps_the_gradients_of_one_order_at_every_depth(nb01):
    """ "the gradient norms stay of the same order at every depth we tried"."""
    medians = nb01["he_median_by_depth"].values()
    assert max(medians) / min(medians) < 10
    assert nb01["at_init"]["ReLU, He, 50"]["first / last hidden"] < 3


def test_01_bn_gradients_explode_towards_the_input_at_depth(nb01):
    """ "in the deepest BN network the first layer's gradient is thousands of times the last
    hidden layer's"."""
    assert nb01["at_init"]["ReLU, He + BN, 50"]["first / last hidden"] > 1000
    assert nb01["at_init"]["ReLU, He + BN, 5"]["first / last hidden"] < 10


def test_01_training_curves_of_the_20_layer_nets(nb01):
    """ "The sigmoid network stays at chance", "ReLU + Glorot starts slowly", "ReLU + He and
    ReLU + He + BN learn from the first epoch"; BN's input-side gradients "start larger than
    the rest and fall back in line after the first epoch"."""
    trained, first = nb01["trained_20"], nb01["trained_20_first_epoch_accuracy"]
    assert trained["sigmoid, Glorot"]["accuracy"] < 0.15
    assert trained["sigmoid, Glorot"]["val_accuracy"] < 0.15
    assert first["ReLU, Glorot"] < min(first["ReLU, He"], first["ReLU, He + BN"]) - 0.1
    for label in ("ReLU, Glorot", "ReLU, He", "ReLU, He + BN"):
        assert trained[label]["accuracy"] > 0.75
    bn = nb01["bn_first_layer_vs_median_by_epoch"]
    assert bn[0] > 5 and bn[1] < 2


def test_01_deepest_plain_nets_train_worse_without_vanishing_gradients(nb01):
    """ "none of these networks has vanishing gradients, yet the deepest plain networks reach a
    clearly lower training accuracy than the shallow ones"."""
    rows = nb01["by_depth"]
    for label in ("ReLU, He", "ReLU, He + BN"):
        assert rows[f"{label}, 50"]["train accuracy"] < rows[f"{label}, 5"]["train accuracy"] - 0.3
        for depth in (5, 20, 50):
            assert rows[f"{label}, {depth}"]["smallest grad norm at init"] > 0.1


def test_01_an_exploding_gradient_inflates_the_first_kernels_then_freezes_them(nb01):
    """ "the input-side kernels grow many times over while the output-side ones hardly
    change"; "The two momenta train identically"; their test losses "differ enormously"; a
    ten times smaller rate "inflates the kernels less but still by a large factor, and it
    learns more slowly"."""
    runs = nb01["bn_blowup"]
    fast, stale, slow = (
        runs["lr 0.01, BN momentum 0.9"],
        runs["lr 0.01, BN momentum 0.99"],
        runs["lr 0.001, BN momentum 0.9"],
    )
    assert fast["first layer ‖W‖ ×"] > 50
    assert fast["last hidden ‖W‖ ×"] == pytest.approx(1, abs=0.1)
    assert stale["first layer ‖W‖ ×"] == pytest.approx(fast["first layer ‖W‖ ×"], rel=1e-3)
    assert stale["train accuracy"] == pytest.approx(fast["train accuracy"], abs=1e-3)
    assert stale["test loss (moving averages)"] > 1000 * fast["test loss (moving averages)"]
    assert fast["test loss (moving averages)"] < 5
    assert 5 < slow["first layer ‖W‖ ×"] < fast["first layer ‖W‖ ×"] / 3
    assert slow["train accuracy"] < fast["train accuracy"]
