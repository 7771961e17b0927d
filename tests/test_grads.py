import keras
import numpy as np
import pytest

from reslab import grads


def two_layer_linear_net() -> keras.Model:
    """x -> first: h = x·[1, 2]ᵀ + 0.5 -> second: y = 3h, weights fixed by hand."""
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(1, name="first"),
            keras.layers.Dense(1, name="second"),
        ]
    )
    model.get_layer("first").set_weights([np.array([[1.0], [2.0]]), np.array([0.5])])
    model.get_layer("second").set_weights([np.array([[3.0]]), np.array([0.0])])
    return model


def test_gradient_norms_match_a_hand_computed_case():
    # x = rows (1,0), (0,1), (1,1); targets 0; loss = mean(y²).
    # h = (1.5, 2.5, 3.5), y = (4.5, 7.5, 10.5), dL/dy = 2y/3 = (3, 5, 7)
    # dL/dW2 = Σ h·dL/dy = 41.5;  dL/dh = 3·dL/dy = (9, 15, 21);  dL/dW1 = Xᵀ·dL/dh = (30, 36)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype="float32")
    norms = grads.gradient_norms(
        two_layer_linear_net(), x, np.zeros((3, 1)), loss=keras.losses.MeanSquaredError()
    )
    assert list(norms.index) == ["first", "second"]  # input side first
    np.testing.assert_allclose(norms.to_numpy(), [np.hypot(30, 36), 41.5], rtol=1e-6)


def test_a_tiny_gradient_keeps_a_nonzero_norm():
    # The hand-computed net with inputs scaled by 1e-30: h = 0.5, y = 1.5, dL/dy = 1 and
    # dL/dh = 3 on every row, so dL/dW1 = 1e-30 * (6, 6). The squares of those entries underflow
    # in float32 (tf.norm gives 0); notebook 01's deep sigmoid nets have gradients this small.
    x = 1e-30 * np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype="float32")
    norms = grads.gradient_norms(
        two_layer_linear_net(), x, np.zeros((3, 1)), loss=keras.losses.MeanSquaredError()
    )
    assert norms["first"] == pytest.approx(6e-30 * np.sqrt(2), rel=1e-5)


def test_layers_without_kernels_are_skipped_and_nested_models_searched():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, name="inner_dense")])
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, name="outer_dense"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.1),
            inner,
            keras.layers.Dense(2, activation="softmax", name="head"),
        ]
    )
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    norms = grads.gradient_norms(model, x, np.arange(8) % 2)
    assert list(norms.index) == ["outer_dense", "inner_dense", "head"]
    assert (norms > 0).all()


def test_model_without_kernels_is_a_clear_error():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Softmax()])
    with pytest.raises(ValueError, match="no layer with a kernel"):
        grads.gradient_norms(model, np.ones((2, 3)), np.zeros(2))


def test_history_callback_records_before_training_and_every_epoch():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, name="a"), keras.layers.Dense(2, name="b")]
    )
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    x, y = np.random.rand(32, 4).astype("float32"), np.random.randint(0, 2, 32)
    history = grads.GradientNormHistory(x, y, loss=model.loss)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[history])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[history])  # continues the count
    frame = history.frame()
    assert frame.shape == (5, 2) and list(frame.columns) == ["a", "b"]
    assert list(frame.index) == [0, 1, 2, 3, 4] and frame.index.name == "epoch"
    assert not np.allclose(frame.iloc[0], frame.iloc[3])  # training changed the gradients


def test_input_gradient_ratio_of_known_maps():
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    upstream = np.ones((2, 4), "float32")
    identity = keras.Sequential([keras.Input((4,)), keras.layers.Identity()])
    doubling = keras.Sequential([keras.Input((4,)), keras.layers.Rescaling(2.0)])
    assert grads.input_gradient_ratio(identity, x, upstream) == pytest.approx(1.0)
    assert grads.input_gradient_ratio(doubling, x, upstream) == pytest.approx(2.0)


def test_kernel_norm_history_shows_a_bn_followed_kernel_inflate():
    """With BN after it, a kernel's scale does not change the output, so its gradient is
    orthogonal to it and every SGD step makes it longer (van Laarhoven 2017)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, use_bias=False, name="scaled"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(2, activation="softmax", name="out"),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="sparse_categorical_crossentropy")
    initial = np.linalg.norm(keras.ops.convert_to_numpy(model.get_layer("scaled").kernel))
    recorder = grads.KernelNormHistory(every=2)
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    norms = recorder.frame()
    assert list(norms.index) == [0, 2, 4] and list(norms.columns) == ["scaled", "out"]
    assert norms.index.name == "iteration"
    assert norms.iloc[0]["scaled"] == pytest.approx(initial)
    assert (np.diff(norms["scaled"].to_numpy()) > 0).all()  # only ever grows
