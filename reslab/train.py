"""Training recipes shared by the notebooks."""

from __future__ import annotations

import keras
import numpy as np

from reslab import data


def fit_sgd(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 0.01,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> dict[str, list[float]]:
    """Train with SGD + momentum 0.9, as He et al. 2015 do (§3.4, §4.2); return the history.

    Plain SGD on purpose: adaptive optimizers such as Adam rescale each weight's step
    by its own gradient size, which hides the vanishing gradients we want to see.
    """
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        data.make_dataset(*train, batch_size=batch_size),
        validation_data=data.make_dataset(*test, batch_size=512, shuffle=False),
        epochs=epochs,
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself every epoch
        verbose=0,
    )
    return history.history
