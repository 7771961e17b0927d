"""A room of learners for every checker: right answers written in other styles must pass,
the wrong answers people really write must fail with a message that names the mistake, and
no answer, however odd, may crash a checker (every call returns a Verdict). The room runs on
every Keras backend; answers written with one backend's own tools (`tf.GradientTape`,
`torch.autograd`) run only there, listed in ONLY_ON."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from reslab import autodiff, checks, grads, models, variants

# --- 00 · prepare_images -------------------------------------------------------------------


def _pad(x):
    return np.pad(x.astype("float32") / 255, ((0, 0), (2, 2), (2, 2)))[..., None]


RIGHT_PREPARE = {
    "numpy": _pad,
    "tf_pad": lambda x: tf.pad(
        tf.cast(x, tf.float32)[..., None] / 255.0, [[0, 0], [2, 2], [2, 2], [0, 0]]
    ),
    "expand_dims_first": lambda x: np.pad(
        np.expand_dims(x, -1) / np.float32(255), ((0, 0), (2, 2), (2, 2), (0, 0))
    ).astype("float32"),
    "list_of_images": lambda x: list(_pad(x)),
    "zero_padding_layer": lambda x: np.asarray(
        layers.ZeroPadding2D(2)(x[..., None].astype("float32") / 255)
    ),
}

WRONG_PREPARE = {
    "minus_one_to_one": (lambda x: _pad(x) * 2 - 1, "go down to"),
    "divided_by_256": (lambda x: _pad(x) * 255 / 256, "divide the uint8 pixels by 255"),
    "not_scaled": (lambda x: _pad(x) * 255, "divide by 255"),
    "edge_padding": (
        lambda x: np.pad(x.astype("float32") / 255, ((0, 0), (2, 2), (2, 2)), mode="edge")[
            ..., None
        ],
        "border is not zero",
    ),
    "off_centre": (
        lambda x: np.pad(x.astype("float32") / 255, ((0, 0), (0, 4), (0, 4)))[..., None],
        "off-centre",
    ),
    "no_channel": (lambda x: _pad(x)[..., 0], "channel axis"),
    "no_padding": (lambda x: x[..., None].astype("float32") / 255, "padding to 32x32"),
    "float64": (lambda x: _pad(x).astype("float64"), "float32"),
    "resized": (lambda x: tf.image.resize(x[..., None] / 255, (32, 32)).numpy(), "do not resize"),
    "string": (lambda x: "images", "Expected an array"),
    "none": (lambda x: None, "returned None"),
    "crash": (lambda x: x.reshape(5), "raised ValueError"),
    "crash_with_an_array_in_the_message": (
        lambda x: (_ for _ in ()).throw(ValueError(f"bad input {np.arange(3000)}")),
        "raised ValueError: bad input",
    ),
}

# --- 01 · gradient norms -------------------------------------------------------------------


def _norms(model, x, y):  # the notebook's solution: on every backend
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    gradients = autodiff.variable_gradients(lambda: loss_fn(y, model(x, training=True)), kernels)
    return [np.linalg.norm(g) for g in gradients]


def _norms_tape(model, x, y):
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))
    return [tf.norm(g) for g in tape.gradient(loss, kernels)]


def _norms_torch(model, x, y):
    import torch

    kernels = [layer.kernel.value for layer in model.layers if hasattr(layer, "kernel")]
    loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))
    return [float(torch.linalg.norm(g)) for g in torch.autograd.grad(loss, kernels)]


RIGHT_NORMS = {
    "reference_series": lambda m, x, y: grads.gradient_norms(m, x, y),
    "autodiff": _norms,
    "tape_tensors": _norms_tape,
    "torch_autograd": _norms_torch,
    "numpy_array": lambda m, x, y: np.array([float(n) for n in _norms(m, x, y)]),
    "dict_by_name": lambda m, x, y: dict(
        zip([la.name for la in grads.kernel_layers(m)], _norms(m, x, y), strict=True)
    ),
    "float64_sqrt": lambda m, x, y: [
        float(np.sqrt(np.sum(np.square(np.asarray(n, "float64"))))) for n in _norms(m, x, y)
    ],
}

WRONG_NORMS = {
    "sorted": (lambda m, x, y: sorted(float(n) for n in _norms(m, x, y)), "sorted"),
    "sorted_descending": (
        lambda m, x, y: sorted((float(n) for n in _norms(m, x, y)), reverse=True),
        "sorted",
    ),
    "reversed": (lambda m, x, y: _norms(m, x, y)[::-1], "reversed"),
    "nan": (lambda m, x, y: [float("nan")] * 3, "not finite"),
    "nested": (lambda m, x, y: [[1.0, 2.0], [3.0]], "Expected a list of numbers"),
    "inference": (
        lambda m, x, y: grads.gradient_norms(m, x, y, training=False),
        "inference mode",
    ),
}

# --- 01 · healthy MLP ----------------------------------------------------------------------


def _mlp(depth, hidden=lambda: [], init="he_normal", activation=None, head="softmax"):
    inputs = keras.Input((28, 28, 1))
    h = layers.Flatten()(inputs)
    for _ in range(depth - 1):
        h = layers.Dense(64, activation=activation, kernel_initializer=init)(h)
        for make in hidden():
            h = make(h)
    return keras.Model(inputs, layers.Dense(10, activation=head)(h))


def _one_relu(depth):
    inputs = keras.Input((28, 28, 1))
    h = layers.Flatten()(inputs)
    for i in range(depth - 1):
        h = layers.Dense(64, activation="relu" if i == 0 else None, kernel_initializer="he_normal")(
            h
        )
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(h))


RIGHT_MLP = {
    "activation_argument": lambda d: _mlp(d, activation="relu"),
    "relu_layer": lambda d: _mlp(d, hidden=lambda: [layers.ReLU()]),
    "activation_layer": lambda d: _mlp(d, hidden=lambda: [layers.Activation("relu")]),
    "ops_relu": lambda d: _mlp(d, hidden=lambda: [keras.ops.relu]),
    "he_uniform": lambda d: _mlp(d, activation="relu", init="he_uniform"),
    "sequential": lambda d: keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Flatten()]
        + [
            layers.Dense(64, activation="relu", kernel_initializer="he_normal")
            for _ in range(d - 1)
        ]
        + [layers.Dense(10, activation="softmax")]
    ),
}

WRONG_MLP = {
    "glorot": (lambda d: _mlp(d, activation="relu", init="glorot_uniform"), "vanish"),
    "sigmoid": (lambda d: _mlp(d, activation="sigmoid"), "followed by sigmoid"),
    "one_relu_among_linear": (
        _one_relu,
        "not followed by a ReLU",
    ),
    "four_times_he": (
        lambda d: _mlp(d, activation="relu", init=keras.initializers.VarianceScaling(32.0)),
        "more than He's variance",
    ),
    "huge_constant": (
        lambda d: _mlp(d, activation="relu", init=keras.initializers.Constant(50.0)),
        "NaN or infinity",
    ),
    "batch_norm": (
        lambda d: _mlp(d, hidden=lambda: [layers.BatchNormalization(), layers.ReLU()]),
        "explode",
    ),
    "too_shallow": (lambda d: _mlp(d - 5, activation="relu"), "Found 25 layers"),
    "no_softmax": (lambda d: _mlp(d, activation="relu", head=None), "probabilities"),
    "no_flatten": (
        lambda d: keras.Sequential([keras.Input((28, 28, 1)), layers.Dense(10)]),
        "expected (4, 10)",
    ),
    "returns_layer": (lambda d: layers.Dense(10), "Expected a keras.Model"),
}


# --- 03 · identity block -------------------------------------------------------------------


def _bottleneck(x, filters, relu=layers.ReLU, add=None, **options):
    """A bottleneck residual branch and shortcut, with the knobs learners turn."""
    bias = options.get("bias", True)
    order = options.get("order", "conv_bn_relu")
    sizes = options.get("sizes", (1, 3, 1))
    pad = options.get("padding", "same")
    y = x
    for i, size in enumerate(sizes):
        out = 4 * filters if i == 2 else filters
        if i == 2 and options.get("narrow"):
            out = filters
        y = layers.Conv2D(out, size, padding=pad if size == 3 else "valid", use_bias=bias)(y)
        last = i == 2
        if order == "conv_relu_bn" and not last:
            y = layers.BatchNormalization()(relu()(y))
            continue
        y = layers.BatchNormalization(axis=options.get("axis", -1))(y)
        if not last and not (i == 1 and options.get("skip_relu2")):
            y = relu()(y)
        if last and options.get("relu_before_add"):
            y = relu()(y)
    shortcut = options.get("shortcut", x)
    if options.get("concatenate"):
        return relu()(layers.Concatenate()([shortcut, y]))
    if options.get("no_shortcut"):
        return relu()(y)
    total = add(shortcut, y) if add else layers.Add()([shortcut, y])
    if options.get("dropout"):
        total = layers.Dropout(0.5)(total)
    return total if options.get("no_final_relu") else relu()(total)


def _shortcut_from_first_conv(x, f):
    first = layers.Conv2D(4 * f, 1)(x)
    return _bottleneck(x, f, shortcut=first)


RIGHT_IDENTITY = {
    "activation_relu": lambda x, f: _bottleneck(x, f, relu=lambda: layers.Activation("relu")),
    "relu_layer_no_bias": lambda x, f: _bottleneck(x, f, bias=False),
    "plus_operator": lambda x, f: _bottleneck(x, f, add=lambda s, y: y + s),
    "ops_add_and_relu": lambda x, f: _bottleneck(
        x, f, relu=lambda: keras.ops.relu, add=keras.ops.add
    ),
    "keras_names": lambda x, f: _keras_named_identity(x, f),
    "mixed_bias": lambda x, f: _mixed_bias(x, f),
}


def _keras_named_identity(x, f):
    from reslab import blocks

    return blocks.identity_block(x, f, name="conv2_block2")


def _mixed_bias(x, f):
    y = layers.Conv2D(f, 1, use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization(epsilon=1.001e-5)(y))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(f, 3, padding="same")(y)))
    y = layers.BatchNormalization()(layers.Conv2D(4 * f, 1, use_bias=False)(y))
    return layers.ReLU()(layers.Add()([y, x]))


WRONG_IDENTITY = {
    "no_shortcut": (lambda x, f: _bottleneck(x, f, no_shortcut=True), "shortcut is missing"),
    "concatenate": (lambda x, f: _bottleneck(x, f, concatenate=True), "Concatenate"),
    "relu_before_add": (lambda x, f: _bottleneck(x, f, relu_before_add=True), "after a ReLU"),
    "no_final_relu": (lambda x, f: _bottleneck(x, f, no_final_relu=True), "end with a ReLU"),
    "conv_relu_bn": (lambda x, f: _bottleneck(x, f, order="conv_relu_bn"), "ReLU → this layer"),
    "no_relu_after_3x3": (lambda x, f: _bottleneck(x, f, skip_relu2=True), "→ ReLU → this layer"),
    "valid_padding": (lambda x, f: _bottleneck(x, f, padding="valid"), "padding='same'"),
    "narrow_output": (lambda x, f: _bottleneck(x, f, narrow=True), "4 * filters = 16"),
    "shortcut_from_conv": (_shortcut_from_first_conv, "input x itself"),
    "three_by_three_first": (lambda x, f: _bottleneck(x, f, sizes=(3, 1, 1)), "kernel sizes"),
    "bn_wrong_axis": (lambda x, f: _bottleneck(x, f, axis=1), "BN over"),
    "dropout": (lambda x, f: _bottleneck(x, f, dropout=True), "training mode"),
    "returns_model": (lambda x, f: keras.Model(x, _bottleneck(x, f)), "output tensor"),
    "returns_numpy": (lambda x, f: np.zeros((6, 6, 16)), "output tensor"),
    "none": (lambda x, f: None, "returned None"),
    "crash": (lambda x, f: x.no_such_thing, "raised AttributeError"),
}

# --- 04 · convolutional block --------------------------------------------------------------


def _conv_block(x, f, s, **o):
    relu = o.get("relu", layers.ReLU)
    stride_at = o.get("stride_at", 0)
    shortcut = x
    if not o.get("no_projection"):
        shortcut = layers.Conv2D(
            4 * f,
            o.get("projection_size", 1),
            strides=o.get("projection_stride", s),
            padding="same",
        )(x)
        if not o.get("no_shortcut_bn"):
            shortcut = layers.BatchNormalization()(shortcut)
    y = x
    for i, size in enumerate((1, 3, 1)):
        out = 4 * f if i == 2 else f
        stride = s if i == stride_at else 1
        y = layers.Conv2D(
            out, size, strides=stride, padding=o.get("padding", "same") if size == 3 else "valid"
        )(y)
        if o.get("order") == "conv_relu_bn" and i < 2:
            y = layers.BatchNormalization()(relu()(y))
            continue
        y = layers.BatchNormalization()(y)
        if i < 2 and not (i == 1 and o.get("skip_relu2")):
            y = relu()(y)
    if o.get("relu_before_add"):
        y = relu()(y)
    total = (y + shortcut) if o.get("plus") else layers.Add()([shortcut, y])
    return relu()(total)


def _conv_branch_first(x, f, s):
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(f, 1, strides=s)(x)))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(f, 3, padding="same")(y)))
    y = layers.BatchNormalization()(layers.Conv2D(4 * f, 1)(y))
    shortcut = layers.BatchNormalization()(layers.Conv2D(4 * f, 1, strides=s)(x))
    return keras.ops.relu(keras.ops.add(y, shortcut))


RIGHT_CONV = {
    "reference_style": lambda x, f, s: _conv_block(x, f, s),
    "plus_operator": lambda x, f, s: _conv_block(x, f, s, plus=True),
    "activation_relu": lambda x, f, s: _conv_block(x, f, s, relu=lambda: layers.Activation("relu")),
    "branch_first_ops": _conv_branch_first,
    "keras_names": lambda x, f, s: _keras_named_conv(x, f, s),
}


def _keras_named_conv(x, f, s):
    from reslab import blocks

    return blocks.convolutional_block(x, f, s, name="conv3_block1")


WRONG_CONV = {
    "no_projection": (lambda x, f, s: _conv_block(x, f, s, no_projection=True), "projection"),
    "stride_in_3x3": (lambda x, f, s: _conv_block(x, f, s, stride_at=1), "v1.5"),
    "stride_in_last": (lambda x, f, s: _conv_block(x, f, s, stride_at=2), "stride"),
    "no_projection_stride": (
        lambda x, f, s: _conv_block(x, f, s, projection_stride=1),
        "put the stride in the first 1×1 conv and in the projection",
    ),
    "projection_3x3": (
        lambda x, f, s: _conv_block(x, f, s, projection_size=3),
        "1×1 convolution with 16 filters",
    ),
    "no_shortcut_bn": (lambda x, f, s: _conv_block(x, f, s, no_shortcut_bn=True), "BN over 16"),
    "relu_before_add": (lambda x, f, s: _conv_block(x, f, s, relu_before_add=True), "after a ReLU"),
    "conv_relu_bn": (
        lambda x, f, s: _conv_block(x, f, s, order="conv_relu_bn"),
        "ReLU → this layer",
    ),
    "no_relu_after_3x3": (
        lambda x, f, s: _conv_block(x, f, s, skip_relu2=True),
        "→ ReLU → this layer",
    ),
    "valid_3x3": (lambda x, f, s: _conv_block(x, f, s, padding="valid"), "padding='same'"),
    "returns_model": (lambda x, f, s: keras.Model(x, _conv_block(x, f, s)), "output tensor"),
    "crash": (lambda x, f, s: 1 / 0, "raised ZeroDivisionError"),
}

# --- 05 · ResNet-50 ------------------------------------------------------------------------


def _resnet50(shape, classes, **o):
    from reslab import blocks

    inputs = keras.Input(shape)
    if o.get("same_padding"):
        x = layers.Conv2D(64, 7, strides=2, padding="same")(inputs)
    else:
        x = layers.Conv2D(64, 7, strides=2)(layers.ZeroPadding2D(3)(inputs))
    x = layers.BatchNormalization(epsilon=1.001e-5)(x)
    if not o.get("no_stem_relu"):
        x = layers.ReLU()(x)
    pool = layers.AveragePooling2D if o.get("average_pool") else layers.MaxPooling2D
    x = pool(3, strides=2)(layers.ZeroPadding2D(1)(x))
    for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)):
        stride = 1 if stage == 0 else 2
        x = blocks.convolutional_block(
            x, filters, stride, version=o.get("version", "v1"), name=f"s{stage}b1"
        )
        for b in range(2, count + 1):
            x = blocks.identity_block(x, filters, name=f"s{stage}b{b}")
    x = (layers.GlobalMaxPooling2D if o.get("max_pool_head") else layers.GlobalAveragePooling2D)()(
        x
    )
    if o.get("dropout"):
        x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(classes, activation=o.get("head", "softmax"))(x))


class _Subclassed(keras.Model):
    def __init__(self, classes):
        super().__init__()
        self.dense = layers.Dense(classes, activation="softmax")

    def call(self, x):
        return self.dense(keras.ops.mean(x, axis=(1, 2)))


RIGHT_RESNET50 = {
    "blocks_and_relu_layers": lambda s, c: _resnet50(s, c),
    "reslab_builder": lambda s, c: models.resnet(50, input_shape=s, classes=c),
}

WRONG_RESNET50 = {
    "v1_5_strides": (lambda s, c: _resnet50(s, c, version="v1.5"), "stride 2"),
    "max_pool_head": (lambda s, c: _resnet50(s, c, max_pool_head=True), "GlobalMaxPooling2D"),
    "no_softmax": (lambda s, c: _resnet50(s, c, head=None), "uses activation 'linear'"),
    "dropout": (lambda s, c: _resnet50(s, c, dropout=True), "training mode"),
    "no_stem_relu": (lambda s, c: _resnet50(s, c, no_stem_relu=True), "ReLU → ZeroPadding2D"),
    "average_pool_stem": (lambda s, c: _resnet50(s, c, average_pool=True), "AveragePooling2D"),
    "same_padding_stem": (lambda s, c: _resnet50(s, c, same_padding=True), "ZeroPadding2D"),
    "subclassed": (lambda s, c: _Subclassed(c), "functional API"),
}

# --- 02 · plain-net parameters -----------------------------------------------------------


def _count(n, widths, stats=2, bias=0, window=9):
    filters = [widths[0]] + [w for w in widths for _ in range(2 * n)]
    channels = [3, *filters[:-1]]
    total = sum((window * c + bias + stats) * f for c, f in zip(channels, filters, strict=True))
    return 6 * n + 2, total + 10 * widths[-1] + 10


def _count_with_keras(n, widths):
    net = models.plain_cifar(6 * n + 2, widths=widths)
    return 6 * n + 2, sum(int(np.prod(w.shape)) for w in net.trainable_weights)


RIGHT_PLAIN = {
    "formula": _count,
    "keras_count": _count_with_keras,
    "list_of_numpy": lambda n, w: [np.int64(v) for v in _count(n, w)],
}

WRONG_PLAIN = {
    "depth_6n": (lambda n, w: (6 * n, _count(n, w)[1]), "6n counts the stacked layers only"),
    "bn_statistics": (lambda n, w: _count(n, w, stats=4), "moving mean and variance"),
    "conv_bias": (lambda n, w: _count(n, w, bias=1), "no bias"),
    "no_bn": (lambda n, w: _count(n, w, stats=0), "followed by BN"),
    "one_by_one": (lambda n, w: _count(n, w, window=1), "3 × 3 × (input channels)"),
    "off_by_ten": (lambda n, w: (6 * n + 2, _count(n, w)[1] - 10), "Dense layer has a bias"),
    "count_params_with_statistics": (
        lambda n, w: (6 * n + 2, models.plain_cifar(6 * n + 2, widths=w).count_params()),
        "moving mean and variance",
    ),
    "one_number": (lambda n, w: 42, "Return two numbers"),
    "none": (lambda n, w: None, "returned None"),
}

# --- 06 · pre-activation block -------------------------------------------------------------


def _preact(x, f, relu=layers.ReLU, **o):
    y = x
    for i in range(2):
        if o.get("v1_order"):
            y = layers.BatchNormalization()(layers.Conv2D(f, 3, padding="same", use_bias=False)(y))
            y = relu()(y) if i == 0 else y
            continue
        y = relu()(layers.BatchNormalization()(y))
        y = layers.Conv2D(f, 3, padding="same", use_bias=o.get("bias", False))(y)
    shortcut = x
    if o.get("preact_shortcut"):
        shortcut = relu()(layers.BatchNormalization()(x))
        y = layers.Conv2D(f, 3, padding="same")(
            relu()(layers.BatchNormalization()(layers.Conv2D(f, 3, padding="same")(shortcut)))
        )
    total = o["add"](y, shortcut) if "add" in o else layers.Add()([shortcut, y])
    return relu()(total) if o.get("final_relu") else total


RIGHT_PREACT = {
    "relu_layers": lambda x, f: _preact(x, f),
    "plus_and_activation": lambda x, f: _preact(
        x, f, relu=lambda: layers.Activation("relu"), add=lambda a, b: a + b
    ),
    "with_biases": lambda x, f: _preact(x, f, bias=True),
    "ops_relu": lambda x, f: _preact(x, f, relu=lambda: keras.ops.relu),
}

WRONG_PREACT = {
    "relu_after_add": (lambda x, f: _preact(x, f, final_relu=True), "nothing follows the addition"),
    "v1_order": (lambda x, f: _preact(x, f, v1_order=True), "starts with a convolution"),
    "preactivated_shortcut": (lambda x, f: _preact(x, f, preact_shortcut=True), "input x itself"),
    "no_shortcut": (lambda x, f: layers.Conv2D(f, 3, padding="same")(x), "shortcut is missing"),
    "valid_padding": (
        lambda x, f: layers.Conv2D(f, 3)(layers.ReLU()(layers.BatchNormalization()(x))),
        "padding='same'",
    ),
    "returns_model": (lambda x, f: keras.Model(x, _preact(x, f)), "output tensor"),
}

# --- 07 · the schedule ---------------------------------------------------------------------


def _rate(step, warmup, first=32_000, second=48_000, factor=10):
    if warmup and step < 400:
        return 0.01
    return 0.1 / factor ** ((step >= first) + (step >= second))


RIGHT_SCHEDULE = {
    "if_else": _rate,
    "keras_schedule": lambda step, warmup: keras.optimizers.schedules.PiecewiseConstantDecay(
        [400, 32_000, 48_000] if warmup else [32_000, 48_000],
        [0.01, 0.1, 0.01, 0.001] if warmup else [0.1, 0.01, 0.001],
    )(step),
    "numpy_searchsorted": lambda step, warmup: (
        0.01
        if warmup and step < 400
        else [0.1, 0.01, 0.001][int(np.searchsorted([32_000, 48_000], step, side="right"))]
    ),
}

WRONG_SCHEDULE = {
    "no_warmup": (lambda s, w: _rate(s, False), "warm-up runs at 0.01"),
    "warmup_forever": (lambda s, w: 0.01 if w and s < 32_000 else _rate(s, w), "warm-up ends"),
    "epochs_not_iterations": (lambda s, w: _rate(s, w, first=32, second=48), "not epochs"),
    "one_drop": (lambda s, w: _rate(s, w, second=10**9), "again at 48,000"),
    "by_100": (lambda s, w: _rate(s, w, factor=100), "divided by 10 once so far"),
    "string": (lambda s, w: "0.1", "expected 0.01"),
    "none": (lambda s, w: None, "returned None"),
}

# --- 08 · phase two ------------------------------------------------------------------------


def _unfreeze(trunk, bn=False, prefix="conv5_", keep_trunk_frozen=False, others=False):
    trunk.trainable = True
    for layer in trunk.layers:
        if isinstance(layer, layers.BatchNormalization) and not bn:
            layer.trainable = False
        else:
            layer.trainable = layer.name.startswith(prefix) or others
    if keep_trunk_frozen:
        trunk.trainable = False


RIGHT_PHASE = {
    "loop": _unfreeze,
    "reslab_helper": lambda t: __import__("reslab.train").train.set_trainable(t, ("conv5_",)),
    "two_passes": lambda t: [
        setattr(t, "trainable", True),
        [setattr(la, "trainable", False) for la in t.layers],
        [
            setattr(la, "trainable", True)
            for la in t.layers
            if "conv5" in la.name and not isinstance(la, layers.BatchNormalization)
        ],
    ],
}

WRONG_PHASE = {
    "bn_trainable": (lambda t: _unfreeze(t, bn=True), "Keep every BN layer frozen"),
    "everything": (lambda t: _unfreeze(t, others=True), "only conv5's layers train"),
    "trunk_left_frozen": (lambda t: _unfreeze(t, keep_trunk_frozen=True), "still frozen"),
    "conv4": (lambda t: _unfreeze(t, prefix="conv4_"), "is trainable"),
    "nothing": (lambda t: None, "still frozen"),
    "crash": (lambda t: t.layers[1000], "raised IndexError"),
}

# --- 09 · Grad-CAM -------------------------------------------------------------------------


def _cam(model, image, layer, klass, relu=True, scale=True, pooled=True, reduce=np.mean):
    maps, g = autodiff.layer_gradients(model, layer, image[None], lambda s: s[0, klass])
    weights = reduce(g, axis=(1, 2), keepdims=True) if pooled else g
    cam = (weights * maps).sum(axis=-1)[0]
    cam = np.maximum(cam, 0) if relu else cam
    return cam / cam.max() if scale and cam.max() > 0 else cam


def _cam_tape(model, image, layer, klass):
    probe = keras.Model(model.input, [model.get_layer(layer).output, model.output])
    with tf.GradientTape() as tape:
        maps, scores = probe(image[None])
        score = scores[:, klass]
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))[0]
    return cam / tf.reduce_max(cam)


RIGHT_CAM = {
    "autodiff": _cam,
    "tape": _cam_tape,
    "reslab": lambda m, im, la, k: grads.grad_cam(m, im[None], la, [k]),
    "sum_of_gradients": lambda m, im, la, k: _cam(m, im, la, k, reduce=np.sum),
}

WRONG_CAM = {
    "no_relu": (lambda m, im, la, k: _cam(m, im, la, k, relu=False), "negative values"),
    "not_scaled": (lambda m, im, la, k: _cam(m, im, la, k, scale=False), "divide by its maximum"),
    "not_pooled": (lambda m, im, la, k: _cam(m, im, la, k, pooled=False), "spatial mean"),
    "wrong_layer": (lambda m, im, la, k: _cam(m, im, "conv_a", k), "resolution"),
    "none": (lambda m, im, la, k: None, "returned None"),
}

# --- 10 · a keras.applications trunk -----------------------------------------------------


def _trunk(size, **o):
    options = dict(weights=None, include_top=False, pooling="avg", input_shape=(size, size, 3))
    return keras.applications.ResNet50(**{**options, **o})


RIGHT_TRUNK = {
    "keywords": _trunk,
    "input_tensor": lambda s: keras.applications.ResNet50(
        weights=None, include_top=False, pooling="avg", input_tensor=keras.Input((s, s, 3))
    ),
}

WRONG_TRUNK = {
    "with_head": (lambda s: _trunk(s, include_top=True, input_shape=None), "include_top=False"),
    "no_pooling": (lambda s: _trunk(s, pooling=None), "not a vector"),
    "pooling_typo": (lambda s: _trunk(s, pooling="mean"), "silently ignored"),
    "max_pooling": (lambda s: _trunk(s, pooling="max"), "averages"),
    "fixed_size": (lambda s: _trunk(224), "input_shape=(image_size, image_size, 3)"),
    "grayscale": (lambda s: _trunk(s, input_shape=(s, s, 1)), "(96, 96, 3)"),
    "resnet101": (
        lambda s: keras.applications.ResNet101(
            weights=None, include_top=False, pooling="avg", input_shape=(s, s, 3)
        ),
        "Expected keras.applications.ResNet50",
    ),
    "returns_layer": (lambda s: keras.layers.Dense(3), "Expected a keras.Model"),
}

# --- 11 · squeeze-and-excitation -----------------------------------------------------------


def _se(x, r, pool=layers.GlobalAveragePooling2D, units=None, relu="relu", gate="sigmoid", add=0):
    c = x.shape[-1]
    s = pool(keepdims=True)(x) if pool else x
    s = layers.Dense(units or c // r, activation=relu)(s)
    s = layers.Dense(c, activation=gate)(s)
    return x + s if add else x * s


def _se_flat(x, r):  # pooled to a vector, reshaped back
    c = x.shape[-1]
    s = layers.Dense(c // r, activation="relu")(layers.GlobalAveragePooling2D()(x))
    s = layers.Reshape((1, 1, c))(layers.Dense(c, activation="sigmoid")(s))
    return layers.Multiply()([x, s])


def _se_conv(x, r):  # 1×1 convolutions on the pooled map, keras.ops, no biases
    c = x.shape[-1]
    s = keras.ops.mean(x, axis=(1, 2), keepdims=True)
    s = layers.ReLU()(layers.Conv2D(c // r, 1, use_bias=False)(s))
    return keras.ops.multiply(layers.Conv2D(c, 1, use_bias=False, activation="sigmoid")(s), x)


def _se_sequential(x, r):
    c = x.shape[-1]
    excite = keras.Sequential(
        [
            layers.GlobalAveragePooling2D(keepdims=True),
            layers.Dense(c // r, activation="relu"),
            layers.Dense(c, activation="sigmoid"),
        ]
    )
    return x * excite(x)


def _se_bn(x, r):
    s = layers.Dense(x.shape[-1] // r)(layers.GlobalAveragePooling2D(keepdims=True)(x))
    s = layers.ReLU()(layers.BatchNormalization()(s))
    return x * layers.Dense(x.shape[-1], activation="sigmoid")(s)


RIGHT_SE = {
    "reference": lambda x, r: variants.squeeze_excite(x, r),
    "flat_and_reshape": _se_flat,
    "conv_1x1_ops": _se_conv,
    "sequential": _se_sequential,
    "keepdims": _se,
}

WRONG_SE = {
    "softmax_gate": (lambda x, r: _se(x, r, gate="softmax"), "softmax"),
    "tanh_gate": (lambda x, r: _se(x, r, gate="tanh"), "Fig. 3"),
    "no_relu": (lambda x, r: _se(x, r, relu=None), "no ReLU"),
    "max_pool": (lambda x, r: _se(x, r, pool=layers.GlobalMaxPooling2D), "maximum"),
    "no_squeeze": (lambda x, r: _se(x, r, pool=None), "every position"),
    "times_ratio": (lambda x, r: _se(x, r, units=x.shape[-1] * r), "instead of dividing"),
    "ratio_as_units": (lambda x, r: _se(x, r, units=r), "8 units; yours has 3"),
    "adds_weights": (lambda x, r: _se(x, r, add=True), "adds the channel"),
    "adds_x_back": (lambda x, r: x + variants.squeeze_excite(x, r), "shortcut belongs"),
    "height_as_channels": (
        lambda x, r: x * layers.Dense(x.shape[1])(layers.GlobalAveragePooling2D()(x)),
        "x.shape[-1]",
    ),
    "returns_weights": (
        lambda x, r: layers.Dense(x.shape[-1])(layers.GlobalAveragePooling2D()(x)),
        "channel weights",
    ),
    "batch_norm": (_se_bn, "not part of SE"),
    "returns_model": (lambda x, r: keras.Model(x, x), "output tensor"),
}

# --- the room ------------------------------------------------------------------------------

ROOM = [  # (checker, right answers, wrong answers with the words their message must name)
    (checks.check_prepare_images, RIGHT_PREPARE, WRONG_PREPARE),
    (checks.check_gradient_norms, RIGHT_NORMS, WRONG_NORMS),
    (checks.check_healthy_mlp, RIGHT_MLP, WRONG_MLP),
    (checks.check_identity_block, RIGHT_IDENTITY, WRONG_IDENTITY),
    (checks.check_convolutional_block, RIGHT_CONV, WRONG_CONV),
    (checks.check_resnet50, RIGHT_RESNET50, WRONG_RESNET50),
    (checks.check_plain_parameters, RIGHT_PLAIN, WRONG_PLAIN),
    (checks.check_preact_block, RIGHT_PREACT, WRONG_PREACT),
    (checks.check_paper_schedule, RIGHT_SCHEDULE, WRONG_SCHEDULE),
    (checks.check_phase_two, RIGHT_PHASE, WRONG_PHASE),
    (checks.check_grad_cam, RIGHT_CAM, WRONG_CAM),
    (checks.check_keras_trunk, RIGHT_TRUNK, WRONG_TRUNK),
    (checks.check_squeeze_excite, RIGHT_SE, WRONG_SE),
]
RIGHT = [(checker, right) for checker, right, _ in ROOM]
# Right answers written with one backend's own automatic differentiation.
ONLY_ON = {"tape_tensors": "tensorflow", "tape": "tensorflow", "torch_autograd": "torch"}
WRONG = [(checker, wrong) for checker, _, wrong in ROOM]


def _verdict(checker, answer) -> checks.Verdict:
    verdict = checker(answer)  # a checker never raises: a crash fails this test
    assert isinstance(verdict, checks.Verdict)
    assert len(verdict.message) < 600, "feedback stays short"
    return verdict


def _on_its_backend(name: str) -> list:
    needs = ONLY_ON.get(name, keras.backend.backend())
    reason = f"written with {needs}'s own tools"
    return [pytest.mark.skipif(needs != keras.backend.backend(), reason=reason)]


@pytest.mark.parametrize(
    "checker, answer",
    [
        pytest.param(c, a, id=f"{c.__name__}-{name}", marks=_on_its_backend(name))
        for c, answers in RIGHT
        for name, a in answers.items()
    ],
)
def test_right_answers_in_other_styles_pass(checker, answer):
    keras.utils.set_random_seed(0)
    verdict = _verdict(checker, answer)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize(
    "checker, answer, names",
    [(c, a, m) for c, answers in WRONG for a, m in answers.values()],
    ids=[f"{c.__name__}-{name}" for c, answers in WRONG for name in answers],
)
def test_wrong_answers_fail_naming_the_mistake(checker, answer, names):
    keras.utils.set_random_seed(0)
    verdict = _verdict(checker, answer)
    assert not verdict.passed
    assert names in verdict.message, verdict.message
