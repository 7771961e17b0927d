"""Notebook 01's checkers: per-layer gradient norms, and a deep ReLU MLP whose gradients
stay healthy."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from reslab import compare, grads
from reslab.autodiff import to_numpy
from reslab.checks.verdict import Verdict, _as_floats, _build_model, _fail, _result

# --- Notebook 01, exercise 1: measure per-layer gradient norms ------------------------


def _reference_mlp() -> keras.Model:
    """A small fixed MLP with batch norm, so inference mode gives different gradients. Its
    norms (0.39, 0.22, 1.59) are in no sorted order, so a sorted answer cannot pass."""

    def init(stddev: float) -> keras.initializers.Initializer:
        return keras.initializers.RandomNormal(stddev=stddev, seed=1)

    return keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(
                16, kernel_initializer=init(0.3), bias_initializer="ones", name="dense_a"
            ),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(
                16, kernel_initializer=init(0.6), bias_initializer="ones", name="dense_b"
            ),
            keras.layers.Activation("relu"),
            keras.layers.Dense(
                3, activation="softmax", kernel_initializer=init(0.1), name="dense_out"
            ),
        ],
        name="reference_mlp",
    )


def check_gradient_norms(fn: Callable) -> Verdict:
    """Check `fn(model, x, y)` returns ‖∂L/∂W‖ per kernel layer, input side first."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 8)).astype("float32")
    y = rng.integers(0, 3, size=32)
    # The learner gets a twin of the reference model: a training-mode call updates batch
    # norm's moving statistics, which would change the inference-mode reference.
    result, error = _result(fn, _reference_mlp(), x, y)
    if error is not None:
        return error
    try:
        got = _as_floats(result)
    except Exception:
        return _fail(
            f"Expected a list of numbers, one per layer. Received: {type(result).__name__}"
        )
    if not np.all(np.isfinite(got)):
        return _fail(f"Some norms are not finite numbers: {np.round(got, 4).tolist()}.")

    model = _reference_mlp()
    layers = grads.kernel_layers(model)
    names = ", ".join(layer.name for layer in layers)
    inference = grads.gradient_norms(model, x, y, training=False).to_numpy()
    expected = grads.gradient_norms(model, x, y).to_numpy()
    if len(got) == 2 * len(layers):
        return _fail(
            f"You returned {len(got)} numbers for {len(layers)} layers: it looks like the biases "
            "are included. Measure only each layer's kernel (`layer.kernel`)."
        )
    if len(got) != len(layers):
        return _fail(
            f"Expected one norm per layer with a kernel: {len(layers)} ({names}). "
            f"Received {len(got)} numbers."
        )

    def close(candidate: np.ndarray) -> bool:
        return np.allclose(got, candidate, rtol=1e-3, atol=1e-6)

    if close(expected):
        return Verdict(True, f"Correct: one gradient norm per kernel layer ({names}).")
    if close(expected[::-1]):
        return _fail("The numbers are right but reversed: list the layers input side first.")
    if close(np.sort(expected)) or close(np.sort(expected)[::-1]):
        return _fail(
            "The numbers are right but sorted: list them in the order the model applies its "
            "layers, input side first."
        )
    if close(expected**2):
        return _fail("These are squared norms. Take the square root (`tf.norm` does).")
    if close(inference):
        return _fail(
            "These are the gradients in inference mode. Call `model(x, training=True)` so "
            "batch norm uses batch statistics, as it does during training."
        )
    weight_norms = np.array([float(np.linalg.norm(layer.kernel)) for layer in layers])
    if close(weight_norms):
        return _fail("These are the norms of the weights themselves, not of their gradients.")
    first = int(np.argmax(~np.isclose(got, expected, rtol=1e-3, atol=1e-6)))
    return _fail(
        f"Layer {layers[first].name}: expected a gradient norm of {expected[first]:.4g}, "
        f"received {got[first]:.4g}. Use the sparse categorical cross-entropy of the model's "
        "output and the L2 norm of each kernel's gradient."
    )


# --- Notebook 01, exercise 2: a deep ReLU MLP whose gradients stay healthy -------------

HEALTHY_MIN = 1e-2  # smallest acceptable per-layer gradient norm at initialization
HEALTHY_MAX = 1e2  # largest acceptable (He initialization gives norms of about 1 to 4)
HEALTHY_RATIO = 100.0  # largest acceptable ratio between any two layers' norms


def _hidden_without_relu(model: keras.Model) -> list[str]:
    """Hidden Dense layers whose output does not go through a ReLU, however it is written
    (`activation="relu"`, `Activation("relu")`, `layers.ReLU()`, `keras.ops.relu`)."""
    ops = compare.operations(model)
    dense = [op for op in ops if isinstance(op, keras.layers.Dense)][:-1]
    readers = {id(p): op for op in ops for p in compare.parents(op)}
    missing = []
    for layer in dense:
        activation = getattr(layer.activation, "__name__", "")
        if activation == "relu":
            continue
        after = readers.get(id(layer))
        while isinstance(after, keras.layers.BatchNormalization):  # judged by its gradients
            after = readers.get(id(after))
        if after is None or not compare.is_relu(after):
            used = activation if activation != "linear" or after is None else ""
            used = used or compare.describe_op(after)
            missing.append(f"`{layer.name}`, followed by {used}")
    return missing


def check_healthy_mlp(fn: Callable, depth: int = 30) -> Verdict:
    """Check `fn(depth)` builds a `depth`-layer ReLU MLP for 28x28x1 images, 10 classes,
    whose per-layer gradient norms at initialization neither vanish nor explode."""
    keras.utils.set_random_seed(0)
    model, error = _build_model(fn, depth)
    if error is not None:
        return error
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(256, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, size=256)
    try:
        out = to_numpy(model(x[:4]))
    except Exception as err:
        return _fail(
            f"The model cannot take a batch of 28x28x1 images ({type(err).__name__}). "
            "Start with keras.Input((28, 28, 1)) and a Flatten layer."
        )
    if not np.all(np.isfinite(out)):
        return _fail(
            "The output contains NaN or infinity: the signal overflows on its way through the "
            "layers. Use He initialization (kernel_initializer='he_normal') as it is."
        )
    if out.shape != (4, 10) or not np.allclose(out.sum(axis=1), 1, atol=1e-3):
        return _fail(
            f"The output for 4 images has shape {out.shape}; expected (4, 10) probabilities. "
            "End with Dense(10, activation='softmax')."
        )
    dense = grads.kernel_layers(model)
    if len(dense) != depth:
        return _fail(
            f"Found {len(dense)} layers with weights; a {depth}-layer network has {depth - 1} "
            "hidden Dense layers plus the output layer."
        )
    kinds = {type(layer).__name__ for layer in dense}
    if kinds != {"Dense"}:
        return _fail(f"Use Dense layers only; found {sorted(kinds - {'Dense'})}.")
    try:
        missing = _hidden_without_relu(model)
    except Exception:  # not a functional or Sequential model
        missing = []
    if missing:
        return _fail(
            f"{len(missing)} of the {depth - 1} hidden Dense layers are not followed by a ReLU "
            f"(first: {missing[0]}); this exercise asks for ReLU after every hidden layer. "
            "(Sigmoid's derivative is at most 1/4, which shrinks gradients at every layer.)"
        )
    saturated = float(np.mean(to_numpy(model(x)).max(axis=1) > 0.999))
    if saturated > 0.5:  # then the gradients depend on how each backend rounds the softmax
        return _fail(
            f"The signal explodes: at initialization the softmax already puts more than 99.9 % "
            f"of the probability on one class for {100 * saturated:.0f} % of the images. "
            "Weights with more than He's variance (2 / fan_in) grow the signal at every layer; "
            "use kernel_initializer='he_normal' as it is."
        )
    norms = grads.gradient_norms(model, x, y).to_numpy()
    if not np.all(np.isfinite(norms)):
        return _fail(
            "Some gradient norms are not finite (NaN or infinity): the signal overflows. "
            "Use He initialization (kernel_initializer='he_normal') without extra scaling."
        )
    smallest, largest = norms.min(), norms.max()
    ratio = largest / max(smallest, 1e-30)
    if smallest < HEALTHY_MIN:
        return _fail(
            f"Gradients vanish: the smallest layer gradient norm is {smallest:.1e}. With "
            "Glorot initialization each ReLU layer halves the signal's variance; "
            "He initialization (kernel_initializer='he_normal') doubles the weight variance "
            "to compensate (He et al. 2015, 'Delving Deep into Rectifiers', §2.2)."
        )
    if largest > HEALTHY_MAX:
        return _fail(
            f"Gradients explode: the largest layer gradient norm is {largest:.1e}. Weights "
            "with more than He's variance (2 / fan_in) grow the signal at every layer; use "
            "kernel_initializer='he_normal' as it is."
        )
    if ratio > HEALTHY_RATIO:
        return _fail(
            f"Gradients explode towards the input: the input-side layers get {ratio:.0f}x "
            "larger gradients than the smallest. If you added batch normalization: in a deep "
            "plain net it does this at initialization (see the heatmap above); use He "
            "initialization alone here."
        )
    return Verdict(
        True,
        f"Healthy: {depth} Dense layers, ReLU, and every layer's gradient norm is between "
        f"{HEALTHY_MIN} and {HEALTHY_MAX:.0f}, within {HEALTHY_RATIO:.0f}x of the others.",
    )
