"""Weights: Keras's ImageNet ResNet-50 through its cache, and moving weights between models
of the same architecture, layer by layer, by name."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from reslab import config, models
from reslab.data import download_problem, size_pair

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


def layout(model: keras.Model) -> list[tuple[str, list[tuple[int, ...]]]]:
    """Every layer with weights, in order: its name and its weights' shapes. Two models with
    the same layout take each other's weights by name (`transplant`)."""
    return [(layer.name, _shapes(layer)) for layer in _weighted(model)]


def randomize_statistics(model: keras.Model, seed: int = 0) -> int:
    """Draw every batch-norm statistic, γ, β and bias of `model` at random (variances and γ
    in [0.5, 1.5], means, β and biases around 0 with spread 0.1). Freshly built, they are
    constants (0s and 1s) that every layer shares, so a check that two models compute the
    same thing would not notice them swapped or lost; kernels are random already. Returns
    the number of weights drawn."""
    rng = np.random.default_rng(seed)
    drawn = 0
    for weight in model.weights:
        name = weight.path.split("/")[-1]
        if name in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, tuple(weight.shape))
        elif name in ("beta", "moving_mean", "bias"):
            value = rng.normal(0.0, 0.1, tuple(weight.shape))
        else:
            continue
        weight.assign(value.astype(weight.dtype))
        drawn += 1
    return drawn


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


# --- the trunk notebooks 08 and 09 fine-tune: ImageNet's, or the course's own -----------------

COURSE_WIDTH, COURSE_IMAGE_SIZE = 0.25, 96  # what `python -m reslab.experiments pretrain` ran
COURSE_SOURCE_DIR = config.results_dir() / "08_source"
COURSE_WEIGHTS = COURSE_SOURCE_DIR / "resnet50_w0.25_fashion5_96px.weights.h5"


def resnet50_trunk(image_size: int | tuple[int, int], width: float = 1.0) -> keras.Model:
    """ResNet-50 without its top, ending in global average pooling, at `width` (random
    weights): the shape of every trunk notebooks 08 and 09 use."""
    return models.resnet(
        50, include_top=False, input_shape=(*size_pair(image_size), 3), pooling="avg", width=width
    )


class Trunk(NamedTuple):
    """A pretrained ResNet-50 trunk (no top, global average pooling) and what it is."""

    model: keras.Model
    source: str  # "imagenet" or "course"
    note: str  # one sentence to print next to every result


def course_resnet50(image_size: int | tuple[int, int] = COURSE_IMAGE_SIZE) -> keras.Model:
    """The course's source model: ResNet-50's topology and layer names at a quarter of the
    width, pretrained on five Fashion-MNIST classes (`reslab.experiments.transfer`), without
    its top. Its input is what `preprocess_input` makes of 0-255 RGB, like Keras's."""
    if not COURSE_WEIGHTS.is_file():
        raise WeightsNotFoundError(
            f"The course's pretrained source model is missing: {COURSE_WEIGHTS}. It is part of "
            "the repository; restore it with `git checkout -- figures/results/08_source`, or "
            "retrain it (about 40 min on 2 CPU cores) with `python -m reslab.experiments "
            "pretrain`."
        )
    trunk = resnet50_trunk(image_size, COURSE_WIDTH)
    trunk.load_weights(COURSE_WEIGHTS)
    return trunk


def pretrained_trunk(profile_name: str, image_size: int | tuple[int, int]) -> Trunk:
    """The trunk to fine-tune: Keras's ImageNet ResNet-50 when its weights file is in
    Keras's cache, or in the gpu profile (downloading it); otherwise the course's own
    source model (`course_resnet50`), which needs no network. The note says which."""
    shape = (*size_pair(image_size), 3)
    if profile_name == "gpu" or (keras_models_dir() / RESNET50_NOTOP_FILE).is_file():
        model, note = resnet50_imagenet(
            profile_name, include_top=False, input_shape=shape, pooling="avg"
        )
        return Trunk(model, "imagenet", note)
    note = (
        f"the course's source model (ResNet-50 at width {COURSE_WIDTH:g}, pretrained on 5 "
        "Fashion-MNIST classes), not ImageNet"
    )
    return Trunk(course_resnet50(image_size), "course", note)


def imagenet_classes() -> list[tuple[str, str]]:
    """ImageNet-1k's 1,000 (WordNet id, name) pairs in Keras's class order, shipped with
    the course (taken once from timm's data files) so no download is needed."""
    text = resources.files("reslab").joinpath("imagenet_classes.tsv").read_text()
    return [tuple(line.split("\t")) for line in text.splitlines()]


def decode_predictions(predictions, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """`keras.applications.resnet50.decode_predictions` offline: for each row of 1,000 class
    probabilities, the `top` (WordNet id, name, probability) triples, best first."""
    predictions = np.asarray(predictions)
    if predictions.ndim != 2 or predictions.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of ImageNet predictions, shape (samples, "
            f"1000). Received: shape={predictions.shape}"
        )
    classes = imagenet_classes()
    return [
        [(*classes[k], float(row[k])) for k in np.argsort(row)[::-1][:top]] for row in predictions
    ]


def untrained_like(source: str, image_size: int | tuple[int, int]) -> keras.Model:
    """The architecture of a `Trunk` of `source` ("imagenet" or "course") with fresh random
    weights: the from-scratch baseline (ResNet-50, or the course's quarter-width one)."""
    return resnet50_trunk(image_size, COURSE_WIDTH if source == "course" else 1.0)
