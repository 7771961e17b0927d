"""Profiles, seeds, paths and the one-call notebook set-up.

Every notebook reads its sizes from a `Profile`, so the same notebook serves CI
(`quick`), a workshop laptop (`cpu`) and a GPU box (`gpu`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

# TensorFlow reads this when it is first imported; setting it here, before any
# reslab module imports TensorFlow, hides its INFO/WARNING lines in notebooks.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Keras 3 runs the course on any of these (KERAS_BACKEND); TensorFlow is the default and
# stays installed on every backend, for tf.data. The extras install the other two.
BACKENDS = {"tensorflow": "", "jax": "jax", "torch": "torch"}
PROFILE_ENV = "RESLAB_PROFILE"
FIGURES_ENV = "RESLAB_FIGURES_DIR"
SEED = 42
ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Profile:
    """Sizes a notebook uses; one instance per profile."""

    name: str
    train_samples: int  # Fashion-MNIST images used for training
    test_samples: int  # ... and for evaluation
    batch_size: int
    epochs: int  # training epochs for the short demonstrations
    mlp_depths: tuple[int, ...]  # depths swept in the vanishing-gradient study
    mlp_width: int
    grad_batch: int  # images in the batch gradients are measured on
    cifar_depths: tuple[int, int]  # the shallow and deep CIFAR nets compared (6n + 2)
    cifar_widths: tuple[int, int, int]  # filters per stage; the paper's are (16, 32, 64)
    cifar_train: int  # Fashion-MNIST images (padded to 32x32) the CIFAR nets train on
    cifar_test: int  # ... and are tested on
    cifar_epochs: int
    cifar_batch: int
    lesion_images: int  # test images per lesioned network (notebook 11 tests about 85)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        train_samples=1024,
        test_samples=512,
        batch_size=128,
        epochs=2,
        mlp_depths=(5, 10, 20),
        mlp_width=32,
        grad_batch=128,
        cifar_depths=(8, 14),
        cifar_widths=(4, 8, 16),
        cifar_train=256,
        cifar_test=256,
        cifar_epochs=1,
        cifar_batch=32,
        lesion_images=32,
    ),
    "cpu": Profile(
        name="cpu",
        train_samples=12_000,
        test_samples=2_000,
        batch_size=128,
        epochs=10,
        mlp_depths=(5, 10, 20, 30, 50),
        mlp_width=128,
        grad_batch=512,
        cifar_depths=(20, 56),
        cifar_widths=(8, 16, 32),  # half width: the deep nets then fit the 5-minute budget
        cifar_train=1800,
        cifar_test=500,
        cifar_epochs=3,
        cifar_batch=32,
        lesion_images=500,
    ),
    "gpu": Profile(
        name="gpu",
        train_samples=60_000,
        test_samples=10_000,
        batch_size=128,
        epochs=30,
        mlp_depths=(5, 10, 20, 30, 50, 100),
        mlp_width=256,
        grad_batch=1024,
        cifar_depths=(20, 56),
        cifar_widths=(16, 32, 64),
        cifar_train=60_000,
        cifar_test=10_000,
        cifar_epochs=30,
        cifar_batch=128,
        lesion_images=2000,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the named profile, else `$RESLAB_PROFILE`, else `gpu`/`cpu` by device."""
    name = name or os.environ.get(PROFILE_ENV) or ("gpu" if gpu_names() else "cpu")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"Unknown profile {name!r}. Valid profiles are: {', '.join(PROFILES)}. "
            f"Set {PROFILE_ENV} to one of them or leave it unset to detect the device."
        ) from None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (where TensorFlow's C++ start-up lines go)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def gpu_names() -> list[str]:
    """Names of the GPUs TensorFlow can see (empty on a CPU-only machine)."""
    # The first import and device scan print CUDA probing lines that absl emits
    # before it reads TF_CPP_MIN_LOG_LEVEL; they are noise on a CPU-only machine.
    with _quiet_stderr():
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]


def in_clone() -> bool:
    """Whether `reslab` is imported from a clone of the course (an editable install)."""
    return (ROOT / "pyproject.toml").exists() and (ROOT / "notebooks").is_dir()


def workspace() -> Path:
    """The folder a learner works in: the clone's root, else the current folder.

    Installed from a wheel (Colab, `pip install reslab`), `figures/` and `build/` are
    written beside the learner's notebook, never inside site-packages.
    """
    return ROOT if in_clone() else Path.cwd()


def results_dir() -> Path:
    """The course's committed long-run results (CSV, JSON, weights; read-only).

    In a clone, `figures/results/`; from a wheel, the copy packaged with `reslab`.
    """
    if in_clone():
        return ROOT / "figures" / "results"
    return Path(__file__).resolve().parent / "results"


def build_dir(name: str, profile: Profile | None = None) -> Path:
    """A notebook's working folder under `build/` (checkpoints, a saved model another notebook
    loads). A `quick` run gets its own, so the test run never replaces what a real run saved
    (notebook 09 loads the model notebook 08 saved)."""
    profile = profile or get_profile()
    return workspace() / "build" / (f"quick-{name}" if profile.name == "quick" else name)


def figures_dir(profile: Profile | None = None) -> Path:
    """Where figures are saved: `$RESLAB_FIGURES_DIR`, else `figures/` in the workspace.

    A `quick` run writes to `build/quick-figures/` instead, so the test run never
    overwrites the committed figures of a real run.
    """
    if os.environ.get(FIGURES_ENV):
        return Path(os.environ[FIGURES_ENV])
    profile = profile or get_profile()
    return workspace() / ("build/quick-figures" if profile.name == "quick" else "figures")


def save_results(name: str, results: dict, profile: Profile | None = None) -> Path:
    """Write a notebook's measured numbers to `<figures dir>/results/<name>.json`, with the
    profile that produced them. Tests read the committed `cpu` files and assert every
    claim the notebook's prose makes about them; a `quick` run writes under `build/`."""
    profile = profile or get_profile()
    path = figures_dir(profile) / "results" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"profile": profile.name, **results}
    path.with_suffix(".tmp").write_text(json.dumps(record, indent=2, default=float) + "\n")
    os.replace(path.with_suffix(".tmp"), path)  # atomic
    return path


def check_backend() -> str:
    """The Keras backend `KERAS_BACKEND` names (default TensorFlow), once it is known to be one
    the course supports and installed: else one clear message saying what to install."""
    name = os.environ.get("KERAS_BACKEND", "tensorflow")
    if name not in BACKENDS:
        raise ValueError(
            f"KERAS_BACKEND={name!r} is not a backend the course runs on: choose one of "
            f"{', '.join(BACKENDS)} (TensorFlow is the default)."
        )
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(
            f"KERAS_BACKEND={name} but {name} is not installed. In the course's folder run "
            f'`.venv/bin/pip install -e ".[{BACKENDS[name] or name}]"`, or unset KERAS_BACKEND '
            "to use TensorFlow."
        )
    return name


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and the Keras backend so reruns draw the same numbers."""
    import keras

    keras.utils.set_random_seed(seed)  # seeds Python's `random`, NumPy and the backend


def setup_notebook(
    profile: str | None = None, seed: int = SEED, eager_in_quick: bool = False
) -> Profile:
    """Seed, quiet TensorFlow, pick the profile, set the plot theme; print one banner.

    `eager_in_quick`: in the quick profile, run Keras's train and predict steps eagerly
    instead of tracing them into graphs. The quick profile only proves that every cell runs,
    on a handful of images, and tracing a ResNet-50 (about 10 s per model on 2 CPU cores)
    would take most of its minute in notebooks that build several (07, 08, 09).
    """
    gpus = gpu_names()
    prof = get_profile(profile)
    import keras
    import seaborn as sns
    import tensorflow as tf

    seed_everything(seed)
    if eager_in_quick and prof.name == "quick":
        tf.config.run_functions_eagerly(True)
        # tf.data's pipelines stay traced, as wanted; TensorFlow warns about it each time.
        warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run")
    # tf.function's "N out of the last N calls triggered retracing" advice: every new model's
    # predict step is traced once, which is expected when a notebook builds several models.
    tf.get_logger().setLevel("ERROR")
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    device = f"GPU x{len(gpus)}" if gpus else f"CPU ({os.cpu_count()} cores)"
    backend = keras.backend.backend()
    if backend == "tensorflow":
        engine = f"TensorFlow {tf.__version__} | Keras {keras.__version__}"
    else:  # the backend's own version, and TensorFlow's, which runs the tf.data pipelines
        version = importlib.import_module(backend).__version__
        engine = f"Keras {keras.__version__} on {backend} {version} (tf.data: TF {tf.__version__})"
    print(f"ResLab | {engine} | device: {device} | profile: {prof.name}")
    if eager_in_quick and prof.name == "quick":
        print("quick profile: Keras steps run eagerly (no graph tracing), to stay within a minute")
    return prof
