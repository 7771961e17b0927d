"""Two-phase fine-tuning (train.classifier / fine_tune / trunk_features) on a tiny trunk whose
layer names follow ResNet-50's, so the same code paths run in seconds."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from reslab import autodiff, data, train, weights

SIZE, CLASSES = 32, 3


def tiny_base() -> keras.Model:
    """A pretrained trunk in miniature: its batch-norm statistics are those of the images it
    sees (momentum 0: one pass in training mode sets them), so its features are normalised,
    as a real pretrained trunk's are. With the initial 0s and 1s, preprocessed pixels of
    about ±128 reach the head unnormalised and can saturate its softmax; JAX's and PyTorch's
    cross-entropy, computed from clipped probabilities, then gives those images no gradient
    (on PyTorch's draw of weights, none of them: phase 2 moved nothing)."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, name="conv1_conv")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.0, name="conv1_bn")(x)
    x = keras.layers.Activation("relu", name="conv1_relu")(x)
    x = keras.layers.Conv2D(8, 3, name="conv5_block1_1_conv")(x)
    x = keras.layers.BatchNormalization(momentum=0.0, name="conv5_block1_1_bn")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    base = keras.Model(inputs, x, name="tiny")
    base(train.ResNetPreprocess()(images()[0].astype("float32")), training=True)
    return base


def images(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, SIZE, SIZE, 3)).astype("uint8"), rng.integers(0, CLASSES, n)


def batches(x, y, batch: int = 8):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)


def build(head: str = "modern"):
    keras.utils.set_random_seed(1)
    base = tiny_base()
    model, top = train.classifier(base, CLASSES, SIZE, head=head, dropout=0.0)
    return model, base, top


def test_preprocess_layer_is_keras_preprocess_input():
    x, _ = images(4)
    expected = keras.applications.resnet50.preprocess_input(x.astype("float32"))
    got = keras.ops.convert_to_numpy(train.ResNetPreprocess()(x))
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert got[..., 0].mean() != pytest.approx(got[..., 2].mean())  # channels were swapped


def test_heads():
    model, _, top = build("modern")
    assert [layer.name for layer in top.layers] == ["head_dropout", "predictions"]
    _, _, classic = build("classic")
    assert classic.get_layer("head_dense").units == 2048
    with pytest.raises(ValueError, match="head must be 'modern' or 'classic'"):
        train.classifier(tiny_base(), CLASSES, SIZE, head="fancy")
    assert model.output_shape == (None, CLASSES)


def test_softmax_stays_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model, _, _ = build()
        assert model.get_layer("preprocess").compute_dtype == "float16"
        assert model.output.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_set_trainable_unfreezes_the_named_stage_but_not_batch_norm():
    base = tiny_base()
    assert train.set_trainable(base, ("conv5_",)) == 2  # conv5 kernel and bias only
    assert not base.get_layer("conv5_block1_1_bn").trainable
    assert not base.get_layer("conv1_conv").trainable


def test_batch_norm_train_mode_is_the_only_difference_from_frozen():
    frozen, trained = tiny_base(), tiny_base()
    train.set_trainable(frozen, ("conv5_",))
    train.set_trainable(trained, ("conv5_",), batch_norm="train")
    for a, b in zip(frozen.layers, trained.layers, strict=True):
        is_bn = isinstance(a, keras.layers.BatchNormalization)
        assert b.trainable == (a.trainable or is_bn)  # same convs unfrozen; every BN trains
    with pytest.raises(ValueError, match=r"'frozen' or 'train'\. Received: batch_norm='on'"):
        train.set_trainable(frozen, ("conv5_",), batch_norm="on")


def test_two_phases_train_the_right_weights(tmp_path):
    model, base, _ = build()
    before = {w.path: keras.ops.convert_to_numpy(w).copy() for w in base.weights}
    history = train.fine_tune(
        model,
        base,
        batches(*images()),
        batches(*images(8, 1)),
        tmp_path,
        head_epochs=2,
        tune_epochs=2,
        tune_learning_rate=1e-2,
        verbose=0,
    )
    assert len(history["loss"]) == len(history["val_accuracy"]) == 4
    after = {w.path: keras.ops.convert_to_numpy(w) for w in base.weights}
    changed = {path for path in before if not np.array_equal(before[path], after[path])}
    assert changed == {"conv5_block1_1_conv/kernel", "conv5_block1_1_conv/bias"}
    assert (tmp_path / "best.keras").is_file()  # batch-norm statistics included: unchanged


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_course_trunk_gives_the_unfrozen_stage_a_gradient():
    """Notebook 08's phase 2 on its offline trunk, on every backend, from where phase 1 leaves
    it (a head trained on cached features, cpu's 40 epochs, 96 px): the trunk's features are
    normalised, so the head's softmax is far from saturated and conv5's weights get a gradient."""
    x, y = data.fashion_classes(data.TARGET_CLASSES, per_class=2)
    images = data.rgb_pipeline(x, y, weights.COURSE_IMAGE_SIZE, batch_size=len(x))
    base = weights.course_resnet50()
    keras.utils.set_random_seed(0)
    model, head = train.classifier(base, len(data.TARGET_CLASSES), weights.COURSE_IMAGE_SIZE)
    head.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    head.fit(*train.trunk_features(base, images), epochs=40, verbose=0)
    x, y = (np.asarray(a) for a in next(iter(images)))
    assert keras.ops.convert_to_numpy(model(x)).max() < 0.99
    train.set_trainable(base, ("conv5_",))
    kernel = base.get_layer("conv5_block3_3_conv").kernel
    loss = keras.losses.SparseCategoricalCrossentropy()
    (gradient,) = autodiff.variable_gradients(lambda: loss(y, model(x, training=True)), [kernel])
    assert np.linalg.norm(gradient) > 1e-3


def test_interrupted_fine_tune_resumes_to_the_same_weights(tmp_path):
    data, val = batches(*images()), batches(*images(8, 1))
    kwargs = dict(head_epochs=2, tune_epochs=2, tune_learning_rate=1e-2, verbose=0)
    model, base, _ = build()
    train.fine_tune(model, base, data, val, tmp_path / "whole", **kwargs)
    whole = [keras.ops.convert_to_numpy(w) for w in model.weights]

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:  # the second epoch of phase 2
                raise KeyboardInterrupt

    model, base, _ = build()
    with pytest.raises(KeyboardInterrupt):
        train.fine_tune(model, base, data, val, tmp_path / "cut", callbacks=[Interrupt()], **kwargs)
    model, base, _ = build()  # a fresh process: nothing in memory
    history = train.fine_tune(model, base, data, val, tmp_path / "cut", **kwargs)
    assert len(history["loss"]) == 1  # only the missing epoch ran
    for a, b in zip(whole, model.weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(b), a, rtol=1e-5, atol=1e-6)


def test_cached_trunk_features_feed_the_shared_head():
    model, base, top = build()
    x, y = images(10)
    features, labels = train.trunk_features(base, batches(x, y, 4))
    assert features.shape == (10, 8) and np.array_equal(labels, y)
    np.testing.assert_allclose(
        top.predict(features, verbose=0), model.predict(x, verbose=0), atol=1e-5
    )


def test_trunk_features_keep_each_vector_with_its_label_when_data_reshuffles():
    _, base, _ = build()
    x, _ = images(24)
    shuffled = tf.data.Dataset.from_tensor_slices((x, np.arange(24))).shuffle(24).batch(5)
    features, labels = train.trunk_features(base, shuffled)
    expected = train.trunk_features(base, batches(x, np.arange(24)))[0]
    np.testing.assert_allclose(features, expected[labels], atol=1e-5)
    assert sorted(labels) == list(range(24))


def test_saved_model_reloads_with_identical_predictions(tmp_path):
    model, _, _ = build("classic")
    x, _ = images(6)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_rerun_with_other_settings_or_data_starts_fresh_and_says_so(tmp_path, capsys):
    data, val = batches(*images()), batches(*images(8, 1))
    kwargs = dict(head_epochs=1, tune_epochs=0, verbose=0)
    model, base, _ = build()
    train.fine_tune(model, base, data, val, tmp_path, **kwargs)
    assert "cleared" not in capsys.readouterr().out
    model, base, _ = build()
    train.fine_tune(model, base, data, val, tmp_path, **kwargs)  # the same run: resumed
    assert "resuming the run" in capsys.readouterr().out
    model, base, _ = build()
    history = train.fine_tune(model, base, data, batches(*images(8, 2)), tmp_path, **kwargs)
    said = capsys.readouterr().out
    assert "held another run (other validation_first_batch); cleared" in said
    assert len(history["loss"]) == 1  # phase 1 ran again instead of loading the old head
    model, base, _ = build()
    history = train.fine_tune(
        model, base, data, val, tmp_path, **{**kwargs, "head_learning_rate": 0.1}
    )
    assert "other head_learning_rate" in capsys.readouterr().out and history["loss"]


def test_keras_fit_overrides_training_false_but_not_a_frozen_batch_norm():
    """Pins the Keras behaviour notebook 08 teaches (keras-team/keras#20285): `fit` runs a
    nested model in training mode even when it was called with `training=False`; only a
    frozen BN layer keeps its moving statistics. If Keras changes this, update 08."""
    data = np.random.default_rng(0).normal(5.0, 1.0, (32, 4)).astype("float32")
    for frozen in (False, True):
        inputs = keras.Input((4,))
        bn = keras.layers.BatchNormalization()
        inner = keras.Model(inputs, bn(inputs))
        bn.trainable = not frozen
        outer_in = keras.Input((4,))
        outer = keras.Model(outer_in, keras.layers.Dense(1)(inner(outer_in, training=False)))
        outer.compile(optimizer="sgd", loss="mse")
        outer.fit(data, np.zeros((32, 1)), batch_size=32, verbose=0)
        moved = np.abs(keras.ops.convert_to_numpy(bn.moving_mean)).max() > 0.01
        assert moved != frozen


def test_a_model_with_other_starting_weights_never_loads_an_old_head(tmp_path, capsys):
    data, val = batches(*images()), batches(*images(8, 1))
    model, base, _ = build()
    train.fine_tune(model, base, data, val, tmp_path, head_epochs=0, tune_epochs=0, verbose=0)
    model, base, top = build()
    top.set_weights([w + 1.0 for w in top.get_weights()])  # a head trained elsewhere, say
    mine = [w.copy() for w in top.get_weights()]
    train.fine_tune(model, base, data, val, tmp_path, head_epochs=0, tune_epochs=0, verbose=0)
    assert "held another run (other starting_weights); cleared" in capsys.readouterr().out
    for a, b in zip(mine, top.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # kept, not replaced by the old run's head
