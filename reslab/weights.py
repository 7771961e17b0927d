"""Weights: Keras's ImageNet ResNet-50 through its cache, and moving weights between models
of the same architecture, layer by layer, by name."""

from __future__ import annotations

import os
from pathlib import Path

import keras

RESNET50_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"  # what Keras downloads


def keras_models_dir() -> Path:
    """Where Keras caches downloaded weights: `$KERAS_HOME/models`, else `~/.keras/models`."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"


def keras_resnet50(download: bool = True, **kwargs) -> tuple[keras.Model, str]:
    """`keras.applications.ResNet50` with ImageNet weights when they are in Keras's cache (or,
    with `download`, can be fetched), else with random weights. Returns the model and one
    sentence saying which weights it has, to print next to any result."""
    cached = keras_models_dir() / RESNET50_FILE
    if cached.is_file() or download:
        try:
            return keras.applications.ResNet50(weights="imagenet", **kwargs), "ImageNet weights"
        except Exception as err:  # offline, proxy, truncated file: say so, never hide it
            reason = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
    else:
        reason = f"{cached} is not there and downloading was not allowed"
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None, **kwargs)
    return model, f"RANDOM weights, not ImageNet ({reason})"


def _weighted(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.weights]


def _shapes(layer: keras.layers.Layer) -> list[tuple[int, ...]]:
    return [tuple(w.shape) for w in layer.weights]


def transplant(source: keras.Model, target: keras.Model) -> int:
    """Copy every weighted layer of `source` into the layer of `target` with the same name
    (both models must have the same weighted layers, in the same order, of the same shapes).

    Returns the number of layers copied. Raises a ValueError naming the first layer that
    does not match, before anything is copied.
    """
    ours, theirs = _weighted(source), _weighted(target)
    for position, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a.name != b.name or _shapes(a) != _shapes(b):
            raise ValueError(
                f"Layer {position} with weights does not match: the source has {a.name!r} "
                f"with weights {_shapes(a)}, the target has {b.name!r} with weights "
                f"{_shapes(b)}. Both models need the same architecture (depth, version, "
                "classes, include_top)."
            )
    if len(ours) != len(theirs):
        raise ValueError(
            f"The source has {len(ours)} layers with weights, the target {len(theirs)}. "
            "Both models need the same architecture (depth, version, classes, include_top)."
        )
    for a, b in zip(ours, theirs, strict=True):
        b.set_weights(a.get_weights())
    return len(ours)
