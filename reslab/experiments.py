"""Longer runs than a notebook's budget, from the command line; each writes a results file.

    python -m reslab.experiments degradation --epochs 30 --out figures/results/02_degradation

trains plain and residual CIFAR nets of each depth on Fashion-MNIST padded to 32×32 with
the same budget (He et al. 2015, Fig. 6 in miniature) and writes `<out>.csv` (one row per
net and epoch) and `<out>.json` (the command, the hardware, the versions). Notebooks plot
these files next to their own short live runs. The code uses Keras only, so it runs on any
Keras backend (`KERAS_BACKEND=jax` on a GPU machine without TensorFlow, say).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import keras
import pandas as pd

from reslab import data, models, train


def step_schedule(
    learning_rate: float, steps: int, boundaries: tuple[float, ...] = (0.5, 0.75)
) -> keras.optimizers.schedules.PiecewiseConstantDecay:
    """The paper's schedule (§4.2): divide by 10 at 32k and 48k of 64k iterations, i.e. at
    50 % and 75 % of training, scaled to `steps`."""
    cuts = [round(f * steps) for f in boundaries]
    values = [learning_rate / 10**i for i in range(len(cuts) + 1)]
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
    return f"CPU, {os.cpu_count()} cores, {platform.processor() or platform.machine()} ({backend})"


def degradation(args: argparse.Namespace) -> pd.DataFrame:
    """Plain and residual nets of each depth, trained alike; returns one row per epoch."""
    (x_train, y_train), (x_test, y_test) = data.fashion_mnist_32(
        args.train_samples, args.test_samples, seed=args.seed
    )
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    rows = _finished_rows(args)
    done = {row["model"] for row in rows}
    for depth in args.depths:
        for residual in (False, True):
            name = f"{'ResNet' if residual else 'plain'}-{depth}"
            if name in done:
                print(f"{name}: already in {args.out}.csv")
                continue
            keras.utils.set_random_seed(args.seed)
            build = models.cifar_resnet if residual else models.plain_cifar
            model = build(depth, input_shape=(32, 32, 1), widths=tuple(args.widths))
            start = time.monotonic()
            history = train.fit_sgd(
                model,
                (x_train, y_train),
                (x_test, y_test),
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=step_schedule(args.learning_rate, steps),
                weight_decay=args.weight_decay,
                callbacks=[EpochLog(name, args.epochs)],
            )
            seconds = time.monotonic() - start
            for epoch in range(args.epochs):
                rows.append(
                    {
                        "model": name,
                        "depth": depth,
                        "residual": residual,
                        "epoch": epoch + 1,
                        **{k: v[epoch] for k, v in history.items()},
                        "seconds": seconds,
                    }
                )
            save(pd.DataFrame(rows), args)  # after each net, so a cut-off run keeps its part
    return pd.DataFrame(rows)


def _finished_rows(args: argparse.Namespace) -> list[dict]:
    """Rows of nets a previous run with the same arguments finished (so a cut-off run
    resumes net by net); nothing if the arguments differ."""
    out = Path(args.out)
    if not out.with_suffix(".csv").exists() or not out.with_suffix(".json").exists():
        return []
    before = json.loads(out.with_suffix(".json").read_text())["arguments"]
    if before != _arguments(args):
        return []
    table = pd.read_csv(out.with_suffix(".csv"))
    counts = table.groupby("model")["epoch"].count()
    finished = counts[counts == args.epochs].index
    return table[table.model.isin(finished)].to_dict("records")


def _arguments(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("run", "argv")}


def save(table: pd.DataFrame, args: argparse.Namespace) -> None:
    """Write `<out>.csv` and `<out>.json` (the command, hardware and versions)."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv.tmp"), index=False, float_format="%.5f")
    os.replace(out.with_suffix(".csv.tmp"), out.with_suffix(".csv"))  # atomic
    meta = {
        "command": "python -m reslab.experiments " + shlex.join(args.argv),
        "hardware": hardware(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
        "arguments": _arguments(args),
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per experiment."""
    main = argparse.ArgumentParser(prog="python -m reslab.experiments", description=__doc__)
    commands = main.add_subparsers(required=True, dest="experiment")
    deg = commands.add_parser("degradation", help="plain vs residual nets of several depths")
    deg.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    deg.add_argument("--widths", type=int, nargs=3, default=list(models.CIFAR_FILTERS))
    deg.add_argument("--epochs", type=int, default=30)
    deg.add_argument("--train-samples", type=int, default=60_000)
    deg.add_argument("--test-samples", type=int, default=10_000)
    deg.add_argument("--batch-size", type=int, default=128)
    deg.add_argument("--learning-rate", type=float, default=0.1)
    deg.add_argument("--weight-decay", type=float, default=1e-4)
    deg.add_argument("--seed", type=int, default=0)
    deg.add_argument("--out", default="figures/results/02_degradation")
    deg.set_defaults(run=degradation)
    return main


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the experiment it names."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    args.argv = argv
    table = args.run(args)
    last = table[table.epoch == table.epoch.max()].set_index("model")
    errors = 100 * (1 - last[["accuracy", "val_accuracy"]])
    print(errors.rename(columns={"accuracy": "train error %", "val_accuracy": "test error %"}))


if __name__ == "__main__":
    main()
