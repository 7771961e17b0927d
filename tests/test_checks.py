"""Each checker accepts the right answer and rejects each typical wrong one, specifically."""

import keras
import numpy as np
import pytest

from reslab import autodiff, checks, grads


def reference(model, x, y):
    return grads.gradient_norms(model, x, y)


def _norms(model, x, y, variables):
    def loss():
        losses = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
        return keras.ops.mean(losses)

    return [keras.ops.norm(g) for g in autodiff.variable_gradients(loss, variables)]


def hand_written(model, x, y):  # what a learner writes: a list of tensors, not floats
    layers = [layer for layer in model.layers if hasattr(layer, "kernel")]
    return _norms(model, x, y, [layer.kernel for layer in layers])


def with_biases(model, x, y):
    layers = grads.kernel_layers(model)
    return _norms(model, x, y, [v for layer in layers for v in (layer.kernel, layer.bias)])


def not_attempted(model, x, y):
    raise NotImplementedError


def crashes(model, x, y):
    return model.no_such_attribute


WRONG_NORMS = {
    "not_attempted": (not_attempted, "Not attempted yet"),
    "returns_none": (lambda m, x, y: None, "returned None"),
    "crashes": (crashes, "raised AttributeError"),
    "biases": (with_biases, "biases are included"),
    "reversed": (lambda m, x, y: reference(m, x, y)[::-1], "reversed"),
    "squared": (lambda m, x, y: reference(m, x, y) ** 2, "squared norms"),
    "inference": (lambda m, x, y: grads.gradient_norms(m, x, y, training=False), "inference mode"),
    "weights": (
        lambda m, x, y: [np.linalg.norm(layer.kernel) for layer in grads.kernel_layers(m)],
        "norms of the weights themselves",
    ),
    "too_few": (lambda m, x, y: reference(m, x, y)[:2], "Expected one norm per layer"),
    "other_loss": (
        lambda m, x, y: grads.gradient_norms(
            m, x, y, loss=keras.losses.SparseCategoricalCrossentropy(reduction="sum")
        ),
        "Layer dense_a: expected a gradient norm of",
    ),
    "not_numbers": (lambda m, x, y: "big", "Expected a list of numbers"),
}


@pytest.mark.parametrize("answer", [reference, hand_written])
def test_gradient_norms_checker_accepts_right_answers(answer):
    verdict = checks.check_gradient_norms(answer)
    assert verdict.passed, verdict.message
    assert repr(verdict).startswith("[pass] Correct")


def mlp(depth, activation="relu", init="he_normal", batchnorm=False, head=10, flatten=True):
    model = keras.Sequential([keras.Input((28, 28, 1))])
    if flatten:
        model.add(keras.layers.Flatten())
    for _ in range(depth - 1):
        model.add(keras.layers.Dense(64, activation=activation, kernel_initializer=init))
        if batchnorm:
            model.add(keras.layers.BatchNormalization())
    model.add(keras.layers.Dense(head, activation="softmax"))
    return model


WRONG_MLPS = {
    "sigmoid": (
        lambda d: mlp(d, activation="sigmoid", init="glorot_uniform"),
        "followed by sigmoid",
    ),
    "glorot": (lambda d: mlp(d, init="glorot_uniform"), "Gradients vanish"),
    "batchnorm": (lambda d: mlp(d, batchnorm=True), "Gradients explode"),
    "too_shallow": (lambda d: mlp(d - 1), "Found 29 layers with weights"),
    "wrong_head": (lambda d: mlp(d, head=5), "expected (4, 10)"),
    "no_flatten": (lambda d: mlp(d, flatten=False), "expected (4, 10)"),
    "not_a_model": (lambda d: [mlp(d)], "Expected a keras.Model"),
    "returns_none": (lambda d: None, "returned None"),
}


def test_healthy_mlp_checker_accepts_he_initialised_relu():
    verdict = checks.check_healthy_mlp(mlp, depth=30)
    assert verdict.passed, verdict.message


def prepare_reference(x):
    return np.pad(x.astype("float32") / 255, ((0, 0), (2, 2), (2, 2)))[..., None]


WRONG_PREPARE = {
    "no_channel": (lambda x: prepare_reference(x)[..., 0], "Missing: the channel axis"),
    "no_padding": (lambda x: x[..., None].astype("float32") / 255, "Missing: the padding"),
    "float64": (lambda x: prepare_reference(x).astype("float64"), "dtype is float64"),
    "unscaled": (lambda x: prepare_reference(x) * 255, "divide by 255"),
    "off_centre": (
        lambda x: np.pad(x.astype("float32") / 255, ((0, 0), (0, 4), (0, 4)))[..., None],
        "off-centre",
    ),
    "resized": (lambda x: np.zeros((3, 64, 64, 1), "float32"), "expected (3, 32, 32, 1)"),
    "none": (lambda x: None, "returned None"),
}


def test_prepare_images_checker_accepts_the_reference():
    verdict = checks.check_prepare_images(prepare_reference)
    assert verdict.passed, verdict.message


def identity_block(x, filters, bias=True, shortcut=True, add_after_relu=False, final_relu=True,
                   out=None, padding="same", sizes=(1, 3, 1)):  # fmt: skip
    """A learner-style identity block, with switches for each typical mistake."""
    layers = keras.layers
    y = x
    widths = (filters, filters, out or 4 * filters)
    for i, (width, size) in enumerate(zip(widths, sizes, strict=True)):
        y = layers.Conv2D(width, size, padding=padding if size > 1 else "valid", use_bias=bias)(y)
        y = layers.BatchNormalization()(y)
        if i < 2 or add_after_relu:
            y = layers.Activation("relu")(y)
    if shortcut:
        y = layers.Add()([y, x])
    return layers.Activation("relu")(y) if final_relu else y


WRONG_IDENTITY = {
    "no_shortcut": (lambda x, f: identity_block(x, f, shortcut=False), "shortcut is missing"),
    "after_relu": (lambda x, f: identity_block(x, f, add_after_relu=True), "added after a ReLU"),
    "no_final_relu": (lambda x, f: identity_block(x, f, final_relu=False), "end with a ReLU"),
    "valid_padding": (lambda x, f: identity_block(x, f, padding="valid"), "padding='same'"),
    "narrow_output": (lambda x, f: identity_block(x, f, out=f), "4 * filters = 16"),
    "all_3x3": (lambda x, f: identity_block(x, f, sizes=(3, 3, 3)), "kernel sizes"),
    "none": (lambda x, f: None, "returned None"),
    "crashes": (lambda x, f: keras.layers.Conv2D(f, 3, strides=0)(x), "raised ValueError"),
}


@pytest.mark.parametrize("bias", [True, False])
def test_identity_block_checker_accepts_right_answers(bias):
    verdict = checks.check_identity_block(lambda x, f: identity_block(x, f, bias=bias))
    assert verdict.passed, verdict.message
    from reslab import blocks

    verdict = checks.check_identity_block(blocks.identity_block)
    assert verdict.passed, verdict.message


def conv_block(x, filters, stride, project=True, stride_in_3x3=False, shortcut_bn=True):
    """A learner-style convolutional block, with switches for each typical mistake."""
    layers = keras.layers
    s1, s3 = (1, stride) if stride_in_3x3 else (stride, 1)
    y = layers.Conv2D(filters, 1, strides=s1)(x)
    y = layers.Activation("relu")(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, strides=s3, padding="same")(y)
    y = layers.Activation("relu")(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1)(y))
    short = x
    if project:
        short = layers.Conv2D(4 * filters, 1, strides=stride)(x)
        short = layers.BatchNormalization()(short) if shortcut_bn else short
    return layers.Activation("relu")(layers.Add()([y, short]))


WRONG_CONV = {
    "no_projection": (lambda x, f, s: conv_block(x, f, s, project=False), "needs a projection"),
    "v1_5_stride": (lambda x, f, s: conv_block(x, f, s, stride_in_3x3=True), "ResNet v1.5"),
    "no_stride": (lambda x, f, s: conv_block(x, f, 1), "the stride halves the grid"),
    "no_shortcut_bn": (
        lambda x, f, s: conv_block(x, f, s, shortcut_bn=False),
        "Missing: a BN over 16 channels",
    ),
    "none": (lambda x, f, s: None, "returned None"),
}


def test_convolutional_block_checker_accepts_right_answers():
    from reslab import blocks

    for answer in (conv_block, blocks.convolutional_block):
        verdict = checks.check_convolutional_block(answer)
        assert verdict.passed, verdict.message


def resnet50(shape, classes, stages=(3, 4, 6, 3), stage2_stride=1, pool=True, stem_bn=True):
    """A learner-style ResNet-50 built from reslab's blocks, with switches for mistakes."""
    from reslab import blocks

    layers = keras.layers
    inputs = keras.Input(shape)
    x = layers.Conv2D(64, 7, strides=2)(layers.ZeroPadding2D(3)(inputs))
    if stem_bn:
        x = layers.Activation("relu")(layers.BatchNormalization()(x))
    if pool:
        x = layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(x))
    for i, (filters, count) in enumerate(zip((64, 128, 256, 512), stages, strict=True)):
        stride = stage2_stride if i == 0 else 2
        x = blocks.convolutional_block(x, filters, stride, name=f"s{i}b0")
        for b in range(1, count):
            x = blocks.identity_block(x, filters, name=f"s{i}b{b}")
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


WRONG_RESNET50 = {
    "resnet34_stages": (lambda s, c: resnet50(s, c, stages=(3, 4, 5, 3)), "conv4 (1024"),
    "stride_in_conv2": (lambda s, c: resnet50(s, c, stage2_stride=2), "conv2 keeps it"),
    "no_pool": (lambda s, c: resnet50(s, c, pool=False), "divides the size by 4"),
    "no_stem_bn": (lambda s, c: resnet50(s, c, stem_bn=False), "Missing: a BN over 64 channels"),
    "no_head": (lambda s, c: keras.Model(*(lambda i: (i, i))(keras.Input(s))), "expected (10,)"),
    "none": (lambda s, c: None, "returned None"),
}


def test_resnet50_checker_accepts_right_answers():
    from reslab import models

    for answer in (resnet50, lambda s, c: models.resnet(50, input_shape=s, classes=c)):
        verdict = checks.check_resnet50(answer)
        assert verdict.passed, verdict.message


REJECTIONS = {
    checks.check_prepare_images: WRONG_PREPARE,
    checks.check_gradient_norms: WRONG_NORMS,
    checks.check_healthy_mlp: WRONG_MLPS,
    checks.check_identity_block: WRONG_IDENTITY,
    checks.check_convolutional_block: WRONG_CONV,
    checks.check_resnet50: WRONG_RESNET50,
}


@pytest.mark.parametrize(
    ("checker", "answer", "expected_message"),
    [
        pytest.param(checker, answer, message, id=f"{checker.__name__}-{case}")
        for checker, cases in REJECTIONS.items()
        for case, (answer, message) in cases.items()
    ],
)
def test_checkers_reject_each_mistake_specifically(checker, answer, expected_message):
    verdict = checker(answer)
    assert not verdict.passed and not verdict
    assert expected_message in verdict.message, verdict.message
    assert repr(verdict).startswith("[fail] ")
