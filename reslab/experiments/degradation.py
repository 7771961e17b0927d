"""Plain against residual nets of several depths, trained alike on Fashion-MNIST padded to
32×32: the degradation problem (He et al. 2015, Fig. 1, Fig. 4 and Fig. 6) in miniature."""

from __future__ import annotations

import argparse

import keras
import pandas as pd

from reslab import data, models
from reslab.experiments.runs import finished_rows, fit_recipe, save


def degradation(args: argparse.Namespace) -> pd.DataFrame:
    """Plain and residual nets of each depth, trained alike; returns one row per epoch."""
    (x_train, y_train), (x_test, y_test) = data.fashion_mnist_32(
        args.train_samples, args.test_samples, seed=args.seed
    )
    rows = finished_rows(args)
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


def add_commands(commands) -> None:
    """The `degradation` sub-command."""
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
