"""Datasets, found offline first, with errors that say how to fix them."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

DATA_ENV = "RESLAB_DATA_DIR"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package `dataset-fashion-mnist`
FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class DataNotFoundError(FileNotFoundError):
    """A dataset is in none of the places ResLab looks, and could not be downloaded."""


def fashion_mnist_dirs() -> list[Path]:
    """Folders searched for Fashion-MNIST, in order (DESIGN.md, "Data, offline")."""
    dirs = []
    if os.environ.get(DATA_ENV):
        dirs.append(Path(os.environ[DATA_ENV]).expanduser() / "fashion-mnist")
        dirs.append(Path(os.environ[DATA_ENV]).expanduser())
    keras_home = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()
    dirs.append(keras_home / "datasets" / "fashion-mnist")
    dirs.append(SYSTEM_DIR)
    return dirs


def find_fashion_mnist() -> Path | None:
    """The first folder that holds all four Fashion-MNIST files, or None."""
    for folder in fashion_mnist_dirs():
        if all((folder / name).is_file() for name in FASHION_FILES):
            return folder
    return None


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def _download_fashion_mnist() -> Arrays:
    import keras

    return keras.datasets.fashion_mnist.load_data()


def load_fashion_mnist() -> Arrays:
    """Fashion-MNIST as `(x_train, y_train), (x_test, y_test)` uint8 arrays, like Keras.

    Looks in `$RESLAB_DATA_DIR`, the Keras cache, `/usr/share/datasets/fashion-mnist`,
    and only then downloads through Keras.
    """
    folder = find_fashion_mnist()
    if folder is None:
        try:
            return _download_fashion_mnist()
        except Exception as err:  # no network, proxy, disk full...: one clear message
            looked = "\n".join(f"  - {d}" for d in fashion_mnist_dirs())
            raise DataNotFoundError(
                "Fashion-MNIST was not found. Looked for "
                f"{', '.join(FASHION_FILES)} in:\n{looked}\n"
                f"and the download through Keras failed ({type(err).__name__}: {err}).\n"
                "Fix it in one of three ways:\n"
                "  1. sudo apt-get install dataset-fashion-mnist   (Debian/Ubuntu; "
                "`make setup` does this)\n"
                f"  2. put the four .gz files in a folder and set {DATA_ENV} to it\n"
                "  3. connect to the internet once and rerun: Keras caches the files "
                "in ~/.keras/datasets/fashion-mnist"
            ) from err
    x_train, y_train, x_test, y_test = (
        _read_idx(folder / name, offset=16 if "images" in name else 8) for name in FASHION_FILES
    )
    return (x_train.reshape(-1, 28, 28), y_train), (x_test.reshape(-1, 28, 28), y_test)


def subsample(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A class-balanced random subset of `n` examples (all of them if `n >= len(x)`)."""
    if n >= len(x):
        return x, y
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per_class = np.full(len(classes), n // len(classes))
    per_class[: n % len(classes)] += 1
    picked = [
        rng.choice(np.flatnonzero(y == c), size=k, replace=False)
        for c, k in zip(classes, per_class, strict=True)
    ]
    idx = rng.permutation(np.concatenate(picked))
    return x[idx], y[idx]


def to_float_images(x: np.ndarray, size: int | None = None) -> np.ndarray:
    """uint8 images (N, H, W[, C]) to float32 in [0, 1] with a channel axis.

    With `size`, zero-pad each side evenly to `size` x `size` (28 -> 32 for the
    CIFAR-style networks of He et al. 2015, §4.2, which take 32x32 inputs).
    """
    x = x.astype("float32") / 255.0
    if x.ndim == 3:
        x = x[..., None]
    if size is not None:
        dh, dw = size - x.shape[1], size - x.shape[2]
        if dh < 0 or dw < 0:
            raise ValueError(
                f"Cannot pad images of size {x.shape[1]}x{x.shape[2]} to {size}x{size}: "
                "the target must not be smaller. Received: size={size}"
            )
        x = np.pad(x, ((0, 0), (dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2), (0, 0)))
    return x


def fashion_mnist_32(
    train_samples: int, test_samples: int, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Class-balanced Fashion-MNIST subsets as float32 32×32×1 images in [0, 1]: the input
    of the paper's CIFAR networks (§4.2), which take 32×32 images."""
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    x_train, y_train = subsample(x_train, y_train, train_samples, seed)
    x_test, y_test = subsample(x_test, y_test, test_samples, seed)
    return (to_float_images(x_train, 32), y_train), (to_float_images(x_test, 32), y_test)
