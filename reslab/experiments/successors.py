"""The networks that came after ResNet, side by side at one small budget (notebook 11).

    python -m reslab.experiments successors --out figures/results/11_successors

trains each network of `variants.KINDS` with the same data, epochs, schedule and seeds, and
writes one row per network, seed and epoch, with its parameters and multiply-adds. The
seed-0 weights of the plain net and the ResNet are kept (`<out>_<kind>.weights.h5`) for the
lesion study of Veit et al. 2016, which notebook 11 runs on them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import pandas as pd

from reslab import data, flops, variants
from reslab.experiments.runs import finished_rows, fit_recipe, save

KEPT = ("plain", "resnet")  # their seed-0 weights are kept for the lesion study


def weights_path(out: str | Path, kind: str) -> Path:
    """Where a run keeps the trained weights of `kind` (seed 0)."""
    return Path(f"{out}_{kind}.weights.h5")


def successors(args: argparse.Namespace) -> pd.DataFrame:
    """Every kind for every seed; a cut-off run resumes network by network."""
    (x_train, y_train), (x_test, y_test) = data.fashion_mnist_32(
        args.train_samples, args.test_samples, seed=0
    )
    rows = finished_rows(args, by="run")
    done = {(row["kind"], row["seed"]) for row in rows}
    for seed in args.seeds:
        for kind in args.kinds:
            if (kind, seed) in done:
                print(f"{kind}, seed {seed}: already in {args.out}.csv")
                continue
            keras.utils.set_random_seed(seed)
            model = variants.variant(kind, input_shape=(32, 32, 1), n=args.blocks)
            params, mult_adds = model.count_params(), flops.multiply_adds(model)
            name = f"{kind} (seed {seed})"
            history, seconds = fit_recipe(model, (x_train, y_train), (x_test, y_test), args, name)
            if seed == args.seeds[0] and kind in KEPT:
                model.save_weights(weights_path(args.out, kind))
            for epoch in range(args.epochs):
                rows.append(
                    {
                        "kind": kind,
                        "seed": seed,
                        "epoch": epoch + 1,
                        **{k: v[epoch] for k, v in history.items()},
                        "params": params,
                        "mult_adds": mult_adds,
                        "seconds": seconds,
                    }
                )
            save(pd.DataFrame(rows), args)  # after each net, so a cut-off run keeps its part
    return pd.DataFrame(rows)


def add_commands(commands) -> None:
    """Register this module's runner with the command line of `reslab.experiments`."""
    run = commands.add_parser(
        "successors", help="highway, wide, ResNeXt, SE, stochastic depth, DenseNet vs ResNet"
    )
    run.add_argument("--kinds", nargs="+", choices=variants.KINDS, default=list(variants.KINDS))
    run.add_argument("--blocks", type=int, default=3, help="blocks per stage (3: 20 layers)")
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    run.add_argument("--epochs", type=int, default=4)
    run.add_argument("--train-samples", type=int, default=4000)
    run.add_argument("--test-samples", type=int, default=2000)
    run.add_argument("--batch-size", type=int, default=64)
    run.add_argument("--learning-rate", type=float, default=0.05)
    run.add_argument("--weight-decay", type=float, default=1e-4)
    run.add_argument("--out", default="figures/results/11_successors")
    run.set_defaults(run=successors)


def final_errors(table: pd.DataFrame) -> pd.DataFrame:
    """One row per network and seed: errors % after the last epoch (training error as Keras
    logs it, the running mean over that epoch), parameters, multiply-adds, seconds."""
    last = table[table.epoch == table.epoch.max()]
    return pd.DataFrame(
        {
            "kind": last["kind"],
            "seed": last["seed"],
            "train error %": 100 * (1 - last["accuracy"]),
            "test error %": 100 * (1 - last["val_accuracy"]),
            "params": last["params"],
            "mult_adds": last["mult_adds"],
            "seconds": last["seconds"],
        }
    ).reset_index(drop=True)


def summary(final: pd.DataFrame) -> pd.DataFrame:
    """Per network: mean and standard deviation over seeds of `final_errors` (not the
    seconds: they were measured on a shared machine; timings belong in benchmarks/)."""
    by = final.groupby("kind", sort=False)
    return pd.DataFrame(
        {
            "params (M)": by["params"].first() / 1e6,
            "mult-adds (M)": by["mult_adds"].first() / 1e6,
            "test error % (mean)": by["test error %"].mean(),
            "test error % (std)": by["test error %"].std(),
            "train error % (mean)": by["train error %"].mean(),
            "seeds": by["seed"].count(),
        }
    )
