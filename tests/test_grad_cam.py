"""grads.grad_cam points at the evidence: in an image bright on the left and dark on the
right, a model with a "bright" class and a "dark" class must light up the matching half."""

import keras
import numpy as np
import pytest

from reslab import autodiff, grads


def bright_dark_model() -> keras.Model:
    """Channel 0 fires on bright pixels, channel 1 on dark ones; the class scores are their
    averages over the image (class 0: bright, class 1: dark)."""
    inputs = keras.Input((8, 8, 1))
    features = keras.layers.Conv2D(2, 1, activation="relu", name="features")(inputs)
    scores = keras.layers.GlobalAveragePooling2D()(features)
    model = keras.Model(inputs, scores)
    kernel = np.array([1.0, -1.0], "float32").reshape(1, 1, 1, 2)
    model.get_layer("features").set_weights([kernel, np.array([-0.5, 0.5], "float32")])
    return model


def half_bright() -> np.ndarray:
    image = np.zeros((1, 8, 8, 1), "float32")
    image[:, :, :4] = 1.0  # left half bright, right half dark
    return image


def test_grad_cam_lights_the_half_with_the_evidence():
    model, image = bright_dark_model(), half_bright()
    (bright,) = grads.grad_cam(model, image, layer="features", classes=[0])
    (dark,) = grads.grad_cam(model, image, layer="features", classes=[1])
    assert bright.shape == (8, 8) and bright.max() == pytest.approx(1.0)
    np.testing.assert_allclose(bright[:, :4], 1.0)
    np.testing.assert_allclose(bright[:, 4:], 0.0)
    np.testing.assert_allclose(dark, bright[:, ::-1])  # the other half, mirrored


def test_grad_cam_defaults_to_the_top_class_and_handles_no_evidence():
    model = bright_dark_model()
    mostly_dark = half_bright()
    mostly_dark[:, :, 3] = 0.0  # now 5 of 8 columns are dark: class 1 wins
    (cam,) = grads.grad_cam(model, mostly_dark, layer="features")
    assert cam[:, 3:].min() == pytest.approx(1.0) and cam[:, :3].max() == 0.0
    grey = np.full((1, 8, 8, 1), 0.5, "float32")  # neither bright nor dark: no evidence
    assert not grads.grad_cam(model, grey, layer="features").any()


def test_class_scores_are_the_logits_under_the_softmax():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(3, 3, name="conv5_block3_out")(inputs)
    trunk = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    head = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dropout(0.5), keras.layers.Dense(4, activation="softmax")]
    )
    whole = keras.Model(inputs, head(trunk.output))
    scores = grads.class_scores(trunk, head)
    images = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype("float32")
    logits = scores.predict(images, verbose=0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.softmax(logits)),
        whole.predict(images, verbose=0),
        rtol=1e-5,
    )
    assert grads.grad_cam(scores, images, layer="conv5_block3_out").shape == (5, 6, 6)
    with pytest.raises(ValueError, match="before the softmax"):
        grads.grad_cam(whole, images, layer="conv5_block3_out")


def test_layer_gradients_is_the_derivative_also_across_a_skip_connection():
    # score = sum(h V + h) with h = x W: ∂score/∂h = V summed over its outputs, plus 1 from the
    # shortcut that crosses the layer `out`; the layer `inner`'s output is x W itself.
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    h = keras.layers.Dense(3, use_bias=False, name="inner")(inputs)
    out = keras.layers.Add()([keras.layers.Dense(3, use_bias=False, name="out")(h), h])
    model = keras.Model(inputs, out)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    activations, gradients = autodiff.layer_gradients(model, "inner", x, keras.ops.sum)
    w = autodiff.to_numpy(model.get_layer("inner").kernel)
    v = autodiff.to_numpy(model.get_layer("out").kernel)
    np.testing.assert_allclose(activations, x @ w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradients, np.tile(v.sum(axis=1) + 1, (5, 1)), rtol=1e-5)
