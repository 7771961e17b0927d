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
from typing import NamedTuple

import keras
import numpy as np
import pandas as pd

from reslab import data, models, train


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


def degradation(args: argparse.Namespace) -> pd.DataFrame:
    """Plain and residual nets of each depth, trained alike; returns one row per epoch."""
    (x_train, y_train), (x_test, y_test) = data.fashion_mnist_32(
        args.train_samples, args.test_samples, seed=args.seed
    )
    rows = _finished_rows(args)
    done = {row["model"] for row in rows}
    for depth in args.depths:
        for residual in (False, True):
            name = f"{'ResNet' if residual else 'plain'}-{depth}"
            if name in done:
                print(f"{name}: already in {args.out}.csv")
                continue
            keras.utils.set_random_seed(args.seed)
            if args.layout == "imagenet":  # Table 1's layout, scaled down: Fig. 4 in miniature
                model = models.resnet(
                    depth, input_shape=(32, 32, 1), classes=10, width=args.width, shortcuts=residual
                )
            else:
                build = models.cifar_resnet if residual else models.plain_cifar
                model = build(depth, input_shape=(32, 32, 1), widths=tuple(args.widths))
            history, seconds = fit_recipe(model, (x_train, y_train), (x_test, y_test), args, name)
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


def _finished_rows(args: argparse.Namespace, by: str = "model") -> list[dict]:
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


# --- the paper's CIFAR-10 experiments (§4.2, Table 6) ---------------------------------------

PAPER_ITERATIONS = 64_000
TABLE6 = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}  # test error %, CIFAR-10
# Per profile: iterations, batch, train / validation / test images, filters per stage.
CIFAR_RECIPES = {
    "quick": dict(iterations=12, batch_size=32, train=256, val=64, test=128, widths=(4, 8, 16)),
    "cpu": dict(
        iterations=1000, batch_size=128, train=9000, val=1000, test=2000, widths=(8, 16, 32)
    ),
    "gpu": dict(
        iterations=PAPER_ITERATIONS,
        batch_size=128,
        train=45_000,
        val=5_000,
        test=10_000,
        widths=models.CIFAR_FILTERS,
    ),
}


class CifarData(NamedTuple):
    """Arrays for one run: (images, labels) per split, the per-pixel mean, the data's name."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    mean: np.ndarray
    source: str


def cifar_data(
    profile: str, train: int, val: int, test: int, choice: str = "auto", seed: int = 0
) -> CifarData:
    """Train / validation / test images in [0, 1] with the per-pixel mean of the training
    images subtracted (§4.2). CIFAR-10 where Keras has or can fetch it; with `choice="auto"`
    in the quick and cpu profiles, Fashion-MNIST padded to 32×32 otherwise, announced."""
    try:
        if choice == "fashion":
            raise data.DataNotFoundError("--data fashion")
        (x, y), (x_test, y_test) = data.load_cifar10()
        x, x_test, source = x / np.float32(255), x_test / np.float32(255), "CIFAR-10"
    except data.DataNotFoundError as err:
        if choice == "cifar10" or (profile == "gpu" and choice != "fashion"):
            raise
        why = "as asked" if choice == "fashion" else str(err).splitlines()[0]
        print(
            f"Fashion-MNIST padded to 32x32 stands in for CIFAR-10 ({why}). "
            "Same pipeline; its errors are NOT comparable with Table 6."
        )
        (x, y), (x_test, y_test) = data.load_fashion_mnist()
        x, x_test = data.to_float_images(x, 32), data.to_float_images(x_test, 32)
        source = "Fashion-MNIST (32x32)"
    x, y = data.subsample(x, y, train + val, seed=seed)
    x_test, y_test = data.subsample(x_test, y_test, test, seed=seed)
    mean = x[:train].mean(axis=0)  # per pixel and channel, training images only
    return CifarData(
        (x[:train] - mean, y[:train]),
        (x[train:] - mean, y[train:]),
        (x_test - mean, y_test),
        mean,
        source,
    )


def cifar(args: argparse.Namespace) -> pd.DataFrame:
    """Train one CIFAR net with the paper's recipe; resume from its checkpoint if there is one."""
    recipe = dict(CIFAR_RECIPES[args.profile])
    recipe.update({k: v for k, v in vars(args).items() if k in recipe and v is not None})
    args.recipe = {**recipe, "widths": list(recipe["widths"])}  # a resumed run must match it
    kind = (
        f"plain{args.depth}" if args.plain else f"resnet{args.depth}_{args.shortcut}_{args.version}"
    )
    out = Path(args.out) / kind
    checkpoint = Path(args.out) / "checkpoints" / f"{kind}.keras"
    (x_train, y_train), validation, (x_test, y_test), _, source = cifar_data(
        args.profile, recipe["train"], recipe["val"], recipe["test"], args.data, args.seed
    )
    steps_per_epoch = -(-len(x_train) // recipe["batch_size"])
    iterations = recipe["iterations"]
    epochs = -(-iterations // steps_per_epoch)
    if args.warmup is not None:
        warmup = args.warmup
    else:  # the paper's rule: ResNet-110 and deeper only, ~400 of 64k iterations, scaled
        warmup = round(400 * iterations / PAPER_ITERATIONS) if args.depth >= 110 else 0
    schedule = step_schedule(0.1, iterations, warmup_steps=warmup)
    if iterations != PAPER_ITERATIONS:
        print(
            f"profile {args.profile}: {iterations:,} iterations instead of the paper's "
            f"{PAPER_ITERATIONS:,}; learning rate 0.1, divided by 10 at {round(iterations / 2):,} "
            f"and {round(iterations * 3 / 4):,}"
            + (f", warm-up at 0.01 for {warmup}" if warmup else "")
        )
    args.out = str(out)  # results files: <out>/<kind>.csv and .json
    rows = _finished_rows(args, by="epoch") if checkpoint.exists() else []
    if rows:
        model = keras.models.load_model(checkpoint)
        saved = int(model.optimizer.iterations.numpy())
        rows = [row for row in rows if row["iteration"] <= saved]  # the epochs it had saved
        print(f"{kind}: resuming after epoch {len(rows)} from {checkpoint}")
    else:
        keras.utils.set_random_seed(args.seed)
        shape = x_train.shape[1:]
        model = (
            models.plain_cifar(args.depth, shape, widths=tuple(recipe["widths"]))
            if args.plain
            else models.cifar_resnet(
                args.depth,
                args.shortcut,
                args.version,
                input_shape=shape,
                widths=tuple(recipe["widths"]),
            )
        )
        model.compile(
            optimizer=keras.optimizers.SGD(schedule, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    train.add_weight_decay(model, args.weight_decay)  # not saved with the model: every time
    start, first = time.monotonic(), len(rows)
    last = epochs if args.stop_after is None else min(epochs, first + args.stop_after)
    for epoch in range(first, last):
        rng = np.random.default_rng([args.seed, epoch])  # the same batches on a resumed run
        order = rng.permutation(len(x_train))
        order = order[: (iterations - epoch * steps_per_epoch) * recipe["batch_size"]]  # stop
        augmented = data.pad_crop_flip(x_train[order], rng)  # exactly at `iterations`
        history = model.fit(
            augmented,
            y_train[order],
            batch_size=recipe["batch_size"],
            epochs=epoch + 1,
            initial_epoch=epoch,
            validation_data=validation,
            shuffle=False,
            verbose=0,
        ).history
        step = int(model.optimizer.iterations.numpy())
        rows.append(
            {
                "model": kind,
                "epoch": epoch + 1,
                "iteration": step,
                "learning_rate": float(schedule(step - 1)),
                "loss": history["loss"][0],
                "train_error": 100 * (1 - history["accuracy"][0]),
                "val_error": 100 * (1 - history["val_accuracy"][0]),
            }
        )
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        partial = checkpoint.with_suffix(f".{os.getpid()}.tmp.keras")
        model.save(partial)
        os.replace(partial, checkpoint)  # atomic: never a half-written checkpoint
        save(pd.DataFrame(rows), args)
        done = epoch + 1 - first
        eta = (time.monotonic() - start) / done * (last - epoch - 1)
        r = rows[-1]
        print(
            f"{kind} epoch {epoch + 1}/{epochs} iteration {step:,} lr {r['learning_rate']:g} "
            f"loss {r['loss']:.4f} train error {r['train_error']:.2f} % "
            f"val error {r['val_error']:.2f} % | ETA {eta:.0f} s",
            flush=True,
        )
    table = pd.DataFrame(rows)
    if len(rows) < epochs:
        print(f"{kind}: stopped after epoch {len(rows)} of {epochs}; run again to continue.")
        return table
    test_error = 100 * (1 - model.evaluate(x_test, y_test, verbose=0)[1])
    paper = (
        "plain nets appear only as curves (Fig. 6)"
        if args.plain
        else (
            f"{TABLE6[args.depth]} % on CIFAR-10 after {PAPER_ITERATIONS:,} iterations"
            + (" (best of 5 runs; mean 6.61 ± 0.16)" if args.depth == 110 else "")
            if args.depth in TABLE6
            else "no Table 6 entry for this depth"
        )
    )
    print(
        f"{kind}: test error {test_error:.2f} % on {source} after "
        f"{rows[-1]['iteration']:,} iterations | paper (Table 6): {paper}"
    )
    save(table, args, test_error=test_error, data=source, paper=paper)
    return table


def final_train_error(curve: pd.DataFrame, iterations: int) -> float:
    """Training error % over the last `iterations` iterations of a `cifar` run (its CSV), each
    epoch's running mean weighted by the iterations it covers: a run that stops exactly at
    its iteration count may end with an epoch of a few batches, too few to read alone."""
    weights = curve.iteration.diff().fillna(curve.iteration.iloc[0]).to_numpy()[::-1]
    errors = curve.train_error.to_numpy()[::-1]
    taken = np.clip(iterations - np.concatenate([[0], np.cumsum(weights)[:-1]]), 0, weights)
    return float(np.sum(taken * errors) / np.sum(taken))


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per experiment."""
    main = argparse.ArgumentParser(prog="python -m reslab.experiments", description=__doc__)
    commands = main.add_subparsers(required=True, dest="experiment")
    deg = commands.add_parser("degradation", help="plain vs residual nets of several depths")
    deg.add_argument("--depths", type=int, nargs="+", default=[20, 56])
    deg.add_argument("--widths", type=int, nargs=3, default=list(models.CIFAR_FILTERS))
    deg.add_argument(
        "--layout",
        choices=["cifar", "imagenet"],
        default="cifar",
        help="cifar: the 6n+2 nets of §4.2; imagenet: Table 1's 18/34-layer nets (Fig. 4)",
    )
    deg.add_argument("--width", type=float, default=0.25, help="imagenet layout: filter scale")
    deg.add_argument("--epochs", type=int, default=30)
    deg.add_argument("--train-samples", type=int, default=60_000)
    deg.add_argument("--test-samples", type=int, default=10_000)
    deg.add_argument("--batch-size", type=int, default=128)
    deg.add_argument("--learning-rate", type=float, default=0.1)
    deg.add_argument("--weight-decay", type=float, default=1e-4)
    deg.add_argument("--seed", type=int, default=0)
    deg.add_argument("--out", default="figures/results/02_degradation")
    deg.set_defaults(run=degradation)
    cif = commands.add_parser(
        "cifar", help="one CIFAR-10 net with the paper's recipe (§4.2), against Table 6"
    )
    cif.add_argument("--depth", type=int, default=20, help="6n + 2: 20, 32, 44, 56, 110, ...")
    cif.add_argument("--plain", action="store_true", help="the plain net (no shortcuts)")
    cif.add_argument("--shortcut", choices=["A", "B", "C"], default="A")
    cif.add_argument("--version", choices=["v1", "v2"], default="v1")
    cif.add_argument("--profile", choices=list(CIFAR_RECIPES), default="gpu")
    cif.add_argument("--data", choices=["auto", "cifar10", "fashion"], default="auto")
    for name in ("iterations", "batch_size", "train", "val", "test"):
        cif.add_argument(f"--{name.replace('_', '-')}", type=int, help="overrides the profile")
    cif.add_argument("--widths", type=int, nargs=3, help="filters per stage; overrides the profile")
    cif.add_argument("--weight-decay", type=float, default=1e-4)
    cif.add_argument("--seed", type=int, default=0)
    cif.add_argument(
        "--warmup",
        type=int,
        help="iterations at lr 0.01 before 0.1 (default: the paper's, 400/64k for depth >= 110)",
    )
    cif.add_argument("--stop-after", type=int, help="stop after this many epochs; rerun to go on")
    cif.add_argument("--out", default="figures/results/07_cifar")
    cif.set_defaults(run=cifar)
    from reslab.experiments import successors, transfer  # they import this module's helpers

    transfer.add_commands(commands)
    successors.add_commands(commands)
    return main


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the experiment it names."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    args.argv = argv
    table = args.run(args)
    if args.experiment == "degradation":
        print(final_errors(table).round(2))


def final_errors(table: pd.DataFrame) -> pd.DataFrame:
    """From a `degradation` results table: each finished net's training error (the running
    mean over its last epoch, as Keras logs it), test error and loss (with the L2 term)."""
    last = table[table.epoch == table.epoch.max()].set_index("model")
    return pd.DataFrame(
        {
            "train error %": 100 * (1 - last["accuracy"]),
            "test error %": 100 * (1 - last["val_accuracy"]),
            "loss": last["loss"],
        }
    )


def error_panels(table: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """From a `degradation` results table: the plain nets' and the residual nets' curves, as
    two panels for `plots.error_curves` (the layout of the paper's Fig. 4 and Fig. 6)."""
    panels: dict[str, dict[str, dict]] = {"plain networks": {}, "residual networks": {}}
    for model, rows in table.groupby("model", sort=False):
        panel = "plain networks" if model.startswith("plain") else "residual networks"
        panels[panel][model] = {k: rows[k].to_numpy() for k in ("accuracy", "val_accuracy")}
    return panels
