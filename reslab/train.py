"""Training recipes shared by the notebooks."""

from __future__ import annotations

import keras
import numpy as np


def warmup_cosine(
    peak: float, steps: int, warmup_fraction: float = 0.2
) -> keras.optimizers.schedules.CosineDecay:
    """Learning rate rising linearly from 0 to `peak` over the first `warmup_fraction` of
    `steps`, then following a cosine to 0: the most out of a short run."""
    warmup = int(steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        0.0, steps - warmup, warmup_target=peak, warmup_steps=warmup
    )


def fit_sgd(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int = 128,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 0.01,
    callbacks: list[keras.callbacks.Callback] | None = None,
    weight_decay: float | None = None,
) -> dict[str, list[float]]:
    """Train with SGD + momentum 0.9, as He et al. 2015 do (§3.4, §4.2); return the history.

    In-memory arrays go straight to `fit`, which reshuffles them every epoch; this works
    with every Keras backend.

    Plain SGD on purpose: adaptive optimizers such as Adam rescale each weight's step
    by its own gradient size, which hides the vanishing gradients we want to see.
    """
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9, weight_decay=weight_decay),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        *train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=test,
        callbacks=callbacks,
        shuffle=True,
        verbose=0,
    )
    return history.history


class BatchHistory(keras.callbacks.Callback):
    """Training loss and accuracy of every batch (Keras logs running means over the epoch;
    this turns them back into per-batch values), for curves against iterations."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        self._previous: dict[str, float] = {}

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._previous = {}

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        for key, values in self.history.items():
            mean = float(logs[key])
            # running mean m_k over k batches: batch k's own value is k·m_k − (k−1)·m_{k−1}
            values.append((batch + 1) * mean - batch * self._previous.get(key, 0.0))
            self._previous[key] = mean
