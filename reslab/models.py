"""Whole networks: the CIFAR-10 plain and residual nets of He et al. 2015, §4.2, and the
ImageNet ResNets of its Table 1, with `keras.applications`'s layer names."""

from __future__ import annotations

from collections.abc import Callable

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


Block = Callable[..., object]  # (x, filters, stride, name) -> the block's output tensor


def stack_v1(x, block: Block, filters: int, blocks: int, stride: int, name: str):
    """One stage: `blocks` blocks in a row, the first of which carries the stride.

    He et al. 2015 downsample "by convolutional layers that have a stride of 2" at the first
    block of conv3_x, conv4_x and conv5_x (Table 1, §3.3), and between the CIFAR stages (§4.2).

    Args:
        x: the stage's input tensor.
        block: builds one block, `block(x, filters, stride, name)`.
        filters: the blocks' filter count.
        blocks: how many blocks.
        stride: the first block's stride (the rest have 1).
        name: the stage's name; block b is called f"{name}_block{b}".

    Returns:
        The stage's output tensor.
    """
    for b in range(1, blocks + 1):
        x = block(x, filters, stride if b == 1 else 1, f"{name}_block{b}")
    return x


def stack_v2(x, block: Block, filters: int, blocks: int, stride: int, name: str):
    """One stage as `keras.applications.ResNet50V2` lays it out: the *last* block carries
    the stride, so conv2-conv4 each end by halving the map and conv5 keeps it (the same
    total downsampling as v1, one block earlier). Arguments and result as `stack_v1`."""
    for b in range(1, blocks + 1):
        x = block(x, filters, stride if b == blocks else 1, f"{name}_block{b}")
    return x


def cifar_net(
    block: Block,
    n: int,
    input_shape: tuple[int, int, int],
    classes: int,
    widths: tuple[int, int, int],
    name: str,
    preact: bool = False,
) -> keras.Model:
    """The CIFAR layout of §4.2 around any block (the variants of notebook 11 use it too).

    A 3×3 conv, three stages of `n` blocks (the first block of stages 2 and 3 has stride 2),
    global average pooling, softmax.

    Args:
        block: builds one block, `block(x, filters, stride, name)`.
        n: blocks per stage.
        input_shape: (height, width, channels) of the images.
        classes: the softmax's size.
        widths: the three stages' filter counts, (16, 32, 64) in the paper.
        name: the model's name.
        preact: the blocks start with BN-ReLU (He et al. 2016), so the stem has none and
            one BN-ReLU follows the last block.

    Returns:
        The Keras model.
    """
    _check_widths(widths)
    inputs = keras.Input(input_shape)
    x = blocks._conv(widths[0], 3, 1, "conv1_conv", use_bias=False)(inputs)
    if not preact:
        x = blocks.batch_norm("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    for stage, filters in enumerate(widths, start=2):
        x = stack_v1(x, block, filters, n, stride=1 if stage == 2 else 2, name=f"conv{stage}")
    return keras.Model(inputs, head(x, classes, preact), name=name)


def head(x, classes: int, preact: bool = False):
    """Global average pooling and a `classes`-way softmax (§3.4, §4.2); after pre-activation
    blocks, or DenseNet's, a last BN-ReLU first."""
    if preact:
        x = blocks.batch_norm("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return layers.Dense(classes, activation="softmax", name="predictions")(x)


def _cifar_net(
    depth: int,
    *,
    residual: bool,
    shortcut: str = "A",
    version: str = "v1",
    zero_gamma: bool = False,
    input_shape: tuple[int, int, int],
    classes: int,
    widths: tuple[int, int, int],
    name: str,
) -> keras.Model:
    n = _blocks_per_stage(depth)

    def block(x, filters: int, stride: int, block_name: str):
        if not residual:
            return blocks.plain_block(x, filters, stride, name=block_name)
        return blocks.basic_block(
            x,
            filters,
            stride,
            shortcut=shortcut,
            version=version,
            zero_gamma=zero_gamma,
            name=block_name,
            # v2: both paths of the first block read its BN-ReLU (He et al. 2016, appendix)
            shared_preact=version == "v2" and block_name == "conv2_block1",
        )

    return cifar_net(block, n, input_shape, classes, widths, name, preact=version == "v2")


def plain_cifar(
    depth: int,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    widths: tuple[int, int, int] = CIFAR_FILTERS,
) -> keras.Model:
    """The plain CIFAR-10 net of §4.2: a 3×3 conv, 3 stages of 2n conv layers (16/32/64
    filters, stride 2 between stages), global average pooling, softmax.

    Args:
        depth: 6n + 2 weighted layers (20, 32, 44, 56, 110, ...).
        input_shape: (height, width, channels); default (32, 32, 3), CIFAR-10's.
        classes: default 10.
        widths: the stages' filter counts; default (16, 32, 64). Others give a narrower or
            wider net of the same depth.

    Returns:
        The Keras model, named f"plain{depth}".
    """
    return _cifar_net(
        depth,
        residual=False,
        input_shape=input_shape,
        classes=classes,
        widths=widths,
        name=f"plain{depth}",
    )


def cifar_resnet(
    depth: int,
    shortcut: str = "A",
    version: str = "v1",
    zero_gamma: bool = False,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    widths: tuple[int, int, int] = CIFAR_FILTERS,
) -> keras.Model:
    """The CIFAR-10 ResNet of §4.2, or its pre-activation version (He et al. 2016): the
    layers of `plain_cifar(depth)` plus one shortcut per pair of 3×3 convs.

    Args:
        depth: 6n + 2 weighted layers (20, 32, 44, 56, 110, ...).
        shortcut: "A" (default; zero-padding identity, as §4.2 uses), "B" or "C" (§3.3).
        version: "v1" (default; He et al. 2015) or "v2" (pre-activation, He et al. 2016).
        zero_gamma: v1 only; start each block's last BN scale at 0 (Goyal et al. 2017).
        input_shape: (height, width, channels); default (32, 32, 3).
        classes: default 10.
        widths: the stages' filter counts; default (16, 32, 64).

    Returns:
        The Keras model, named like "resnet20_A" or "resnet110v2_A".
    """
    blocks.check_shortcut(shortcut)
    blocks.check_version(version, ("v1", "v2"))
    return _cifar_net(
        depth,
        residual=True,
        shortcut=shortcut,
        version=version,
        zero_gamma=zero_gamma,
        input_shape=input_shape,
        classes=classes,
        widths=widths,
        name=f"resnet{depth}{'' if version == 'v1' else 'v2'}_{shortcut}",
    )


# He et al. 2015, Table 1: blocks per stage (conv2_x ... conv5_x) and the block type.
IMAGENET_STAGES = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
IMAGENET_FILTERS = (64, 128, 256, 512)
POOLINGS = (None, "avg", "max")


def _imagenet_input_shape(
    input_shape: tuple[int, int, int] | None, include_top: bool
) -> tuple[int | None, int | None, int]:
    if input_shape is None:
        return (224, 224, 3) if include_top else (None, None, 3)
    if len(input_shape) != 3:
        raise ValueError(
            "`input_shape` should be (height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    if any(side is not None and side < 32 for side in input_shape[:2]):
        raise ValueError(f"Input size must be at least 32x32; Received: input_shape={input_shape}")
    return tuple(input_shape)


def resnet(
    depth: int = 50,
    version: str = "v1",
    *,
    include_top: bool = True,
    classes: int = 1000,
    input_shape: tuple[int, int, int] | None = None,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    width: float = 1.0,
    shortcuts: bool = True,
) -> keras.Model:
    """ResNet-18/34/50/101/152 of He et al. 2015, Table 1, or the pre-activation v2 of He et
    al. 2016. For 50/101/152 (v1, v2) the layer names, order and parameter counts equal
    `keras.applications.ResNet50`'s (and V2's), so weights transplant by name.

    Args:
        depth: 18, 34, 50, 101 or 152 (Table 1); default 50.
        version: "v1" (default), "v1.5" (bottlenecks only: the stride in the 3×3, as
            torchvision) or "v2" (pre-activation).
        include_top: end in global average pooling and a `classes`-way dense layer
            (default True), as Keras's.
        classes: default 1000.
        input_shape: default (224, 224, 3) with the top, (None, None, 3) without.
        pooling: without the top: None (default; the 4-D conv5 output), "avg" or "max".
        classifier_activation: the top's activation; default "softmax", None for scores.
        width: scales every filter count (the stem's 64 and the stages' 64/128/256/512):
            the Wide-ResNet idea (Zagoruyko & Komodakis 2016) in reverse. Depth, names and map
            sizes stay those of Table 1; `width=0.25` has about 1/16 of the weights and
            multiply-adds, small enough to pretrain on a laptop. Default 1.
        shortcuts: False (18 and 34, v1 only) builds the plain net of Table 2 and Fig. 4,
            the same layers without shortcuts, like the plain-34 of §4.1. Default True.

    Returns:
        The Keras model, named like "resnet50", "resnet50v2" or "plain34".
    """
    if depth not in IMAGENET_STAGES:
        raise ValueError(
            f"`depth` should be one of {tuple(IMAGENET_STAGES)} (Table 1). Received: depth={depth}"
        )
    kind, stages = IMAGENET_STAGES[depth]
    versions = ("v1", "v1.5", "v2") if kind == "bottleneck" else ("v1", "v2")
    blocks.check_version(version, versions)
    if not shortcuts and (kind != "basic" or version != "v1"):
        raise ValueError(
            "Plain nets (shortcuts=False) are the 18- and 34-layer v1 nets of Table 2. "
            f"Received: depth={depth}, version={version!r}"
        )
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` should be one of {POOLINGS}. Received: pooling={pooling!r}")
    if not 0 < width <= 4 or int(16 * width) < 1:
        raise ValueError(f"`width` should be a multiplier in (0, 4]. Received: width={width!r}")
    stem, filters_per_stage = _scaled(64, width), [_scaled(f, width) for f in IMAGENET_FILTERS]
    inputs = keras.Input(_imagenet_input_shape(input_shape, include_top))
    preact = version == "v2"
    unit = blocks.basic_block if kind == "basic" else blocks.bottleneck_block

    def block(x, filters: int, stride: int, name: str):
        if not shortcuts:
            return blocks.plain_block(x, filters, stride, name=name)
        return unit(x, filters, stride, shortcut="B", version=version, name=name)

    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(stem, 7, strides=2, name="conv1_conv")(x)  # with a bias, as in Keras
    if not preact:  # a v2 network's first block starts with its own BN-ReLU
        x = blocks.batch_norm("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

    # v1: conv3_1, conv4_1 and conv5_1 halve the map (Table 1); Keras's V2 bottleneck nets
    # halve it at the last block of conv2-conv4 instead.
    v2_layout = kind == "bottleneck" and preact
    stack, strides = (stack_v2, (2, 2, 2, 1)) if v2_layout else (stack_v1, (1, 2, 2, 2))
    for stage, (filters, count, stride) in enumerate(
        zip(filters_per_stage, stages, strides, strict=True), start=2
    ):
        x = stack(x, block, filters, count, stride, name=f"conv{stage}")

    if preact:
        x = blocks.batch_norm("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    suffix = {"v1": "", "v1.5": "_v1_5", "v2": "v2"}[version]
    if width != 1:
        suffix += f"_w{width:g}"
    return keras.Model(inputs, x, name=f"{'resnet' if shortcuts else 'plain'}{depth}{suffix}")


def _scaled(filters: int, width: float) -> int:
    return max(1, round(filters * width))


def block_stack(
    n_blocks: int, kind: str = "v1", input_shape: tuple[int, int, int] = (8, 8, 16)
) -> keras.Model:
    """Shape-keeping basic blocks in a row, for studying signal and gradient propagation
    through depth (notebooks 03 and 06).

    Args:
        n_blocks: how many blocks.
        kind: "plain" (no shortcut), "v1" (default; He et al. 2015) or "v2"
            (pre-activation, He et al. 2016).
        input_shape: default (8, 8, 16); every block keeps it.

    Returns:
        The Keras model, named like "v1_stack8".
    """
    if kind not in ("plain", "v1", "v2"):
        raise ValueError(f"`kind` should be 'plain', 'v1' or 'v2'. Received: kind={kind!r}")
    inputs = keras.Input(input_shape)
    x, filters = inputs, input_shape[-1]
    for i in range(n_blocks):
        if kind == "plain":
            x = blocks.plain_block(x, filters, name=f"block{i}")
        else:
            x = blocks.basic_block(x, filters, version=kind, name=f"block{i}")
    return keras.Model(inputs, x, name=f"{kind}_stack{n_blocks}")
