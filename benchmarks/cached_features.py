"""Phase 1 of fine-tuning (frozen ResNet-50 trunk, train the head) two ways, side by side:
running the frozen trunk on every batch of every epoch, against running it once and training
the head on the cached features (reslab.train.trunk_features). Same head, same starting
weights, same data, no augmentation (with augmentation the images change every epoch, and
caching is not possible).

    .venv/bin/python benchmarks/cached_features.py [--per-class 200] [--image-size 96] \
        [--epochs 20] [--repeats 3]

The trunk is the one notebook 08 fine-tunes (`weights.pretrained_trunk`): Keras's ImageNet
ResNet-50 when its weights are in Keras's cache, else the course's pretrained source model,
on the five Fashion-MNIST classes it never saw; the output says which. Both methods are
traced once before timing; each is then timed `--repeats` times from the same starting
weights, and the medians are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from reslab import data, train, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    trunk = weights.pretrained_trunk("cpu", args.image_size)
    trunk.model.trainable = False
    keras.utils.set_random_seed(0)
    model, head = train.classifier(trunk.model, len(data.TARGET_CLASSES), args.image_size)
    start_weights = model.get_weights()
    for net in (model, head):
        net.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = data.fashion_mnist_folder(
            Path(tmp) / "fm", args.per_class, size=64, classes=data.TARGET_CLASSES
        )
        train_ds, val_ds, _ = data.image_folder(
            root, args.image_size, args.batch, work_dir=Path(tmp) / "w"
        )

        def every_epoch(epochs: int) -> float:
            model.set_weights(start_weights)
            history = model.fit(
                train_ds, validation_data=val_ds, epochs=epochs, shuffle=False, verbose=0
            )
            return history.history["val_accuracy"][-1]

        def cached(epochs: int) -> float:
            model.set_weights(start_weights)
            x_train, y_train = train.trunk_features(trunk.model, train_ds)
            x_val, y_val = train.trunk_features(trunk.model, val_ds)
            history = head.fit(
                x_train,
                y_train,
                validation_data=(x_val, y_val),
                epochs=epochs,
                batch_size=args.batch,
                verbose=0,
            )
            return history.history["val_accuracy"][-1]

        every_epoch(1), cached(1)  # trace both, fill tf.data's cache: not timed
        seconds = {"frozen trunk every epoch": [], "cached features": []}
        accuracy = {}
        for _ in range(args.repeats):
            for name, method in (
                ("frozen trunk every epoch", every_epoch),
                ("cached features", cached),
            ):
                start = time.perf_counter()
                accuracy[name] = method(args.epochs)
                seconds[name].append(time.perf_counter() - start)
        # The head trained on features is the model's own head: the model must agree.
        agree = model.evaluate(val_ds, verbose=0, return_dict=True)["accuracy"]
        n_train = sum(int(y.shape[0]) for _, y in train_ds)
    print(
        f"trunk: {trunk.note}\n{args.image_size} px, {n_train} training images (Fashion-MNIST "
        f"{', '.join(data.FASHION_CLASSES[c] for c in data.TARGET_CLASSES)}), {args.epochs} "
        f"epochs, batch {args.batch}, {os.cpu_count()} CPU cores, median of {args.repeats}"
    )
    for name, times in seconds.items():
        print(
            f"{name:<25} {statistics.median(times):6.1f} s  (runs: "
            f"{', '.join(f'{t:.1f}' for t in times)})  final val accuracy {accuracy[name]:.3f}"
        )
    print(f"the whole model with the cached-features head: val accuracy {agree:.3f}")
    ratio = statistics.median(seconds["frozen trunk every epoch"]) / statistics.median(
        seconds["cached features"]
    )
    print(f"speed-up: {ratio:.1f}x")


if __name__ == "__main__":
    main()
