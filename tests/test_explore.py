"""The interactive explorers: each control recomputes the right thing, and the output
carries a static figure for the website."""

from __future__ import annotations

import math

import keras
import numpy as np
import pandas as pd
import pytest

from reslab import config, experiments, explore
from reslab.autodiff import to_numpy


def mlp(depth, activation="relu", initializer="he_normal", batchnorm=False):
    layers = [keras.Input((8,))]
    for _ in range(depth - 1):
        layers.append(keras.layers.Dense(16, kernel_initializer=initializer))
        if batchnorm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation(activation))
    layers.append(keras.layers.Dense(3, activation="softmax", kernel_initializer=initializer))
    return keras.Sequential(layers)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 8)).astype("float32"), rng.integers(0, 3, 32)


def test_gradient_explorer_measures_the_chosen_network(batch, tmp_path, monkeypatch):
    monkeypatch.setenv(config.FIGURES_ENV, str(tmp_path))
    x, y = batch
    explorer = explore.gradients(mlp, x, y)
    assert len(explorer.result) == explorer.controls["depth"].value  # the first state, drawn
    assert (tmp_path / "01_explorer.png").is_file()
    explorer.controls["depth"].value = 6
    explorer.controls["activation"].value = "tanh"
    explorer.controls["initializer"].value = "he_normal"
    explorer.controls["batchnorm"].value = True
    direct = explore.gradient_profile(
        mlp, x, y, depth=6, activation="tanh", initializer="he_normal", batchnorm=True
    )
    pd.testing.assert_series_equal(explorer.result, direct)
    # A deep sigmoid net's gradients shrink towards the input; ReLU + He + BN's do not.
    sigmoid = explore.gradient_profile(
        mlp, x, y, depth=20, activation="sigmoid", initializer="glorot_uniform", batchnorm=False
    )
    assert sigmoid.iloc[0] < 1e-3 * sigmoid.iloc[-2]
    healthy = explore.gradient_profile(
        mlp, x, y, depth=20, activation="relu", initializer="he_normal", batchnorm=True
    )
    assert healthy.iloc[0] > 0.1 * healthy.iloc[-2]


def test_the_output_carries_a_figure_for_the_website(batch, tmp_path, monkeypatch):
    monkeypatch.setenv(config.FIGURES_ENV, str(tmp_path))
    bundle = explore.gradients(mlp, *batch)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"].startswith("iVBOR")  # base64 of the PNG signature


@pytest.mark.parametrize("n", [1, 5, 8, 56, 224])
@pytest.mark.parametrize("kernel", [1, 2, 3, 7])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv_output_agrees_with_the_formula(n, kernel, stride):
    for padding in ("valid", 0, 1, 3):
        p = 0 if padding == "valid" else padding
        size = explore.conv_output(n, kernel, stride, padding)
        assert size["output"] == max((n + 2 * p - kernel) // stride + 1, 0), (padding, size)
    assert explore.conv_output(n, kernel, stride, "same")["output"] == math.ceil(n / stride)


def test_same_padding_is_the_padding_keras_applies():
    # A "same" convolution equals a "valid" one on the input padded as conv_output says.
    keras.utils.set_random_seed(0)
    for n, kernel, stride in [(7, 3, 2), (8, 3, 2), (10, 4, 1), (10, 2, 2), (10, 7, 3)]:
        image = np.random.default_rng(0).normal(size=(1, n, n, 1)).astype("float32")
        size = explore.conv_output(n, kernel, stride, "same")
        same = keras.layers.Conv2D(1, kernel, strides=stride, padding="same")
        out = same(image)
        valid = keras.layers.Conv2D(1, kernel, strides=stride)
        pad = (size["before"], size["after"])
        valid.build((1, n + sum(pad), n + sum(pad), 1))
        valid.set_weights(same.get_weights())
        padded = valid(np.pad(image, ((0, 0), pad, pad, (0, 0))))
        np.testing.assert_allclose(to_numpy(padded), to_numpy(out), atol=1e-5)


def test_conv_explorer_follows_its_controls(tmp_path, monkeypatch):
    monkeypatch.setenv(config.FIGURES_ENV, str(tmp_path))
    explorer = explore.conv_size()
    explorer.controls["n"].value = 7
    explorer.controls["kernel"].value = 3
    explorer.controls["stride"].value = 2
    explorer.controls["padding"].value = 1
    assert explorer.result == {"output": 4, "before": 1, "after": 1}
    explorer.controls["padding"].value = "valid"
    assert explorer.result["output"] == 3
    explorer.controls["kernel"].value = 7
    explorer.controls["n"].value = 2  # no window fits: a verdict, not an error
    assert explorer.result["output"] == 0


def test_run_explorer_reads_the_committed_runs_at_the_chosen_time(tmp_path, monkeypatch):
    monkeypatch.setenv(config.FIGURES_ENV, str(tmp_path))
    long = pd.read_csv(config.results_dir() / "02_degradation.csv")
    explorer = explore.runs(experiments.error_panels(long), "02_explorer")
    last = long.epoch.max()
    assert explorer.controls["upto"].value == last
    assert len(explorer.result) == long.model.nunique()
    explorer.controls["upto"].value = 3
    explorer.controls["kinds"].value = ("plain networks",)
    explorer.controls["depths"].value = (20, 56)
    assert list(explorer.result.index) == ["plain-20", "plain-56"]
    row = long[(long.model == "plain-56") & (long.epoch == 3)].iloc[0]
    assert explorer.result.loc["plain-56", "train error %"] == pytest.approx(
        100 * (1 - row.accuracy)
    )
    assert explorer.result.loc["plain-56", "held-out error %"] == pytest.approx(
        100 * (1 - row.val_accuracy)
    )
    explorer.controls["depths"].value = ()
    assert explorer.result.empty  # nothing chosen: an empty table, not an error
    explorer.controls["depths"].value = (20,)
    explorer.controls["kinds"].value = ()
    assert explorer.result.empty


def test_errors_at_reads_training_and_held_out_points_at_their_own_steps():
    # As in notebook 07: the training curve stops at the last full epoch (30), the held-out
    # curve at the end of the run (35).
    run = {"accuracy": [0.5, 0.6, 0.7], "step": [10, 20, 30]}
    run |= {"val_accuracy": [0.4, 0.5, 0.6, 0.65], "val_step": [10, 20, 30, 35]}
    panels = {"plain": {"plain-20": run}}
    table = explore.errors_at(panels, 25)
    assert table.loc["plain-20"].tolist() == pytest.approx([40.0, 50.0])
    assert explore.errors_at(panels, 35).loc["plain-20"].tolist() == pytest.approx([30.0, 35.0])
    assert explore.errors_at(panels, 5).loc["plain-20"].isna().all()  # nothing measured yet
    assert explore.errors_at({}, 35).empty
