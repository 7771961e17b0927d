"""Transfer learning that runs offline (notebooks 08 and 09).

    python -m reslab.experiments pretrain --out figures/results/08_source

pretrains the course's source model: ResNet-50's topology and layer names (He et al. 2015,
Table 1) at a quarter of its width, on the five Fashion-MNIST classes of
`data.SOURCE_CLASSES`. Its trunk then transfers to the five classes it never saw
(`data.TARGET_CLASSES`), as Keras's ImageNet ResNet-50 transfers to your photos.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from reslab import data, train, weights
from reslab.experiments.runs import finished_rows, save, save_checkpoint

SOURCE_DIR = Path("figures/results/08_source")


def pretrain(args: argparse.Namespace) -> pd.DataFrame:
    """Train the source model epoch by epoch, checkpointing after each (a cut-off run
    resumes where it stopped); at the end write the trunk's weights."""
    out = Path(args.out)
    checkpoint = out / "checkpoint.keras"
    args.out = str(out / "pretrain")  # results files: <out>/pretrain.csv and .json
    x, y = data.fashion_classes(data.SOURCE_CLASSES, "train")
    x_val, y_val = data.fashion_classes(data.SOURCE_CLASSES, "test")
    if args.train_samples:
        x, y = data.subsample(x, y, args.train_samples, args.seed)
    steps_per_epoch = -(-len(x) // args.batch_size)
    rows = finished_rows(args, by="epoch") if checkpoint.exists() else []
    if rows:
        model = keras.models.load_model(checkpoint)
        print(f"pretrain: resuming after epoch {len(rows)} from {checkpoint}")
    else:
        keras.utils.set_random_seed(args.seed)
        trunk = weights.resnet50_trunk(args.image_size, args.width)
        model, _ = train.classifier(trunk, len(data.SOURCE_CLASSES), args.image_size, dropout=0)
        schedule = train.warmup_cosine(
            args.learning_rate, args.epochs * steps_per_epoch, warmup_fraction=0.05
        )
        model.compile(
            optimizer=keras.optimizers.SGD(schedule, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    trunk = model.get_layer(f"resnet50_w{args.width:g}")
    train.add_weight_decay(trunk, args.weight_decay)  # not saved with the model: every time
    validation = data.rgb_pipeline(x_val, y_val, args.image_size, 256)
    start, first = time.monotonic(), len(rows)
    last = args.epochs if args.stop_after is None else min(args.epochs, first + args.stop_after)
    for epoch in range(first, last):
        batches = data.rgb_pipeline(x, y, args.image_size, args.batch_size, True, args.seed + epoch)
        history = model.fit(
            batches,
            epochs=epoch + 1,
            initial_epoch=epoch,
            validation_data=validation,
            shuffle=False,  # the pipeline reshuffles itself every epoch
            verbose=0,
        ).history
        rows.append(
            {
                "epoch": epoch + 1,
                "iteration": int(model.optimizer.iterations.numpy()),
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
            f"pretrain epoch {epoch + 1}/{args.epochs} loss {r['loss']:.4f} train error "
            f"{r['train_error']:.2f} % val error {r['val_error']:.2f} % | ETA {eta:.0f} s",
            flush=True,
        )
    table = pd.DataFrame(rows)
    if len(rows) < args.epochs:
        print(f"pretrain: stopped after epoch {len(rows)} of {args.epochs}; run again to go on.")
        return table
    weights_file = out / source_weights_name(args.width, args.image_size)
    partial = weights_file.with_suffix(f".{os.getpid()}.tmp.weights.h5")
    trunk.save_weights(partial)
    os.replace(partial, weights_file)
    save(
        table,
        args,
        val_error=rows[-1]["val_error"],
        trunk_parameters=trunk.count_params(),
        weights_file=weights_file.name,
        source_classes=[data.FASHION_CLASSES[c] for c in data.SOURCE_CLASSES],
    )
    return table


def source_weights_name(width: float, image_size: int) -> str:
    """The file name of a pretrained trunk's weights."""
    return f"resnet50_w{width:g}_fashion5_{image_size}px.weights.h5"


def add_commands(commands) -> None:
    """Register this module's runners with the command line of `reslab.experiments`."""
    pre = commands.add_parser(
        "pretrain", help="the course's source model: ResNet-50 at reduced width, 5 classes"
    )
    pre.add_argument("--width", type=float, default=0.25)
    pre.add_argument("--image-size", type=int, default=96)
    pre.add_argument("--epochs", type=int, default=8)
    pre.add_argument("--train-samples", type=int, help="a class-balanced subset (default: all)")
    pre.add_argument("--batch-size", type=int, default=128)
    pre.add_argument("--learning-rate", type=float, default=0.1)
    pre.add_argument("--weight-decay", type=float, default=1e-4)
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--stop-after", type=int, help="stop after this many epochs; rerun to go on")
    pre.add_argument("--out", default=str(SOURCE_DIR))
    pre.set_defaults(run=pretrain)
    cur = commands.add_parser(
        "transfer", help="target-task accuracy vs labelled images per class, scratch vs transfer"
    )
    cur.add_argument("--per-class", type=int, nargs="+", default=[5, 10, 20, 50, 100])
    cur.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    cur.add_argument("--test-per-class", type=int, default=200)
    cur.add_argument("--width", type=float, default=0.25)
    cur.add_argument("--image-size", type=int, default=96)
    cur.add_argument("--steps", type=int, default=300, help="updates for scratch and head")
    cur.add_argument("--tune-steps", type=int, default=100, help="updates in phase 2")
    cur.add_argument("--batch-size", type=int, default=32)
    cur.add_argument("--learning-rate", type=float, default=1e-3)
    cur.add_argument("--tune-learning-rate", type=float, default=1e-4)
    cur.add_argument("--out", default="figures/results/08_transfer")
    cur.set_defaults(run=transfer_curve)


# --- accuracy against labelled images per class: from scratch vs transfer ----------------------

METHODS = ("from scratch", "frozen trunk + new head", "two-phase fine-tuning")


def _reset(model: keras.Model, weights: list) -> None:
    """Put `model` back to `weights` with a fresh optimizer state, keeping its compiled
    (traced) training step: one trace per method instead of one per run."""
    model.set_weights(weights)
    for variable in model.optimizer.variables:  # the step count and the moments, not the rate
        if variable.name != "learning_rate":
            variable.assign(keras.ops.zeros(variable.shape, variable.dtype))


def _fit_steps(model: keras.Model, x, y, steps: int, batch_size: int, seed: int) -> None:
    """Train for `steps` updates (whole epochs over x, rounded up), shuffled by `seed`."""
    per_epoch = -(-len(x) // batch_size)
    keras.utils.set_random_seed(seed)
    model.fit(x, y, batch_size=batch_size, epochs=-(-steps // per_epoch), verbose=0)


def transfer_curve(args: argparse.Namespace) -> pd.DataFrame:
    """Target-task test accuracy of the three ways to use the source model (and of training
    from scratch), for each number of labelled images per class and each seed. Resumes
    from the rows a cut-off run with the same arguments wrote."""
    rows = finished_rows(args, by="epoch")
    done = {(r["per_class"], r["seed"]) for r in rows}
    size = args.image_size
    x_test, y_test = data.fashion_classes(data.TARGET_CLASSES, "test", args.test_per_class)
    x_test = _rgb(x_test, size)
    pretrained = weights.course_resnet50(size)
    classes = len(data.TARGET_CLASSES)

    scratch, _ = train.classifier(weights.resnet50_trunk(size, args.width), classes, size)
    train.compile_adam(scratch, args.learning_rate)
    tuned, head = train.classifier(pretrained, classes, size)
    train.compile_adam(head, args.learning_rate)
    train.set_trainable(pretrained, ("conv5_",))
    train.compile_adam(tuned, args.tune_learning_rate)
    trunk_weights = pretrained.get_weights()
    test_features = train.trunk_features(pretrained, _batches(x_test, y_test))[0]

    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        scratch_init, _ = train.classifier(weights.resnet50_trunk(size, args.width), classes, size)
        scratch_init = scratch_init.get_weights()
        _, head_init = train.classifier(weights.resnet50_trunk(size, args.width), classes, size)
        head_init = head_init.get_weights()
        for n in args.per_class:
            if (n, seed) in done:
                continue
            x, y = data.fashion_classes(data.TARGET_CLASSES, "train", n, seed)
            x = _rgb(x, size)
            start = time.monotonic()
            accuracy = {}
            _reset(scratch, scratch_init)
            _fit_steps(scratch, x, y, args.steps, args.batch_size, seed)
            accuracy[METHODS[0]] = scratch.evaluate(x_test, y_test, verbose=0)[1]
            pretrained.set_weights(trunk_weights)
            features = train.trunk_features(pretrained, _batches(x, y))[0]
            _reset(head, head_init)
            _fit_steps(head, features, y, args.steps, args.batch_size, seed)
            accuracy[METHODS[1]] = head.evaluate(test_features, y_test, verbose=0)[1]
            phase1 = tuned.get_weights()  # the trunk as pretrained, the head just trained
            _reset(tuned, phase1)
            _fit_steps(tuned, x, y, args.tune_steps, args.batch_size, seed)
            accuracy[METHODS[2]] = tuned.evaluate(x_test, y_test, verbose=0)[1]
            seconds = time.monotonic() - start
            for method, value in accuracy.items():
                rows.append(
                    {
                        "per_class": n,
                        "seed": seed,
                        "method": method,
                        "accuracy": value,
                        "seconds": seconds,
                    }
                )
            print(
                f"transfer {n} per class, seed {seed}: "
                + " | ".join(f"{m} {100 * a:.1f} %" for m, a in accuracy.items())
                + f" ({seconds:.0f} s)",
                flush=True,
            )
            save(pd.DataFrame(rows), args)
    table = pd.DataFrame(rows)
    save(table, args, test_images=len(x_test), source=weights.COURSE_WEIGHTS.name)
    return table


def _rgb(x, size: int):
    """uint8 28×28 grayscale -> float32 0–255 RGB at `size` (what the folder pipeline gives)."""
    return np.concatenate([batch for batch, _ in data.rgb_pipeline(x, np.zeros(len(x)), size, 256)])


def _batches(x, y):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).batch(256)
