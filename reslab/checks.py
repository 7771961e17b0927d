"""Exercise checkers: run the learner's code on fixed inputs, compare with the reference,
and say specifically what is wrong. Each returns a `Verdict` that prints as one message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import keras
import numpy as np

from reslab import blocks, grads
from reslab.data import to_float_images


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of a check: `passed`, and the feedback shown to the learner."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        return ("✅ " if self.passed else "❌ ") + self.message

    def __bool__(self) -> bool:
        return self.passed


def _fail(message: str) -> Verdict:
    return Verdict(False, message)


def _call(fn: Callable, *args) -> tuple[object, Verdict | None]:
    """Run the learner's function; turn an exception into feedback instead of a traceback."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, _fail(f"Not attempted yet: `{fn.__name__}` still raises NotImplementedError.")
    except Exception as err:  # the learner's bug, reported in one line
        return None, _fail(f"`{fn.__name__}` raised {type(err).__name__}: {err}")


def _build_model(fn: Callable, *args) -> tuple[keras.Model | None, Verdict | None]:
    """Run the learner's model builder; feedback if it fails or returns no keras.Model."""
    model, error = _call(fn, *args)
    if error is None and model is None:
        error = _fail(f"Not attempted yet: `{fn.__name__}` returned None.")
    elif error is None and not isinstance(model, keras.Model):
        error = _fail(f"Expected a keras.Model. Received: {type(model).__name__}")
    return model, error


def _as_floats(result: object) -> np.ndarray:
    if isinstance(result, dict):
        result = list(result.values())
    if hasattr(result, "to_numpy"):  # pandas
        result = result.to_numpy()
    return np.array([float(np.asarray(v)) for v in result], dtype=float)


# --- Notebook 01, exercise 1: measure per-layer gradient norms ------------------------


def _reference_mlp() -> keras.Model:
    """A small fixed MLP with batch norm, so inference mode gives different gradients."""
    init = keras.initializers.RandomNormal(stddev=0.3, seed=1)
    return keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(
                16, kernel_initializer=init, bias_initializer="ones", name="dense_a"
            ),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(
                16, kernel_initializer=init, bias_initializer="ones", name="dense_b"
            ),
            keras.layers.Activation("relu"),
            keras.layers.Dense(3, activation="softmax", kernel_initializer=init, name="dense_out"),
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
    result, error = _call(fn, _reference_mlp(), x, y)
    if error is not None:
        return error
    if result is None:
        return _fail(f"Not attempted yet: `{fn.__name__}` returned None.")
    try:
        got = _as_floats(result)
    except (TypeError, ValueError):
        return _fail(
            f"Expected a list of numbers, one per layer. Received: {type(result).__name__}"
        )

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
HEALTHY_RATIO = 100.0  # largest acceptable ratio between any two layers' norms


def _activation_names(model: keras.Model) -> set[str]:
    names = set()
    for layer in model.layers:
        activation = getattr(layer, "activation", None)
        if activation is not None:
            names.add(getattr(activation, "__name__", str(activation)))
    return names - {"linear", "softmax"}


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
        out = np.asarray(model(x[:4]))
    except Exception as err:
        return _fail(
            f"The model cannot take a batch of 28x28x1 images ({type(err).__name__}: {err}). "
            "Start with keras.Input((28, 28, 1)) and a Flatten layer."
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
    activations = _activation_names(model)
    if activations != {"relu"}:
        return _fail(
            f"The hidden layers use {sorted(activations) or 'no activation'}; this exercise "
            "asks for ReLU (sigmoid's derivative is at most 1/4, which shrinks gradients "
            "at every layer)."
        )
    norms = grads.gradient_norms(model, x, y).to_numpy()
    smallest, ratio = norms.min(), norms.max() / max(norms.min(), 1e-30)
    if smallest < HEALTHY_MIN:
        return _fail(
            f"Gradients vanish: the smallest layer gradient norm is {smallest:.1e}. With "
            "Glorot initialization each ReLU layer halves the signal's variance; "
            "He initialization (kernel_initializer='he_normal') doubles the weight variance "
            "to compensate (He et al. 2015, 'Delving Deep into Rectifiers', §2.2)."
        )
    if ratio > HEALTHY_RATIO:
        return _fail(
            f"Gradients explode: the input-side layers get {ratio:.0f}x larger gradients "
            "than the smallest. If you added batch normalization: in a deep plain net it "
            "does this at initialization (see the heatmap above); use He initialization "
            "alone here."
        )
    return Verdict(
        True,
        f"Healthy: {depth} Dense layers, ReLU, and every layer's gradient norm is within "
        f"{HEALTHY_RATIO:.0f}x of the others and above {HEALTHY_MIN}.",
    )


# --- Notebook 00, warm-up: prepare Fashion-MNIST images for a 32x32 network -------------


def check_prepare_images(fn: Callable) -> Verdict:
    """Check `fn(x)` turns uint8 (N, 28, 28) images into float32 (N, 32, 32, 1) in [0, 1],
    zero-padded by 2 pixels on every side."""
    x = np.random.default_rng(0).integers(1, 256, size=(3, 28, 28)).astype("uint8")
    result, error = _call(fn, x.copy())
    if error is not None:
        return error
    if result is None:
        return _fail(f"Not attempted yet: `{fn.__name__}` returned None.")
    got, expected = np.asarray(result), to_float_images(x, size=32)
    if got.shape == (3, 32, 32) or got.shape == (3, 28, 28, 1):
        missing = "the channel axis (add [..., None])" if got.ndim == 3 else "the padding to 32x32"
        return _fail(f"The shape is {got.shape}; expected (3, 32, 32, 1). Missing: {missing}.")
    if got.shape != expected.shape:
        return _fail(f"The shape is {got.shape}; expected {expected.shape}.")
    if got.dtype != np.float32:
        return _fail(f"The dtype is {got.dtype}; Keras layers expect float32.")
    if got.max() > 1.0:
        return _fail(f"Pixel values go up to {got.max():g}; divide by 255 to scale them to [0, 1].")
    if not np.allclose(got, expected, atol=1e-6):
        if np.allclose(got.sum(), expected.sum(), rtol=1e-5):
            return _fail("The values are right but the image is off-centre: pad 2 pixels per side.")
        return _fail("The values differ from the reference: pad with zeros, 2 pixels per side.")
    return Verdict(True, "Correct: float32, scaled to [0, 1], padded to 32x32 with a channel axis.")


# --- Notebook 03: the bottleneck identity block -----------------------------------------

_IDENTITY_ORDER = ["Conv2D", "BatchNormalization", "ReLU"] * 2 + [
    "Conv2D",
    "BatchNormalization",
    "Add",
    "ReLU",
]


def _layer_kinds(model: keras.Model) -> list[str]:
    kinds = []
    for layer in model.layers[1:]:  # skip the Input
        kind = type(layer).__name__
        if kind == "Activation" and getattr(layer.activation, "__name__", "") == "relu":
            kind = "ReLU"
        kinds.append(kind)
    return kinds


def check_identity_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters)` builds ResNet-50's identity block on tensor `x`:
    1×1 → 3×3 → 1×1 convs with BN (and ReLU after the first two), x added, then ReLU."""
    filters, shape = 4, (6, 6, 16)
    x = keras.Input(shape)
    y, error = _call(fn, x, filters)
    if error is not None:
        # Keras's Add names both shapes when they differ: turn that into the shape advice.
        shapes = re.search(
            r"shapes \((\d+), (\d+), (\d+)\) and \((\d+), (\d+), (\d+)\)", error.message
        )
        if not shapes:
            return error
        out = tuple(int(n) for n in shapes.groups()[:3])
        out = out if out != shape else tuple(int(n) for n in shapes.groups()[3:])
    elif y is None:
        return _fail(f"Not attempted yet: `{fn.__name__}` returned None.")
    else:
        out = tuple(y.shape[1:])
    if out[:2] != shape[:2]:
        return _fail(
            f"The output is {out}; the grid must stay {shape[:2]}. Give the 3×3 conv "
            "padding='same' and every conv a stride of 1."
        )
    if out != shape:
        return _fail(
            f"The output is {out}; an identity block keeps the input shape {shape}: the last "
            f"1×1 conv needs 4 * filters = {4 * filters} filters."
        )
    try:
        model = keras.Model(x, y)
    except Exception as err:
        return _fail(f"Could not build a model from the block's output ({type(err).__name__}).")
    kinds = _layer_kinds(model)
    if "Add" not in kinds:
        return _fail(
            "The shortcut is missing: add the block's input x to the output of the last BN "
            "with layers.Add()."
        )
    add = kinds.index("Add")
    if add > 0 and kinds[add - 1] == "ReLU":
        return _fail(
            "The shortcut is added after the ReLU. Add x to the output of the last BN first, "
            "then apply the ReLU (He et al. 2015, Eq. 1 and Fig. 5: y = F(x) + x, then ReLU)."
        )
    if kinds[-1] == "Add":
        return _fail("The block must end with a ReLU after the addition (He et al. 2015, Fig. 5).")
    sizes = [layer.kernel_size for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if sizes != [(1, 1), (3, 3), (1, 1)]:
        return _fail(f"The conv kernel sizes are {sizes}; expected 1×1, 3×3, 1×1 (a bottleneck).")
    if kinds != _IDENTITY_ORDER:
        return _fail(f"The layers are {kinds}; expected {_IDENTITY_ORDER}.")

    # Same weights in the reference block: the outputs must agree.
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    x_ref = keras.Input(shape)
    use_bias = all(conv.use_bias for conv in convs)
    reference = keras.Model(x_ref, blocks.identity_block(x_ref, filters, use_bias=use_bias))
    weighted = [layer for layer in model.layers if layer.weights]
    ref_weighted = [layer for layer in reference.layers if layer.weights]
    for mine, theirs in zip(weighted, ref_weighted, strict=True):
        theirs.set_weights(mine.get_weights())
        if hasattr(mine, "epsilon"):  # Keras's BN default (1e-3) differs from ResNet-50's
            theirs.epsilon = mine.epsilon
    value = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    if not np.allclose(model(value), reference(value), atol=1e-5):
        return _fail(
            "The layers are right but, with the same weights, the output differs from the "
            "reference: check which tensor each layer is applied to."
        )
    return Verdict(
        True, f"Correct: an identity block with {reference.count_params():,} parameters."
    )


# --- Notebook 04: the convolutional block (bottleneck, projection shortcut) -----------------------


def check_convolutional_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters, stride)` builds ResNet-50's convolutional block (v1): the
    bottleneck with the stride in its first 1×1 conv and a strided 1×1 projection + BN."""
    filters, stride, shape = 4, 2, (6, 6, 8)
    expected = (3, 3, 4 * filters)
    x = keras.Input(shape)
    y, error = _call(fn, x, filters, stride)
    if error is not None:
        if "shapes" in error.message:  # Add refused two different shapes
            return _fail(
                "The shortcut and the residual branch have different shapes. When a block changes "
                "the shape, the shortcut needs a projection: a 1×1 conv with 4 * filters "
                "filters and the same stride, followed by BN (He et al. 2015, §3.3, option B)."
            )
        return error
    if y is None:
        return _fail(f"Not attempted yet: `{fn.__name__}` returned None.")
    if tuple(y.shape[1:]) != expected:
        return _fail(
            f"The output is {tuple(y.shape[1:])}; for a {shape} input, filters={filters} and "
            f"stride={stride} it should be {expected}: the stride halves the grid and the last "
            "1×1 conv expands to 4 * filters channels."
        )
    model = keras.Model(x, y)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    from_input = [c for c in convs if c.input is x]
    if len(convs) != 4 or len(from_input) != 2:
        return _fail(
            f"Found {len(convs)} convolutions, {len(from_input)} of them reading the block's "
            "input; expected 4: three on the residual branch and one 1×1 projection on the "
            "shortcut."
        )
    strided = sorted(c.kernel_size for c in convs if c.strides != (1, 1))
    if (3, 3) in strided:
        return _fail(
            "The stride sits in the 3×3 conv. That is ResNet v1.5 (torchvision); the paper and "
            "keras.applications.ResNet50 put it in the first 1×1 conv."
        )
    kinds = _layer_kinds(model)
    add = kinds.index("Add")
    if kinds[-1] != "ReLU" or kinds[add - 1] == "ReLU":
        return _fail("Add the shortcut to the last BN's output, then apply one ReLU.")
    if kinds.count("BatchNormalization") != 4:
        return _fail("Each of the 4 convolutions (the projection too) is followed by BN.")

    x_ref = keras.Input(shape)
    use_bias = all(conv.use_bias for conv in convs)
    reference = keras.Model(
        x_ref, blocks.convolutional_block(x_ref, filters, stride, use_bias=use_bias)
    )
    if reference.count_params() != model.count_params():
        return _fail(
            f"The block has {model.count_params():,} parameters; the reference has "
            f"{reference.count_params():,}. Check each conv's number of filters."
        )
    return Verdict(
        True, f"Correct: a convolutional block with {model.count_params():,} parameters."
    )


# --- Notebook 05: ResNet-50 assembled from the blocks -----------------------------------

RESNET50_BLOCKS = {256: 3, 512: 4, 1024: 6, 2048: 3}  # output channels -> blocks (Table 1)


def check_resnet50(fn: Callable) -> Verdict:
    """Check `fn(input_shape, classes)` builds ResNet-50 (Table 1): the stem, stages of
    3, 4, 6, 3 bottleneck blocks, global average pooling and the head, with
    exactly the parameters of `keras.applications.ResNet50`."""
    shape, classes = (64, 64, 3), 10
    model, error = _build_model(fn, shape, classes)
    if error is not None:
        return error
    if tuple(model.output.shape[1:]) != (classes,):
        return _fail(
            f"The output shape is {tuple(model.output.shape[1:])}; expected ({classes},): end "
            "with GlobalAveragePooling2D and Dense(classes, activation='softmax')."
        )
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    per_stage = {c: sum(a.output.shape[-1] == c for a in adds) for c in RESNET50_BLOCKS}
    for (channels, expected), stage in zip(RESNET50_BLOCKS.items(), range(2, 6), strict=True):
        if per_stage[channels] != expected:
            return _fail(
                f"Stage conv{stage} ({channels} output channels) has {per_stage[channels]} "
                f"blocks; ResNet-50 has 3, 4, 6, 3 blocks in conv2 ... conv5 (Table 1)."
            )
    sizes = []
    for a in adds:
        if a.output.shape[1] not in sizes:
            sizes.append(a.output.shape[1])
    if sizes != [16, 8, 4, 2]:
        return _fail(
            f"For a 64×64 input the four stages should output 16, 8, 4 and 2 pixels square; "
            f"yours output {sizes}. The stem (7×7 conv, stride 2, then 3×3 max pool, stride 2) "
            "divides the size by 4; conv2 keeps it (stride 1: the pool already halved it); "
            "conv3, conv4 and conv5 halve it in their first block."
        )
    reference = keras.applications.ResNet50(weights=None, input_shape=shape, classes=classes)
    if model.count_params() != reference.count_params():
        return _fail(
            f"The model has {model.count_params():,} parameters; keras.applications.ResNet50 "
            f"has {reference.count_params():,}. Check the stem: a 7×7 conv with 64 filters, "
            "BN and ReLU before the max pool."
        )
    return Verdict(
        True,
        f"Correct: ResNet-50 with {len(adds)} blocks and {model.count_params():,} parameters, "
        "the same as keras.applications.ResNet50.",
    )
