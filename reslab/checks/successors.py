"""Notebook 11's checker: a squeeze-and-excitation block."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from reslab import compare
from reslab.autodiff import to_numpy
from reslab.checks.verdict import Verdict, _fail, _model_of, _result

# --- Notebook 11: squeeze-and-excitation ---------------------------------------------------

SE_SHAPE, SE_RATIO = (6, 5, 24), 3  # height ≠ width ≠ channels, so a wrong axis shows


def _se_variants(x: np.ndarray, w1, b1, w2, b2) -> dict[tuple[str, ...], np.ndarray]:
    """SE and the ways learners get it wrong, computed with numpy: (pool, hidden activation,
    gate activation, combination) → output."""
    pools = {
        "mean": x.mean(axis=(1, 2), keepdims=True),
        "max": x.max(axis=(1, 2), keepdims=True),
        "none": x,
    }
    hidden = {"relu": lambda t: np.maximum(t, 0), "none": lambda t: t}

    def softmax(t):
        e = np.exp(t - t.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    gates = {
        "sigmoid": lambda t: 1 / (1 + np.exp(-t)),
        "softmax": softmax,
        "relu": lambda t: np.maximum(t, 0),
        "none": lambda t: t,
    }
    found = {}
    for p, pooled in pools.items():
        for h, act in hidden.items():
            for g, gate in gates.items():
                s = gate(act(pooled @ w1 + b1) @ w2 + b2)
                found[(p, h, g, "multiply")] = x * s
                found[(p, h, g, "add")] = x + s
                found[(p, h, g, "multiply, then add x")] = x * s + x
    return found


SE_RIGHT = ("mean", "relu", "sigmoid", "multiply")
SE_WRONG = (  # what each wrong choice at each step of `_se_variants` means
    {
        "max": "takes each channel's maximum: the squeeze is the mean (global average pooling)",
        "none": "applies the fully connected layers at every position: squeeze first (global "
        "average pooling), so each channel gets one number",
    },
    {"none": "has no ReLU after the first fully connected layer (Fig. 3 has one)"},
    {
        "softmax": "gates with a softmax, which makes the channels compete for a total of 1: "
        "SE gives each channel its own weight in (0, 1) with a sigmoid",
        "relu": "gates with a ReLU: SE's gate is a sigmoid, one weight in (0, 1) per channel",
        "none": "has no sigmoid on the channel weights",
    },
    {
        "add": "adds the channel weights to x: SE rescales x, x * s",
        "multiply, then add x": "adds x back after rescaling: the shortcut belongs to the "
        "residual block around SE, not to SE itself",
    },
)


def _leaves(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers with weights inside `layer`, in order (a nested Sequential, say)."""
    if isinstance(layer, keras.Model):
        return [leaf for sub in layer.layers for leaf in _leaves(sub)]
    return [layer] if layer.weights else []


def check_squeeze_excite(fn: Callable) -> Verdict:
    """Check `fn(x, ratio)` applies squeeze-and-excitation to the feature map x (Hu et al.
    2018, Fig. 3): channel means → FC to C/ratio, ReLU → FC to C, sigmoid → x times those
    channel weights. Fully connected layers may be Dense or 1×1 Conv2D layers."""
    channels = SE_SHAPE[-1]
    x_in = keras.Input(SE_SHAPE)
    y, error = _result(fn, x_in, SE_RATIO)
    if error is not None and "broadcast" in error.message:
        return _fail(
            "Multiplying x by the channel weights failed: they need one value per channel, "
            "C = x.shape[-1] (the last axis; x.shape[1] is the height). " + error.message
        )
    if error is not None:
        return error
    if not isinstance(y, keras.KerasTensor):
        return _fail(
            f"`{fn.__name__}` returned a {type(y).__name__}; return the output tensor, built "
            "from the input tensor x with Keras layers."
        )
    shape = tuple(y.shape[1:])
    if shape != SE_SHAPE:
        if shape and shape[-1] == channels and int(np.prod(shape)) == channels:
            return _fail(
                f"You return the channel weights (shape {shape}); SE returns x rescaled by "
                "them: multiply x by the weights."
            )
        return _fail(f"The output has shape {shape}; SE keeps the shape of x, {SE_SHAPE}.")
    model, error = _model_of(x_in, y)
    if error is not None:
        return error
    weighted = [leaf for w in compare.weighted_layers(model) for leaf in _leaves(w.layer)]
    others = [
        layer
        for layer in weighted
        if not isinstance(layer, keras.layers.Dense)
        and not (isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1))
    ]
    if others:
        return _fail(
            f"`{others[0].name}` ({type(others[0]).__name__}) is not part of SE: its "
            "excitation is two fully connected layers (Dense, or 1×1 convolutions) and "
            "nothing else with weights."
        )
    if len(weighted) != 2:
        return _fail(
            f"Your function has {len(weighted)} layer(s) with weights; SE's excitation has two "
            "fully connected layers: C → C / ratio, then C / ratio → C."
        )
    units = [int(layer.weights[0].shape[-1]) for layer in weighted]
    if units[0] != channels // SE_RATIO:
        hint = (
            " (multiplied by the ratio instead of dividing)"
            if units[0] == channels * SE_RATIO
            else ""
        )
        return _fail(
            f"For {channels} channels and ratio={SE_RATIO} the first layer should have "
            f"{channels} // {SE_RATIO} = {channels // SE_RATIO} units; yours has "
            f"{units[0]}{hint}. Read the channel count from x.shape[-1]."
        )
    if units[1] != channels:
        return _fail(
            f"The second layer should give one weight per channel, {channels} units; yours "
            f"has {units[1]}."
        )
    rng = np.random.default_rng(0)
    hidden = channels // SE_RATIO
    w1 = rng.normal(0, np.sqrt(2 / channels), (channels, hidden)).astype("float32")
    w2 = rng.normal(0, np.sqrt(2 / hidden), (hidden, channels)).astype("float32")
    b1, b2 = (rng.normal(0, 0.5, n).astype("float32") for n in (hidden, channels))
    for layer, kernel, bias in zip(weighted, (w1, w2), (b1, b2), strict=True):
        layer.weights[0].assign(kernel.reshape(tuple(layer.weights[0].shape)))
        if len(layer.weights) > 1:
            layer.weights[1].assign(bias)
        else:  # no bias: compare against SE without one
            bias[:] = 0
    x = rng.normal(0, 1, (2, *SE_SHAPE)).astype("float32")
    try:
        mine = to_numpy(model(x))
    except Exception as err:
        return _fail(f"Running your layers failed ({type(err).__name__}).")
    matches = [
        key
        for key, value in _se_variants(x, w1, b1, w2, b2).items()
        if np.allclose(mine, value, atol=1e-4, rtol=1e-4)
    ]
    if SE_RIGHT in matches:
        return Verdict(
            True,
            f"Correct: squeeze ({channels} channel means), excite ({channels} → {hidden} → "
            f"{channels}, ReLU then sigmoid), rescale; {model.count_params():,} parameters.",
        )
    if matches:
        steps = zip(SE_WRONG, matches[0], SE_RIGHT, strict=True)
        wrong = [meaning[choice] for meaning, choice, right in steps if choice != right]
        return _fail("Almost: your function " + "; it ".join(wrong) + ".")
    return _fail(
        "Your output is not x * sigmoid(FC2(ReLU(FC1(mean of x over the map)))): check each step "
        "against Fig. 3 of Hu et al. 2018, in this order."
    )
