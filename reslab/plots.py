"""The course's figures. Each function draws one figure and saves it as `figures/<name>.png`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, ScalarFormatter

from reslab.config import figures_dir


def save(fig: plt.Figure, name: str) -> Path:
    """Save `fig` as `<figures dir>/<name>.png` (stable names, so README and site can link)."""
    path = figures_dir() / f"{name}.png"  # `name` may hold a folder: "diagrams/03_blocks"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def image_grid(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    name: str,
    columns: int = 10,
) -> plt.Figure:
    """A grid of grayscale images, each titled with its class."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows))
    for ax, image, label in zip(np.ravel(axes), images, labels, strict=False):
        ax.imshow(np.squeeze(image), cmap="gray_r")
        ax.set_title(class_names[int(label)], fontsize=8)
    for ax in np.ravel(axes):
        ax.axis("off")
    save(fig, name)
    return fig


def gradient_heatmaps(tables: Mapping[str, pd.DataFrame], name: str, title: str = "") -> plt.Figure:
    """One heatmap per setting: rows = network depth, columns = layer (input first).

    Colour is the gradient norm on a shared log scale, so panels compare directly.
    """
    values = np.concatenate([t.to_numpy().ravel() for t in tables.values()])
    positive = values[np.isfinite(values) & (values > 0)]
    norm = LogNorm(vmin=max(positive.min(), 1e-12), vmax=positive.max())
    fig, axes = plt.subplots(len(tables), 1, figsize=(11, 1.9 * len(tables) + 0.6), sharex=True)
    for ax, (label, table) in zip(np.atleast_1d(axes), tables.items(), strict=True):
        # Zero gradients (underflow) are drawn at the bottom of the scale, not left blank.
        shown = table.where(~(table <= 0), norm.vmin)
        sns.heatmap(shown, ax=ax, norm=norm, cmap="viridis", cbar_kws={"label": "‖∂L/∂W‖"})
        ax.grid(False)
        ax.set_title(label, loc="left", fontsize=10)
        ax.set_ylabel("depth")
    ax.set_xlabel("layer (1 = next to the input)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, name)
    return fig


def gradient_profiles(
    profiles: Mapping[str, Sequence[float]], name: str, title: str = ""
) -> plt.Figure:
    """Gradient norm against layer index, one line per setting, log scale."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for label, norms in profiles.items():
        norms = np.asarray(norms, dtype=float)
        ax.semilogy(np.arange(1, len(norms) + 1), np.where(norms > 0, norms, np.nan), label=label)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W‖ (log scale)")
    ax.set_title(title)
    ax.legend(fontsize=9)
    fig.tight_layout()
    save(fig, name)
    return fig


def kernel_growth(
    frames: Mapping[str, pd.DataFrame], name: str, title: str = "", at: Sequence[int] = ()
) -> plt.Figure:
    """‖W_t‖ / ‖W_0‖ against layer index, one panel per run (a `KernelNormHistory` frame),
    one line per recorded iteration in `at` (default: every recorded one), log scale."""
    fig, axes = plt.subplots(1, len(frames), figsize=(5.2 * len(frames), 3.8), squeeze=False)
    for ax, (label, frame) in zip(axes[0], frames.items(), strict=True):
        growth = frame / frame.iloc[0]
        steps = [s for s in (at or growth.index) if s in growth.index and s > 0]
        colours = sns.color_palette("rocket_r", len(steps))
        for colour, step in zip(colours, steps, strict=True):
            layers = np.arange(1, growth.shape[1] + 1)
            ax.semilogy(layers, growth.loc[step].to_numpy(), color=colour, label=f"after {step}")
        ax.axhline(1, color="grey", lw=0.8, ls=":")
        ax.set(xlabel="layer (1 = next to the input)", title=label)
        ax.set_ylabel("‖W‖ / ‖W at init‖ (log scale)")
        ax.legend(fontsize=8, title="iterations", title_fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, name)
    return fig


def training_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    name: str,
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str = "",
) -> plt.Figure:
    """Training (solid) and test (dashed) curves, one colour per run; losses on a log axis."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8))
    colours = sns.color_palette("colorblind", len(histories))
    for ax, metric in zip(np.atleast_1d(axes), metrics, strict=True):
        for colour, (label, history) in zip(colours, histories.items(), strict=True):
            epochs = np.arange(1, len(history[metric]) + 1)
            ax.plot(epochs, history[metric], color=colour, label=f"{label} (train)")
            if f"val_{metric}" in history:
                ax.plot(
                    epochs, history[f"val_{metric}"], "--", color=colour, label=f"{label} (test)"
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        if "loss" in metric:  # a diverging first epoch would flatten a linear axis
            ax.set_yscale("log")
    np.atleast_1d(axes)[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, name)
    return fig


def gradient_history(frames: Mapping[str, pd.DataFrame], name: str, title: str = "") -> plt.Figure:
    """Per-layer gradient norms over training: one panel per run, one line per layer."""
    fig, axes = plt.subplots(1, len(frames), figsize=(4.2 * len(frames), 3.8), sharey=True)
    for ax, (label, frame) in zip(np.atleast_1d(axes), frames.items(), strict=True):
        colours = sns.color_palette("viridis", frame.shape[1])
        for colour, layer in zip(colours, frame.columns, strict=True):
            ax.semilogy(frame.index, frame[layer].where(frame[layer] > 0), color=colour, lw=1.2)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
    np.atleast_1d(axes)[0].set_ylabel("‖∂L/∂W‖ (dark = input side)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save(fig, name)
    return fig


def error_curves(
    panels: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]],
    name: str | None,
    title: str = "",
    x_label: str = "epoch",
    held_out: str = "test",
    log_y: bool = False,
) -> plt.Figure:
    """Error (%) against training time, one panel per group of runs, drawn as He et al. 2015
    draw Fig. 6: dashed lines are training error, bold lines error on held-out images
    (`held_out` names them in the legend: "test", or "validation"). `log_y` spreads out
    errors of a few percent, where converged runs end.

    Each run is a history with `accuracy` and optionally `val_accuracy`; `step` and
    `val_step` give their x positions (default 1, 2, ...). `name=None` does not save it.
    """
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * len(panels), 3.8), sharey=True, squeeze=False
    )
    for ax, (panel, runs) in zip(axes[0], panels.items(), strict=True):
        colours = sns.color_palette("colorblind", len(runs))
        for colour, (label, run) in zip(colours, runs.items(), strict=True):
            train_error = 100 * (1 - np.asarray(run["accuracy"], dtype=float))
            steps = run.get("step", np.arange(1, len(train_error) + 1))
            ax.plot(steps, train_error, "--", color=colour, lw=1.6, label=f"{label} (train)")
            if "val_accuracy" in run:
                test_error = 100 * (1 - np.asarray(run["val_accuracy"], dtype=float))
                val_steps = run.get("val_step", np.arange(1, len(test_error) + 1))
                ax.plot(
                    val_steps, test_error, "o-", color=colour, lw=2.6, label=f"{label} ({held_out})"
                )
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel(x_label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if log_y:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(FixedLocator([1, 2, 3, 5, 10, 20, 30, 50, 100]))
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
        if runs:
            ax.legend(fontsize=8)
    axes[0][0].set_ylabel("error (%)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if name:
        save(fig, name)
    return fig


def transfer_curve(
    table: pd.DataFrame,
    name: str,
    live: Mapping[str, float] | None = None,
    live_per_class: int | None = None,
    title: str = "",
) -> plt.Figure:
    """Test accuracy against labelled images per class, one line per method (the mean over
    seeds, with each seed's result as a dot): the curve that says when transfer pays.
    `live` adds this notebook's own run at `live_per_class` as open markers."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    methods = list(dict.fromkeys(table["method"]))
    colours = dict(zip(methods, sns.color_palette("colorblind", len(methods)), strict=True))
    for method in methods:
        runs = table[table["method"] == method]
        mean = runs.groupby("per_class")["accuracy"].mean()
        ax.plot(mean.index, 100 * mean, "o-", color=colours[method], lw=2.2, label=method)
        seeds = 100 * runs["accuracy"]
        ax.scatter(runs["per_class"], seeds, color=colours[method], s=12, alpha=0.5)
    for method, accuracy in (live or {}).items():
        ax.scatter(
            [live_per_class],
            [100 * accuracy],
            s=90,
            facecolors="none",
            edgecolors=[colours.get(method, "black")],
            linewidths=2,
            label=f"{method} (this notebook's run)",
        )
    ax.set_xscale("log")
    ticks = sorted(set(table["per_class"]) | ({live_per_class} if live else set()))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("labelled training images per class (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save(fig, name)
    return fig


def seed_spread(final: pd.DataFrame, name: str, title: str = "") -> plt.Figure:
    """Final test error of each network, one dot per seed and a bar at the mean; the label
    gives its parameters and multiply-adds (columns kind, seed, test error %, params,
    mult_adds)."""
    order = list(dict.fromkeys(final["kind"]))
    first = final.drop_duplicates("kind").set_index("kind")
    labels = {
        k: f"{k}  ({first.loc[k, 'params'] / 1e6:.2f} M, {first.loc[k, 'mult_adds'] / 1e6:.0f} M)"
        for k in order
    }
    data = final.assign(network=final["kind"].map(labels))
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(order) + 1.2))
    sns.stripplot(
        data=data,
        x="test error %",
        y="network",
        order=[labels[k] for k in order],
        color="0.25",
        size=6,
        jitter=0.12,
        ax=ax,
    )
    means = data.groupby("network", sort=False)["test error %"].mean()
    ax.scatter(means.values, means.index, marker="|", s=500, color="C3", lw=2.5, label="mean")
    ax.set_ylabel("network  (parameters, multiply-adds per image)")
    ax.set_xlabel("test error after the run (%), one dot per seed")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save(fig, name)
    return fig


def _block_number(name: str, per_stage: int) -> int:
    """conv3_block2 → its place in the network (1-based), with `per_stage` blocks a stage."""
    stage, block = name.removeprefix("conv").split("_block")
    return (int(stage) - 2) * per_stage + int(block)


def lesion_errors(
    panels: Mapping[str, Mapping[str, pd.DataFrame]],
    random: pd.DataFrame,
    random_label: str,
    name: str,
    random_intact: float | None = None,
    chance: float = 90.0,
) -> plt.Figure:
    """The lesion study of Veit et al. 2016. One panel per group of networks: test error with
    one block deleted, against the block's place (tables with columns deleted, error; the row
    "none" is the intact network, drawn dashed). Last panel: error with several blocks
    deleted at random (columns deleted blocks, error), and that network intact."""
    fig, axes = plt.subplots(
        1, len(panels) + 1, figsize=(4.2 * len(panels) + 3.2, 3.8), sharey=True
    )
    for ax, (title, tables) in zip(axes, panels.items(), strict=False):
        for i, (network, table) in enumerate(tables.items()):
            intact = table.loc[table.deleted == "none", "error"].item()
            rows = table[table.deleted != "none"]
            per_stage = max(int(d.split("_block")[1]) for d in rows.deleted)
            where = [_block_number(d, per_stage) for d in rows.deleted]
            ax.plot(where, rows.error, "o-", ms=4, color=f"C{i}", label=f"{network}, one deleted")
            ax.axhline(intact, color=f"C{i}", ls="--", lw=1, label=f"{network}, intact")
        ax.axhline(chance, color="0.5", ls=":", lw=1, label="chance")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("deleted block (1 = first)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    axes[0].set_ylabel("test error (%)")
    axes[0].set_ylim(0, 100)
    right = axes[-1]
    sns.stripplot(data=random, x="deleted blocks", y="error", color="C1", size=5, ax=right)
    right.axhline(chance, color="0.5", ls=":", lw=1, label="chance")
    if random_intact is not None:
        right.axhline(random_intact, color="C1", ls="--", lw=1, label="intact")
    right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    right.set_title(random_label, fontsize=10)
    right.set_xlabel("blocks deleted at random")
    fig.tight_layout()
    save(fig, name)
    return fig
