"""Training recipes shared by the notebooks."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from reslab import data


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
    `weight_decay` is the paper's (an L2 term on the conv and dense kernels, see
    `add_weight_decay`); the logged loss then includes that term.
    """
    if weight_decay:
        add_weight_decay(model, weight_decay)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
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


def compare(
    builds: dict[str, Callable[[], keras.Model]],
    train_data: tuple[np.ndarray, np.ndarray],
    test_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    seeds: Sequence[int] = (0,),
    peak_rate: float = 0.1,
    train_check: int | None = None,
) -> tuple[dict[str, dict[str, dict]], pd.DataFrame]:
    """Train every network of `builds` (name -> a function that builds it) once per seed,
    all alike: `fit_sgd` with `warmup_cosine(peak_rate, ...)` over the whole run, and each
    batch's training accuracy recorded (`BatchHistory`, as `history["batch_accuracy"]`).

    At the end both errors are measured in inference mode (batch norm with its moving
    statistics), as the test error always is, so they compare like with like; the training
    error on the first `train_check` training images (all by default).

    Returns the histories by seed, `{"seed 0": {name: history}}` as `plots.error_curves`
    takes them, and one row per network and seed: its parameters, both errors in % and the
    seconds it took.
    """
    steps = epochs * -(-len(train_data[0]) // batch_size)
    histories: dict[str, dict[str, dict]] = {}
    rows = []
    for seed in seeds:
        for name, build in builds.items():
            keras.utils.set_random_seed(seed)
            model = build()
            batches = BatchHistory()
            start = time.monotonic()
            history = fit_sgd(
                model,
                train_data,
                test_data,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=warmup_cosine(peak_rate, steps),
                callbacks=[batches],
            )
            history["batch_accuracy"] = batches.history["accuracy"]
            histories.setdefault(f"seed {seed}", {})[name] = history
            x, y = train_data[0][:train_check], train_data[1][:train_check]
            _, train_accuracy = model.evaluate(x, y, verbose=0)
            _, test_accuracy = model.evaluate(*test_data, verbose=0)
            rows.append(
                {
                    "network": name,
                    "seed": seed,
                    "parameters": model.count_params(),
                    "train error %": 100 * (1 - train_accuracy),
                    "test error %": 100 * (1 - test_accuracy),
                    "seconds": time.monotonic() - start,
                }
            )
    return histories, pd.DataFrame(rows)


# --- fine-tuning a pretrained trunk (the Keras transfer-learning guide's two phases) ----------


@keras.saving.register_keras_serializable(package="reslab")
class ResNetPreprocess(keras.layers.Layer):
    """`keras.applications.resnet50.preprocess_input` as a layer: RGB -> BGR and the ImageNet
    channel means subtracted ("caffe" mode), the input the ImageNet weights were trained on.
    Inside the model, a saved `.keras` file takes raw 0-255 pixels and cannot forget it."""

    def call(self, images):
        images = keras.ops.cast(images, self.compute_dtype)
        return keras.applications.resnet50.preprocess_input(images)


def classifier(
    base: keras.Model,
    classes: int,
    image_size: int | tuple[int, int],
    head: str = "modern",
    dropout: float = 0.2,
    preprocess: bool = True,
) -> tuple[keras.Model, keras.Model]:
    """A classifier on a pretrained trunk `base` (built with `include_top=False,
    pooling="avg"`, so it returns 2048-d vectors). Returns `(model, head)`; `head` takes the
    2048-d vectors alone and shares its layers with `model`, so training it on cached
    features trains the model's head.

    `head="modern"`: dropout then a softmax layer (Keras transfer-learning guide).
    `head="classic"`: Dense(2048, relu) then softmax, as older write-ups do.
    Batch norm runs in inference mode exactly where its layers are frozen (`trainable=False`,
    as `fine_tune` and `set_trainable` leave them): that is what keeps a small dataset from
    overwriting the pretrained statistics. Calling the base with `training=False`, as the
    Keras guide does, does not do it in Keras 3: `fit` passes `training=True` down to nested
    models and overrides it (keras-team/keras#20285; notebook 08 measures it).
    The softmax layer computes in float32 under mixed precision (numerically safe).
    """
    layers = [keras.Input((base.output_shape[-1],))]
    if head == "classic":
        layers.append(keras.layers.Dense(2048, activation="relu", name="head_dense"))
    elif head != "modern":
        raise ValueError(f"head must be 'modern' or 'classic'. Received: head={head!r}")
    layers += [
        keras.layers.Dropout(dropout, name="head_dropout"),
        keras.layers.Dense(classes, activation="softmax", dtype="float32", name="predictions"),
    ]
    top = keras.Sequential(layers, name="head")
    inputs = keras.Input((*data.size_pair(image_size), 3), name="image")
    x = ResNetPreprocess(name="preprocess")(inputs) if preprocess else inputs
    x = base(x)
    return keras.Model(inputs, top(x), name=f"{base.name}_classifier"), top


def set_trainable(base: keras.Model, prefixes: tuple[str, ...], batch_norm: str = "frozen") -> int:
    """Unfreeze the layers of `base` whose names start with one of `prefixes` (e.g.
    `("conv5_",)` for ResNet-50's last stage) and freeze the rest. Batch-norm layers stay
    frozen with `batch_norm="frozen"` (in Keras a frozen BN layer also runs in inference
    mode: it normalises with its pretrained moving statistics). `batch_norm="train"` is the
    pitfall notebook 08 measures: every BN layer trainable, so in training mode it
    normalises with each batch's statistics and overwrites its moving averages. Returns
    the number of trainable weights."""
    if batch_norm not in ("frozen", "train"):
        raise ValueError(
            f"`batch_norm` should be 'frozen' or 'train'. Received: batch_norm={batch_norm!r}"
        )
    base.trainable = True
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = batch_norm == "train"
        else:
            layer.trainable = layer.name.startswith(prefixes)
    return len(base.trainable_weights)


def compile_adam(
    model: keras.Model, learning_rate: float, jit_compile: bool | str = "auto"
) -> None:
    """Compile for classification with Adam, the optimizer of the Keras guide's two phases."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )


def fine_tune(
    model: keras.Model,
    base: keras.Model,
    train,
    validation,
    out_dir: str | Path,
    head_epochs: int = 5,
    tune_epochs: int = 5,
    head_learning_rate: float = 1e-3,
    tune_learning_rate: float = 1e-5,
    unfreeze: tuple[str, ...] = ("conv5_",),
    jit_compile: bool | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 2,
) -> dict[str, list[float]]:
    """Two-phase fine-tuning (Keras transfer-learning guide): phase 1 trains the head on the
    frozen base; phase 2 unfreezes the stages in `unfreeze` (batch norm stays frozen) and
    trains on with a learning rate 100x lower. Epochs are counted across both phases.

    Resumable: `keras.callbacks.BackupAndRestore` in `out_dir` lets a run interrupted mid-
    phase continue from its last finished epoch, and a finished phase 1 is saved and not
    repeated, but only when called again on the same run: the same model with the same
    starting weights, settings, number of training batches and validation data
    (`out_dir/run.json` records them; a model whose weights changed since, say trained
    further in the same session, starts a new run).
    Anything else clears `out_dir` and starts fresh; either way one line says which. The
    best epoch by validation accuracy is saved to `out_dir/best.keras`. Returns the
    history of both phases, joined.
    """
    out = Path(out_dir)
    settings = {
        "model": model.name,
        "head_epochs": head_epochs,
        "tune_epochs": tune_epochs,
        "head_learning_rate": head_learning_rate,
        "tune_learning_rate": tune_learning_rate,
        "unfreeze": list(unfreeze),
        "starting_weights": _digest(model.weights),
        "train_batches": int(train.cardinality()) if hasattr(train, "cardinality") else None,
        "validation_first_batch": _batch_digest(validation),
    }
    _fresh_or_resume(out, settings)
    head_done = out / "after_head.weights.h5"
    history: dict[str, list[float]] = {}

    def run(phase: str, epochs: int, initial_epoch: int) -> None:
        phase_callbacks = [
            keras.callbacks.BackupAndRestore(str(out / f"backup_{phase}")),
            keras.callbacks.ModelCheckpoint(
                str(out / "best.keras"), monitor="val_accuracy", save_best_only=True
            ),
            *(callbacks or []),
        ]
        result = model.fit(
            train,
            validation_data=validation,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=phase_callbacks,
            verbose=verbose,
            shuffle=not hasattr(train, "element_spec"),  # a tf.data pipeline shuffles itself
        )
        for key, values in result.history.items():
            history.setdefault(key, []).extend(values)

    if head_done.exists():
        model.load_weights(head_done)
    else:
        base.trainable = False
        compile_adam(model, head_learning_rate, jit_compile)
        run("head", head_epochs, 0)
        model.save_weights(head_done)
    if tune_epochs:
        set_trainable(base, unfreeze)
        compile_adam(model, tune_learning_rate, jit_compile)  # recompile: trainable changed
        run("tune", head_epochs + tune_epochs, head_epochs)
    return history


def _digest(arrays) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for array in arrays:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(array)).tobytes())
    return digest.hexdigest()


def _batch_digest(data) -> str | None:
    """A fingerprint of unshuffled data: its first batch (or the arrays themselves)."""
    if data is None:
        return None
    return _digest(next(iter(data)) if hasattr(data, "element_spec") else data)


def _fresh_or_resume(out: Path, settings: dict) -> None:
    """Resume the run in `out` only if it was started with exactly `settings`."""
    record = out / "run.json"
    before = json.loads(record.read_text()) if record.is_file() else None
    if before == settings:
        done = "phase 1 finished" if (out / "after_head.weights.h5").exists() else "started"
        print(f"fine_tune: resuming the run in {out} ({done} earlier with the same settings)")
        return
    if out.exists() and any(out.iterdir()):
        changed = sorted(k for k in settings if (before or {}).get(k) != settings[k])
        why = f"other {', '.join(changed)}" if before else "no record of its settings"
        print(f"fine_tune: {out} held another run ({why}); cleared, starting fresh")
        shutil.rmtree(out)
    else:
        print(f"fine_tune: a new run in {out}")
    out.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(settings, indent=2))


_EXTRACTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _extractor(base: keras.Model, preprocess: bool) -> keras.Model:
    """(Preprocessing +) `base` as one model, built once per trunk, so that its traced
    predict step is reused by later calls instead of being traced again."""
    built = _EXTRACTORS.setdefault(base, {})
    if preprocess not in built:
        layers = [
            keras.Input(base.input_shape[1:]),
            *([ResNetPreprocess()] if preprocess else []),
            base,
        ]
        built[preprocess] = keras.Sequential(layers, name="trunk_features")
    return built[preprocess]


def trunk_features(
    base: keras.Model, data, preprocess: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Run the frozen trunk once over `data` (a `tf.data` pipeline of (images, labels)
    batches); return the feature vectors and the labels. Training a head on these for many
    epochs costs one pass of the trunk instead of one per epoch (only without augmentation:
    the images must not change between epochs). One pass over `data` gives both, so a
    pipeline that reshuffles every epoch keeps each vector with its label."""
    extractor = _extractor(base, preprocess)
    features, labels = [], []
    for images, batch_labels in data:
        features.append(extractor.predict_on_batch(np.asarray(images)))
        labels.append(keras.ops.convert_to_numpy(batch_labels))
    return np.concatenate(features), np.concatenate(labels)


def add_weight_decay(model: keras.Model, decay: float = 1e-4) -> int:
    """Weight decay as the paper states it (§3.4, §4.2: "a weight decay of 0.0001"), in its
    classic meaning: an L2 term (decay / 2)·‖w‖² on every convolution and dense kernel added
    to the loss, so `decay * w` joins the gradient and flows through the momentum like the
    rest of it. Biases and batch-norm γ/β are left alone. (Keras's `SGD(weight_decay=...)`
    instead shrinks every weight outside the momentum, about 10x weaker at momentum 0.9.)
    Returns the number of kernels decayed. Re-apply after loading a saved model."""
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense):
            layer.kernel.regularizer = keras.regularizers.L2(decay / 2)  # d/dw (d/2)w² = d·w
            count += 1
    return count
