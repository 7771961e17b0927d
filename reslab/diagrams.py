"""Diagrams drawn from the real Keras layers, so they stay true to the code they picture.

`unit(model)` reads a one-block model's graph into its two paths (He et al. 2015, Fig. 2);
`draw_units` draws several side by side (notebooks 03, 04 and 06). `stages(model)` reads a
ResNet's stem and stages with their map sizes (Table 1) and `draw_stages` draws them (05).
`draw_phases` shows what each phase of fine-tuning trains (08), from the flags that
`reslab.train` sets. Each figure is saved as `figures/diagrams/<name>.png`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import keras
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import patches

from reslab import blocks, compare, plots, train

COLOURS = {"conv": "#c6dbef", "bn": "#fdd0a2", "act": "#c7e9c0", "other": "#e5e5e5"}
BOX_W, BOX_H, STEP = 1.5, 0.42, 0.62  # box size and vertical pitch, in axis units


@dataclasses.dataclass
class Unit:
    """A residual unit's layers, input side first: `trunk` before the two paths split (the
    BN-ReLU a pre-activation projection shares), the `residual` and `shortcut` paths (an
    empty shortcut is the identity), and what follows their sum (`after`). A plain block
    has no `add`: all its layers are in `residual`."""

    trunk: list
    residual: list
    shortcut: list
    add: keras.layers.Layer | None
    after: list
    input_shape: tuple
    output_shape: tuple


def _chain(layer: keras.layers.Layer, stop=None) -> list:
    """`layer` and its single-input ancestors, input side first, up to the input or `stop`."""
    found = []
    while not isinstance(layer, keras.layers.InputLayer) and layer is not stop:
        found.append(layer)
        (layer,) = compare.parents(layer)
    return found[::-1]


def unit(model: keras.Model) -> Unit:
    """Split a one-block functional model (input -> block -> output) into its paths."""
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    if len(adds) > 1:
        raise ValueError(f"Expected one residual unit; {model.name} has {len(adds)} additions.")
    last = model.output._keras_history.operation
    shapes = (tuple(model.input.shape[1:]), tuple(model.output.shape[1:]))
    if not adds:
        return Unit([], _chain(last), [], None, [], *shapes)
    add = adds[0]
    after = _chain(last, stop=add) if last is not add else []
    left, right = (_chain(parent) for parent in compare.parents(add))
    shared = 0
    while shared < min(len(left), len(right)) and left[shared] is right[shared]:
        shared += 1
    trunk, left, right = left[:shared], left[shared:], right[shared:]
    residual, shortcut = (left, right) if len(left) >= len(right) else (right, left)
    return Unit(trunk, residual, shortcut, add, after, *shapes)


def label(layer: keras.layers.Layer) -> tuple[str, str]:
    """A short label for a layer and its colour group."""
    if isinstance(layer, keras.layers.Conv2D):
        (kh, kw), stride = layer.kernel_size, layer.strides[0]
        return f"{kh}×{kw} conv, {layer.filters}" + (f", /{stride}" if stride > 1 else ""), "conv"
    if isinstance(layer, keras.layers.BatchNormalization):
        zero = isinstance(layer.gamma_initializer, keras.initializers.Zeros)
        return "BN (γ = 0)" if zero else "BN", "bn"
    if compare.is_relu(layer):
        return "ReLU", "act"
    if isinstance(layer, keras.layers.MaxPooling2D) and layer.pool_size == (1, 1):
        return f"subsample, /{layer.strides[0]}", "other"
    if isinstance(layer, blocks.ZeroPadChannels):
        return f"+{layer.extra} zero channels", "other"
    if isinstance(layer, keras.layers.ZeroPadding2D):
        return "zero-pad 1", "other"
    return type(layer).__name__, "other"


def _box(
    ax, x: float, y: float, text: str, group: str, width: float = BOX_W, height: float = BOX_H
) -> None:
    ax.add_patch(
        patches.FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLOURS[group],
            edgecolor="#555555",
            linewidth=0.8,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=8 if len(text) <= 16 else 7)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], text: str = "") -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9, shrinkA=0, shrinkB=0),
    )
    if text:
        middle = ((start[0] + end[0]) / 2 + 0.08, (start[1] + end[1]) / 2)
        ax.text(*middle, text, fontsize=7.5, style="italic", ha="left", va="center")


def _shape(shape: tuple) -> str:
    return "×".join("?" if side is None else str(side) for side in shape)


def _column(ax, layers: list, y: float, top: float) -> tuple[float, float]:
    """Draw `layers` one under another in the main column below `y`, each with an arrow from
    `top` (the bottom of what is above); return the last centre and bottom."""
    for layer in layers:
        y -= STEP
        _arrow(ax, (0, top), (0, y + BOX_H / 2))
        _box(ax, 0, y, *label(layer))
        top = y - BOX_H / 2
    return y, top


def _draw_unit(ax, u: Unit, title: str) -> None:
    """One unit, top to bottom: input, trunk, residual path (shortcut to its right), sum,
    what follows, output. Coordinates: x in [-0.9, 2.7], one STEP per box."""
    y = 0.0
    ax.text(0, y, f"x  ({_shape(u.input_shape)})", ha="center", va="center", fontsize=8)
    y, top = _column(ax, u.trunk, y, y - 0.22)
    fork = top
    y, top = _column(ax, u.residual, y, top)
    if u.add is not None:
        y -= STEP
        _arrow(ax, (0, top), (0, y + 0.16))
        ax.add_patch(patches.Circle((0, y), 0.16, facecolor="white", edgecolor="#333333"))
        ax.text(0, y, "+", ha="center", va="center", fontsize=11)
        side, bottom = 1.85, y
        ax.plot([0, side], [fork - 0.05, fork - 0.05], color="#333333", lw=0.9)
        if u.shortcut:
            span = (fork - bottom) / (len(u.shortcut) + 1)
            upper = fork - 0.05
            for k, layer in enumerate(u.shortcut, start=1):
                centre = fork - k * span
                _arrow(ax, (side, upper), (side, centre + BOX_H / 2))
                _box(ax, side, centre, *label(layer))
                upper = centre - BOX_H / 2
            ax.plot([side, side], [upper, bottom], color="#333333", lw=0.9)
        else:
            ax.plot([side, side], [fork - 0.05, bottom], color="#333333", lw=0.9)
            ax.text(side + 0.1, (fork + bottom) / 2, "identity", fontsize=8, style="italic")
        _arrow(ax, (side, bottom), (0.16, bottom))
        top = y - 0.16
    y, top = _column(ax, u.after, y, top)
    y -= STEP
    _arrow(ax, (0, top), (0, y + 0.12))
    ax.text(0, y, f"output  ({_shape(u.output_shape)})", ha="center", va="center", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.set_xlim(-0.9, 2.7)
    ax.set_ylim(y - 0.4, 0.4)


def draw_units(models: dict[str, keras.Model], name: str, columns: int | None = None):
    """Draw each one-block model's unit (its title: the dict's key), side by side on a
    shared vertical scale, and save `figures/diagrams/<name>.png`. Returns the figure."""
    units = {title: unit(model) for title, model in models.items()}
    columns = columns or len(units)
    rows = -(-len(units) // columns)
    height = max(len(u.trunk) + len(u.residual) + len(u.after) for u in units.values()) + 3
    fig, axes = plt.subplots(
        rows, columns, figsize=(2.7 * columns, 0.42 * height * rows + 0.4), squeeze=False
    )
    for ax, (title, u) in zip(axes.ravel(), units.items(), strict=False):
        _draw_unit(ax, u, title)
        ax.set_ylim(-(height - 0.6) * STEP, 0.4)
    for ax in axes.ravel():
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    plots.save(fig, f"diagrams/{name}")
    return fig


# --- ResNet's stages (Table 1) ------------------------------------------------------------


def stages(model: keras.Model) -> pd.DataFrame:
    """The stem and each stage of a ResNet built with Keras's layer names: what it is, its
    blocks, and the output's map size and channels (He et al. 2015, Table 1)."""
    rows = []
    pool = model.get_layer("pool1_pool")
    rows.append(
        {
            "stage": "conv1 + pool",
            "blocks": 0,
            "layers": "7×7 conv, /2; 3×3 max pool, /2",
            "size": pool.output.shape[1],
            "channels": pool.output.shape[3],
        }
    )
    names = [layer.name for layer in model.layers]
    for stage in range(2, 6):
        outs = [n for n in names if re.fullmatch(rf"conv{stage}_block\d+_out", n)]
        first = model.get_layer(f"conv{stage}_block1_1_conv")
        kind = "bottleneck" if f"conv{stage}_block1_3_conv" in names else "basic"
        last = model.get_layer(outs[-1]).output
        rows.append(
            {
                "stage": f"conv{stage}_x",
                "blocks": len(outs),
                "layers": f"{kind}, {first.filters} → {last.shape[3]}",
                "size": last.shape[1],
                "channels": last.shape[3],
            }
        )
    return pd.DataFrame(rows).set_index("stage")


def draw_stages(model: keras.Model, name: str):
    """ResNet's stages as boxes whose height follows the map's side and whose labels give
    the blocks and channels, between the input and the classifier; saves the figure."""
    table = stages(model)
    side = model.input.shape[1]
    fig, ax = plt.subplots(figsize=(10, 3.2))
    x = 0.0
    items = [("input", f"{side}×{side}×{model.input.shape[3]}", side, "other")]
    for stage, row in table.iterrows():
        what = f"{row['blocks']} blocks" if row["blocks"] else "7×7 conv /2\nmax pool /2"
        text = f"{stage}\n{what}\n{row['size']}×{row['size']}×{row['channels']}"
        items.append((stage, text, row["size"], "conv" if row["blocks"] else "bn"))
    items.append(("head", f"avg pool\n{model.output.shape[-1]}-way fc", 1, "act"))
    for k, (_, text, size, group) in enumerate(items):
        height = 0.9 + 1.6 * size / side
        ax.add_patch(
            patches.FancyBboxPatch(
                (x, -height / 2),
                1.3,
                height,
                boxstyle="round,pad=0.02,rounding_size=0.06",
                facecolor=COLOURS[group],
                edgecolor="#555555",
                linewidth=0.8,
            )
        )
        ax.text(x + 0.65, 0, text, ha="center", va="center", fontsize=8)
        if k:
            _arrow(ax, (x - 0.35, 0), (x, 0))
        x += 1.65
    ax.set_xlim(-0.1, x - 0.25)
    ax.set_ylim(-1.45, 1.45)
    ax.axis("off")
    ax.set_title(f"{model.name}: the larger the map, the taller the box", fontsize=9)
    plots.save(fig, f"diagrams/{name}")
    return fig


# --- the two phases of fine-tuning (notebook 08) ------------------------------------------


def trainable_parts(base: keras.Model) -> pd.DataFrame:
    """Per part of a ResNet trunk (stem, conv2_x … conv5_x): how many of its convolutions are
    trainable, and how many of its BN layers (a frozen BN runs in inference mode in Keras)."""
    rows = {}
    for layer in base.layers:
        match = re.match(r"conv(\d)_", layer.name)
        if match is None:
            continue
        part = "stem" if match.group(1) == "1" else f"conv{match.group(1)}_x"
        row = rows.setdefault(part, {"conv": 0, "conv trainable": 0, "bn": 0, "bn trainable": 0})
        kind = "bn" if isinstance(layer, keras.layers.BatchNormalization) else "conv"
        if kind == "bn" or isinstance(layer, keras.layers.Conv2D):
            row[kind] += 1
            row[f"{kind} trainable"] += int(layer.trainable and base.trainable)
    return pd.DataFrame(rows).T


def phases(base: keras.Model, unfreeze: Sequence[str] = ("conv5_",)) -> dict[str, pd.DataFrame]:
    """`trainable_parts` of `base` as `train.fine_tune` leaves it in each phase: phase 1
    freezes the whole trunk, phase 2 calls `train.set_trainable(base, unfreeze)`. The
    trunk's flags are put back afterwards."""
    saved = (base.trainable, [layer.trainable for layer in base.layers])
    try:
        base.trainable = False
        first = trainable_parts(base)
        train.set_trainable(base, tuple(unfreeze))
        second = trainable_parts(base)
    finally:
        base.trainable = saved[0]
        for layer, flag in zip(base.layers, saved[1], strict=True):
            layer.trainable = flag
    return {"phase 1": first, "phase 2": second}


def draw_phases(
    base: keras.Model, name: str, unfreeze: Sequence[str] = ("conv5_",), rates=(1e-3, 1e-5)
):
    """Two rows, one per phase of fine-tuning: each part of the trunk and the new head,
    coloured by what trains, with the state of batch norm; saves the figure."""
    fig, ax = plt.subplots(figsize=(10, 2.9))
    for row, ((phase, table), rate) in enumerate(
        zip(phases(base, unfreeze).items(), rates, strict=True)
    ):
        y = -1.3 * row
        ax.text(-0.2, y, f"{phase}\nlr {rate:g}", ha="right", va="center", fontsize=9)
        x = 0.0
        for part, counts in table.iterrows():
            trains = counts["conv trainable"] > 0
            bn = "BN trains" if counts["bn trainable"] else "BN frozen:\ninference mode"
            text = f"{part}\n{'trains' if trains else 'frozen'}\n{bn}"
            _box(ax, x + 0.65, y, text, "act" if trains else "other", width=1.3, height=1.0)
            x += 1.55
        _box(ax, x + 0.65, y, "new head\n(dropout, dense)\ntrains", "conv", width=1.3, height=1.0)
    ax.set_xlim(-1.3, x + 1.5)
    ax.set_ylim(-1.95, 0.65)
    ax.axis("off")
    ax.set_title("What trains in each phase (from the flags reslab.train sets)", fontsize=9)
    plots.save(fig, f"diagrams/{name}")
    return fig
