"""ResNet as a backbone: the last feature map of each stage, and a feature pyramid on them.

Detectors and segmenters keep ResNet's trunk and read it at four scales: the outputs of
conv2_x ... conv5_x (C2 ... C5), at strides 4, 8, 16 and 32 of the input (He et al. 2015,
Table 1). A feature pyramid network (Lin et al. 2017, §3) then gives every scale the
semantics of the deepest one: a 1×1 lateral conv on each, a top-down path that doubles the
coarser map (nearest neighbour) and adds it, and a 3×3 conv on each sum.
"""

from __future__ import annotations

import keras
from keras import layers

STAGES = ("conv2", "conv3", "conv4", "conv5")


def stage_outputs(model: keras.Model) -> keras.Model:
    """A model from `model`'s input to the last block output of each stage, C2 ... C5.
    Works on `reslab.models.resnet` and on `keras.applications.ResNet50/101/152`, which
    name their layers alike (`conv4_block6_out`)."""
    outputs = []
    for stage in STAGES:
        ends = [layer for layer in model.layers if layer.name.startswith(f"{stage}_block")]
        ends = [layer for layer in ends if layer.name.endswith("_out")]
        if not ends:
            raise ValueError(
                f"{model.name} has no `{stage}_block*_out` layer: stage_outputs needs a ResNet "
                "with keras.applications' layer names (reslab.models.resnet or ResNet50)."
            )
        outputs.append(ends[-1].output)
    return keras.Model(model.input, outputs, name=f"{model.name}_stages")


def feature_pyramid(features: list, channels: int = 256, name: str = "fpn") -> list:
    """P2 ... P5 from C2 ... C5 (finest first), each with `channels` channels (256 in Lin et
    al. 2017) and the resolution of its C."""
    laterals = [
        layers.Conv2D(channels, 1, name=f"{name}_lateral{i}")(c)
        for i, c in enumerate(features, start=2)
    ]
    merged = [laterals[-1]]
    for i in range(len(laterals) - 2, -1, -1):
        up = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up{i + 3}")(merged[0])
        merged.insert(0, layers.Add(name=f"{name}_merge{i + 2}")([laterals[i], up]))
    return [
        layers.Conv2D(channels, 3, padding="same", name=f"{name}_p{i}")(m)
        for i, m in enumerate(merged, start=2)
    ]
