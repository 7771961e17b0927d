"""Each checker accepts the right answer and rejects each typical wrong one, specifically."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from reslab import checks, grads


def reference(model, x, y):
    return grads.gradient_norms(model, x, y)


def hand_written(model, x, y):  # what a learner writes: a list, via GradientTape
    layers = [layer for layer in model.layers if hasattr(layer, "kernel")]
    with tf.GradientTape() as tape:
        loss = keras.losses.sparse_categorical_crossentropy(y, model(x, training=True))
        loss = tf.reduce_mean(loss)
    return [tf.norm(g) for g in tape.gradient(loss, [layer.kernel for layer in layers])]


def with_biases(model, x, y):
    layers = grads.kernel_layers(model)
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))
    variables = [v for layer in layers for v in (layer.kernel, layer.bias)]
    return [float(tf.norm(g)) for g in tape.gradient(loss, variables)]


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
    assert repr(verdict).startswith("✅ Correct")


@pytest.mark.parametrize("case", WRONG_NORMS)
def test_gradient_norms_checker_rejects_each_mistake_specifically(case):
    answer, expected_message = WRONG_NORMS[case]
    verdict = checks.check_gradient_norms(answer)
    assert not verdict.passed and not verdict
    assert expected_message in verdict.message
    assert repr(verdict).startswith("❌")


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
    "sigmoid": (lambda d: mlp(d, activation="sigmoid", init="glorot_uniform"), "['sigmoid']"),
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


@pytest.mark.parametrize("case", WRONG_MLPS)
def test_healthy_mlp_checker_rejects_each_mistake_specifically(case):
    answer, expected_message = WRONG_MLPS[case]
    verdict = checks.check_healthy_mlp(answer, depth=30)
    assert not verdict.passed
    assert expected_message in verdict.message


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


@pytest.mark.parametrize("case", WRONG_PREPARE)
def test_prepare_images_checker_rejects_each_mistake_specifically(case):
    answer, expected_message = WRONG_PREPARE[case]
    verdict = checks.check_prepare_images(answer)
    assert not verdict.passed and expected_message in verdict.message
