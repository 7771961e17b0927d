"""Whole networks: the CIFAR-10 plain and residual nets of He et al. 2015, §4.2."""

from __future__ import annotations

import keras
from keras import layers

from reslab import blocks

CIFAR_FILTERS = (16, 32, 64)  # feature maps 32×32, 16×16, 8×8 (§4.2)


def _check_widths(widths: tuple[int, ...]) -> None:
    if len(widths) != 3 or not all(isinstance(w, int) and w > 0 for w in widths):
        raise ValueError(
            "`widths` should be three positive filter counts, one per stage, like "
            f"{CIFAR_FILTERS}. Received: widths={widths!r}"
        )


def _blocks_per_stage(depth: int) -> int:
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"CIFAR networks have depth 6n + 2 (20, 32, 44, 56, 110, ...). Received: depth={depth}"
        )
    return (depth - 2) // 6


def _cifar_net(
    depth: int,
    residual: bool,
    shortcut: str,
    version: str,
    zero_gamma: bool,
    input_shape: tuple[int, int, int],
    classes: int,
    widths: tuple[int, int, int],
    name: str,
) -> keras.Model:
    n = _blocks_per_stage(depth)
    _check_widths(widths)
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(
        widths[0],
        3,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name="conv1_conv",
    )(inputs)
    if version == "v1":  # v2 units start with their own BN-ReLU
        x = blocks.batch_norm("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    for stage, filters in enumerate(widths, start=2):
        for b in range(1, n + 1):
            stride = 2 if stage > 2 and b == 1 else 1
            block_name = f"conv{stage}_block{b}"
            if residual:
                x = blocks.basic_block(
                    x, filters, stride, shortcut, version, zero_gamma, name=block_name
                )
            else:
                x = blocks.plain_block(x, filters, stride, name=block_name)
    if version == "v2":  # the last unit's output still needs its BN-ReLU (He et al. 2016)
        x = blocks.batch_norm("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def plain_cifar(
    depth: int,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    widths: tuple[int, int, int] = CIFAR_FILTERS,
) -> keras.Model:
    """The plain CIFAR-10 net of §4.2: 3×3 conv, 3 stages of 2n conv layers (16/32/64
    filters, stride 2 between stages), global average pooling, softmax. depth = 6n + 2.

    `widths` other than (16, 32, 64) give a narrower or wider net of the same depth.
    """
    return _cifar_net(depth, False, "A", "v1", False, input_shape, classes, widths, f"plain{depth}")


def cifar_resnet(
    depth: int,
    shortcut: str = "A",
    version: str = "v1",
    zero_gamma: bool = False,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    widths: tuple[int, int, int] = CIFAR_FILTERS,
) -> keras.Model:
    """The CIFAR-10 ResNet of §4.2 (option A shortcuts there, Table 6) or its pre-activation
    version (He et al. 2016). Same layers as `plain_cifar(depth)` plus one shortcut per pair."""
    blocks.check_shortcut(shortcut)
    blocks.check_version(version, ("v1", "v2"))
    name = f"resnet{depth}{'' if version == 'v1' else 'v2'}_{shortcut}"
    return _cifar_net(
        depth, True, shortcut, version, zero_gamma, input_shape, classes, widths, name
    )
