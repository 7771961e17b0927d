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
import sys

from reslab.experiments import cifar, degradation, successors, transfer
from reslab.experiments.cifar import (
    CIFAR_RECIPES,
    TABLE6,
    cifar_data,
    curves_by_kind,
    final_train_error,
    read_runs,
    run_summary,
)
from reslab.experiments.degradation import error_panels, final_errors
from reslab.experiments.runs import step_schedule

__all__ = [
    "CIFAR_RECIPES",
    "TABLE6",
    "cifar_data",
    "curves_by_kind",
    "error_panels",
    "final_errors",
    "final_train_error",
    "main",
    "parser",
    "read_runs",
    "run_summary",
    "step_schedule",
]


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per experiment, each defined in its module."""
    main = argparse.ArgumentParser(prog="python -m reslab.experiments", description=__doc__)
    commands = main.add_subparsers(required=True, dest="experiment")
    for module in (degradation, cifar, transfer, successors):
        module.add_commands(commands)
    return main


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the experiment it names."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    args.argv = argv
    table = args.run(args)
    if args.experiment == "degradation":
        print(final_errors(table).round(2))
