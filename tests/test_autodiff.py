"""The gradients the course measures agree on Keras's three backends: the same model and
weights give the same per-layer gradient norms, input gradient and Grad-CAM maps under
TensorFlow, JAX and PyTorch (each in its own process: Keras picks its backend at import)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}

# Builds a small ResNet-like net, loads the weights saved by the first backend, measures.
MEASURE = textwrap.dedent(
    """
    import json, sys
    import keras, numpy as np
    from reslab import grads

    folder = sys.argv[1]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Activation("relu", name="features")(h)
    h = keras.layers.Add()([h, keras.layers.Conv2D(4, 1)(inputs)])
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(3)(h))
    weights = f"{folder}/model.weights.h5"
    if keras.backend.backend() == "tensorflow":
        model.save_weights(weights)
    model.load_weights(weights)
    data = np.load(f"{folder}/data.npz")
    x, y, upstream = data["x"], data["y"], data["upstream"]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    print(json.dumps({
        "norms": grads.gradient_norms(model, x, y, loss=loss).tolist(),
        "ratio": grads.input_gradient_ratio(model, x, upstream),
        "cam": grads.grad_cam(model, x, layer="features").tolist(),
    }))
    """
)


def measure(backend: str, folder: Path) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(folder)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("autodiff")
    rng = np.random.default_rng(0)
    np.savez(
        folder / "data.npz",
        x=rng.normal(size=(6, 8, 8, 3)).astype("float32"),
        y=rng.integers(0, 3, 6),
        upstream=rng.normal(size=(6, 3)).astype("float32"),
    )
    return folder, measure("tensorflow", folder)  # also saves the weights the others load


def test_the_tensorflow_measurements_are_sensible(reference):
    _, tf = reference
    assert len(tf["norms"]) == 3 and all(n > 0 for n in tf["norms"])
    assert tf["ratio"] > 0
    cam = np.asarray(tf["cam"])
    assert cam.shape == (6, 8, 8) and cam.max() == pytest.approx(1.0)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_measure_the_same_gradients(reference, backend):
    if importlib.util.find_spec(BACKENDS[backend]) is None:
        pytest.skip(f"{backend} is not installed: `make test-backends` installs it")
    folder, tf = reference
    other = measure(backend, folder)
    np.testing.assert_allclose(other["norms"], tf["norms"], rtol=1e-4)
    assert other["ratio"] == pytest.approx(tf["ratio"], rel=1e-4)
    np.testing.assert_allclose(other["cam"], tf["cam"], atol=1e-4)


def test_a_saturated_softmax_keeps_its_loss_and_gradient_only_on_tensorflow():
    """README ("Keras backends") and notebook 01: TensorFlow's cross-entropy reads the logits
    under a softmax; JAX's and PyTorch's clip the probabilities at Keras's epsilon, so an
    image whose true class has probability 0 costs -ln(1e-7) and gives no gradient."""
    import keras

    from reslab import autodiff

    inputs = keras.Input((2,))
    dense = keras.layers.Dense(3, activation="softmax")
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([np.array([[1, 0, -1], [0, 1, 0]], "float32"), np.zeros(3, "float32")])
    x, y = np.array([[1e3, 0], [5e4, 0]], "float32"), np.array([2, 2])  # logit gaps 2e3, 1e5
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    loss = float(keras.ops.convert_to_numpy(loss_fn(y, model(x))))
    (gradient,) = autodiff.variable_gradients(lambda: loss_fn(y, model(x)), [dense.kernel])
    if keras.backend.backend() == "tensorflow":
        assert loss == pytest.approx(51_000)  # the mean logit gap: (2e3 + 1e5) / 2
        assert np.abs(gradient).max() > 1
    else:
        assert loss == pytest.approx(-np.log(1e-7), rel=1e-5)
        assert not gradient.any()
