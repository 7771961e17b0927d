"""Interactive explorers for JupyterLab: move a control, see the measurement change.

Each explorer is one call in a notebook and returns an `Explorer` (ipywidgets). Its output
also carries a PNG of its first state, and saves it under `figures/`: the website, where
widgets cannot run, shows that figure instead (see `nb_mime_priority_overrides` in
`notebooks/_config.yml`).
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Image, display
from matplotlib.ticker import MaxNLocator

from reslab import grads, plots

Compute = Callable[..., tuple[plt.Figure, Any]]


class Explorer(widgets.VBox):
    """Controls above a live figure. `result` holds what the last update computed."""

    def __init__(self, controls: Mapping[str, widgets.Widget], compute: Compute, name: str):
        self.controls, self._compute = dict(controls), compute
        self.result: Any = None
        self.figure: plt.Figure | None = None
        self.png = b""
        output = widgets.interactive_output(self._update, self.controls)  # draws the first state
        layout = widgets.Layout(flex_flow="row wrap")
        super().__init__([widgets.Box(list(self.controls.values()), layout=layout), output])
        if self.figure is None:  # the first computation failed: its error is shown above
            raise RuntimeError(f"The explorer {name!r} could not draw its first state")
        self.snapshot = base64.b64encode(self.png).decode()
        plots.save(self.figure, name)  # the first state, for the website and the README

    def _update(self, **values: Any) -> None:
        self.figure, self.result = self._compute(**values)
        self.png = _png(self.figure)
        plt.close(self.figure)
        display(Image(self.png))  # a PNG, whatever matplotlib backend the kernel runs
        if isinstance(self.result, pd.DataFrame):
            display(self.result.round(2))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs)
        return {**bundle, "image/png": self.snapshot}  # JupyterLab prefers the live widget


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


# --- notebook 01: the gradient-norm profile of a plain network --------------------------------


def gradient_profile(
    build: Callable[..., keras.Model], x: np.ndarray, y: np.ndarray, seed: int = 0, **setting: Any
) -> pd.Series:
    """Per-layer gradient norms, input side first, of `build(**setting)` at initialization."""
    keras.utils.set_random_seed(seed)
    norms = grads.gradient_norms(build(**setting), x, y)
    return pd.Series(norms.to_numpy(), index=pd.RangeIndex(1, len(norms) + 1, name="layer"))


def gradients(build: Callable[..., keras.Model], x: np.ndarray, y: np.ndarray) -> Explorer:
    """Depth, activation, initializer and batch norm of `build(depth, activation=...,
    initializer=..., batchnorm=...)` against the per-layer gradient norms, measured live."""
    style = {"description_width": "initial"}
    controls = {
        "depth": widgets.IntSlider(20, min=2, max=50, description="depth", style=style),
        "activation": widgets.Dropdown(
            options=["sigmoid", "tanh", "relu"], description="activation", style=style
        ),
        "initializer": widgets.Dropdown(
            options=["glorot_uniform", "he_normal"], description="init", value="glorot_uniform"
        ),
        "batchnorm": widgets.Checkbox(False, description="batch norm"),
    }

    def compute(**setting: Any) -> tuple[plt.Figure, pd.Series]:
        norms = gradient_profile(build, x, y, **setting)
        fig, ax = plt.subplots(figsize=(7, 3.4))
        ax.semilogy(norms.index, norms.where(norms > 0), "o-", ms=3)
        ax.set(xlabel="layer (1 = next to the input)", ylabel="‖∂L/∂W‖ (log scale)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        spread = norms.iloc[0] / norms.iloc[-2] if len(norms) > 1 else 1.0
        ax.set_title(
            f"{setting['depth']} layers, {setting['activation']}, {setting['initializer']}"
            f"{' + BN' if setting['batchnorm'] else ''}: first / last hidden = {spread:.1e}",
            fontsize=10,
        )
        fig.tight_layout()
        return fig, norms

    return Explorer(controls, compute, "01_explorer")


# --- notebook 04: output size of a convolution ------------------------------------------------


def conv_output(n: int, kernel: int, stride: int, padding: str | int) -> dict[str, int]:
    """Output size and the zeros added before and after, as Keras computes them, for an
    `n`-pixel side: `padding` is "same", "valid" or an int (`ZeroPadding2D(p)`, then valid)."""
    if padding == "same":  # TensorFlow's rule: any odd pixel of padding goes after
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        before, after = total // 2, total - total // 2
    else:
        before = after = 0 if padding == "valid" else int(padding)
    if before + n + after < kernel:  # no window fits: Keras raises a ValueError
        return {"output": 0, "before": before, "after": after}
    inputs = keras.Input((n, n, 1))
    h = keras.layers.ZeroPadding2D(before)(inputs) if padding not in ("same", "valid") else inputs
    h = keras.layers.Conv2D(
        1, kernel, strides=stride, padding="same" if padding == "same" else "valid"
    )(h)
    return {"output": h.shape[1], "before": before, "after": after}


def conv_size() -> Explorer:
    """Input size, kernel, stride and padding of a convolution against its output size, with
    the windows it slides over one row drawn out."""
    controls = {
        "n": widgets.IntSlider(8, min=1, max=32, description="input n"),
        "kernel": widgets.IntSlider(3, min=1, max=7, description="kernel f"),
        "stride": widgets.IntSlider(2, min=1, max=4, description="stride s"),
        "padding": widgets.Dropdown(options=["same", "valid", 0, 1, 2, 3], description="padding"),
    }

    def compute(n: int, kernel: int, stride: int, padding: str | int) -> tuple[plt.Figure, dict]:
        size = conv_output(n, kernel, stride, padding)
        width = size["before"] + n + size["after"]
        fig, ax = plt.subplots(figsize=(7, 1.2 + 0.28 * min(size["output"], 12)))
        for i in range(width):
            pad = not size["before"] <= i < size["before"] + n
            ax.add_patch(plt.Rectangle((i, 0), 1, 1, fc="0.85" if pad else "white", ec="0.3"))
        for row in range(min(size["output"], 12)):  # one bar per output position
            left = row * stride
            ax.add_patch(plt.Rectangle((left + 0.1, -1.2 - 0.5 * row), kernel - 0.2, 0.35))
        ax.text(-0.3, 0.5, "one row of the input", ha="right", va="center", fontsize=9)
        ax.text(-0.3, -1.0, "windows, one per\noutput pixel", ha="right", va="top", fontsize=9)
        ax.set(xlim=(-0.5, max(width, 1) + 0.5), ylim=(-1.6 - 0.5 * min(size["output"], 12), 1.5))
        ax.set_axis_off()
        result = f"output {size['output']}" if size["output"] else "no window fits (Keras refuses)"
        if size["output"] > 12:
            result += " (the first 12 windows drawn)"
        ax.set_title(
            f"n={n}, f={kernel}, s={stride}, padding={padding!r}: {result}; "
            f"zero padding (grey): {size['before']} before, {size['after']} after",
            fontsize=9,
        )
        return fig, size

    return Explorer(controls, compute, "04_explorer")


# --- notebooks 02 and 07: the committed longer runs --------------------------------------------


def _depth(label: str) -> int:
    return int(re.search(r"\d+", label).group())


def _until(run: Mapping[str, Any], upto: float) -> dict[str, np.ndarray]:
    """A run's training and held-out points at or before `upto`."""
    out = {}
    for key, steps in (("accuracy", "step"), ("val_accuracy", "val_step")):
        if key in run:
            values = np.asarray(run[key], dtype=float)
            at = np.asarray(run.get(steps, np.arange(1, len(values) + 1)))
            out[key], out[steps] = values[at <= upto], at[at <= upto]
    return out


def errors_at(panels: Mapping[str, Mapping[str, Mapping]], upto: float) -> pd.DataFrame:
    """Each run's training and held-out error (%) at its last point at or before `upto`."""
    rows = {}
    for runs in panels.values():
        for label, run in runs.items():
            cut = _until(run, upto)
            rows[label] = {
                column: 100 * (1 - cut[key][-1]) if len(cut.get(key, [])) else np.nan
                for key, column in (
                    ("accuracy", "train error %"),
                    ("val_accuracy", "held-out error %"),
                )
            }
    return pd.DataFrame(rows).T


def runs(
    panels: Mapping[str, Mapping[str, Mapping]],
    name: str,
    x_label: str = "epoch",
    held_out: str = "test",
) -> Explorer:
    """Depths, plain or residual, and training time over committed runs (`plots.error_curves`
    panels): the curves up to that time, and each network's errors there."""
    depths = sorted({_depth(label) for runs in panels.values() for label in runs})
    points = [_until(run, np.inf) for runs in panels.values() for run in runs.values()]
    last = int(max(np.max(at) for run in points for key, at in run.items() if "step" in key))
    full = plots.error_curves(panels, None)  # its error axis is kept as the slider moves
    errors = full.axes[0].get_ylim()
    plt.close(full)
    controls = {
        "depths": widgets.SelectMultiple(
            options=depths, value=depths, description="depths", rows=3
        ),
        "kinds": widgets.SelectMultiple(
            options=list(panels), value=list(panels), description="nets", rows=2
        ),
        "upto": widgets.IntSlider(last, min=1, max=last, description=x_label),
    }

    def compute(depths: tuple, kinds: tuple, upto: int) -> tuple[plt.Figure, pd.DataFrame]:
        chosen = {
            kind: {label: run for label, run in panels[kind].items() if _depth(label) in depths}
            for kind in kinds
        }
        cut = {
            kind: {label: _until(run, upto) for label, run in r.items()}
            for kind, r in chosen.items()
        }
        title = f"up to {x_label} {upto:,} (dashed: training error, bold: held-out error)"
        fig = plots.error_curves(
            cut or {"no network chosen": {}}, None, x_label=x_label, held_out=held_out, title=title
        )
        for ax in fig.axes:  # the full axes, so the curves grow as the slider moves
            ax.set(xlim=(0, 1.03 * last), ylim=errors)
        return fig, errors_at(chosen, upto)

    return Explorer(controls, compute, name)
