"""Gradients on whichever backend Keras runs: TensorFlow, JAX or PyTorch.

The course differentiates by hand in three places: per-layer gradient norms (notebooks 01,
02, 06), the gradient that reaches a network's input (03, 06) and Grad-CAM (09), which needs
the gradient with respect to an inner layer's output. Keras 3 has no backend-neutral gradient
function, so the three implementations (`tf.GradientTape`, `jax.grad`, `torch.autograd.grad`)
live here, behind `variable_gradients` and `input_gradients`, and tests check that they agree
on the same model and weights.

A measurement never changes the model: `fn` runs in a `keras.StatelessScope`, so a batch-norm
layer called in training mode does not move its moving averages (and under JAX no traced
value leaks into them).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import numpy as np


def to_numpy(value: Any) -> np.ndarray:
    """An array of any backend as NumPy, also a PyTorch tensor that is part of a recorded
    graph (NumPy alone refuses those); anything else through `np.asarray`."""
    if keras.ops.is_tensor(value):
        return keras.ops.convert_to_numpy(keras.ops.stop_gradient(value))
    return np.asarray(value)


def _numpy(tensors: Sequence[Any]) -> list[np.ndarray]:
    return [to_numpy(t) for t in tensors]


def variable_gradients(fn: Callable[[], Any], variables: Sequence[keras.Variable]) -> list:
    """∂fn()/∂v for each Keras variable v (e.g. every kernel), as NumPy arrays; `fn` takes no
    argument and returns a scalar computed from the variables' current values."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape, keras.StatelessScope():
            tape.watch([v.value for v in variables])
            value = fn()
        return _numpy(tape.gradient(value, [v.value for v in variables]))
    if backend == "jax":
        import jax

        def of(values: list) -> Any:  # JAX is functional: the values become arguments
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                return fn()

        return _numpy(jax.grad(of)([v.value for v in variables]))
    if backend == "torch":
        import torch

        with keras.StatelessScope():
            value = fn()
        return _numpy(torch.autograd.grad(value, [v.value for v in variables]))
    raise NotImplementedError(f"No gradients for the Keras backend {backend!r}")


def input_gradients(fn: Callable[..., Any], *inputs: Any) -> list:
    """∂fn(*inputs)/∂input for each input (an array), as NumPy arrays; `fn` returns a scalar."""
    backend = keras.backend.backend()
    tensors = [keras.ops.convert_to_tensor(x, "float32") for x in inputs]
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape, keras.StatelessScope():
            tape.watch(tensors)
            value = fn(*tensors)
        return _numpy(tape.gradient(value, tensors))
    if backend == "jax":
        import jax

        def of(*values: Any) -> Any:
            with keras.StatelessScope():
                return fn(*values)

        return _numpy(jax.grad(of, argnums=tuple(range(len(tensors))))(*tensors))
    if backend == "torch":
        import torch

        tensors = [t.detach().requires_grad_() for t in tensors]
        with keras.StatelessScope():
            value = fn(*tensors)
        return _numpy(torch.autograd.grad(value, tensors))
    raise NotImplementedError(f"No gradients for the Keras backend {backend!r}")


class _AddZero(keras.layers.Layer):
    """Adds a zero tensor of a fixed batch size to its input: a variable to differentiate by."""

    def __init__(self, batch: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.batch = batch

    def build(self, input_shape) -> None:
        self.zero = self.add_weight(shape=(self.batch, *input_shape[1:]), initializer="zeros")

    def call(self, x):
        return x + self.zero

    def compute_output_shape(self, input_shape):
        return input_shape


def layer_gradients(
    model: keras.Model, layer: str, x: Any, score: Callable[[Any], Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The output A of `model`'s layer named `layer` on the batch `x`, and ∂score/∂A, where
    `score` maps the model's output to a scalar; both NumPy, in inference mode.

    A is not a variable, so the gradient is taken with respect to a zero added to A in a
    clone of the model that shares its weights: the same derivative, for any layer (also one
    that a skip connection crosses) and on every backend.
    """
    zero = _AddZero(len(x), name=f"{layer}_plus_zero")
    shifted = keras.models.clone_model(
        model,
        clone_function=lambda same: same,
        call_function=lambda f, *a, **k: zero(f(*a, **k)) if f.name == layer else f(*a, **k),
    )
    activations = forward(keras.Model(model.inputs, model.get_layer(layer).output), x)
    with _structure_note_silenced():
        (gradients,) = variable_gradients(lambda: score(shifted(x, training=False)), [zero.zero])
    return activations, gradients


def forward(model: keras.Model, x: Any) -> np.ndarray:
    """`model(x)` in inference mode, as NumPy, on every backend."""
    with _structure_note_silenced():
        return to_numpy(model(x, training=False))


@contextlib.contextmanager
def _structure_note_silenced() -> Iterator[None]:
    """Without Keras's note that a model built on a one-input list got a bare tensor."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
        yield
