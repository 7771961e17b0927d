import keras
import numpy as np
import pytest

from reslab import train


def test_fit_sgd_learns_a_separable_problem_and_reports_test_metrics():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    history = train.fit_sgd(
        model, (x, y), (x[:64], y[:64]), epochs=5, batch_size=32, learning_rate=0.1
    )
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 5 and history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.momentum == 0.9


def test_batch_history_recovers_each_batch_from_keras_running_means():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(96, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    recorder = train.BatchHistory()
    history = train.fit_sgd(
        model, (x, y), (x, y), epochs=2, batch_size=32, learning_rate=0.1, callbacks=[recorder]
    )
    assert len(recorder.history["loss"]) == 6  # 3 batches x 2 epochs
    per_batch = np.array(recorder.history["accuracy"]).reshape(2, 3)
    # equal batches: the mean of the per-batch values is the epoch's reported accuracy
    np.testing.assert_allclose(per_batch.mean(axis=1), history["accuracy"], atol=1e-5)
    assert ((per_batch >= 0) & (per_batch <= 1 + 1e-6)).all()


def test_warmup_cosine_rises_to_the_peak_then_decays_to_zero():
    schedule = train.warmup_cosine(0.1, steps=100)  # 20 warm-up steps
    rates = [float(schedule(step)) for step in (0, 10, 20, 60, 100)]
    np.testing.assert_allclose(rates, [0.0, 0.05, 0.1, 0.05, 0.0], atol=1e-6)


def test_fit_sgd_weight_decay_is_the_papers_l2_term_on_kernels_only():
    """§4.2's weight decay 1e-4, coupled: (decay / 2)·‖W‖² on kernels joins the logged loss
    (Keras's decoupled `SGD(weight_decay=)` would not appear in it at all)."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def net():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(2, activation="softmax", bias_initializer="ones"),
            ]
        )
        return model

    plain, decayed = net(), net()
    kernel = keras.ops.convert_to_numpy(decayed.layers[0].kernel)
    args = dict(epochs=1, batch_size=32, learning_rate=0.0)
    base = train.fit_sgd(plain, (x, y), (x, y), **args)["loss"][0]
    with_l2 = train.fit_sgd(decayed, (x, y), (x, y), weight_decay=0.1, **args)["loss"][0]
    assert with_l2 - base == pytest.approx(0.05 * np.sum(kernel**2), rel=1e-4)  # bias not decayed
    assert decayed.optimizer.weight_decay is None


def test_compare_trains_each_network_per_seed_alike_and_reproducibly():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def softmax_net(width):
        hidden = keras.layers.Dense(width, activation="relu")
        return keras.Sequential([keras.Input((6,)), hidden, keras.layers.Dense(2, "softmax")])

    builds = {"narrow": lambda: softmax_net(2), "wide": lambda: softmax_net(16)}
    histories, runs = train.compare(
        builds, (x, y), (x[:16], y[:16]), epochs=2, batch_size=16, seeds=(0, 1), train_check=32
    )
    assert list(histories) == ["seed 0", "seed 1"] and list(histories["seed 0"]) == list(builds)
    run = histories["seed 0"]["wide"]
    assert len(run["accuracy"]) == 2 and len(run["batch_accuracy"]) == 2 * 4  # 4 batches/epoch
    assert runs[["network", "seed"]].values.tolist() == [
        ["narrow", 0], ["wide", 0], ["narrow", 1], ["wide", 1]
    ]  # fmt: skip
    assert runs.parameters.tolist() == [6 * 2 + 2 + 2 * 2 + 2, 6 * 16 + 16 + 16 * 2 + 2] * 2
    keras.utils.set_random_seed(0)
    model = softmax_net(16)
    history = train.fit_sgd(
        model, (x, y), (x[:16], y[:16]), epochs=2, batch_size=16,
        learning_rate=train.warmup_cosine(0.1, 8),
    )  # fmt: skip
    assert history["val_accuracy"] == run["val_accuracy"]  # the same run as by hand
    _, accuracy = model.evaluate(x[:32], y[:32], verbose=0)
    assert runs.loc[1, "train error %"] == pytest.approx(100 * (1 - accuracy))
