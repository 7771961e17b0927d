"""What came after ResNet, built from the same parts in the CIFAR layout of §4.2.

Each `*_block(x, filters, stride, name)` returns the block's output tensor, so any of them
drops into `models.cifar_net`; `variant(kind)` builds the small networks notebook 11
compares, one per name in `KINDS`.
"""

from __future__ import annotations

import keras
from keras import layers

from reslab import blocks, models

KINDS = ("plain", "resnet", "highway", "wide", "resnext", "se", "stochastic", "densenet")


def highway_block(x, filters: int, stride: int = 1, gate_bias: float = -1.0, name: str = "block"):
    """A highway block (Srivastava et al. 2015): y = T·H(x) + (1 − T)·x, where the gate
    T = sigmoid(1×1 conv of x) is learned per position and channel. Its bias starts
    negative, so the block starts by mostly carrying x (their Eq. 3, §2.2). H is the plain block's
    two conv layers; where the shape changes, x is carried as option A carries it."""
    carry = blocks.shortcut_path(x, filters, stride, "A", name)
    gate = layers.Conv2D(
        filters,
        1,
        strides=stride,
        activation="sigmoid",
        bias_initializer=keras.initializers.Constant(gate_bias),
        name=f"{name}_gate",
    )(x)
    h = blocks.plain_block(x, filters, stride, name=name)
    transformed = layers.Multiply(name=f"{name}_transform")([gate, h])
    carried = layers.Multiply(name=f"{name}_carry")([1.0 - gate, carry])
    return layers.Add(name=f"{name}_add")([carried, transformed])


def resnext_block(x, filters: int, stride: int = 1, cardinality: int = 8, name: str = "block"):
    """ResNeXt's block (Xie et al. 2017, Fig. 3c, §3.3): a bottleneck whose 3×3 convolution is split
    into `cardinality` groups (a grouped convolution). Here the block outputs 2·`filters`
    channels, as wide inside as out, with a projection shortcut where the shape changes
    (option B)."""
    out = 2 * filters
    short = blocks.shortcut_path(x, out, stride, "B", name, use_bias=False)
    y = blocks._conv_bn_relu(x, out, 1, 1, f"{name}_1", use_bias=False)
    # Fig. 3c's grouped 3×3, computed by splitting the channels, convolving each group and
    # concatenating.
    # It computes what Conv2D(groups=cardinality) computes, 88 times faster for a training step
    # on TensorFlow's CPU kernels (benchmarks/results/grouped_conv.txt).
    size = out // cardinality
    groups = [
        blocks._conv(size, 3, stride, f"{name}_2_conv_g{g}", use_bias=False)(
            y[..., g * size : (g + 1) * size]
        )
        for g in range(cardinality)
    ]
    y = layers.Concatenate(name=f"{name}_2_concat")(groups)
    y = blocks.batch_norm(f"{name}_2_bn")(y)
    y = layers.Activation("relu", name=f"{name}_2_relu")(y)
    y = blocks._conv(out, 1, 1, f"{name}_3_conv", use_bias=False)(y)
    y = blocks.batch_norm(f"{name}_3_bn")(y)
    y = layers.Add(name=f"{name}_add")([short, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def squeeze_excite(x, ratio: int = 4, name: str = "se"):
    """Squeeze-and-excitation (Hu et al. 2018, §3 and Fig. 3): average each channel over the
    map (squeeze), two fully connected layers, C → C/ratio (ReLU) → C (sigmoid) (excite), then
    rescale every channel of x by its weight in (0, 1)."""
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
    s = layers.Dense(channels // ratio, activation="relu", name=f"{name}_reduce")(s)
    s = layers.Dense(channels, activation="sigmoid", name=f"{name}_expand")(s)
    return layers.Multiply(name=f"{name}_scale")([x, s])


@keras.saving.register_keras_serializable(package="reslab")
class StochasticDepth(layers.Layer):
    """Keep a residual branch with probability `survival` for each training mini-batch, drop it
    (multiply by 0) otherwise; at test time, multiply it by `survival` (Huang et al. 2016,
    Eq. 2 and 5)."""

    def __init__(self, survival: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < survival <= 1.0:
            raise ValueError(f"`survival` should be in (0, 1]. Received: survival={survival}")
        self.survival, self.seed = survival, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training:
            return x * self.survival
        keep = keras.random.uniform((), seed=self.seed_generator) < self.survival
        return x * keras.ops.cast(keep, x.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "survival": self.survival, "seed": self.seed}


def survival_rates(blocks_total: int, last: float = 0.5) -> list[float]:
    """The linear decay rule of Huang et al. 2016 (Eq. 4): p_l = 1 − (l / L)(1 − p_L), from
    nearly 1 for the first block down to `last` for block L."""
    return [1 - (i / blocks_total) * (1 - last) for i in range(1, blocks_total + 1)]


def dense_block(x, layers_count: int, growth: int, name: str = "dense"):
    """DenseNet's dense block (Huang et al. 2017, §3): each layer, BN-ReLU-conv 3×3 with
    `growth` filters, reads the concatenation of the block's input and every earlier layer's
    output, and its own output joins that concatenation."""
    for i in range(1, layers_count + 1):
        y = blocks.batch_norm(f"{name}_layer{i}_bn")(x)
        y = layers.Activation("relu", name=f"{name}_layer{i}_relu")(y)
        y = blocks._conv(growth, 3, 1, f"{name}_layer{i}_conv", use_bias=False)(y)
        x = layers.Concatenate(name=f"{name}_layer{i}_concat")([x, y])
    return x


def transition(x, name: str = "transition"):
    """Between dense blocks (Huang et al. 2017, §3): BN, 1×1 conv, 2×2 average pooling."""
    x = blocks.batch_norm(f"{name}_bn")(x)
    x = blocks._conv(x.shape[-1], 1, 1, f"{name}_conv", use_bias=False)(x)
    return layers.AveragePooling2D(2, name=f"{name}_pool")(x)


def densenet(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    layers_per_block: int = 6,
    growth: int = 12,
    name: str = "densenet",
) -> keras.Model:
    """A small CIFAR DenseNet (Huang et al. 2017, §3 uses 3 blocks of 12 layers, k = 12, a
    16-filter first conv): a 3×3 conv with 2·`growth` filters, three dense blocks with two
    transitions, BN-ReLU, global average pooling, softmax."""
    inputs = keras.Input(input_shape)
    x = blocks._conv(2 * growth, 3, 1, "conv1_conv", use_bias=False)(inputs)
    for b in range(1, 4):
        x = dense_block(x, layers_per_block, growth, name=f"dense{b}")
        if b < 3:
            x = transition(x, name=f"transition{b}")
    return keras.Model(inputs, models.head(x, classes, preact=True), name=name)


def variant(
    kind: str,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    classes: int = 10,
    widths: tuple[int, int, int] = models.CIFAR_FILTERS,
    n: int = 3,
) -> keras.Model:
    """One of the networks of `KINDS`, `n` blocks per stage (3: the 20-layer nets of §4.2).

    plain, resnet: He et al. 2015 (option A). highway: gated shortcuts. wide: twice the
    filters, two blocks per stage (Zagoruyko & Komodakis 2016 trade depth for width).
    resnext: grouped bottlenecks, cardinality 8. se: ResNet with squeeze-and-excitation on
    each residual branch (ratio 4). stochastic: ResNet whose residual branches are dropped at
    random in training (survival 1 → 0.5). densenet: `densenet()`, 6 layers per block.
    """
    if kind not in KINDS:
        raise ValueError(f"`kind` should be one of {KINDS}. Received: kind={kind!r}")
    shape = dict(input_shape=input_shape, classes=classes)
    depth = 6 * n + 2
    if kind == "plain":
        return models.plain_cifar(depth, widths=widths, **shape)
    if kind == "resnet":
        return models.cifar_resnet(depth, widths=widths, **shape)
    if kind == "densenet":
        return densenet(**shape)
    survival = iter(survival_rates(3 * n))

    def block(x, filters: int, stride: int, name: str):
        if kind == "highway":
            return highway_block(x, filters, stride, name=name)
        if kind == "resnext":
            return resnext_block(x, filters, stride, name=name)
        if kind == "se":
            se = lambda y: squeeze_excite(y, 4, name=f"{name}_se")  # noqa: E731
            return blocks.basic_block(x, filters, stride, shortcut="A", name=name, branch=se)
        if kind == "stochastic":
            drop = StochasticDepth(next(survival), name=f"{name}_drop")
            return blocks.basic_block(x, filters, stride, shortcut="A", name=name, branch=drop)
        return blocks.basic_block(x, filters, stride, shortcut="A", name=name)  # wide

    if kind == "wide":
        widths, n = tuple(2 * w for w in widths), max(1, n - 1)
    return models.cifar_net(
        block, n, classes=classes, input_shape=input_shape, widths=widths, name=kind
    )
