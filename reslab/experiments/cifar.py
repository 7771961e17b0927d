"""One CIFAR-10 net trained with the paper's recipe (He et al. 2015, §4.2), resumable epoch
by epoch, against Table 6."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import pandas as pd

from reslab import data, models, train
from reslab.experiments.runs import finished_rows, save, save_checkpoint, step_schedule

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


class Plan(NamedTuple):
    """How long one run trains, and at which learning rates."""

    iterations: int
    batch_size: int
    steps_per_epoch: int
    epochs: int
    warmup: int
    schedule: keras.optimizers.schedules.LearningRateSchedule


def cifar(args: argparse.Namespace) -> pd.DataFrame:
    """Train one CIFAR net with the paper's recipe; resume from its checkpoint if there is one."""
    recipe = _recipe(args)
    kind = (
        f"plain{args.depth}" if args.plain else f"resnet{args.depth}_{args.shortcut}_{args.version}"
    )
    checkpoint = Path(args.out) / "checkpoints" / f"{kind}.keras"
    split = cifar_data(
        args.profile, recipe["train"], recipe["val"], recipe["test"], args.data, args.seed
    )
    plan = _plan(args, recipe, len(split.train[0]))
    args.out = str(Path(args.out) / kind)  # results files: <out>/<kind>.csv and .json
    model, rows = _resume_or_build(args, kind, checkpoint, plan, recipe, split.train[0].shape[1:])
    train.add_weight_decay(model, args.weight_decay)  # not saved with the model: every time
    rows = _train_epochs(model, rows, split, plan, args, kind, checkpoint)
    table = pd.DataFrame(rows)
    if len(rows) < plan.epochs:
        print(f"{kind}: stopped after epoch {len(rows)} of {plan.epochs}; run again to continue.")
        return table
    _against_table6(model, table, split, args, kind)
    return table


def _recipe(args: argparse.Namespace) -> dict:
    """The profile's recipe with the command line's overrides; recorded in `args` too, since
    a resumed run must match it."""
    recipe = dict(CIFAR_RECIPES[args.profile])
    recipe.update({k: v for k, v in vars(args).items() if k in recipe and v is not None})
    args.recipe = {**recipe, "widths": list(recipe["widths"])}
    return recipe


def _plan(args: argparse.Namespace, recipe: dict, train_images: int) -> Plan:
    """Iterations, epochs and the schedule: the paper's, scaled to the recipe's iterations."""
    steps_per_epoch = -(-train_images // recipe["batch_size"])
    iterations = recipe["iterations"]
    if args.warmup is not None:
        warmup = args.warmup
    else:  # the paper's rule: ResNet-110 and deeper only, ~400 of 64k iterations, scaled
        warmup = round(400 * iterations / PAPER_ITERATIONS) if args.depth >= 110 else 0
    if iterations != PAPER_ITERATIONS:
        print(
            f"profile {args.profile}: {iterations:,} iterations instead of the paper's "
            f"{PAPER_ITERATIONS:,}; learning rate 0.1, divided by 10 at {round(iterations / 2):,} "
            f"and {round(iterations * 3 / 4):,}"
            + (f", warm-up at 0.01 for {warmup}" if warmup else "")
        )
    return Plan(
        iterations,
        recipe["batch_size"],
        steps_per_epoch,
        -(-iterations // steps_per_epoch),
        warmup,
        step_schedule(0.1, iterations, warmup_steps=warmup),
    )


def _resume_or_build(
    args: argparse.Namespace, kind: str, checkpoint: Path, plan: Plan, recipe: dict, shape
) -> tuple[keras.Model, list[dict]]:
    """The checkpointed model and the rows of the epochs it saved, or a new compiled model."""
    rows = finished_rows(args, by="epoch") if checkpoint.exists() else []
    if rows:
        model = keras.models.load_model(checkpoint)
        saved = int(model.optimizer.iterations.numpy())
        rows = [row for row in rows if row["iteration"] <= saved]  # the epochs it had saved
        print(f"{kind}: resuming after epoch {len(rows)} from {checkpoint}")
        return model, rows
    keras.utils.set_random_seed(args.seed)
    widths = tuple(recipe["widths"])
    if args.plain:
        model = models.plain_cifar(args.depth, shape, widths=widths)
    else:
        model = models.cifar_resnet(
            args.depth, args.shortcut, args.version, input_shape=shape, widths=widths
        )
    model.compile(
        optimizer=keras.optimizers.SGD(plan.schedule, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model, []


def _train_epochs(
    model: keras.Model,
    rows: list[dict],
    split: CifarData,
    plan: Plan,
    args: argparse.Namespace,
    kind: str,
    checkpoint: Path,
) -> list[dict]:
    """Train epoch by epoch from where `rows` ends, checkpointing and logging each epoch."""
    (x_train, y_train) = split.train
    start, first = time.monotonic(), len(rows)
    last = plan.epochs if args.stop_after is None else min(plan.epochs, first + args.stop_after)
    for epoch in range(first, last):
        rng = np.random.default_rng([args.seed, epoch])  # the same batches on a resumed run
        order = rng.permutation(len(x_train))
        order = order[: (plan.iterations - epoch * plan.steps_per_epoch) * plan.batch_size]
        augmented = data.pad_crop_flip(x_train[order], rng)  # stops exactly at `iterations`
        history = model.fit(
            augmented,
            y_train[order],
            batch_size=plan.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            validation_data=split.val,
            shuffle=False,
            verbose=0,
        ).history
        step = int(model.optimizer.iterations.numpy())
        rows.append(
            {
                "model": kind,
                "epoch": epoch + 1,
                "iteration": step,
                "learning_rate": float(plan.schedule(step - 1)),
                "loss": history["loss"][0],
                "train_error": 100 * (1 - history["accuracy"][0]),
                "val_error": 100 * (1 - history["val_accuracy"][0]),
            }
        )
        save_checkpoint(model, checkpoint)
        save(pd.DataFrame(rows), args)
        eta = (time.monotonic() - start) / (epoch + 1 - first) * (last - epoch - 1)
        r = rows[-1]
        print(
            f"{kind} epoch {epoch + 1}/{plan.epochs} iteration {step:,} "
            f"lr {r['learning_rate']:g} loss {r['loss']:.4f} "
            f"train error {r['train_error']:.2f} % val error {r['val_error']:.2f} % "
            f"| ETA {eta:.0f} s",
            flush=True,
        )
    return rows


def _against_table6(
    model: keras.Model, table: pd.DataFrame, split: CifarData, args: argparse.Namespace, kind: str
) -> None:
    """The test error, printed next to the paper's Table 6 and saved with the results."""
    x_test, y_test = split.test
    test_error = 100 * (1 - model.evaluate(x_test, y_test, verbose=0)[1])
    if args.plain:
        paper = "plain nets appear only as curves (Fig. 6)"
    elif args.depth in TABLE6:
        paper = f"{TABLE6[args.depth]} % on CIFAR-10 after {PAPER_ITERATIONS:,} iterations" + (
            " (best of 5 runs; mean 6.61 ± 0.16)" if args.depth == 110 else ""
        )
    else:
        paper = "no Table 6 entry for this depth"
    print(
        f"{kind}: test error {test_error:.2f} % on {split.source} after "
        f"{table.iteration.iloc[-1]:,} iterations | paper (Table 6): {paper}"
    )
    save(table, args, test_error=test_error, data=split.source, paper=paper)


def final_train_error(curve: pd.DataFrame, iterations: int) -> float:
    """Training error % over the last `iterations` iterations of a `cifar` run (its CSV), each
    epoch's running mean weighted by the iterations it covers: a run that stops exactly at
    its iteration count may end with an epoch of a few batches, too few to read alone."""
    weights = curve.iteration.diff().fillna(curve.iteration.iloc[0]).to_numpy()[::-1]
    errors = curve.train_error.to_numpy()[::-1]
    taken = np.clip(iterations - np.concatenate([[0], np.cumsum(weights)[:-1]]), 0, weights)
    return float(np.sum(taken * errors) / np.sum(taken))


def read_runs(folder: str | Path, finished: bool = False) -> tuple[pd.DataFrame, dict]:
    """Every run's curve (its CSV, one row per epoch) and record (its JSON: command, hardware,
    recipe, test error) in a `cifar` results folder. `finished=True` leaves out runs that
    have no test error yet (cut off; run the command again), and says which."""
    folder = Path(folder)
    paths = sorted(folder.glob("*.csv"))
    if not paths:
        raise FileNotFoundError(
            f"No results in {folder}: run `python -m reslab.experiments cifar ... --out "
            f"{folder}` first (notebook 07 lists the commands)."
        )
    curves = pd.concat([pd.read_csv(path) for path in paths])
    records = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    if finished:
        unfinished = [name for name, record in records.items() if "test_error" not in record]
        if unfinished:
            print("not finished yet (left out):", ", ".join(unfinished))
        records = {name: r for name, r in records.items() if name not in unfinished}
        curves = curves[curves.model.isin(list(records))]
    return curves, records


def run_summary(run: pd.DataFrame, record: dict, window: int) -> dict[str, float]:
    """One net's numbers: training error after epoch 1 and over the last `window`
    iterations, final validation error, test error."""
    return {
        "train error % after epoch 1": run.train_error.iloc[0],
        f"train error % (last {window} it.)": final_train_error(run, window),
        "val error %": run.val_error.iloc[-1],
        "test error %": record["test_error"],
    }


def curves_by_kind(curves: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """Fig. 6's layout for `plots.error_curves`: plain nets in one panel, ResNets in the
    other. A run stops exactly at its iteration count, so its last "epoch" may be a few
    batches: too few for a training error worth drawing (its validation error is fine)."""
    panels: dict[str, dict[str, dict]] = {"plain": {}, "ResNet": {}}
    for name, run in curves.groupby("model", sort=False):
        kind = "plain" if name.startswith("plain") else "ResNet"
        depth = int("".join(ch for ch in name.split("_")[0] if ch.isdigit()))
        covered = run.iteration.diff().fillna(run.iteration.iloc[0])
        full = (covered >= covered.max() / 2).to_numpy()
        panels[kind][f"{kind}-{depth}"] = {
            "accuracy": 1 - run.train_error.to_numpy()[full] / 100,
            "step": run.iteration.to_numpy()[full],
            "val_accuracy": 1 - run.val_error.to_numpy() / 100,
            "val_step": run.iteration.to_numpy(),
        }
    return panels


def add_commands(commands) -> None:
    """The `cifar` sub-command."""
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
