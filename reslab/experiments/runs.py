"""What every runner shares: the paper's step schedule, one line per epoch, fitting with the
recipe, resuming a cut-off run and writing its results files (`<out>.csv` and `<out>.json`
with the command, hardware and versions)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import time
from pathlib import Path

import keras
import pandas as pd

from reslab import train


def step_schedule(
    learning_rate: float,
    steps: int,
    boundaries: tuple[float, ...] = (0.5, 0.75),
    warmup_steps: int = 0,
    warmup_rate: float = 0.01,
) -> keras.optimizers.schedules.PiecewiseConstantDecay:
    """The paper's schedule (§4.2): divide by 10 at 32k and 48k of 64k iterations, i.e. at
    50 % and 75 % of training, scaled to `steps`. With `warmup_steps`, start at
    `warmup_rate` instead (the paper warms ResNet-110 up at 0.01 for about 400 iterations,
    until the training error is below 80 %, then goes back to 0.1)."""
    cuts = [round(f * steps) for f in boundaries]
    values = [learning_rate / 10**i for i in range(len(cuts) + 1)]
    if warmup_steps:
        cuts, values = [warmup_steps, *cuts], [warmup_rate, *values]
    return keras.optimizers.schedules.PiecewiseConstantDecay(cuts, values)


class EpochLog(keras.callbacks.Callback):
    """One line per epoch with the metrics and an estimate of the time left."""

    def __init__(self, name: str, epochs: int):
        super().__init__()
        self.name, self.epochs = name, epochs

    def on_train_begin(self, logs=None) -> None:
        self.start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        done = epoch + 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / done * (self.epochs - done)
        metrics = " ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())
        print(f"{self.name} epoch {done}/{self.epochs} {metrics} | ETA {eta:.0f} s", flush=True)


def hardware() -> str:
    """The device Keras trains on, in words."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform.upper()} {getattr(device, 'device_kind', '')} (jax)".strip()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return f"GPU x{len(gpus)} (tensorflow)"
    return f"CPU, {os.cpu_count()} cores, {_cpu_name()} ({backend})"


def _cpu_name() -> str:
    """The processor's model name where Linux tells it, else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {platform.machine()}"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fit_recipe(
    model: keras.Model, train_data: tuple, test_data: tuple, args: argparse.Namespace, name: str
) -> tuple[dict[str, list[float]], float]:
    """Train with SGD, the step schedule and weight decay of `args` (epochs, batch size,
    learning rate, weight decay), logging each epoch; return the history and the seconds."""
    steps = args.epochs * -(-len(train_data[0]) // args.batch_size)
    start = time.monotonic()
    history = train.fit_sgd(
        model,
        train_data,
        test_data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=step_schedule(args.learning_rate, steps),
        weight_decay=args.weight_decay,
        callbacks=[EpochLog(name, args.epochs)],
    )
    return history, time.monotonic() - start


def save_checkpoint(model: keras.Model, checkpoint: Path) -> None:
    """Save atomically: a run cut off mid-save never leaves a half-written checkpoint."""
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    partial = checkpoint.with_suffix(f".{os.getpid()}.tmp.keras")
    model.save(partial)
    os.replace(partial, checkpoint)


def finished_rows(args: argparse.Namespace, by: str = "model") -> list[dict]:
    """Rows a previous run with the same arguments wrote: by "model", those of nets it
    finished (a cut-off run resumes net by net); by "run", those of the (kind, seed) pairs it
    finished; by "epoch", all of them (it resumes epoch by
    epoch from its checkpoint). Nothing if the arguments differ."""
    out = Path(args.out)
    if not out.with_suffix(".csv").exists() or not out.with_suffix(".json").exists():
        return []
    before = json.loads(out.with_suffix(".json").read_text())["arguments"]
    if before != _arguments(args):
        return []
    table = pd.read_csv(out.with_suffix(".csv"))
    if by == "epoch":
        return table.to_dict("records")
    if by == "run":  # one net per (kind, seed); a finished one has all its epochs
        counts = table.groupby(["kind", "seed"])["epoch"].transform("count")
        return table[counts == args.epochs].to_dict("records")
    counts = table.groupby("model")["epoch"].count()
    finished = counts[counts == args.epochs].index
    return table[table.model.isin(finished)].to_dict("records")


def _arguments(args: argparse.Namespace) -> dict:
    """What defines a run (a resumed run must match it): not how long this sitting lasts."""
    return {k: v for k, v in vars(args).items() if k not in ("run", "argv", "stop_after")}


def _backend_version() -> str:
    """The version of the library Keras runs on (TensorFlow, JAX or PyTorch)."""
    import importlib

    backend = importlib.import_module(keras.backend.backend())  # the module has its name
    return getattr(backend, "__version__", "unknown")


def save(table: pd.DataFrame, args: argparse.Namespace, **results) -> None:
    """Write `<out>.csv` and `<out>.json` (the command, hardware, versions and `results`)."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv.tmp"), index=False, float_format="%.5f")
    os.replace(out.with_suffix(".csv.tmp"), out.with_suffix(".csv"))  # atomic
    meta = {
        "command": "python -m reslab.experiments " + shlex.join(args.argv),
        "hardware": hardware(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "backend_version": _backend_version(),
        "python": platform.python_version(),
        "arguments": _arguments(args),
        **results,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
