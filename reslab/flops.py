"""Multiply-adds and parameters per layer: the cost accounting of He et al. 2015, Table 1.

The paper counts multiply-adds ("FLOPs" in its Table 1) of the convolutions and the fully
connected layer; batch norm, ReLU, additions and pooling are left out, and so are they here.
"""

from __future__ import annotations

import keras
import pandas as pd


def _multiply_adds(layer: keras.layers.Layer) -> int:
    """Multiply-adds of one call of `layer` on one image (0 for layers the paper leaves out)."""
    if isinstance(layer, keras.layers.Conv2D):
        _, height, width, out_channels = layer.output.shape
        kernel_h, kernel_w = layer.kernel_size
        in_channels = layer.input.shape[-1] // layer.groups
        return height * width * kernel_h * kernel_w * in_channels * out_channels
    if isinstance(layer, keras.layers.Dense):
        return layer.input.shape[-1] * layer.units
    return 0


def layer_table(model: keras.Model) -> pd.DataFrame:
    """One row per layer with weights: output shape, parameters, multiply-adds per image."""
    rows = []
    for layer in model.layers:
        if not layer.weights:
            continue
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output": tuple(layer.output.shape[1:]),
                "params": layer.count_params(),
                "mult_adds": _multiply_adds(layer),
            }
        )
    if not rows:
        raise ValueError(f"Model {model.name!r} has no layer with weights to count.")
    return pd.DataFrame(rows).set_index("layer")


def multiply_adds(model: keras.Model) -> int:
    """Total multiply-adds of `model` on one image (convolutions and dense layers)."""
    return int(layer_table(model)["mult_adds"].sum())
