"""Every measured claim in the prose of notebooks 01 to 11, checked against the
committed results it rests on (`figures/results/`, written by a real `cpu` run of the notebook or by
`python -m reslab.experiments`). A re-run that changes an outcome fails here, so the text
cannot silently go wrong. Each test quotes the sentence it pins."""

from __future__ import annotations

import json
import math

import keras
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
    the last ones'"; the factor is below sigma' <= 1/4."""
    deepest = nb01["at_init"]["sigmoid, Glorot, 50"]
    assert 0 < deepest["first / last hidden"] < 1e-6
    assert nb01["sigmoid_factor_per_layer"] < 0.3


def test_01_the_tiny_gradients_are_not_zero_only_their_float32_norm_is(nb01):
    """ "They are tiny, not zero: in the check above, over 99 % of the first layer's gradient
    entries are nonzero, yet a float32 norm prints 0." """
    tiny = nb01["sigmoid_first_layer_gradient"]
    assert tiny["entries exactly 0 (%)"] < 1
    assert tiny["norm in float32"] == 0
    assert 0 < tiny["norm in float64"] < 1e-20
    assert tiny["largest |entry|"] < 4e-23  # below the float32 square's underflow threshold
    assert nb01["at_init"]["sigmoid, Glorot, 50"]["first layer"] == tiny["norm in float64"]


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
    ten times smaller rate "inflates the kernels less but still by a large factor, and the
    network learns even less in its first epoch"."""
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
    networks"; "in plain-56 the first convolution gets several hundred times the gradient of
    the dense layer at the end"; "The residual nets' profiles are nearly flat"."""
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


FIG4_RUNS = {0: "02_fig4", 1: "02_fig4_seed1"}


@pytest.fixture(scope="module")
def fig4() -> dict[int, pd.DataFrame]:
    return {
        seed: experiments.final_errors(pd.read_csv(RESULTS / f"{name}.csv"))
        for seed, name in FIG4_RUNS.items()
    }


def test_02_fig4_miniature_was_run_as_the_page_says():
    """ "plain-18, plain-34, ResNet-18 and ResNet-34 in Table 1's layout ... at a quarter of the
    width, on Fashion-MNIST at 32×32"; "Two seeds (0 and 1), committed runs on a 2-core CPU"."""
    for seed, name in FIG4_RUNS.items():
        record = json.loads((RESULTS / f"{name}.json").read_text())
        args = record["arguments"]
        assert args["layout"] == "imagenet" and args["width"] == 0.25
        assert args["depths"] == [18, 34] and args["seed"] == seed
        assert args["train_samples"] == 20_000 and args["epochs"] == 12
        assert 12 * -(-args["train_samples"] // args["batch_size"]) == 3_756  # "3,756 iterations"
        assert "CPU, 2 cores" in record["hardware"]


def test_02_fig4_miniature_plain_34_degrades_resnet_34_does_not_catch_up(fig4):
    """ "plain-34 ends at 24.3 % training error with both seeds, against plain-18's 10.2 and
    10.3 %"; "loss (5.2 and 6.0, against 0.4)"; "ResNet-34 ends at 9.3 and 8.6 %, far below
    plain-34, but above ResNet-18's 7.4 and 7.2 %"; the other test errors "between 12.4 and
    14.6 %", "plain-34's at 23.1 and 24.4 %"."""
    train = {s: t["train error %"].round(1) for s, t in fig4.items()}
    test = {s: t["test error %"] for s, t in fig4.items()}
    assert [train[s]["plain-34"] for s in (0, 1)] == [24.3, 24.3]
    assert [train[s]["plain-18"] for s in (0, 1)] == [10.2, 10.3]
    assert [round(fig4[s].loss["plain-34"], 1) for s in (0, 1)] == [5.2, 6.0]
    assert all(round(fig4[s].loss["plain-18"], 1) == 0.4 for s in (0, 1))
    assert [train[s]["ResNet-34"] for s in (0, 1)] == [9.3, 8.6]
    assert [train[s]["ResNet-18"] for s in (0, 1)] == [7.4, 7.2]
    for s in (0, 1):
        assert train[s]["ResNet-34"] < train[s]["plain-34"] - 10
        assert train[s]["ResNet-18"] < train[s]["ResNet-34"]  # unlike Table 2
        others = test[s].drop("plain-34")
        assert others.min() >= 12.4 and others.max() <= 14.6
    assert [round(test[s]["plain-34"], 1) for s in (0, 1)] == [23.1, 24.4]


# --- 03 · the identity block ------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb03() -> dict:
    return _json("03_identity_block")


def test_03_recalls_notebook_02s_live_run(nb02):
    """ "in its live run the deeper plain net trained far worse than the shallower one (73 %
    against 28 % training error), the deeper residual net about as well (25 % against 22 %)"."""
    err = {name: round(r["train error %"]) for name, r in nb02["live"].items()}
    assert (err["plain-56"], err["plain-20"]) == (73, 28)
    assert (err["ResNet-56"], err["ResNet-20"]) == (25, 22)


def test_03_a_zero_gamma_block_is_the_identity_and_a_plain_block_is_not(nb03):
    """ "Both differences are exactly zero"; "The block's 4,608 convolution weights are random
    (4,736 parameters with BN's)"; the plain block's "output is a random function of its
    input"."""
    identity, plain = nb03["identity_at_init"], nb03["plain_block"]
    assert identity["max |y - x|"] == 0 and identity["max |dL/dx - dL/dy|"] == 0
    assert identity["parameters"] == 4_736 == 2 * 9 * 16 * 16 + 2 * 4 * 16
    assert plain["max |y - x|"] > 1 and abs(plain["correlation"]) < 0.2


def test_03_plain_stacks_grow_exponentially_residual_ones_about_linearly(nb03):
    """ "Up to 4 blocks the residual stack's ratio is the larger (by 8 to 30 %)"; "The plain stack's
    ratio grows exponentially, by orders of magnitude between 8 and 32 blocks"; "The residual
    stack's grows roughly in proportion to the number of blocks"."""
    plain = {int(k): v for k, v in nb03["stack_ratios"]["plain"].items()}
    residual = {int(k): v for k, v in nb03["stack_ratios"]["residual"].items()}
    assert min(plain.values()) > 1 and min(residual.values()) > 1  # "Neither column vanishes"
    for k in (1, 2, 4):
        assert plain[k] < residual[k] < 1.5 * plain[k]
    assert plain[8] > residual[8]
    assert plain[32] / plain[8] > 100
    for k in (4, 8, 16, 32):
        assert 0.5 < residual[k] / k < 2
    # "its first block multiplies the gradient by 1.78, but from 16 to 32 blocks each one
    # multiplies it by only about 1.04"; the plain stack's "similar factor" per block.
    assert round(residual[1], 2) == 1.78
    assert round((residual[32] / residual[16]) ** (1 / 16), 2) == 1.04
    per_block = [(plain[b] / plain[a]) ** (1 / (b - a)) for a, b in ((1, 8), (8, 16), (16, 32))]
    assert max(per_block) / min(per_block) < 1.1


def test_03_block_costs(nb03):
    """ "73,728 convolution weights for the basic block, 69,632 for the bottleneck; 231.2 M and
    218.4 M multiply-adds"; "the cost almost doubles (x1.94 here)"."""
    costs = nb03["block_costs"]
    basic = costs["basic, 64-d (Fig. 5 left)"]
    bottleneck = costs["bottleneck, 256-d (Fig. 5 right)"]
    projected = costs["bottleneck, projection shortcut"]
    assert (basic["conv weights"], bottleneck["conv weights"]) == (73_728, 69_632)
    assert (basic["multiply-adds (M)"], bottleneck["multiply-adds (M)"]) == (231.2, 218.4)
    assert round(projected["conv weights"] / bottleneck["conv weights"], 2) == 1.94
    assert round(projected["multiply-adds (M)"] / bottleneck["multiply-adds (M)"], 2) == 1.94


def test_03_the_reference_identity_block_matches_keras_conv2_block2(nb03):
    """ "The reference block uses the layer names of `keras.applications.ResNet50`"."""
    reference = keras.applications.ResNet50(weights=None)
    block = [layer for layer in reference.layers if layer.name.startswith("conv2_block2_")]
    assert [layer.name for layer in block] == nb03["identity_block_layers"]
    assert sum(layer.count_params() for layer in block) == nb03["identity_block_parameters"]


# --- 04 · shortcut options ------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb04() -> dict:
    return _json("04_convolutional_block")


def test_04_three_options_two_seeds_measured_like_with_like(nb04):
    """ "twice: with seed 0 and seed 1"; both errors "measured the same way, in inference
    mode" (the record has both, per run)."""
    runs = pd.DataFrame(nb04["shortcut_runs"])
    assert sorted(zip(runs.option, runs.seed, strict=True)) == [
        (o, s) for o in "ABC" for s in (0, 1)
    ]
    assert runs["train error %"].between(5, 60).all() and runs["test error %"].between(5, 60).all()


def test_04_another_seed_moves_an_option_more_than_the_options_differ(nb04):
    """ "changing only the seed moves an option by up to 2.7 points of training error and 2.4 of
    test error, more than the options' two-seed means differ (1.1 and 1.4 points). The
    test-error order A < B < C repeats in both seeds ...; the training-error order changes
    between seeds"."""
    spread, gap = nb04["seed_spread"], nb04["option_gap"]
    assert round(spread["train error %"], 1) == 2.7 and round(spread["test error %"], 1) == 2.4
    assert round(gap["train error %"], 1) == 1.1 and round(gap["test error %"], 1) == 1.4
    assert min(spread.values()) > max(gap.values())
    runs = pd.DataFrame(nb04["shortcut_runs"]).set_index(["option", "seed"])
    for error in ("train error %", "test error %"):
        moved = runs[error].unstack().diff(axis=1)[1].abs()
        assert moved.max() == pytest.approx(spread[error])
    orders = {
        error: [list(runs[error].xs(seed, level="seed").sort_values().index) for seed in (0, 1)]
        for error in ("train error %", "test error %")
    }
    assert orders["test error %"] == [["A", "B", "C"], ["A", "B", "C"]]
    assert orders["train error %"][0] != orders["train error %"][1]


def test_04_at_20_layers_the_shortcut_matters_little_at_test_time(nb02, nb04):
    """ "notebook 02 measured plain-20 at 26.4 % test error against ResNet-20's 25.8 % (this
    notebook's option A, seed 0), within the seed spread above, although ResNet-20's training
    error was lower (22.4 % against 27.6 %...)"; "The gap opens at depth 56 in notebook 02"."""
    live = nb02["live"]
    plain, resnet = live["plain-20"], live["ResNet-20"]
    assert (round(plain["test error %"], 1), round(resnet["test error %"], 1)) == (26.4, 25.8)
    assert (round(resnet["train error %"], 1), round(plain["train error %"], 1)) == (22.4, 27.6)
    assert plain["test error %"] - resnet["test error %"] < nb04["seed_spread"]["test error %"]
    a0 = next(r for r in nb04["shortcut_runs"] if (r["option"], r["seed"]) == ("A", 0))
    assert a0["test error %"] == pytest.approx(resnet["test error %"], abs=0.05)
    assert nb04["iterations"] == nb02["live_iterations"]  # the same budget
    assert live["plain-56"]["test error %"] > live["plain-20"]["test error %"] + 20


# --- 05 · ResNet-50 from scratch -------------------------------------------------------------


@pytest.fixture(scope="module")
def nb05() -> dict:
    return _json("05_resnet50_from_scratch")


def test_05_stage_costs_of_one_order_conv4_most_parameters_in_the_late_stages(nb05):
    """ "The four stages' costs are of the same order (... the stem's and the head's are far
    smaller)"; "conv4, with six blocks, costs most"; "conv5 alone holds 15.0 M of the 25.6 M,
    conv4 7.1 M, the head 2.0 M"."""
    stages = nb05["stages"]
    costs = {name: stage["mult_adds (G)"] for name, stage in stages.items()}
    blocks = {name: costs[name] for name in ("conv2", "conv3", "conv4", "conv5")}
    assert max(blocks, key=blocks.get) == "conv4" and max(blocks.values()) < 3 * min(
        blocks.values()
    )
    assert max(costs["conv1"], costs["predictions"]) < min(blocks.values()) / 5
    params = {name: stage["parameters"] / 1e6 for name, stage in stages.items()}
    assert round(params["conv5"], 1) == 15.0 and round(sum(params.values()), 1) == 25.6
    assert round(params["conv4"], 1) == 7.1 and round(params["predictions"], 1) == 2.0


def test_05_transplant_gives_the_same_outputs(nb05):
    """ "after `weights.transplant` they give the same outputs on the test photo"; the committed
    run had random weights, as the page says."""
    assert nb05["transplant_max_difference"] < 1e-4
    assert nb05["weights"].startswith("RANDOM")


def test_05_multiply_adds_within_two_percent_of_table_1(nb05):
    """ "agree with Table 1 to within 2 % for every depth. ResNet-34 and 50 come out about 0.06 G
    above it"; "the shortcut projections we include cost 0.36 G in ResNet-50"."""
    family = nb05["family"]
    assert all(abs(row["difference %"]) < 2 for row in family.values())
    for name in ("ResNet-34", "ResNet-50"):
        row = family[name]
        assert row["multiply-adds (G)"] - row["Table 1 (G)"] == pytest.approx(0.06, abs=0.005)
    assert round(nb05["projection_mult_adds_G"], 2) == 0.36


def test_05_keras_minus_bn_statistics_and_biases_is_torchvisions_count(nb05):
    """ "gives 25,636,712"; "torchvision's documentation gives 25,557,032"; the difference is
    BN statistics and conv biases."""
    assert nb05["keras_total"] == 25_636_712
    assert nb05["keras_total"] - nb05["bn_statistics"] - nb05["conv_biases"] == 25_557_032


def test_05_v1_5_changes_no_parameter_and_costs_torchvisions_4_09_g(nb05):
    """ "That changes no parameter but raises the cost"; "torchvision's documentation gives its
    ResNet-50 4.09 GFLOPS, the v1.5 count"."""
    v1, v15 = nb05["versions"]["v1"], nb05["versions"]["v1.5"]
    assert v1["parameters"] == v15["parameters"]
    assert v15["mult_adds_G"] > v1["mult_adds_G"]
    assert round(v15["mult_adds_G"], 2) == 4.09


# --- 06 · pre-activation ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb06() -> dict:
    return _json("06_preactivation_resnet_v2")


def test_06_stack_ratios_grow_about_linearly_v2_lower_and_v1_repeats_notebook_03(nb03, nb06):
    """ "once there are more than a few blocks both grow roughly in proportion to their number
    (at 64 blocks, about 1.1 per block for v1 and 0.7 for v2). The v2 column is the lower at
    every depth"; "the v1 column repeats notebook 03's residual column"."""
    v1 = {int(k): v for k, v in nb06["stack_ratios"]["v1"].items()}
    v2 = {int(k): v for k, v in nb06["stack_ratios"]["v2"].items()}
    assert min(v2.values()) > 1  # "Neither column vanishes"
    assert all(v2[k] < v1[k] for k in v1)
    assert round(v1[64] / 64, 1) == 1.1 and round(v2[64] / 64, 1) == 0.7
    for k in (8, 16, 32, 64):
        assert 0.5 < v1[k] / k < 2 and 0.5 < v2[k] / k < 2
    for k, ratio in nb03["stack_ratios"]["residual"].items():
        assert v1[int(k)] == pytest.approx(ratio, rel=1e-5)


def test_06_v2_gradients_at_init_are_smaller_and_its_dense_layer_stands_out_less(nb06):
    """ "smaller, by a factor of 6.7 at the median; they fall from the first to the last layer
    of each stage ... and jump at each stage's first block"; "2.5 times the median of the other
    layers, against 20 times in v1"."""
    assert round(nb06["median_norm_v1_over_v2"], 1) == 6.7
    dense = nb06["dense_over_median"]
    assert round(dense["ResNet-56 v2"], 1) == 2.5 and round(dense["ResNet-56 v1"]) == 20
    v2 = nb06["at_init"]["ResNet-56 v2"]
    assert len(v2) == 56  # conv1, 3 stages of 18 convolutions, the dense layer
    for first in (1, 19, 37):  # 0-based index of each stage's first convolution
        assert v2[first] > v2[first + 17]  # falls across the stage
        if first > 1:
            assert v2[first] > v2[first - 1]  # jumps at the stage's first block


def test_06_two_seeds_rank_neither_version(nb06):
    """ "the same number of parameters (216,434 for both)"; "171 iterations"; v2's training
    error lower "with both seeds (by 1.3 and 1.7 points)"; test error "2.6 points lower with
    seed 0 and 0.2 points higher with seed 1"; "changing the seed moves a version's test error by
    up to 5.4 points ... and its training error by up to 1.6"."""
    runs = pd.DataFrame(nb06["runs"])
    assert set(runs.parameters) == {216_434} and nb06["iterations"] == 171
    gap = nb06["v2_minus_v1"]
    assert [round(gap[s]["train error %"], 1) for s in ("0", "1")] == [-1.3, -1.7]
    assert [round(gap[s]["test error %"], 1) for s in ("0", "1")] == [-2.6, 0.2]
    errors = runs.set_index(["version", "seed"])[["train error %", "test error %"]]
    moved = (errors.xs(1, level="seed") - errors.xs(0, level="seed")).abs().max()
    spread = nb06["seed_spread"]
    assert round(spread["test error %"], 1) == round(moved["test error %"], 1) == 5.4
    assert round(spread["train error %"], 1) == round(moved["train error %"], 1) == 1.6
    # "rank neither version on test error": the seed moves more than v2's largest test gap
    assert spread["test error %"] > max(abs(g["test error %"]) for g in gap.values())


def test_06_resnet50_v2_equals_keras(nb06):
    """ "Same parameter count, same weighted layers"; the transplanted copy gives the same
    output."""
    assert nb06["keras_v2_parameters"] == nb06["reslab_v2_parameters"] == 25_613_800
    assert nb06["same_weighted_layers"] is True
    assert nb06["transplant_max_difference"] < 1e-4


# --- 07 · the paper's CIFAR-10 recipe --------------------------------------------------------

NETS_07 = [f"plain{d}" for d in (20, 32, 56)] + [f"resnet{d}_A_v1" for d in (20, 32, 56)]


@pytest.fixture(scope="module")
def runs07() -> dict[str, tuple[pd.DataFrame, dict]]:
    folder = RESULTS / "07_cifar"
    return {
        name: (
            pd.read_csv(folder / f"{name}.csv"),
            json.loads((folder / f"{name}.json").read_text()),
        )
        for name in NETS_07
    }


def test_07_results_keep_their_format_and_record_how_they_were_made(runs07):
    """Other tools read these files; each JSON holds the command, hardware and versions."""
    for name, (curve, record) in runs07.items():
        assert list(curve.columns) == [
            "model", "epoch", "iteration", "learning_rate", "loss", "train_error", "val_error",
        ]  # fmt: skip
        assert (curve.model == name).all()
        assert record["command"].startswith("python -m reslab.experiments cifar --depth")
        assert "CPU" in record["hardware"] and record["keras"] and record["backend_version"]
        assert record["arguments"]["profile"] == "cpu" and "test_error" in record
        recipe = record["arguments"]["recipe"]
        assert recipe["batch_size"] == experiments.CIFAR_RECIPES["cpu"]["batch_size"]
        assert curve.iteration.iloc[-1] == recipe["iterations"]  # finished, not cut off


def test_07_no_net_diverges(runs07):
    """ "Nothing diverges": every logged loss is finite and every net ends with a far lower
    training error than after its first epoch."""
    for curve, _ in runs07.values():
        assert curve.loss.map(math.isfinite).all()
        assert curve.train_error.iloc[-1] < curve.train_error.iloc[0] - 10


def _final(curve: pd.DataFrame, record: dict) -> float:
    """A `cifar` run's training error % over its last epoch's worth of iterations."""
    recipe = record["arguments"]["recipe"]
    return experiments.final_train_error(curve, -(-recipe["train"] // recipe["batch_size"]))


def _train_errors(runs07) -> dict[str, float]:
    """Final training error % of each net."""
    return {name: _final(curve, record) for name, (curve, record) in runs07.items()}


def test_07_the_plain_nets_degrade_with_depth(runs07):
    """ "The plain nets degrade with depth: plain-20 < plain-32 < plain-56 ... and the test
    errors follow"."""
    train = _train_errors(runs07)
    assert train["plain20"] < train["plain32"] < train["plain56"]
    assert train["plain56"] > train["plain20"] + 10
    test = {name: record["test_error"] for name, (_, record) in runs07.items()}
    assert test["plain20"] < test["plain32"] < test["plain56"]


def test_07_resnets_beat_their_twins_but_resnet56_does_not_beat_resnet20(runs07):
    """ "Each ResNet beats its plain twin, and ResNet-32 beats ResNet-20, but ResNet-56 does
    not"; "after the first epoch ResNet-56 is at 79 % training error where ResNet-20 and
    ResNet-32 are at 47-48 %"."""
    train = _train_errors(runs07)
    for depth in (20, 32, 56):
        assert train[f"resnet{depth}_A_v1"] < train[f"plain{depth}"]
    assert train["resnet32_A_v1"] < train["resnet20_A_v1"]
    assert train["resnet56_A_v1"] > train["resnet20_A_v1"] + 3
    first = {name: curve.train_error.iloc[0] for name, (curve, _) in runs07.items()}
    assert first["resnet56_A_v1"] > max(first["resnet20_A_v1"], first["resnet32_A_v1"]) + 20


def test_07_every_net_reaches_a_plateau_and_plain56_loss_is_the_l2_term(runs07):
    """ "the training error moves by less than 0.3 points between the last two full epochs";
    plain-56's "logged loss" stays far above every other net's while its error falls."""
    for curve, _ in runs07.values():
        full = curve.train_error.iloc[:-1]  # the last "epoch" may be a few batches
        assert abs(full.iloc[-1] - full.iloc[-2]) < 0.3
    plain56 = runs07["plain56"][0]
    others = max(curve.loss.max() for name, (curve, _) in runs07.items() if name != "plain56")
    assert plain56.loss.min() > 5 * others


def test_07_warmup_run_helps_resnet56_but_not_past_resnet20(runs07):
    """ "One epoch at 0.01 lets ResNet-56 start at 59 % training error instead of 79 %, and it
    ends about 4 points lower in training and validation error ... (about 2 in test error).
    It still ends behind ResNet-20 on all three"."""
    folder = RESULTS / "07_cifar_warmup"
    warm = pd.read_csv(folder / "resnet56_A_v1.csv")
    warm_record = json.loads((folder / "resnet56_A_v1.json").read_text())
    assert warm_record["arguments"]["warmup"] == 71
    assert warm.learning_rate.iloc[0] == pytest.approx(0.01)
    cold, cold_record = runs07["resnet56_A_v1"]
    r20, r20_record = runs07["resnet20_A_v1"]
    train = {
        "warm": _final(warm, warm_record),
        "cold": _final(cold, cold_record),
        "r20": _final(r20, r20_record),
    }
    assert warm.train_error.iloc[0] < 65 and 75 < cold.train_error.iloc[0] < 80  # "milder"
    assert 3 < train["cold"] - train["warm"] < 5
    assert 3 < cold.val_error.iloc[-1] - warm.val_error.iloc[-1] < 5
    assert 1 < cold_record["test_error"] - warm_record["test_error"] < 3
    assert train["warm"] > train["r20"]
    assert warm.val_error.iloc[-1] > r20.val_error.iloc[-1]
    assert warm_record["test_error"] > r20_record["test_error"]


def test_07_first_iterations_inflate_plain56_kernels_not_resnet56s(runs07):
    """ "At learning rate 0.1, plain-56's input-side kernels grow by a large factor within a
    few iterations while the layers near the output barely move; ResNet-56's kernels ... grow
    by at most a few times. At 0.01, plain-56's kernels still grow, but far less"; its logged
    loss in the longer run, "near 25 throughout, is almost all the L2 term"."""
    nb07 = _json("07_cifar_resnets")
    probes, growth = nb07["probes"], nb07["probe_growth_by_layer"]
    fast, slow, resnet = "plain-56, lr 0.1", "plain-56, lr 0.01", "ResNet-56, lr 0.1"
    assert probes[fast]["largest kernel growth ×"] > 30
    assert max(growth[fast][-10:]) < 1.2  # the layers next to the output
    assert 3 < probes[slow]["largest kernel growth ×"] < probes[fast]["largest kernel growth ×"] / 3
    assert probes[resnet]["largest kernel growth ×"] < 5
    assert probes[fast]["L2 term after"] > 20 > 10 * probes[resnet]["L2 term after"]
    plain56 = runs07["plain56"][0]
    assert plain56.loss.min() > 20 and plain56.loss.max() < 30


def test_07_another_seed_moves_resnet56_by_five_points_but_not_past_resnet20(runs07):
    """ "ResNet-20 barely moves with the seed (about one point of training error). ResNet-56
    moves by about five: with seed 1 it ends level with ResNet-20 in training error (a tenth
    of a point behind) and still behind on validation and test error. Both seeds of ResNet-56
    start slowly (over 75 % training error after the first epoch)"."""
    folder = RESULTS / "07_cifar_seed1"
    seed1 = {
        name: (
            pd.read_csv(folder / f"{name}.csv"),
            json.loads((folder / f"{name}.json").read_text()),
        )
        for name in ("resnet20_A_v1", "resnet56_A_v1")
    }
    for _, record in seed1.values():
        assert record["arguments"]["seed"] == 1 and record["arguments"]["profile"] == "cpu"

    r20 = (_final(*runs07["resnet20_A_v1"]), _final(*seed1["resnet20_A_v1"]))
    r56 = (_final(*runs07["resnet56_A_v1"]), _final(*seed1["resnet56_A_v1"]))
    assert abs(r20[1] - r20[0]) < 1.5
    assert 4 < r56[0] - r56[1] < 6
    assert 0 <= r56[1] - r20[1] < 0.5
    (c20, rec20), (c56, rec56) = seed1["resnet20_A_v1"], seed1["resnet56_A_v1"]
    assert c56.val_error.iloc[-1] > c20.val_error.iloc[-1]
    assert rec56["test_error"] > rec20["test_error"]
    assert c56.train_error.iloc[0] > 75 and runs07["resnet56_A_v1"][0].train_error.iloc[0] > 75


# --- 08 · fine-tuning, and the course's source model ------------------------------------------


@pytest.fixture(scope="module")
def nb08() -> dict:
    return _json("08_fine_tuning")


@pytest.fixture(scope="module")
def curve08() -> pd.DataFrame:
    table = pd.read_csv(RESULTS / "08_transfer.csv")
    return table.pivot_table(index="per_class", columns="method", values="accuracy")


def test_08_the_source_model_is_what_the_page_says():
    """ "ResNet-50's topology and layer names at a quarter of the width, pretrained by the
    course on five Fashion-MNIST classes (T-shirt/top, trouser, pullover, dress, coat)"."""
    record = json.loads((RESULTS / "08_source" / "pretrain.json").read_text())
    assert record["arguments"]["width"] == 0.25 and record["arguments"]["image_size"] == 96
    assert record["source_classes"] == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
    assert record["val_error"] < 8  # a source model worth transferring
    assert (RESULTS / "08_source" / record["weights_file"]).is_file()


def test_08_the_notebook_ran_on_the_course_source_with_1000_test_images(nb08):
    """ "The numbers on this page come from the course's source model" … "on 1,000 test
    images", "40 labelled images per class"."""
    assert nb08["trunk"] == "course" and nb08["held_out_images"] == 1000
    assert nb08["per_class"] == 40


def test_08_forgetting_preprocess_input_costs_seven_points(nb08):
    """ "Without `preprocess_input` the same head reaches 77.5 % instead of 84.9 %"."""
    pre = nb08["preprocessing"]
    assert pre["with preprocess_input"] == pytest.approx(0.849, abs=5e-4)
    assert pre["without (raw 0-255 RGB)"] == pytest.approx(0.775, abs=5e-4)


def test_08_live_run_orders_scratch_frozen_fine_tuned(nb08):
    """ "83 % from scratch, 85 % with a frozen trunk and a new head, 89 % with two-phase
    fine-tuning"."""
    live = nb08["methods"]
    assert round(100 * live["from scratch"]) == 83
    assert round(100 * live["frozen trunk + new head"]) == 85
    assert round(100 * live["two-phase fine-tuning"]) == 89


def test_08_transfer_curve_covers_three_seeds_and_five_sizes():
    """ "for 5 to 100 labelled images per class, three seeds each … on 1,000 test images"."""
    table = pd.read_csv(RESULTS / "08_transfer.csv")
    record = json.loads((RESULTS / "08_transfer.json").read_text())
    assert sorted(table.per_class.unique()) == [5, 10, 20, 50, 100]
    assert table.groupby(["per_class", "method"]).seed.nunique().eq(3).all()
    assert record["test_images"] == 1000


def test_08_transfer_beats_scratch_most_where_labels_are_fewest(curve08):
    """ "both ways of using the pretrained trunk beat training from scratch … at every size up
    to 50 … at 5 per class, 74 % … and 77 % … against 45 %"; "At 100 per class, training from
    scratch (87 %) has caught up with the frozen features (86 %) … two-phase fine-tuning stays
    ahead at every size (92 % at 100)"; "its gain … shrinks from 32 points to 5"."""
    scratch = curve08["from scratch"]
    frozen = curve08["frozen trunk + new head"]
    tuned = curve08["two-phase fine-tuning"]
    assert (frozen.loc[:50] > scratch.loc[:50]).all()
    assert (tuned > scratch).all() and (tuned > frozen).all()
    assert [round(100 * v) for v in (frozen[5], tuned[5], scratch[5])] == [74, 77, 45]
    assert scratch[100] > frozen[100]
    assert [round(100 * v) for v in (scratch[100], frozen[100], tuned[100])] == [87, 86, 92]
    assert round(100 * (tuned[5] - scratch[5])) == 32
    assert round(100 * (tuned[100] - scratch[100])) == 5


def test_08_seeds_spread_by_up_to_ten_points():
    """ "The seeds … spread by up to 10 points at 10 and 20 images per class"."""
    table = pd.read_csv(RESULTS / "08_transfer.csv")
    spread = table.groupby(["per_class", "method"]).accuracy.agg(lambda a: a.max() - a.min())
    assert 0.08 < spread.loc[[10, 20]].max() <= 0.10
    assert spread.max() == spread.loc[[10, 20]].max()


def test_08_batch_norm_in_training_mode_costs_points_and_moves_statistics(nb08):
    """ "the moving mean of `conv5_block3_3_bn` moved by 39 % … test accuracy fell from 89.4 %
    to 86.9 %: 2.5 points"."""
    modes = nb08["batch_norm"]
    frozen = modes["BN frozen, inference mode (phase 2)"]
    training = modes["BN in training mode (the pitfall)"]
    assert frozen == nb08["methods"]["two-phase fine-tuning"]
    assert (round(100 * frozen, 1), round(100 * training, 1)) == (89.4, 86.9)
    assert round(100 * nb08["bn_moving_mean_drift"]) == 39


# --- 09 · inside ResNet ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb09() -> dict:
    return _json("09_inside_resnet")


def test_09_grad_cam_answers(nb09):
    """ "The fine-tuned network names all six correctly" … "The untrained network calls five of
    the six 'Shirt'"."""
    answers = nb09["grad_cam_answers"]
    assert "fine-tuned in notebook 08" in nb09["weights"]
    assert answers["fine-tuned"] == answers["true"] and len(answers["true"]) == 6
    assert answers["untrained"].count("Shirt") == 5


def test_09_training_adds_little_to_nearest_neighbours(nb09):
    """ "the fine-tuned embedding's nearest neighbour shares the class for 91 % of the 1,000
    test images, the untrained one's for 89 %"."""
    hits = nb09["nearest_neighbour"]
    assert round(100 * hits["fine-tuned"]) == 91 and round(100 * hits["untrained"]) == 89


def test_08_cached_features_speed_ups_as_the_benchmark_measured():
    """ "6.5 times faster with 800 training images, 4.1 times with 160", and the two ways
    reach comparable accuracy (the same head on the same numbers)."""
    text = (config.ROOT / "benchmarks" / "results" / "cached_features.txt").read_text()
    runs = text.split("$ .venv/bin/python benchmarks/cached_features.py")[1:]
    measured = {}
    for run in runs:
        images = int(run.split(" training images")[0].split()[-1])
        measured[images] = float(run.split("speed-up: ")[1].split("x")[0])
        accuracies = [
            float(line.split()[-1]) for line in run.splitlines() if "val accuracy" in line
        ]
        assert max(accuracies) - min(accuracies) < 0.05
    assert measured == {800: 6.5, 160: 4.1}


def test_08_full_width_resnet50_costs_about_15_times_the_course_model():
    """ "about 15 times the multiply-adds per image (… 0.71 G against 0.048 G at 96 px)"."""
    from reslab import flops, models

    full = flops.multiply_adds(models.resnet(50, include_top=False, input_shape=(96, 96, 3)))
    quarter = flops.multiply_adds(
        models.resnet(50, include_top=False, input_shape=(96, 96, 3), width=0.25)
    )
    assert (round(full / 1e9, 2), round(quarter / 1e9, 3)) == (0.71, 0.048)
    assert round(full / quarter) == 15


def test_08_most_mistakes_are_between_kinds_of_footwear(nb08):
    """ "Most mistakes are among the three kinds of footwear … all eight of the most confident
    mistakes are footwear"."""
    footwear = {"Sandal", "Sneaker", "Ankle boot"}
    matrix = pd.DataFrame(nb08["confusion"])  # columns: predicted, index: true
    wrong = {(t, p): n for p in matrix for t, n in matrix[p].items() if t != p}
    among_footwear = sum(n for (t, p), n in wrong.items() if {t, p} <= footwear)
    assert among_footwear > sum(wrong.values()) / 2
    assert len(nb08["worst_mistakes"]) == 8
    assert all(set(pair) <= footwear for pair in nb08["worst_mistakes"])


# --- 11 · after ResNet --------------------------------------------------------------------


@pytest.fixture(scope="module")
def successors_run() -> pd.DataFrame:
    from reslab.experiments import successors

    return successors.final_errors(pd.read_csv(RESULTS / "11_successors.csv"))


def test_11_successors_run_was_run_as_the_page_says():
    """ "4,000 Fashion-MNIST training images padded to 32×32, 4 epochs, batch 64, ... learning
    rate 0.05 ..., weight decay 1e-4; 2,000 test images; seeds 0, 1, 2"; "eight networks"."""
    args = json.loads((RESULTS / "11_successors.json").read_text())["arguments"]
    assert (args["train_samples"], args["test_samples"], args["epochs"]) == (4000, 2000, 4)
    assert (args["batch_size"], args["learning_rate"], args["weight_decay"]) == (64, 0.05, 1e-4)
    assert args["seeds"] == [0, 1, 2] and len(args["kinds"]) == 8


def test_11_at_this_budget_wide_is_best_and_stochastic_depth_worst(successors_run):
    """ "the wide net has the lowest mean test error and by far the smallest spread"; "with
    seed 1, plain-20 and ResNet-20 edge below it"; "stochastic depth is the worst with every
    seed"; "plain-20, ResNet-20 and SE-ResNet-20 are within one point of each other on
    average, and each moves by more than that between seeds"; "highway and DenseNet end about
    4 and 3 points behind ResNet-20"."""
    errors = successors_run.pivot(index="seed", columns="kind", values="test error %")
    assert errors.mean().idxmin() == "wide"
    assert errors.loc[1, "plain"] < errors.loc[1, "wide"] > errors.loc[1, "resnet"]
    assert (errors.idxmax(axis=1) == "stochastic").all()
    assert errors["stochastic"].min() > errors.drop(columns="stochastic").max().max()
    assert errors.std()["wide"] < 0.5 and errors.std().drop("wide").min() > 0.9
    mean = errors.mean()
    assert mean[["plain", "resnet", "se"]].max() - mean[["plain", "resnet", "se"]].min() < 1
    for kind in ("plain", "resnet", "se"):
        assert errors[kind].max() - errors[kind].min() > 1
    assert round(mean["highway"] - mean["resnet"]) == 4
    assert round(mean["densenet"] - mean["resnet"]) == 3
    assert round(mean["resnext"] - mean["resnet"], 1) == 1.6
    assert [round(mean[k], 1) for k in ("wide", "stochastic")] == [16.9, 27.1]
    assert [round(mean[k], 2) for k in ("plain", "resnet", "se")] == [17.82, 18.25, 18.72]
    assert round(errors.std()["wide"], 1) == 0.2
    assert errors.std().drop("wide").between(0.9, 2).all()  # "1 to 2 for the others"
    first = successors_run.drop_duplicates("kind").set_index("kind")
    assert round(first.params["wide"] / first.params["resnet"], 1) == 2.5
    assert round(first.mult_adds["wide"] / first.mult_adds["resnet"], 1) == 2.6


@pytest.fixture(scope="module")
def nb11() -> dict:
    return _json("11_after_resnet")


def test_11_lesion_plain_nets_fall_to_chance_the_deep_resnet_mostly_does_not(nb11):
    """The lesion study's reading: plain-20 "from 19.8 % to between 81.8 and 97.6 %";
    "Plain-56 ... 72.6 % intact"; ResNet-56, "any one of the 18 blocks of conv3 and conv4 ...
    between 25.8 and 32.2 % (27.4 % intact)", "the median over all 27 blocks costs 1.8 points";
    "one of ResNet-56's first three blocks ... 77 to 91 %"; ResNet-20, "median deletion costs
    25 points, from 23.4 % (its last block deleted) to 87.0 % (its first)"; "one block
    deleted at random costs ResNet-56 at most 3.8 points in four draws"; "four later blocks
    together, whose single deletions cost 11 points between them, give 52.2 %, and eight
    blocks without any of the first three give 84.8 %"; "500 test images"; "ResNet-56 is
    itself 6 points behind ResNet-20"."""
    assert nb11["lesion test images"] == 500
    single = {name: pd.Series(errors) for name, errors in nb11["single"].items()}
    plain = single["plain-20"]
    assert plain["none"] == 19.8 and (plain.drop("none").min(), plain.max()) == (81.8, 97.6)
    assert single["plain-56"]["none"] == 72.6
    deep = single["ResNet-56"]
    assert deep["none"] == 27.4 and len(deep) == 28
    later = deep[[name for name in deep.index if name.startswith(("conv3", "conv4"))]]
    assert len(later) == 18 and (later.min(), later.max()) == (25.8, 32.2)
    assert round(deep.drop("none").median() - deep["none"], 1) == 1.8
    first = deep[["conv2_block1", "conv2_block2", "conv2_block3"]]
    assert round(first.min()) == 77 and round(first.max()) == 91
    assert round(deep["none"] - single["ResNet-20"]["none"]) == 6
    shallow = single["ResNet-20"].drop("none")
    assert round(shallow.median() - single["ResNet-20"]["none"]) == 25
    assert (shallow.idxmin(), shallow.min()) == ("conv4_block3", 23.4)
    assert (shallow.idxmax(), shallow.max()) == ("conv2_block1", 87.0)
    runs = pd.DataFrame(nb11["random ResNet-56"])
    one = runs[runs["deleted blocks"] == 1].error
    assert len(one) == 4 and round(one.max() - deep["none"], 1) == 3.8
    early = ("conv2_block1", "conv2_block2", "conv2_block3")
    late = runs[[not set(early) & set(blocks) for blocks in runs.blocks]]
    four = late[late["deleted blocks"] == 4].iloc[0]
    assert four.error == 52.2 and all(b.startswith(("conv3", "conv4")) for b in four.blocks)
    assert round(sum(deep[b] - deep["none"] for b in four.blocks)) == 11  # "cost 11 points"
    assert late[late["deleted blocks"] == 8].error.tolist() == [84.8]
    assert all(e >= 77 for b, e in zip(runs.blocks, runs.error, strict=True) if set(early) & set(b))


def test_11_lesion_plain_blocks_that_change_shape_cannot_be_deleted(nb11):
    """ "A plain block that changes the shape (the first block of conv3 and of conv4) cannot be
    deleted"; a residual one can."""
    for depth, n in ((20, 3), (56, 9)):
        plain = set(nb11["single"][f"plain-{depth}"]) - {"none"}
        residual = set(nb11["single"][f"ResNet-{depth}"]) - {"none"}
        assert len(residual) == 3 * n and residual - plain == {"conv3_block1", "conv4_block1"}


def test_readme_backend_speeds_are_the_benchmarks():
    """ "ResNet-20 … 1.35 times as long under PyTorch and 2.33 times under JAX, … ResNet-50 …
    1.59 and 1.41 times" (README, "Keras backends"), and TensorFlow the fastest."""
    text = (config.ROOT / "benchmarks" / "results" / "backends.txt").read_text()
    ratios = {}
    for run in text.split("$ .venv/bin/python benchmarks/backends.py --model ")[1:]:
        model = run.split()[0]
        for line in run.splitlines():
            parts = line.split()
            if parts and parts[0] in ("tensorflow", "jax", "torch"):
                ratios[model, parts[0]] = float(parts[-1])
    assert ratios == {
        ("resnet20", "tensorflow"): 1.0,
        ("resnet20", "jax"): 2.33,
        ("resnet20", "torch"): 1.35,
        ("resnet50", "tensorflow"): 1.0,
        ("resnet50", "jax"): 1.41,
        ("resnet50", "torch"): 1.59,
    }
    readme = " ".join((config.ROOT / "README.md").read_text().split())
    assert "1.35 times as long under PyTorch and 2.33 times under JAX" in readme
    assert "1.59 and 1.41 times" in readme
