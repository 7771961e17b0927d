"""Exercise checkers: run the learner's code on fixed inputs, compare with the reference,
and say specifically what is wrong. Each returns a `Verdict` that prints as one message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import keras
import numpy as np

from reslab import blocks, compare, grads
from reslab.autodiff import to_numpy
from reslab.data import to_float_images


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of a check: `passed`, and the feedback shown to the learner."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        # Plain-text marks: emoji render as empty boxes where no emoji font is installed.
        return ("[pass] " if self.passed else "[fail] ") + self.message

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
    except Exception as err:  # the learner's bug, reported in one short line
        text = (str(err).strip().splitlines() or [""])[0]
        text = text if len(text) <= 200 else text[:200] + " …"
        return None, _fail(f"`{fn.__name__}` raised {type(err).__name__}: {text}")


def _result(fn: Callable, *args) -> tuple[object, Verdict | None]:
    """`_call`, and "not attempted" feedback when the learner's function returns None."""
    result, error = _call(fn, *args)
    if error is None and result is None:
        error = _fail(f"Not attempted yet: `{fn.__name__}` returned None.")
    return result, error


def _build_model(fn: Callable, *args) -> tuple[keras.Model | None, Verdict | None]:
    """Run the learner's model builder; feedback if it fails or returns no keras.Model."""
    model, error = _result(fn, *args)
    if error is None and not isinstance(model, keras.Model):
        error = _fail(f"Expected a keras.Model. Received: {type(model).__name__}")
    return model, error


def _as_floats(result: object) -> np.ndarray:
    if isinstance(result, dict):
        result = list(result.values())
    if hasattr(result, "to_numpy"):  # pandas
        result = result.to_numpy()
    return np.array([float(to_numpy(v)) for v in result], dtype=float)


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


# --- Blocks and networks: shared steps ----------------------------------------------------

CONCATENATE = (
    "Concatenate stacks the two tensors' channels; a residual block adds them: "
    "layers.Add()([shortcut, y]) or y + shortcut."
)
SHAPE = r"\((\d+), (\d+), (\d+)\)"  # a 3-d shape in a Keras error message


def _block_output(fn: Callable, x, *args) -> tuple[object, Verdict | None]:
    """Run the learner's block on the symbolic input `x`; feedback for every way that fails."""
    y, error = _result(fn, x, *args)
    if error is not None:
        text = error.message
        if "shape" in text and ("incompatible" in text or "broadcast" in text):
            first = text.split(": ", 1)[-1].splitlines()[0][:160]
            return None, _fail(
                "Adding the shortcut failed: the two tensors have different shapes (Keras: "
                f"{first}). The residual branch must end with the shape of the shortcut."
            )
        return None, error
    if isinstance(y, keras.Model | keras.layers.Layer):
        return None, _fail(
            f"`{fn.__name__}` returned a {type(y).__name__}; return the block's output tensor "
            "(the result of the last layer applied to x), as the functional API does."
        )
    if not isinstance(y, keras.KerasTensor):
        return None, _fail(
            f"`{fn.__name__}` returned a {type(y).__name__}; return the output tensor of the "
            "last layer, built from the input tensor x with Keras layers."
        )
    return y, None


def _model_of(x, y) -> tuple[keras.Model | None, Verdict | None]:
    try:
        return keras.Model(x, y), None
    except Exception as err:  # e.g. an output that does not depend on x
        return None, _fail(
            f"Keras could not build a model from x to your output ({type(err).__name__}); "
            "make sure every layer is applied to a tensor computed from x."
        )


def _shortcut_problem(model: keras.Model, x) -> str | None:
    """Messages for the shortcut mistakes learners make most: none, concatenated, added after
    the ReLU, taken from the wrong tensor, or no ReLU after the addition."""
    ops = compare.operations(model)
    if any(type(op).__name__ == "Concatenate" for op in ops):
        return CONCATENATE
    adds = [op for op in ops if compare.is_add(op)]
    if not adds:
        return (
            "The shortcut is missing: add the block's input to the output of the last BN "
            "(layers.Add()([x, y]) or y + x)."
        )
    add = adds[-1]
    inputs = compare.parents(add)
    if any(compare.is_relu(p) for p in inputs):
        return (
            "The shortcut is added after a ReLU. Add it to the output of the last BN first, then "
            "apply the ReLU (He et al. 2015, Eq. 1 and Fig. 5: y = F(x) + x, then ReLU)."
        )
    if not compare.is_relu(ops[-1]):
        return (
            "The block must end with a ReLU after the addition (He et al. 2015, Fig. 5); "
            f"yours ends with {compare.describe_op(ops[-1])}."
        )
    return None


def _same_as(model: keras.Model, reference: keras.Model, shape: tuple) -> str | None:
    value = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    same, why = compare.same_function(model, reference, value)
    return None if same else why


# --- Notebook 03: the bottleneck identity block -----------------------------------------


def check_identity_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters)` builds ResNet-50's identity block on tensor `x`:
    1×1 → 3×3 → 1×1 convs with BN (and ReLU after the first two), x added, then ReLU."""
    filters, shape = 4, (6, 6, 16)
    x = keras.Input(shape)
    y, error = _block_output(fn, x, filters)
    if error is not None:
        found = [tuple(int(n) for n in m) for m in re.findall(SHAPE, error.message)]
        branch = [s for s in found if s != shape]
        if "Adding the shortcut failed" not in error.message or not branch:
            return error
        out = branch[0]
    else:
        out = tuple(y.shape[1:])
        model, error = _model_of(x, y)
        if error is not None:
            return error
        if any(type(op).__name__ == "Concatenate" for op in compare.operations(model)):
            return _fail(CONCATENATE)
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
    problem = _shortcut_problem(model, x)
    adds = [op for op in compare.operations(model) if compare.is_add(op)]
    if problem is None and not any(
        isinstance(p, keras.layers.InputLayer) for p in compare.parents(adds[-1])
    ):
        problem = (
            "The shortcut must carry the block's input x itself, unchanged; yours adds "
            + " and ".join(f"`{p.name}`" for p in compare.parents(adds[-1]))
            + "."
        )
    if problem:
        return _fail(problem)
    sizes = [w.layer.kernel_size for w in compare.weighted_layers(model) if w.kind == "Conv2D"]
    if sizes != [(1, 1), (3, 3), (1, 1)]:
        return _fail(f"The conv kernel sizes are {sizes}; expected 1×1, 3×3, 1×1 (a bottleneck).")
    x_ref = keras.Input(shape)
    reference = keras.Model(x_ref, blocks.identity_block(x_ref, filters))
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    return Verdict(True, f"Correct: an identity block with {model.count_params():,} parameters.")


# --- Notebook 04: the convolutional block (bottleneck, projection shortcut) -----------------


def check_convolutional_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters, stride)` builds ResNet-50's convolutional block (v1): the
    bottleneck with the stride in its first 1×1 conv and a strided 1×1 projection + BN."""
    filters, stride, shape = 4, 2, (8, 8, 8)
    expected = (4, 4, 4 * filters)
    x = keras.Input(shape)
    y, error = _block_output(fn, x, filters, stride)
    if error is not None:
        shapes = re.findall(SHAPE, error.message)
        if "Adding the shortcut failed" in error.message and (8, 8, 8) in [
            tuple(int(n) for n in s) for s in shapes
        ]:
            return _fail(
                "The shortcut is the block's input x itself, of shape (8, 8, 8), but this block "
                "changes the shape. The shortcut needs a projection: a 1×1 conv with "
                "4 * filters filters and the same stride, then BN (He et al. 2015, §3.3, "
                "option B)."
            )
        if "Adding the shortcut failed" in error.message:
            return _fail(
                error.message + " Give the 3×3 conv padding='same', and put the stride in "
                "the first 1×1 conv and in the projection, nowhere else."
            )
        return error
    if tuple(y.shape[1:]) != expected:
        return _fail(
            f"The output is {tuple(y.shape[1:])}; for a {shape} input, filters={filters} and "
            f"stride={stride} it should be {expected}: the stride halves the grid and the last "
            "1×1 conv expands to 4 * filters channels."
        )
    model, error = _model_of(x, y)
    if error is not None:
        return error
    problem = _shortcut_problem(model, x)
    if problem:
        return _fail(problem.replace("the block's input", "the projected input"))
    convs = [w for w in compare.weighted_layers(model) if w.kind == "Conv2D"]
    reading_x = [
        w for w in convs if isinstance(compare.parents(w.layer)[0], keras.layers.InputLayer)
    ]
    if len(reading_x) < 2:
        return _fail(
            "The shortcut needs its own 1×1 convolution (the projection, then BN) applied to "
            "the block's input x, beside the residual branch's first 1×1 convolution: found "
            f"{len(reading_x)} convolution(s) reading x."
        )
    strided = [w for w in convs if w.layer.strides != (1, 1) and w not in reading_x]
    if any(w.layer.kernel_size == (3, 3) for w in strided):
        return _fail(
            "The stride sits in the 3×3 conv. That is ResNet v1.5 (torchvision); the paper's "
            "released models and keras.applications.ResNet50 put it in the first 1×1 conv."
        )
    x_ref = keras.Input(shape)
    reference = keras.Model(x_ref, blocks.convolutional_block(x_ref, filters, stride))
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    return Verdict(
        True, f"Correct: a convolutional block with {model.count_params():,} parameters."
    )


# --- Notebook 05: ResNet-50 assembled from the blocks -----------------------------------

RESNET50_BLOCKS = {256: 3, 512: 4, 1024: 6, 2048: 3}  # output channels -> blocks (Table 1)


def check_resnet50(fn: Callable) -> Verdict:
    """Check `fn(input_shape, classes)` builds ResNet-50 (Table 1): the stem, stages of
    3, 4, 6, 3 bottleneck blocks, global average pooling and the head, computing what
    `keras.applications.ResNet50` computes given the same weights."""
    shape, classes = (64, 64, 3), 10
    model, error = _build_model(fn, shape, classes)
    if error is not None:
        return error
    try:
        ops = compare.operations(model)
    except Exception:  # a subclassed model has no graph to inspect
        return _fail(
            "Build the model with the functional API (keras.Input, layers applied to tensors, "
            "keras.Model(inputs, outputs)), so its layers can be compared with Keras's."
        )
    if tuple(model.output.shape[1:]) != (classes,):
        return _fail(
            f"The output shape is {tuple(model.output.shape[1:])}; expected ({classes},): end "
            "with GlobalAveragePooling2D and Dense(classes, activation='softmax')."
        )
    adds = [op for op in ops if compare.is_add(op)]
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
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    if model.count_params() != reference.count_params():
        return _fail(
            f"Your model computes what ResNet-50 computes, but has {model.count_params():,} "
            f"parameters against keras.applications.ResNet50's {reference.count_params():,}: "
            "Keras gives every convolution a bias (use_bias=True, the default)."
        )
    return Verdict(
        True,
        f"Correct: ResNet-50 with {len(adds)} blocks and {model.count_params():,} parameters; "
        "with the same weights it computes what keras.applications.ResNet50 computes.",
    )


# --- Notebook 02: count a plain CIFAR net's depth and parameters ------------------------


def _plain_count(n: int, widths: tuple[int, int, int], **mistake: bool) -> int:
    """Trainable parameters of the plain 6n+2 net for 32×32×3 images and 10 classes, or of
    what a learner who makes `mistake` counts."""
    bn = 0 if mistake.get("no_bn") else (4 if mistake.get("bn_statistics") else 2)
    bias = 1 if mistake.get("conv_bias") else 0
    window = 1 if mistake.get("one_by_one") else 9
    filters = [widths[0]] + [w for w in widths for _ in range(2 * n)]
    channels = [3, *filters[:-1]]
    if mistake.get("no_first_conv"):
        filters, channels = filters[1:], channels[1:]
    convs = sum((window * c + bias + bn) * f for c, f in zip(channels, filters, strict=True))
    return convs + widths[2] * 10 + (0 if mistake.get("no_dense_bias") else 10)


PLAIN_MISTAKES = {
    "bn_statistics": "BN's moving mean and variance are not trained: count only γ and β.",
    "conv_bias": "The convolutions have no bias (BN's β takes its place, §3.4).",
    "no_bn": "Each convolution is followed by BN, with a trainable γ and β per channel.",
    "no_dense_bias": "The Dense layer has a bias: 10 more parameters.",
    "no_first_conv": "Count the first 3×3 convolution on the RGB image (3 input channels) too.",
    "one_by_one": "A 3×3 convolution has 3 × 3 × (input channels) weights per filter.",
}


def check_plain_parameters(fn: Callable) -> Verdict:
    """Check `fn(n, widths)` returns (depth, trainable parameters) of the plain CIFAR net of
    He et al. 2015 (§4.2): 6n + 2 weighted layers, 3×3 convs without bias, each followed by
    BN, on 32×32×3 images, and a 10-way Dense layer."""
    cases = [(3, (16, 32, 64)), (9, (16, 32, 64)), (2, (8, 16, 32))]
    for n, widths in cases:
        result, error = _result(fn, n, widths)
        if error is not None:
            return error
        try:
            depth, params = (int(v) for v in result)
        except Exception:
            return _fail(
                f"Return two numbers, (depth, parameters). Received: {type(result).__name__}"
            )
        if depth != 6 * n + 2:
            hint = " (6n counts the stacked layers only)" if depth == 6 * n else ""
            return _fail(
                f"For n={n}: depth {depth}; the paper's nets have 6n + 2 = {6 * n + 2} weighted "
                f"layers: the first convolution, 6n in the three stages, the Dense layer{hint}."
            )
        expected = _plain_count(n, widths)
        if params != expected:
            for mistake, message in PLAIN_MISTAKES.items():
                if params == _plain_count(n, widths, **{mistake: True}):
                    return _fail(f"For n={n}, widths={widths}: {params:,} parameters. {message}")
            return _fail(
                f"For n={n}, widths={widths}: {params:,} parameters; expected {expected:,}. "
                "Per convolution: 9 × (input channels) × filters weights, plus 2 per channel "
                "for BN's γ and β; then (last width) × 10 + 10 for the Dense layer."
            )
    return Verdict(
        True,
        "Correct: depth 6n + 2, and the parameter counts of Keras's models (0.27 M for "
        "plain-20, as in Table 6).",
    )


# --- Notebook 06: the pre-activation (v2) block -----------------------------------------


def check_preact_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters)` builds the v2 basic block of He et al. 2016 (Fig. 4e):
    BN-ReLU-conv3×3-BN-ReLU-conv3×3, x added, nothing after the addition."""
    filters, shape = 8, (6, 6, 8)
    x = keras.Input(shape)
    y, error = _block_output(fn, x, filters)
    if error is not None:
        return error
    if tuple(y.shape[1:]) != shape:
        return _fail(
            f"The output is {tuple(y.shape[1:])}; this block keeps its input's shape {shape}: "
            "both 3×3 convolutions with `filters` filters, padding='same', stride 1."
        )
    model, error = _model_of(x, y)
    if error is not None:
        return error
    ops = compare.operations(model)
    if any(type(op).__name__ == "Concatenate" for op in ops):
        return _fail(CONCATENATE)
    adds = [op for op in ops if compare.is_add(op)]
    if not adds:
        return _fail("The shortcut is missing: add x to the second convolution's output.")
    if ops[-1] is not adds[-1]:
        return _fail(
            f"Your block ends with {compare.describe_op(ops[-1])} after the addition. In v2 "
            "nothing follows the addition: its output is the next block's input, untouched "
            "(He et al. 2016, Fig. 4e)."
        )
    if not any(isinstance(p, keras.layers.InputLayer) for p in compare.parents(adds[-1])):
        return _fail(
            "The shortcut must carry the block's input x itself, not its pre-activated "
            "version: " + " and ".join(f"`{p.name}`" for p in compare.parents(adds[-1])) + "."
        )
    first = [
        op
        for op in ops
        if any(isinstance(p, keras.layers.InputLayer) for p in compare.parents(op))
        and op is not adds[-1]
    ]
    if first and isinstance(first[0], keras.layers.Conv2D):
        return _fail(
            "The residual branch starts with a convolution, as in v1. In v2 it starts with BN "
            "and ReLU (pre-activation), before each convolution."
        )
    x_ref = keras.Input(shape)
    reference = keras.Model(x_ref, blocks.basic_block(x_ref, filters, version="v2"))
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    return Verdict(
        True, f"Correct: a pre-activation block with {model.count_params():,} parameters."
    )


# --- Notebook 07: the paper's learning-rate schedule -------------------------------------

SCHEDULE_PROBES = (
    0,
    1,
    200,
    399,
    401,
    1_000,
    20_000,
    31_999,
    32_001,
    40_000,
    47_999,
    48_001,
    63_999,
)
SCHEDULE_EDGES = {400, 32_000, 48_000}  # either side's value is accepted exactly here


def check_paper_schedule(fn: Callable) -> Verdict:
    """Check `fn(iteration, warmup)` returns He et al. 2015's CIFAR learning rate (§4.2): 0.1,
    divided by 10 at 32k and at 48k iterations; with `warmup`, 0.01 for the first 400."""
    from reslab.experiments import step_schedule

    for warmup in (False, True):
        reference = step_schedule(0.1, 64_000, warmup_steps=400 if warmup else 0)
        for step in SCHEDULE_PROBES:
            got, error = _result(fn, step, warmup)
            if error is not None:
                return error
            try:
                got = float(to_numpy(got))
            except Exception:
                return _fail(
                    f"Return one number, the learning rate. Received: {type(got).__name__}"
                )
            expected = float(reference(step))
            if np.isclose(got, expected, rtol=1e-6):
                continue
            where = f"At iteration {step:,}{' with warm-up' if warmup else ''}"
            if warmup and step < 400 and np.isclose(got, 0.1):
                return _fail(f"{where}: {got:g}; the warm-up runs at 0.01 for the first 400.")
            if warmup and step > 400 and np.isclose(got, 0.01) and step < 32_000:
                return _fail(
                    f"{where}: {got:g}; after 400 iterations the warm-up ends: back to 0.1."
                )
            if step < 32_000 and got < expected:
                return _fail(
                    f"{where}: {got:g}, expected {expected:g}: the rate drops too early. The "
                    "boundaries count iterations, 32,000 and 48,000 (of 64,000), not epochs."
                )
            if step < 32_000:
                return _fail(f"{where}: {got:g}; the paper starts at 0.1 (§4.2).")
            if step < 48_000:
                return _fail(
                    f"{where}: {got:g}, expected {expected:g}: divided by 10 once so far, at "
                    "iteration 32,000."
                )
            return _fail(
                f"{where}: {got:g}, expected {expected:g}: divided by 10 at 32,000 and again "
                "at 48,000."
            )
    return Verdict(True, "Correct: 0.1, then 0.01 from 32k and 0.001 from 48k; warm-up at 0.01.")


# --- Notebook 08: which layers train in phase two ----------------------------------------


def _small_trunk() -> keras.Model:
    from reslab import models

    return models.resnet(50, include_top=False, input_shape=(32, 32, 3), width=0.0625)


def check_phase_two(fn: Callable) -> Verdict:
    """Check `fn(trunk)` makes ResNet-50's conv5 layers trainable for fine-tuning, keeps every
    other layer and every BN layer frozen (He et al.'s BN, frozen, runs in inference mode)."""
    from reslab import train

    trunk = _small_trunk()
    trunk.trainable = False  # as after phase one
    _, error = _call(fn, trunk)
    if error is not None:
        return error
    reference = _small_trunk()
    train.set_trainable(reference, ("conv5_",))
    if not trunk.trainable:
        return _fail(
            "The trunk itself is still frozen (trunk.trainable is False), so no layer in it "
            "trains. Set trunk.trainable = True first, then freeze layer by layer."
        )
    for mine, theirs in zip(trunk.layers, reference.layers, strict=True):
        if mine.trainable == theirs.trainable or not mine.weights:
            continue
        if isinstance(mine, keras.layers.BatchNormalization):
            return _fail(
                f"`{mine.name}` is trainable. Keep every BN layer frozen: in Keras a frozen BN "
                "also runs in inference mode, with its pretrained statistics (the pitfall "
                "notebook 08 measures)."
            )
        state = "trainable" if mine.trainable else "frozen"
        should = "only conv5's layers train" if mine.trainable else "conv5's layers train"
        return _fail(f"`{mine.name}` is {state}; in phase two {should}.")
    count = len(trunk.trainable_weights)
    return Verdict(True, f"Correct: conv5's convolutions train ({count} weights), BN frozen.")


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


# --- Notebook 10: a keras.applications trunk ---------------------------------------------


def check_keras_trunk(fn: Callable) -> Verdict:
    """Check `fn(image_size)` returns keras.applications.ResNet50 without its head, average-
    pooled to one 2,048-vector per image, for image_size×image_size×3 inputs."""
    size = 96
    model, error = _build_model(fn, size)
    if error is not None:
        return error
    try:
        shape_in = tuple(model.inputs[0].shape[1:])
        shape_out = tuple(model.outputs[0].shape[1:])
    except Exception:
        return _fail("Return a functional keras.Model, as keras.applications.ResNet50 builds.")
    names = [layer.name for layer in model.layers]
    if "predictions" in names or shape_out == (1000,):
        return _fail(
            f"The model ends in the ImageNet head (output {shape_out}); pass include_top=False."
        )
    if shape_in != (size, size, 3):
        return _fail(
            f"The input shape is {shape_in}; for image_size={size} it should be "
            f"({size}, {size}, 3): pass input_shape=(image_size, image_size, 3)."
        )
    if len(shape_out) == 3:
        return _fail(
            f"The output is a feature map of shape {shape_out}, not a vector: pass "
            "pooling='avg' (a value other than 'avg' or 'max' is silently ignored)."
        )
    if "max_pool" in names:
        return _fail(
            "The map is max-pooled; ResNet-50's own head averages (global average pooling, "
            "§3.4): pass pooling='avg'."
        )
    trunk_params = 23_587_712  # keras.applications.ResNet50(include_top=False)
    if shape_out != (2048,) or "avg_pool" not in names or model.count_params() != trunk_params:
        return _fail(
            f"Expected keras.applications.ResNet50 with an output of shape (2048,); received "
            f"a model with output {shape_out}."
        )
    return Verdict(
        True, f"Correct: ResNet-50's trunk, {model.count_params():,} parameters, 2,048 features."
    )


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
