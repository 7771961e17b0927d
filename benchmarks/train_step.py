"""One training step of reslab's ResNet-50 against keras.applications.ResNet50, side by side.

    .venv/bin/python benchmarks/train_step.py [--image-size 96] [--batch 8] [--steps 10]

Both models get the same batch, loss and optimizer; their timed steps alternate (ours,
Keras's, ours, ...) so that a change in the machine's speed during the run hits both alike.
Prints the median seconds per step of each and their ratio.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import side_by_side

from reslab import models


def compiled(model: keras.Model) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy"
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    shape = (args.image_size, args.image_size, 3)
    keras.utils.set_random_seed(0)
    contenders = {
        "reslab.models.resnet(50)": compiled(models.resnet(50, input_shape=shape)),
        "keras.applications.ResNet50": compiled(
            keras.applications.ResNet50(weights=None, input_shape=shape)
        ),
    }
    rng = np.random.default_rng(0)
    x = rng.uniform(-120, 150, size=(args.batch, *shape)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 1000, args.batch), 1000)
    medians = side_by_side.alternate(side_by_side.training_steps(contenders, x, y), args.steps)
    where = side_by_side.backend()
    print(f"{args.steps} alternating steps, batch {args.batch}, {shape} images, {where}")
    for name, median in medians.items():
        print(f"  {name:30s} median {median:.3f} s/step  ({args.batch / median:.1f} img/s)")
    ours, theirs = medians.values()
    print(f"  ratio (reslab / keras): {ours / theirs:.3f}")


if __name__ == "__main__":
    main()
