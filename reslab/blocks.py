"""Residual blocks of He et al. 2015 (v1) and He et al. 2016 (v2, pre-activation).

Functional Keras: each function takes a tensor and returns a tensor. Layer names follow
`keras.applications.resnet` (`conv3_block2_1_conv`, `..._0_conv` for the shortcut, `..._add`,
`..._out`), so weights can move between the two by name.

Shortcut options (He et al. 2015, §3.3 and Table 3):
  A: identity; where the shape changes, subsample with a stride and pad the new channels
     with zeros (no parameters).
  B: a 1×1 projection (conv + BN) only where the number of channels changes, identity
     elsewhere.
  C: a projection on every block.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

BN_EPSILON = 1.001e-5  # the value keras.applications uses
# Torch's and PyTorch's default (0.1 in their convention). With Keras's 0.99 the moving
# averages need many hundreds of steps to reach the data, so a short run evaluates badly.
BN_MOMENTUM = 0.9
SHORTCUTS = ("A", "B", "C")


@keras.saving.register_keras_serializable(package="reslab")
class ZeroPadChannels(layers.Layer):
    """Append `extra` all-zero channels: option A's parameter-free widening (§3.3)."""

    def __init__(self, extra: int, **kwargs):
        super().__init__(**kwargs)
        self.extra = extra

    def call(self, x):
        return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, self.extra]])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.extra)

    def get_config(self) -> dict:
        return {**super().get_config(), "extra": self.extra}


def check_shortcut(shortcut: str) -> None:
    """Raise a clear error unless `shortcut` is one of the paper's options A, B, C."""
    if shortcut not in SHORTCUTS:
        raise ValueError(
            f"`shortcut` should be one of {SHORTCUTS}. Received: shortcut={shortcut!r}"
        )


def check_version(version: str, versions: tuple[str, ...]) -> None:
    """Raise a clear error unless `version` is one of `versions`."""
    if version not in versions:
        raise ValueError(f"`version` should be one of {versions}. Received: version={version!r}")


def batch_norm(name: str, zero_gamma: bool = False) -> layers.BatchNormalization:
    """BN as ResNet uses it after every conv (§3.4); `zero_gamma` starts its scale at 0."""
    gamma = "zeros" if zero_gamma else "ones"
    return layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, gamma_initializer=gamma, name=name
    )


def _conv(
    filters: int, size: int, stride: int, name: str, use_bias: bool, padding: str = "same"
) -> layers.Conv2D:
    # He initialization, as the paper does (§3.4, citing He et al. 2015b).
    return layers.Conv2D(
        filters,
        size,
        strides=stride,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer="he_normal",
        name=name,
    )


def _conv_bn_relu(x, filters: int, size: int, stride: int, name: str, use_bias: bool):
    x = _conv(filters, size, stride, f"{name}_conv", use_bias)(x)
    x = batch_norm(f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def projects(option: str, channels: int, in_channels: int) -> bool:
    """Whether a shortcut of `option` is a projection (§3.3): always for C, for B only where
    the number of channels changes, never for A."""
    return option == "C" or (option == "B" and channels != in_channels)


def shortcut_path(x, channels: int, stride: int, option: str, name: str, use_bias: bool = True):
    """The shortcut branch of a block (§3.3).

    Args:
        x: the block's input tensor.
        channels: what the residual branch outputs, so what the shortcut must output.
        stride: the residual branch's stride.
        option: "A" (identity; zero channels appended and a stride where the shape
            changes), "B" (a 1×1 conv + BN projection only where the channels change) or "C"
            (a projection always).
        name: the block's name; the projection is f"{name}_0_conv" and f"{name}_0_bn".
        use_bias: whether the projection's conv has a bias (default True, as in Keras).

    Returns:
        The shortcut's output tensor.
    """
    check_shortcut(option)
    in_channels = x.shape[-1]
    if option == "A" and channels < in_channels:
        raise ValueError(
            f"Option A can only add channels. Received: {in_channels} -> {channels} in {name}"
        )
    if projects(option, channels, in_channels):
        x = _conv(channels, 1, stride, f"{name}_0_conv", use_bias)(x)
        return batch_norm(f"{name}_0_bn")(x)
    if stride > 1:  # identity on a subsampled grid
        x = layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    if channels > in_channels:  # only option A gets here
        x = ZeroPadChannels(channels - in_channels, name=f"{name}_0_pad")(x)
    return x


def basic_block(
    x,
    filters: int,
    stride: int = 1,
    *,
    shortcut: str = "B",
    version: str = "v1",
    zero_gamma: bool = False,
    use_bias: bool = False,
    name: str = "block",
    shared_preact: bool = False,
    branch: Callable | None = None,
):
    """Two 3×3 convolutions plus a shortcut (He et al. 2015, Fig. 2 and Fig. 5 left).

    v1: conv-BN-ReLU-conv-BN, add, ReLU. v2 (He et al. 2016, Fig. 4e): BN-ReLU-conv-BN-ReLU-
    conv, add, nothing after (`_preact_basic`).

    Args:
        x: the input tensor.
        filters: both convolutions' filter count.
        stride: the first convolution's (and the shortcut's) stride; default 1.
        shortcut: "A", "B" (default) or "C" (§3.3, `shortcut_path`).
        version: "v1" (default) or "v2".
        zero_gamma: v1 only; start the last BN's scale at 0, so the block starts as
            identity + ReLU (Goyal et al. 2017, §5.1). Default False.
        use_bias: convolutions with a bias; default False (BN follows each).
        name: the block's name, the prefix of its layers' names.
        shared_preact: v2 only; the shortcut reads the pre-activated input too, as the
            first block after the stem does ("the first activation right after conv1 and
            before splitting into two paths", He et al. 2016, appendix). Default False.
        branch: v1 only; a function applied to the residual branch just before the
            addition, as squeeze-and-excitation and stochastic depth do (`reslab.variants`).

    Returns:
        The block's output tensor.
    """
    check_shortcut(shortcut)
    check_version(version, ("v1", "v2"))
    if version == "v2":
        if zero_gamma:
            raise ValueError("A v2 block ends with a convolution, not BN: zero_gamma is v1 only.")
        if branch is not None:
            raise ValueError("`branch` is v1 only.")
        return _preact_basic(x, filters, stride, shortcut, use_bias, name, shared_preact)
    short = shortcut_path(x, filters, stride, shortcut, name, use_bias)
    y = _conv_bn_relu(x, filters, 3, stride, f"{name}_1", use_bias)
    y = _conv(filters, 3, 1, f"{name}_2_conv", use_bias)(y)
    y = batch_norm(f"{name}_2_bn", zero_gamma)(y)
    if branch is not None:
        y = branch(y)
    y = layers.Add(name=f"{name}_add")([short, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def _preact_basic(
    x, filters: int, stride: int, shortcut: str, use_bias: bool, name: str, shared_preact: bool
):
    """BN-ReLU first, nothing after the addition (He et al. 2016, Fig. 4e). A projection
    reads the pre-activated input; an identity shortcut reads x itself."""
    preact = batch_norm(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    projection = projects(shortcut, filters, x.shape[-1])
    source = preact if projection or shared_preact else x
    short = shortcut_path(source, filters, stride, shortcut, name, use_bias)
    y = _conv_bn_relu(preact, filters, 3, stride, f"{name}_1", use_bias)
    y = _conv(filters, 3, 1, f"{name}_2_conv", use_bias)(y)
    return layers.Add(name=f"{name}_out")([short, y])


def bottleneck_block(
    x,
    filters: int,
    stride: int = 1,
    *,
    shortcut: str = "B",
    version: str = "v1",
    zero_gamma: bool = False,
    use_bias: bool = True,
    name: str = "block",
):
    """1×1 (reduce to `filters`) → 3×3 → 1×1 (expand to 4·filters), plus a shortcut
    (He et al. 2015, Fig. 5 right; ResNet-50/101/152, Table 1).

    Args:
        x: the input tensor.
        filters: the 1×1 reduction's and the 3×3's filter count; the block outputs 4×.
        stride: default 1. v1 puts it in the first 1×1 conv, as the paper and
            `keras.applications.ResNet50` do; v1.5 in the 3×3, as torchvision does.
        shortcut: "A", "B" (default) or "C" (§3.3).
        version: "v1" (default), "v1.5" or "v2" (pre-activation, He et al. 2016, Fig. 4e,
            laid out as `keras.applications.ResNet50V2`: `_preact_bottleneck`).
        zero_gamma: v1 and v1.5; start the last BN's scale at 0. Default False.
        use_bias: every conv with a bias, as in Keras's ResNet50 (default True).
        name: the block's name, the prefix of its layers' names.

    Returns:
        The block's output tensor.
    """
    check_shortcut(shortcut)
    check_version(version, ("v1", "v1.5", "v2"))
    out = 4 * filters
    if version == "v2":
        return _preact_bottleneck(x, filters, stride, shortcut, name)
    short = shortcut_path(x, out, stride, shortcut, name, use_bias)
    stride_1x1, stride_3x3 = (stride, 1) if version == "v1" else (1, stride)
    y = _conv_bn_relu(x, filters, 1, stride_1x1, f"{name}_1", use_bias)
    y = _conv_bn_relu(y, filters, 3, stride_3x3, f"{name}_2", use_bias)
    y = _conv(out, 1, 1, f"{name}_3_conv", use_bias)(y)
    y = batch_norm(f"{name}_3_bn", zero_gamma)(y)
    y = layers.Add(name=f"{name}_add")([short, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def _preact_bottleneck(x, filters: int, stride: int, shortcut: str, name: str):
    """BN-ReLU first, nothing after the addition; Keras's ResNet50V2 layout: a projection
    (1×1 conv with bias, no BN) reads the pre-activated input, the 3×3 is padded explicitly
    and carries the stride, and only the last conv has a bias."""
    out = 4 * filters
    preact = batch_norm(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if projects(shortcut, out, x.shape[-1]):
        short = _conv(out, 1, stride, f"{name}_0_conv", use_bias=True)(preact)
    else:
        short = shortcut_path(x, out, stride, shortcut, name)
    y = _conv_bn_relu(preact, filters, 1, 1, f"{name}_1", use_bias=False)
    y = layers.ZeroPadding2D(1, name=f"{name}_2_pad")(y)
    y = _conv(filters, 3, stride, f"{name}_2_conv", use_bias=False, padding="valid")(y)
    y = batch_norm(f"{name}_2_bn")(y)
    y = layers.Activation("relu", name=f"{name}_2_relu")(y)
    y = _conv(out, 1, 1, f"{name}_3_conv", use_bias=True)(y)
    return layers.Add(name=f"{name}_out")([short, y])


def identity_block(x, filters: int, name: str = "block", **kwargs):
    """ResNet-50's "identity block": a bottleneck whose input and output shapes match."""
    if x.shape[-1] != 4 * filters:
        raise ValueError(
            f"An identity block keeps the shape: its input needs 4 * filters = {4 * filters} "
            f"channels. Received: {x.shape[-1]} channels in {name}"
        )
    return bottleneck_block(x, filters, stride=1, shortcut="B", name=name, **kwargs)


def convolutional_block(x, filters: int, stride: int = 2, name: str = "block", **kwargs):
    """ResNet-50's "convolutional block": a bottleneck with a projection shortcut."""
    return bottleneck_block(x, filters, stride=stride, shortcut="C", name=name, **kwargs)


def plain_block(x, filters: int, stride: int = 1, *, name: str = "block"):
    """The plain counterpart of `basic_block`: the same two conv-BN-ReLU layers, no shortcut
    (He et al. 2015, Fig. 3 middle).

    Args:
        x: the input tensor.
        filters: both convolutions' filter count.
        stride: the first convolution's stride; default 1.
        name: the block's name, the prefix of its layers' names.

    Returns:
        The block's output tensor.
    """
    x = _conv_bn_relu(x, filters, 3, stride, f"{name}_1", use_bias=False)
    x = _conv(filters, 3, 1, f"{name}_2_conv", use_bias=False)(x)
    x = batch_norm(f"{name}_2_bn")(x)
    return layers.Activation("relu", name=f"{name}_out")(x)
