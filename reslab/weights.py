"""Weights: Keras's ImageNet ResNet-50 through its cache, and moving weights between models
of the same architecture, layer by layer, by name."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import keras

from reslab.data import download_problem

RESNET50_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"  # what Keras downloads
RESNET50_NOTOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"  # include_top=False
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
# The MD5 sums keras.applications checks (keras/src/applications/resnet.py).
RESNET50_MD5 = {
    RESNET50_FILE: "2cb95161c43110f7111970584f804107",
    RESNET50_NOTOP_FILE: "4d473c1dd8becc155b73f8504c6f6626",
}


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights are neither in Keras's cache nor downloadable right now."""


def keras_models_dir() -> Path:
    """Where Keras caches downloaded weights: `$KERAS_HOME/models`, else `~/.keras/models`."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_resnet50_weights(include_top: bool = False, download: bool = True) -> Path:
    """The path of Keras's ImageNet ResNet-50 weights file in its cache, downloading it
    first when it is missing (and `download`). A download goes to a temporary folder and
    moves into the cache only once its checksum is right, so a failed or interrupted
    download never deletes or damages a good cached file. Raises `WeightsNotFoundError`
    saying which file is missing, where Keras looks, and how to put it there."""
    name = RESNET50_FILE if include_top else RESNET50_NOTOP_FILE
    target = keras_models_dir() / name
    if target.is_file():
        if _md5(target) != RESNET50_MD5[name]:
            raise WeightsNotFoundError(
                f"{target} is there but is not the right file (its MD5 is not "
                f"{RESNET50_MD5[name]}): probably an interrupted download. It was left in "
                f"place; delete it and run again, or replace it with a good copy from "
                f"{WEIGHTS_URL}{name}."
            )
        return target
    problem = "downloading was not allowed"
    if download:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                fetched = keras.utils.get_file(
                    name,
                    WEIGHTS_URL + name,
                    file_hash=RESNET50_MD5[name],
                    cache_dir=tmp,
                    cache_subdir="",
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(fetched, target)
            return target
        except Exception as err:  # offline, proxy, disk full: one message that says how to fix
            problem = f"the download failed ({download_problem(err)})"
    raise WeightsNotFoundError(
        f"ImageNet weights for ResNet-50 are missing: {name} is not in {target.parent} and "
        f"{problem}.\nKeras looks in $KERAS_HOME/models (KERAS_HOME="
        f"{os.environ.get('KERAS_HOME', 'unset')}), else ~/.keras/models. To fix it:\n"
        "  1. with internet, run `make prefetch` (or this cell) once: the file is cached;\n"
        f"  2. or download {WEIGHTS_URL}{name} on another machine and copy it to "
        f"{target.parent}/ (the size is about {'103' if include_top else '95'} MB)."
    )


def resnet50_imagenet(
    profile_name: str, include_top: bool = False, **kwargs
) -> tuple[keras.Model, str]:
    """`keras.applications.ResNet50` with ImageNet weights (see `fetch_resnet50_weights`),
    and one sentence saying which weights it has, to print next to every result.

    Without the weights file this raises `WeightsNotFoundError`, except in the `quick`
    profile (CI proving that cells run), where it returns random weights and says so loudly.
    """
    try:
        path = fetch_resnet50_weights(include_top)
    except WeightsNotFoundError as err:
        if profile_name != "quick":
            raise
        warnings.warn(f"quick profile: RANDOM weights instead. {err}", stacklevel=2)
        keras.utils.set_random_seed(0)
        model = keras.applications.ResNet50(weights=None, include_top=include_top, **kwargs)
        return model, "RANDOM weights (quick profile, ImageNet file missing): numbers mean nothing"
    model = keras.applications.ResNet50(weights=None, include_top=include_top, **kwargs)
    model.load_weights(path)
    return model, f"ImageNet weights ({path.name})"


def keras_resnet50(download: bool = True, **kwargs) -> tuple[keras.Model, str]:
    """`keras.applications.ResNet50` with ImageNet weights when they are in Keras's cache (or,
    with `download`, can be fetched), else with random weights. Returns the model and one
    sentence saying which weights it has, to print next to any result."""
    cached = keras_models_dir() / RESNET50_FILE
    if cached.is_file() or download:
        try:
            return keras.applications.ResNet50(weights="imagenet", **kwargs), "ImageNet weights"
        except Exception as err:  # offline, proxy, truncated file: say so, never hide it
            reason = download_problem(err)
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
