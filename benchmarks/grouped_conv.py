"""ResNeXt's grouped 3×3 convolution (Xie et al. 2017, Fig. 3c), two ways, side by side: Keras's
Conv2D(groups=...) and split-convolve-concatenate (what reslab.variants uses).

    .venv/bin/python benchmarks/grouped_conv.py [--groups 8] [--channels 64] [--steps 5]

Both get the same kernels (their outputs are checked equal first) and the same batch; timed
training steps alternate between them. Prints the median seconds per step and the ratio.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import side_by_side
from keras import layers


def grouped(channels: int, groups: int, size: int) -> keras.Model:
    x = keras.Input((size, size, channels))
    y = layers.Conv2D(channels, 3, padding="same", groups=groups, use_bias=False)(x)
    return keras.Model(x, y)


def split(channels: int, groups: int, size: int) -> keras.Model:
    x = keras.Input((size, size, channels))
    width = channels // groups
    parts = [
        layers.Conv2D(width, 3, padding="same", use_bias=False)(x[..., g * width : (g + 1) * width])
        for g in range(groups)
    ]
    return keras.Model(x, layers.Concatenate()(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    contenders = {
        "Conv2D(groups=8)".replace("8", str(args.groups)): grouped(
            args.channels, args.groups, args.size
        ),
        "split, convolve, concatenate": split(args.channels, args.groups, args.size),
    }
    one, two = contenders.values()
    kernels = [layer.kernel for layer in two.layers if isinstance(layer, layers.Conv2D)]
    one.layers[-1].kernel.assign(np.concatenate([k.numpy() for k in kernels], axis=-1))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.size, args.size, args.channels)).astype("float32")
    y = rng.normal(size=x.shape).astype("float32")
    gap = float(np.abs(np.asarray(one(x)) - np.asarray(two(x))).max())
    print(f"same kernels, largest output difference: {gap:.1e}")
    for model in contenders.values():
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    medians = side_by_side.alternate(side_by_side.training_steps(contenders, x, y), args.steps)
    shape = x.shape[1:]
    where = side_by_side.backend()
    print(f"{args.steps} alternating training steps, batch {args.batch}, {shape}, {where}")
    for name, median in medians.items():
        print(f"{name:30s} {median * 1000:8.1f} ms per step")
    first, second = medians.values()
    print(f"ratio: {first / second:.0f}x")


if __name__ == "__main__":
    main()
