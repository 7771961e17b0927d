"""Datasets, found offline first, with errors that say how to fix them."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
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


# --- a folder of your own images -------------------------------------------------------------

KERAS_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
)  # what image_dataset_from_directory reads
KERAS_FORMATS = ("JPEG", "PNG", "BMP", "GIF")  # ... and what TensorFlow's decoder understands
MIN_SIDE = 32  # keras.applications.ResNet50 refuses inputs smaller than 32x32


@dataclasses.dataclass
class FolderReport:
    """What `image_folder` found, by file name: what it uses, converts and skips."""

    root: Path
    class_names: list[str]
    counts: dict[str, int]  # usable images per class
    skipped: list[tuple[str, str]]  # (file, why): not images, corrupt, too small
    converted: list[tuple[str, str]]  # (file, what was converted): grayscale, RGBA, CMYK, ...
    empty_classes: list[str]  # class folders with no usable image (left out)

    def __str__(self) -> str:
        lines = [
            f"{self.root}: {sum(self.counts.values())} images in {len(self.class_names)} "
            "classes (" + ", ".join(f"{c}: {n}" for c, n in self.counts.items()) + ")"
        ]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped]
        kinds: dict[str, list[str]] = {}
        for name, what in self.converted:
            kinds.setdefault(what, []).append(name)
        for what, names in kinds.items():  # one line per kind: a photo folder has thousands
            more = f", and {len(names) - 3} more" if len(names) > 3 else ""
            lines.append(f"  converted {len(names)} file(s), {what}: {', '.join(names[:3])}{more}")
        lines += [f"  left out class {c!r}: no usable images" for c in self.empty_classes]
        return "\n".join(lines)


def _inspect(path: Path, min_side: int) -> tuple[str | None, str | None]:
    """(reason to skip, conversion needed) for one file, decoding it fully with Pillow."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # a truncated or corrupt file fails here, not mid-epoch
            mode, size, kind = image.mode, image.size, image.format
    except UnidentifiedImageError:
        return "not an image (Pillow cannot identify the file)", None
    except (OSError, SyntaxError, ValueError) as err:
        return f"corrupt or truncated image ({str(err)[:80]})", None
    if min(size) < min_side:
        return (
            f"too small: {size[0]}x{size[1]}, the model needs at least {min_side}x{min_side}",
            None,
        )
    if kind not in KERAS_FORMATS or path.suffix.lower() not in KERAS_SUFFIXES:
        return None, f"{kind} file -> PNG"
    if mode in ("RGB", "L"):
        return None, ("grayscale -> RGB" if mode == "L" else None)
    return None, f"{mode} -> RGB"


def _to_rgb_png(source: Path, target: Path) -> None:
    from PIL import Image

    with Image.open(source) as image:
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            image = image.convert("RGBA")
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, image)  # transparent pixels become white
        image.convert("RGB").save(target, "PNG")


def check_image_folder(path: str | Path, view: Path, min_side: int = MIN_SIDE) -> FolderReport:
    """Check a folder with one sub-folder per class and lay out, in `view`, links to the
    usable images (and converted copies of those TensorFlow cannot decode). Raises a clear
    error for a missing path, a folder without class folders, or fewer than two classes."""
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(
            f"No folder at {root}. Expected one sub-folder per class, e.g. "
            f"{root}/cats/001.jpg and {root}/dogs/001.jpg."
        )
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is a file; pass the folder that holds the class folders.")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ValueError(
            f"{root} has no class sub-folders. Put each class's images in its own folder: "
            f"{root}/<class name>/<image files>."
        )
    shutil.rmtree(view, ignore_errors=True)
    report = FolderReport(root, [], {}, [], [], [])
    for name in classes:
        (view / name).mkdir(parents=True)
        files = sorted(
            f for f in (root / name).rglob("*") if f.is_file() and not f.name.startswith(".")
        )
        usable = 0
        for file in files:
            relative = str(file.relative_to(root))
            skip, conversion = _inspect(file, min_side)
            if skip:
                report.skipped.append((relative, skip))
                continue
            flat = "__".join(file.relative_to(root / name).parts)
            if conversion:
                report.converted.append((relative, conversion))
            if conversion and not conversion.startswith("grayscale"):
                _to_rgb_png(file, view / name / f"{flat}.png")
            else:
                (view / name / flat).symlink_to(file.resolve())
            usable += 1
        if usable:
            report.class_names.append(name)
            report.counts[name] = usable
        else:
            report.empty_classes.append(name)
            shutil.rmtree(view / name)
    if len(report.class_names) < 2:
        raise ValueError(
            f"{root} has {len(report.class_names)} class folder(s) with usable images "
            f"({', '.join(report.class_names) or 'none'}); a classifier needs at least two.\n"
            + str(report)
        )
    return report


def image_folder(
    path: str | Path,
    image_size: int | tuple[int, int] = 224,
    batch_size: int = 32,
    validation_split: float = 0.2,
    seed: int = 0,
    augment: bool = False,
    cache: bool | str = True,
    min_side: int = MIN_SIDE,
    work_dir: str | Path | None = None,
    shuffle: bool = True,
):
    """Training and validation `tf.data` pipelines over a folder of images, one sub-folder
    per class (the layout of `keras.utils.image_dataset_from_directory`, which loads it).
    `image_size` is an int (square) or a `(height, width)` tuple, as in Keras.

    The folder is checked first (`check_image_folder`): unreadable, non-image and too-small
    files are skipped with a warning naming each one; grayscale, RGBA, CMYK and other files
    are converted to RGB. Images are decoded in parallel, resized to `image_size`, kept as
    uint8 (a quarter of float32's memory), cached, reshuffled every epoch, optionally
    augmented with Keras preprocessing layers (after the cache, so each epoch differs), and
    prefetched. Returns `(train, validation, report)` (validation is None when
    `validation_split` is 0); the report lists what was found. `shuffle=False` keeps the
    training part in file order too (a test set read twice must line up).
    """
    import tensorflow as tf

    size = size_pair(image_size)  # a clear error for a bad size, before any work
    root = Path(path).expanduser()
    work = Path(work_dir) if work_dir else Path(tempfile.gettempdir()) / "reslab-image-folders"
    view = work / hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
    report = check_image_folder(root, view, min_side)
    if report.skipped or report.empty_classes:
        problems = [f"{name}: {why}" for name, why in report.skipped]
        problems += [f"{c}/: no usable images, class left out" for c in report.empty_classes]
        warnings.warn(
            f"{root}: skipped {len(problems)} item(s):\n  " + "\n  ".join(problems), stacklevel=2
        )
    loaded = keras.utils.image_dataset_from_directory(
        view,
        class_names=report.class_names,
        image_size=size,
        batch_size=None,  # batched below, after the cache, so every epoch is reshuffled
        validation_split=validation_split or None,
        subset="both" if validation_split else None,
        seed=seed,
        verbose=False,
    )
    train, validation = loaded if validation_split else (loaded, None)
    augmenter = augmentation(seed) if augment else None

    def pipeline(data, training: bool):
        data = data.map(lambda x, y: (tf.cast(tf.round(x), tf.uint8), y), tf.data.AUTOTUNE)
        if cache:
            data = data.cache(cache if isinstance(cache, str) else "")
        if training and shuffle:
            data = data.shuffle(8 * batch_size, seed=seed, reshuffle_each_iteration=True)
        data = data.batch(batch_size)
        if training and augmenter is not None:
            data = data.map(lambda x, y: (_augment(augmenter, x), y), tf.data.AUTOTUNE)
        return data.prefetch(tf.data.AUTOTUNE)

    held_out = pipeline(validation, False) if validation is not None else None
    return pipeline(train, True), held_out, report


def _augment(augmenter: keras.Sequential, x):
    """Apply the augmentation layers one by one: inside `tf.data`, Keras runs each
    preprocessing layer on TensorFlow whatever its backend, but not a Sequential of them."""
    for layer in augmenter.layers:
        x = layer(x, training=True)
    return x


def augmentation(seed: int = 0) -> keras.Sequential:
    """Light augmentation for photos, as Keras preprocessing layers: flips, small rotations
    and zooms (the Keras transfer-learning guide uses flips and rotations)."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.05, seed=seed),
            keras.layers.RandomZoom(0.1, seed=seed),
        ],
        name="augmentation",
    )


# Transfer learning offline (notebooks 08 and 09): the course pretrains its own source model
# on five Fashion-MNIST classes and transfers it to the five it never saw.
SOURCE_CLASSES = (0, 1, 2, 3, 4)  # T-shirt/top, Trouser, Pullover, Dress, Coat
TARGET_CLASSES = (5, 6, 7, 8, 9)  # Sandal, Shirt, Sneaker, Bag, Ankle boot


def fashion_classes(
    classes: tuple[int, ...], split: str = "train", per_class: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The Fashion-MNIST images (uint8, 28×28) of `classes` from `split` ("train" or "test"),
    labels renumbered 0, 1, … in the order of `classes`; `per_class` picks a random,
    class-balanced subset of that many images per class."""
    if split not in ("train", "test"):
        raise ValueError(f"`split` should be 'train' or 'test'. Received: split={split!r}")
    train, test = load_fashion_mnist()
    x, y = train if split == "train" else test
    keep = np.isin(y, classes)
    x, y = x[keep], np.argmax(y[keep, None] == np.asarray(classes), axis=1)
    if per_class is not None:
        x, y = subsample(x, y, per_class * len(classes), seed)
    return x, y


def rgb_pipeline(
    x: np.ndarray,
    y: np.ndarray,
    image_size: int | tuple[int, int],
    batch_size: int = 32,
    training: bool = False,
    seed: int = 0,
):
    """A `tf.data` pipeline of (RGB float32 images in 0–255 at `image_size`, labels) from
    uint8 grayscale arrays (N, h, w): the input a folder of photos gives, so the same trunk
    and preprocessing serve both. With `training`, shuffled every epoch and flipped at
    random."""
    import tensorflow as tf

    height, width = size_pair(image_size)
    data = tf.data.Dataset.from_tensor_slices((x[..., None], y.astype("int32")))
    if training:
        data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)

    def prepare(images, labels):
        images = tf.image.resize(tf.cast(images, tf.float32), (height, width))
        if training:
            images = tf.image.random_flip_left_right(images)
        return tf.image.grayscale_to_rgb(images), labels

    return data.batch(batch_size).map(prepare, tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def size_pair(image_size: int | tuple[int, int]) -> tuple[int, int]:
    """`image_size` as Keras takes it (an int or a (height, width) pair) -> (height, width)."""
    if isinstance(image_size, int | np.integer) and image_size > 0:
        return int(image_size), int(image_size)
    if (
        isinstance(image_size, tuple | list)
        and len(image_size) == 2
        and all(isinstance(side, int | np.integer) and side > 0 for side in image_size)
    ):
        return int(image_size[0]), int(image_size[1])
    raise ValueError(
        "`image_size` should be a positive int or a (height, width) tuple of positive ints. "
        f"Received: image_size={image_size!r}"
    )


def fashion_mnist_folder(
    path: str | Path,
    per_class: int = 40,
    size: int = 64,
    seed: int = 0,
    classes: tuple[int, ...] = tuple(range(10)),
    split: str = "train",
) -> Path:
    """Write a small image folder from Fashion-MNIST (grayscale PNGs, upscaled to `size`),
    one sub-folder per class in `classes`, from `split`, so the fine-tuning notebook runs
    offline. Returns the path; a folder already holding exactly these images is reused."""
    from PIL import Image

    root = Path(path).expanduser()
    names = [FASHION_CLASSES[c].replace("/", "_") for c in classes]
    stamp = root / ".made_with"
    recipe = f"per_class={per_class} size={size} seed={seed} classes={classes} split={split}"
    if stamp.is_file() and stamp.read_text() == recipe:
        return root
    if root.is_dir():
        shutil.rmtree(root)  # other images from another call: start clean
    x, y = fashion_classes(classes, split, per_class, seed)
    for label, name in enumerate(names):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(x[y == label]):
            Image.fromarray(image).resize((size, size), Image.BILINEAR).save(
                root / name / f"{i:04d}.png"
            )
    stamp.write_text(recipe)
    return root


# --- downloadable datasets -------------------------------------------------------------------

FLOWERS_URL = (
    "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
)


def download_problem(err: Exception) -> str:
    """A failed download in a few words: Keras's "URL fetch failure on <url>: None -- [Errno
    -3] Temporary failure in name resolution" becomes the part after the URL."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text.split(" -- ")[-1][:160]


def keras_datasets_dir() -> Path:
    """Where Keras caches datasets: `$KERAS_HOME/datasets`, else `~/.keras/datasets`."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def _find_flowers() -> Path | None:
    base = keras_datasets_dir()
    for folder in (base / "flower_photos", base / "flower_photos" / "flower_photos"):
        if (folder / "daisy").is_dir():
            return folder
    return None


def flower_photos(download: bool = True) -> Path:
    """The folder of TensorFlow's flower photos (3,670 photos, 5 classes, one folder each),
    from Keras's cache, downloading it (218 MB) first when allowed. Offline and not cached,
    raises `DataNotFoundError` saying where it looked and how to provide it."""
    folder = _find_flowers()
    problem = "downloading was not allowed"
    if folder is None and download:
        try:
            keras.utils.get_file("flower_photos", FLOWERS_URL, extract=True)
            folder = _find_flowers()
        except Exception as err:  # offline, proxy, disk full
            problem = f"the download failed ({download_problem(err)})"
    if folder is None:
        raise DataNotFoundError(
            f"The flower photos are not in {keras_datasets_dir()}/flower_photos and {problem}.\n"
            "  1. with internet, run `make prefetch` once;\n"
            f"  2. or download {FLOWERS_URL} elsewhere and extract it into "
            f"{keras_datasets_dir()}/flower_photos/ (one folder per flower);\n"
            "  3. or use your own photos, or `fashion_mnist_folder()`, which needs no network."
        )
    return folder


# --- CIFAR-10 and the paper's augmentation (He et al. 2015, §4.2) ---------------------------


def load_cifar10() -> Arrays:
    """CIFAR-10 as uint8 `(x_train, y_train), (x_test, y_test)` (50,000 / 10,000 32×32×3
    images, labels flat), from Keras's cache or downloaded through Keras (163 MB).
    Offline and not cached: `DataNotFoundError` saying how to provide it."""
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as err:  # offline, proxy, truncated archive
        raise DataNotFoundError(
            f"CIFAR-10 is not in {keras_datasets_dir()}/cifar-10-batches-py and the download "
            f"failed ({download_problem(err)}).\n"
            "  1. with internet, run `make prefetch` once;\n"
            "  2. or download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz elsewhere "
            f"and extract it into {keras_datasets_dir()}/ (it holds cifar-10-batches-py/)."
        ) from err
    return (x_train, y_train.ravel()), (x_test, y_test.ravel())


def pad_crop_flip(images: np.ndarray, rng: np.random.Generator, pad: int = 4) -> np.ndarray:
    """The paper's augmentation (§4.2): pad `pad` pixels on each side with zeros, take a
    random crop of the original size, and flip it horizontally with probability 1/2.
    `images` is (N, H, W, C); returns a new array of the same shape."""
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    rows = rng.integers(0, 2 * pad + 1, n)
    cols = rng.integers(0, 2 * pad + 1, n)
    flips = rng.random(n) < 0.5
    out = np.empty_like(images)
    for i in range(n):
        crop = padded[i, rows[i] : rows[i] + h, cols[i] : cols[i] + w]
        out[i] = crop[:, ::-1] if flips[i] else crop
    return out
