"""Every measured claim in the prose of notebooks 01, 02 and 07, checked against the committed
results it rests on (`figures/results/`, written by a real `cpu` run of the notebook or by
`python -m reslab.experiments`). A re-run that changes an outcome fails here, so the text
cannot silently go wrong. Each test quotes the sentence it pins."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from reslab import config, experiments

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
    """ "in the deepest BN network the first layer's gradient is about ten thousand times the
    last hidden layer's"."""
    assert 3000 < nb01["at_init"]["ReLU, He + BN, 50"]["first / last hidden"] < 30_000
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


def test_01_the_inflation_happens_in_the_first_20_iterations(nb01):
    """ "Within about 20 iterations the input-side kernels grow many times over ...; after
    that they change little"."""
    growth = {int(k): v for k, v in nb01["bn_first_layer_growth_by_iteration"].items()}
    final = growth[max(growth)]
    assert growth[20] > 0.8 * final and growth[20] > 50


def test_01_inflation_is_not_what_makes_the_bn_net_degrade(nb01):
    """ "after ten epochs it ends close to the 50-layer network *without* BN ..., which has no
    explosion and degrades all the same"."""
    rows = nb01["by_depth"]
    with_bn, without = rows["ReLU, He + BN, 50"], rows["ReLU, He, 50"]
    assert abs(with_bn["train accuracy"] - without["train accuracy"]) < 0.1


# --- 02 · the degradation problem ------------------------------------------------------------


@pytest.fixture(scope="module")
def nb02() -> dict:
    return _json("02_degradation_problem")


def test_02_gradients_at_init_do_not_vanish_but_grow_towards_the_input_in_plain_56(nb02):
    """ "No layer's gradient vanishes: the smallest norm is of the order of 0.1 in all four
    networks"; "in plain-56 the first layers get hundreds of times the gradient of the last";
    "The residual nets' profiles are flat"."""
    assert all(0.01 < v < 1 for v in nb02["smallest_at_init"].values())
    ratios, first_over_last = nb02["conv_max_over_min_at_init"], nb02["first_over_last_at_init"]
    assert 200 < first_over_last["plain-56"] < 1000  # "several hundred times"
    assert first_over_last["plain-56"] > 10 * first_over_last["plain-20"]  # "the steeper"
    assert ratios["plain-56"] > 1000  # "a factor of thousands"
    assert ratios["ResNet-56"] < 7 and ratios["ResNet-20"] < 7  # "within a factor of about 6"
    assert nb02["largest_at_the_dense_layer"]["ResNet-20"]
    assert nb02["largest_at_the_dense_layer"]["ResNet-56"]
    assert first_over_last["ResNet-20"] < 1 and first_over_last["ResNet-56"] < 1


def test_02_live_run_orderings(nb02):
    """Live run: "the deeper plain net ends with a clearly higher training error"; "each
    ResNet beats its plain twin"; the ResNets are "close to each other and far below the deep
    plain net's"; "ResNet-56 does not beat ResNet-20" in this short budget."""
    err = {name: r["train error %"] for name, r in nb02["live"].items()}
    assert err["plain-56"] > err["plain-20"] + 10
    assert err["ResNet-20"] < err["plain-20"] and err["ResNet-56"] < err["plain-56"]
    assert abs(err["ResNet-56"] - err["ResNet-20"]) < 10
    assert err["ResNet-56"] < err["plain-56"] - 10
    assert err["ResNet-56"] >= err["ResNet-20"]


@pytest.fixture(scope="module")
def long02() -> pd.DataFrame:
    return pd.read_csv(RESULTS / "02_degradation.csv")


def test_02_longer_run_keeps_its_format(long02):
    """Other tools read this file: its columns and model names are fixed."""
    assert list(long02.columns) == [
        "model", "depth", "residual", "epoch", "accuracy", "loss",
        "val_accuracy", "val_loss", "seconds",
    ]  # fmt: skip
    assert set(long02.model) == {f"{k}-{d}" for k in ("plain", "ResNet") for d in (20, 32, 56)}
    record = json.loads((RESULTS / "02_degradation.json").read_text())
    assert record["command"].startswith("python -m reslab.experiments degradation")
    assert "CPU" in record["hardware"] and record["arguments"]["weight_decay"] == 1e-4


def test_02_longer_run_plain_nets_degrade_and_resnets_improve_with_depth(long02):
    """ "The plain nets degrade with depth: plain-20 < plain-32 < plain-56"; "The residual nets
    improve with depth: ResNet-56 < ResNet-32 < ResNet-20, each below its plain twin"."""
    train = experiments.final_errors(long02)["train error %"]
    assert train["plain-20"] < train["plain-32"] < train["plain-56"]
    assert train["plain-56"] > train["plain-20"] + 5  # "far behind"
    assert train["ResNet-56"] < train["ResNet-32"] < train["ResNet-20"]
    for depth in (20, 32, 56):
        assert train[f"ResNet-{depth}"] < train[f"plain-{depth}"]


def test_02_longer_run_converges_without_divergence(long02):
    """ "every curve has flattened (the last epoch moves no training error by more than a few
    tenths of a point)"; plain-56 "does not diverge: its training error falls at every
    epoch"; "Its logged loss stays near 15 while its error falls from over 60 % to about 16 %"."""
    assert long02.loss.map(math.isfinite).all()
    for _, rows in long02.groupby("model"):
        error = 100 * (1 - rows.accuracy.to_numpy())
        assert abs(error[-1] - error[-2]) < 0.5
    plain56 = long02[long02.model == "plain-56"]
    error = 100 * (1 - plain56.accuracy.to_numpy())
    assert (error[1:] < error[:-1]).all()
    assert error[0] > 60 and 14 < error[-1] < 18
    assert 10 < plain56.loss.iloc[-1] < 20
    args = json.loads((RESULTS / "02_degradation.json").read_text())["arguments"]
    steps_per_epoch = -(-args["train_samples"] // args["batch_size"])
    assert long02.epoch.max() * steps_per_epoch == 2355  # "2,355 iterations"
    assert args["learning_rate"] / 100 == pytest.approx(0.0005)  # "ending at ... 0.0005"


def test_02_longer_run_test_errors_as_the_notebook_reads_them(long02):
    """ "plain-56 has by far the highest; the other five nets are all within about a point of
    each other ..., and plain-20 has the lowest of all"; "every test error is 2.5 to 10 points
    above the net's training error"."""
    errors = experiments.final_errors(long02)
    test = errors["test error %"]
    others = test.drop("plain-56")
    assert test["plain-56"] > others.max() + 4
    assert others.max() - others.min() < 1.5
    assert test.idxmin() == "plain-20"
    gaps = errors["test error %"] - errors["train error %"]
    assert gaps.min() > 2 and gaps.max() < 10.5  # "2.5 to 10 points"
