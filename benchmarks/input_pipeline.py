"""reslab.data.image_folder (tf.data: parallel decode, cache, prefetch) against a naive
per-batch Python/PIL loader, the way `ImageDataGenerator.flow_from_directory` loaded images.

    .venv/bin/python benchmarks/input_pipeline.py [--per-class 100] [--image-size 224] [--epochs 3]

Builds a folder of 256x256 JPEGs from Fashion-MNIST (10 classes), then reads it for several
epochs with each loader (no model: input throughput only), alternating loaders epoch by
epoch. Prints images/second per epoch, the medians and their ratio. tf.data's first epoch
decodes; later ones read its cache, which is the steady state of a training run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

from reslab import data


def photo_folder(root: Path, per_class: int) -> Path:
    """Fashion-MNIST as 256x256 RGB JPEGs: closer to photos than 28x28 PNGs."""
    (x, y), _ = data.load_fashion_mnist()
    x, y = data.subsample(x, y, per_class * 10, seed=0)
    for label in range(10):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(x[y == label]):
            big = Image.fromarray(image).resize((256, 256), Image.BILINEAR).convert("RGB")
            big.save(root / str(label) / f"{i:04d}.jpg", quality=90)
    return root


def naive_epoch(files: list[tuple[Path, int]], size: int, batch: int, rng) -> int:
    """One epoch the old way: shuffle the file list, then per batch open, convert, resize and
    stack each image in Python, one at a time."""
    order = rng.permutation(len(files))
    seen = 0
    for start in range(0, len(order), batch):
        chunk = [files[i] for i in order[start : start + batch]]
        images = np.stack(
            [
                np.asarray(Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR))
                for path, _ in chunk
            ]
        )
        labels = np.array([label for _, label in chunk])
        seen += len(images) if len(labels) else 0
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = photo_folder(Path(tmp) / "photos", args.per_class)
        files = [(p, int(p.parent.name)) for p in sorted(root.glob("*/*.jpg"))]
        train, _, _ = data.image_folder(
            root, args.image_size, args.batch, validation_split=0, work_dir=Path(tmp) / "work"
        )
        rng = np.random.default_rng(0)
        rates: dict[str, list[float]] = {"naive PIL loader": [], "reslab.data.image_folder": []}
        for epoch in range(args.epochs):
            start = time.perf_counter()
            n = naive_epoch(files, args.image_size, args.batch, rng)
            rates["naive PIL loader"].append(n / (time.perf_counter() - start))
            start = time.perf_counter()
            n = sum(int(y.shape[0]) for _, y in train)
            rates["reslab.data.image_folder"].append(n / (time.perf_counter() - start))
            print(
                f"epoch {epoch + 1}: naive {rates['naive PIL loader'][-1]:7.1f} img/s | "
                f"tf.data {rates['reslab.data.image_folder'][-1]:7.1f} img/s"
            )
    print(
        f"{len(files)} JPEGs 256x256 -> {args.image_size}px, batch {args.batch}, "
        f"{os.cpu_count()} CPU cores"
    )
    naive = statistics.median(rates["naive PIL loader"])
    piped = statistics.median(rates["reslab.data.image_folder"])
    first = rates["reslab.data.image_folder"][0]
    print(
        f"median img/s: naive {naive:.1f} | tf.data {piped:.1f} (first, uncached epoch {first:.1f})"
    )
    print(f"ratio tf.data / naive: {piped / naive:.1f}x (first epoch {first / naive:.1f}x)")


if __name__ == "__main__":
    main()
