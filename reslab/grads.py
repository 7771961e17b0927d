"""Per-layer gradient norms: the measurement behind "vanishing gradients".

For each layer with a kernel (Dense, Conv) we report the L2 norm of the gradient of
the loss with respect to that kernel, input side first. He et al. 2015 (§1, §4.1)
use the same notion when they say their plain nets "exhibit healthy norms with BN".
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from reslab import autodiff


def kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Layers that own a `kernel` (Dense, Conv...), in the order the model calls them."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):  # a nested model: look inside it
            found += kernel_layers(layer)
        elif getattr(layer, "kernel", None) is not None:
            found.append(layer)
    return found


def gradient_norms(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    loss: keras.losses.Loss | None = None,
    training: bool = True,
) -> pd.Series:
    """L2 norm of dLoss/dKernel for every kernel layer, on one batch, input side first.

    `training=True` runs batch norm with batch statistics, as SGD sees it. The norm is taken
    in float64: in float32 the squares of entries below about 4e-23 underflow, so a tiny but
    nonzero gradient (notebook 01's deep sigmoid nets reach 1e-31) would have norm 0.
    """
    loss_fn = loss or keras.losses.SparseCategoricalCrossentropy()
    layers = kernel_layers(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no layer with a kernel to measure.")
    grads = autodiff.variable_gradients(
        lambda: loss_fn(y, model(x, training=training)), [layer.kernel for layer in layers]
    )
    return pd.Series(
        [float(np.linalg.norm(np.asarray(g, dtype=np.float64))) for g in grads],
        index=pd.Index([layer.name for layer in layers], name="layer"),
        name="grad_norm",
    )


class GradientNormHistory(keras.callbacks.Callback):
    """Records `gradient_norms` on a fixed batch before training and after every epoch."""

    def __init__(self, x: np.ndarray, y: np.ndarray, loss: keras.losses.Loss | None = None):
        super().__init__()
        self.x, self.y, self.loss = x, y, loss
        self.records: list[pd.Series] = []

    def _record(self) -> None:
        norms = gradient_norms(self.model, self.x, self.y, loss=self.loss)
        self.records.append(norms.rename(len(self.records)))  # epochs trained so far

    def on_train_begin(self, logs=None) -> None:
        if not self.records:  # a second fit() continues the same history
            self._record()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self._record()

    def frame(self) -> pd.DataFrame:
        """Epochs as rows, layers (input side first) as columns."""
        table = pd.DataFrame(self.records)
        table.index.name = "epoch"
        return table


class KernelNormHistory(keras.callbacks.Callback):
    """Records the L2 norm of every kernel before training and after every batch: how far
    SGD moves each layer's weights. With batch norm after a layer, its output does not
    depend on the kernel's scale, so a kernel that grows tenfold keeps computing the same
    function while each later step moves it a hundred times less (effective learning rate
    ∝ lr / ‖W‖², van Laarhoven 2017, arXiv:1706.05350)."""

    def __init__(self, every: int = 1):
        super().__init__()
        self.every = every
        self.records: list[pd.Series] = []
        self._step = 0

    def _record(self) -> None:
        layers = kernel_layers(self.model)
        norms = [float(np.linalg.norm(keras.ops.convert_to_numpy(lay.kernel))) for lay in layers]
        index = pd.Index([layer.name for layer in layers], name="layer")
        self.records.append(pd.Series(norms, index=index, name=self._step))

    def on_train_begin(self, logs=None) -> None:
        if not self.records:  # a second fit() continues the same history
            self._record()

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self._step += 1
        if self._step % self.every == 0:
            self._record()

    def frame(self) -> pd.DataFrame:
        """Iterations trained so far as rows, layers (input side first) as columns."""
        table = pd.DataFrame(self.records)
        table.index.name = "iteration"
        return table


def input_gradient_ratio(model: keras.Model, x: np.ndarray, upstream: np.ndarray) -> float:
    """‖∂L/∂x‖ / ‖∂L/∂y‖ for L = Σ y·upstream: how much larger the gradient arriving at the
    model's output is when it reaches the input (training mode, as SGD sees it)."""
    weights = keras.ops.convert_to_tensor(upstream, "float32")
    (gradient,) = autodiff.input_gradients(
        lambda t: keras.ops.sum(model(t, training=True) * weights), x
    )
    return float(np.linalg.norm(gradient) / np.linalg.norm(upstream))


def class_scores(trunk: keras.Model, head: keras.Model) -> keras.Model:
    """Image -> class scores *before* the softmax, through `trunk` and then `head` (whose last
    layer is the softmax Dense), with every layer of the trunk reachable by name: the model
    Grad-CAM needs (Selvaraju et al. 2017, §3, differentiate the score y^c before the
    softmax; keras.io's Grad-CAM example removes the last activation for the same reason)."""
    x = trunk.output
    for layer in head.layers[:-1]:
        x = layer(x)
    last = head.layers[-1]
    scores = keras.layers.Dense(last.units, name="class_scores")
    outputs = scores(x)
    scores.set_weights(last.get_weights())  # a copy of the trained layer, minus the softmax
    return keras.Model(trunk.inputs, outputs, name=f"{trunk.name}_scores")


def _ends_in_softmax(model: keras.Model) -> bool:
    last = model.layers[-1]
    while isinstance(last, keras.Model):
        last = last.layers[-1]
    return getattr(last, "activation", None) is keras.activations.softmax or isinstance(
        last, keras.layers.Softmax
    )


def grad_cam(
    model: keras.Model, images: np.ndarray, layer: str = "conv5_block3_out", classes=None
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): where in the image the evidence for a class is.

    `model` is a flat functional model (input -> ... -> class scores *before* the softmax,
    see `class_scores`) that contains the convolutional layer `layer`. Each channel of that
    layer's output is weighted by the spatial mean of the gradient of the class score with
    respect to it (Eq. 1); the weighted sum, through a ReLU, is the map (Eq. 2). `classes`
    gives one class per image (default: the model's top class). Returns maps of shape
    (N, h, w) at the layer's resolution (ResNet-50's conv5 is 1/32 of the input: 3×3 at
    96 px, 7×7 at 224 px), each scaled to [0, 1] (all zeros where no evidence is positive).
    """
    if _ends_in_softmax(model):
        raise ValueError(
            "Grad-CAM differentiates the class score before the softmax (Selvaraju et al. "
            "2017, §3). Pass "
            "`reslab.grads.class_scores(trunk, head)`, or a model built with "
            f"classifier_activation=None. Received: a model ending in softmax ({model.name})"
        )
    scores = autodiff.forward(model, images)
    picked = np.argmax(scores, axis=-1) if classes is None else np.asarray(classes)
    chosen = keras.ops.one_hot(picked, scores.shape[-1])  # picks y^c of each image
    activations, gradients = autodiff.layer_gradients(
        model, layer, images, lambda scores: keras.ops.sum(scores * chosen)
    )
    weights = gradients.mean(axis=(1, 2), keepdims=True)  # Eq. 1: α_k^c, one per channel
    maps = np.maximum((weights * activations).sum(axis=-1), 0)  # Eq. 2
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)
