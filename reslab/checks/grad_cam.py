"""Notebook 09's checker: a Grad-CAM map for one image."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from reslab import grads
from reslab.autodiff import to_numpy
from reslab.checks.verdict import Verdict, _fail, _result

# --- Notebook 09: Grad-CAM for one image -------------------------------------------------


def _small_cnn() -> keras.Model:
    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv_b")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(4, name="scores")(h), name="small_cnn")


def check_grad_cam(fn: Callable) -> Verdict:
    """Check `fn(model, image, layer_name, class_index)` returns the Grad-CAM map of one image
    (Selvaraju et al. 2017, Eq. 1-2): (h, w) at the layer's resolution, scaled to [0, 1]."""
    model = _small_cnn()
    image = np.random.default_rng(0).uniform(size=(16, 16, 3)).astype("float32")
    for layer, klass in (("conv_b", 2), ("conv_a", 1)):
        result, error = _result(fn, model, image.copy(), layer, klass)
        if error is not None:
            return error
        try:
            got = np.squeeze(np.asarray(to_numpy(result), dtype=float))
        except Exception:
            return _fail(f"Return the map as an array. Received: {type(result).__name__}")
        expected = grads.grad_cam(model, image[None], layer, [klass])[0]
        if got.shape != expected.shape:
            return _fail(
                f"For layer {layer!r} the map is {got.shape}; expected {expected.shape}, the "
                "layer's own resolution (one value per position, summed over channels)."
            )
        if np.allclose(got, expected, atol=1e-4):
            continue
        if got.min() < -1e-6:
            return _fail("The map has negative values: apply a ReLU to the weighted sum (Eq. 2).")
        peak = got.max()
        if peak > 0 and not np.isclose(peak, 1.0) and np.allclose(got / peak, expected, atol=1e-4):
            return _fail(
                f"The map peaks at {peak:.3g}: divide by its maximum to scale it to [0, 1]."
            )
        return _fail(
            f"For layer {layer!r} and class {klass} the map differs from Grad-CAM's. Weight "
            "each channel of the layer's output by the spatial mean of the gradient of the "
            "class score (before any softmax) with respect to it (Eq. 1), sum over channels, "
            "ReLU (Eq. 2)."
        )
    return Verdict(True, "Correct: the Grad-CAM map, at the layer's resolution, in [0, 1].")
