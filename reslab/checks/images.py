"""Notebook 00's warm-up checker: Fashion-MNIST prepared for a 32×32 network."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reslab.autodiff import to_numpy
from reslab.checks.verdict import Verdict, _fail, _result
from reslab.data import to_float_images

# --- Notebook 00, warm-up: prepare Fashion-MNIST images for a 32x32 network -------------


def check_prepare_images(fn: Callable) -> Verdict:
    """Check `fn(x)` turns uint8 (N, 28, 28) images into float32 (N, 32, 32, 1) in [0, 1],
    zero-padded by 2 pixels on every side."""
    x = np.random.default_rng(0).integers(1, 256, size=(3, 28, 28)).astype("uint8")
    result, error = _result(fn, x.copy())
    if error is not None:
        return error
    try:
        got = to_numpy(result)
    except Exception:
        got = np.asarray(object())
    expected = to_float_images(x, size=32)
    if got.dtype == object or got.ndim == 0:
        return _fail(f"Expected an array of images. Received: {type(result).__name__}")
    if got.shape == (3, 32, 32) or got.shape == (3, 28, 28, 1):
        missing = "the channel axis (add [..., None])" if got.ndim == 3 else "the padding to 32x32"
        return _fail(f"The shape is {got.shape}; expected (3, 32, 32, 1). Missing: {missing}.")
    if got.shape != expected.shape:
        return _fail(f"The shape is {got.shape}; expected {expected.shape}.")
    if got.dtype != np.float32:
        return _fail(f"The dtype is {got.dtype}; Keras layers expect float32.")
    if not np.all(np.isfinite(got)):
        return _fail("Some values are NaN or infinite.")
    centre, border = got[:, 2:30, 2:30, 0], got.copy()
    border[:, 2:30, 2:30] = 0
    scaled = x.astype("float32") / 255
    if np.allclose(centre, scaled, atol=1e-6) and np.abs(border).max() > 0:
        return _fail("The images are right, but the border is not zero: pad with zeros.")
    if not np.allclose(centre, scaled, atol=1e-6):
        if np.allclose(got.sum(), expected.sum(), rtol=1e-5):
            return _fail("The values are right but the image is off-centre: pad 2 pixels per side.")
        if got.min() < 0:
            return _fail(
                f"Values go down to {got.min():.2g}: scale to [0, 1] by dividing by 255 "
                "(no mean subtraction here)."
            )
        if got.max() > 1.0:
            return _fail(f"Values go up to {got.max():g}; divide by 255 to scale them to [0, 1].")
        ratio = float(centre.max() / max(scaled.max(), 1e-12))
        if not np.allclose(centre, ratio * scaled, atol=1e-3):
            return _fail(
                "The centre of your images is not the input scaled by 1/255: pad the 28x28 "
                "image with 2 zero pixels per side (np.pad), do not resize it."
            )
        return _fail(
            f"The largest value is {got.max():.4g}, {ratio:.3g} times the expected "
            f"{scaled.max():.4g}: divide the uint8 pixels by 255, so 255 becomes 1.0."
        )
    return Verdict(True, "Correct: float32, scaled to [0, 1], padded to 32x32 with a channel axis.")
