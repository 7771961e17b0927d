import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from reslab import config, plots


@pytest.fixture(autouse=True)
def figures(tmp_path, monkeypatch):
    monkeypatch.setenv(config.FIGURES_ENV, str(tmp_path))
    yield tmp_path
    plt.close("all")


def test_every_figure_is_saved_under_a_stable_name(figures):
    table = pd.DataFrame([[1e-3, 1e-1, np.nan], [0.0, 1e-2, 1.0]], index=[2, 3], columns=[1, 2, 3])
    plots.image_grid(
        np.random.default_rng(0).random((4, 28, 28)), np.arange(4), list("abcd"), "grid", columns=2
    )
    fig = plots.gradient_heatmaps({"sigmoid": table, "relu": table * 10}, "heat")
    plots.gradient_profiles({"a": [1.0, 0.1, 0.0], "b": [1, 1, 1]}, "profile")
    plots.training_curves({"a": {"loss": [2, 1], "val_loss": [2.1, 1.2]}}, "curves", ("loss",))
    plots.gradient_history({"a": table.T}, "history")
    names = sorted(p.name for p in figures.iterdir())
    assert names == ["curves.png", "grid.png", "heat.png", "history.png", "profile.png"]
    assert all(p.stat().st_size > 5_000 for p in figures.iterdir())
    # One shared log colour scale; an underflowed 0 is drawn at its bottom, not left blank.
    meshes = [ax.collections[0] for ax in fig.axes if ax.get_ylabel() == "depth"]
    assert len({(m.norm.vmin, m.norm.vmax) for m in meshes}) == 1
    assert meshes[0].norm.vmin == pytest.approx(1e-3) and meshes[1].norm.vmax == pytest.approx(10)


def test_kernel_growth_draws_one_panel_per_run_and_one_line_per_iteration(figures):
    norms = pd.DataFrame(
        [[1.0, 2.0, 3.0], [10.0, 2.0, 3.0], [20.0, 4.0, 3.0]],
        index=pd.Index([0, 1, 5], name="iteration"),
        columns=["a", "b", "c"],
    )
    fig = plots.kernel_growth({"one": norms, "two": norms * 2}, "growth", at=[1, 5, 99])
    assert (figures / "growth.png").exists()
    first = fig.axes[0]
    assert [line.get_label() for line in first.get_lines()[:2]] == ["after 1", "after 5"]
    np.testing.assert_allclose(first.get_lines()[1].get_ydata(), [20, 2, 1])  # ratio to init


def test_error_curves_draw_training_dashed_and_held_out_bold_per_panel(figures):
    runs = {"a": {"accuracy": [0.5, 0.9, 0.98], "val_accuracy": [0.6, 0.85, 0.88]}}
    fig = plots.error_curves(
        {"plain": runs, "residual": {"b": {"accuracy": [0.7, 0.99]}}}, "err", held_out="validation"
    )
    assert (figures / "err.png").exists()
    first, second = fig.axes
    train, held = first.get_lines()
    assert train.get_linestyle() == "--" and held.get_label() == "a (validation)"
    np.testing.assert_allclose(train.get_ydata(), [50, 10, 2])  # error in %
    assert [line.get_label() for line in second.get_lines()] == ["b (train)"]
    assert first.get_yscale() == "linear"
    log = plots.error_curves({"plain": runs}, "err_log", log_y=True)
    assert log.axes[0].get_yscale() == "log"


def test_seed_spread_draws_a_dot_per_seed_and_labels_costs(figures):
    final = pd.DataFrame(
        {
            "kind": ["a", "a", "b", "b"],
            "seed": [0, 1, 0, 1],
            "test error %": [10.0, 12.0, 20.0, 22.0],
            "params": [1e6, 1e6, 2.5e5, 2.5e5],
            "mult_adds": [4e7, 4e7, 8e7, 8e7],
        }
    )
    fig = plots.seed_spread(final, "spread")
    assert (figures / "spread.png").exists()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["a  (1.00 M, 40 M)", "b  (0.25 M, 80 M)"]
    means = fig.axes[0].collections[-1].get_offsets()
    np.testing.assert_allclose(np.asarray(means)[:, 0], [11.0, 21.0])


def test_lesion_errors_places_each_deleted_block_by_its_number(figures):
    resnet = pd.DataFrame(
        {
            "deleted": ["none", "conv2_block1", "conv2_block2", "conv3_block1", "conv3_block2"],
            "error": [10.0, 40.0, 12.0, 30.0, 11.0],
        }
    )
    plain = pd.DataFrame(
        {"deleted": ["none", "conv2_block2", "conv3_block2"], "error": [9.0, 90, 88]}
    )
    random = pd.DataFrame({"deleted blocks": [1, 1, 2], "error": [12.0, 15.0, 30.0]})
    fig = plots.lesion_errors({"4 blocks": {"plain": plain, "ResNet": resnet}}, random, "r", "les")
    assert (figures / "les.png").exists()
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_xdata(), [2, 4])  # plain: no block 1 or 3
    np.testing.assert_allclose(lines[2].get_xdata(), [1, 2, 3, 4])
    assert lines[1].get_ydata()[0] == 9.0  # the intact plain net, dashed
