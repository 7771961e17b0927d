"""Phase 1 of fine-tuning (frozen ResNet-50 trunk, train the head) two ways, side by side:
running the frozen trunk on every batch of every epoch, against running it once and training
the head on the cached 2048-d features (reslab.train.trunk_features). Same head, same
starting weights, same data, no augmentation (with augmentation the images change every
epoch, and caching is not possible).

    .venv/bin/python benchmarks/cached_features.py [--per-class 30] [--image-size 96] [--epochs 10]

Uses ImageNet weights when Keras's cache has them, else random weights, and says which:
with random weights the accuracies mean little, but the two methods must still agree.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from reslab import data, train, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    shape = (args.image_size, args.image_size, 3)
    try:
        path = weights.fetch_resnet50_weights(include_top=False, download=False)
        base = keras.applications.ResNet50(
            weights=None, include_top=False, input_shape=shape, pooling="avg"
        )
        base.load_weights(path)
        which = "ImageNet weights"
    except weights.WeightsNotFoundError:
        keras.utils.set_random_seed(0)
        base = keras.applications.ResNet50(
            weights=None, include_top=False, input_shape=shape, pooling="avg"
        )
        which = (
            "RANDOM weights (no ImageNet file in Keras's cache): "
            "compare the two accuracies only with each other"
        )
    base.trainable = False
    model, head = train.classifier(base, 10, args.image_size)
    start_weights = model.get_weights()
    with tempfile.TemporaryDirectory() as tmp:
        root = data.fashion_mnist_folder(Path(tmp) / "fm", per_class=args.per_class, size=64)
        train_ds, val_ds, _ = data.image_folder(
            root, args.image_size, args.batch, work_dir=Path(tmp) / "w"
        )
        for _ in train_ds:  # fill tf.data's cache first: both methods then read decoded images
            pass
        for _ in val_ds:
            pass

        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=0)
        trunk_every_epoch = time.perf_counter() - start
        acc_full = history.history["val_accuracy"][-1]

        model.set_weights(start_weights)
        head.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        x_train, y_train = train.trunk_features(base, train_ds)
        x_val, y_val = train.trunk_features(base, val_ds)
        extract = time.perf_counter() - start
        history = head.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val),
            epochs=args.epochs,
            batch_size=args.batch,
            verbose=0,
        )
        cached = time.perf_counter() - start
        acc_cached = history.history["val_accuracy"][-1]
        # The head trained on features is the model's own head: the model must agree.
        acc_model = model.evaluate(val_ds, verbose=0, return_dict=True)["accuracy"]
    print(
        f"{which}\nResNet-50 at {args.image_size} px, {len(y_train)} training and {len(y_val)} "
        f"validation images (Fashion-MNIST folder), {args.epochs} epochs, batch {args.batch}, "
        f"{os.cpu_count()} CPU cores"
    )
    print(
        f"frozen trunk every epoch: {trunk_every_epoch:7.1f} s, final val accuracy {acc_full:.3f}"
    )
    print(
        f"cached features:          {cached:7.1f} s ({extract:.1f} s extracting once), "
        f"final val accuracy {acc_cached:.3f} (full model with that head: {acc_model:.3f})"
    )
    print(f"speed-up: {trunk_every_epoch / cached:.1f}x")


if __name__ == "__main__":
    main()
