"""Whole-network checkers: ResNet-50 assembled (notebook 05), a plain CIFAR net's
parameters (02) and a keras.applications trunk (10)."""

from __future__ import annotations

from collections.abc import Callable

import keras

from reslab import compare
from reslab.checks.verdict import Verdict, _build_model, _fail, _result, _same_as

# --- Notebook 05: ResNet-50 assembled from the blocks -----------------------------------

RESNET50_BLOCKS = {256: 3, 512: 4, 1024: 6, 2048: 3}  # output channels -> blocks (Table 1)


def check_resnet50(fn: Callable) -> Verdict:
    """Check `fn(input_shape, classes)` builds ResNet-50 (Table 1): the stem, stages of
    3, 4, 6, 3 bottleneck blocks, global average pooling and the head, computing what
    `keras.applications.ResNet50` computes given the same weights."""
    shape, classes = (64, 64, 3), 10
    model, error = _build_model(fn, shape, classes)
    if error is not None:
        return error
    try:
        ops = compare.operations(model)
    except Exception:  # a subclassed model has no graph to inspect
        return _fail(
            "Build the model with the functional API (keras.Input, layers applied to tensors, "
            "keras.Model(inputs, outputs)), so its layers can be compared with Keras's."
        )
    if tuple(model.output.shape[1:]) != (classes,):
        return _fail(
            f"The output shape is {tuple(model.output.shape[1:])}; expected ({classes},): end "
            "with GlobalAveragePooling2D and Dense(classes, activation='softmax')."
        )
    adds = [op for op in ops if compare.is_add(op)]
    per_stage = {c: sum(a.output.shape[-1] == c for a in adds) for c in RESNET50_BLOCKS}
    for (channels, expected), stage in zip(RESNET50_BLOCKS.items(), range(2, 6), strict=True):
        if per_stage[channels] != expected:
            return _fail(
                f"Stage conv{stage} ({channels} output channels) has {per_stage[channels]} "
                f"blocks; ResNet-50 has 3, 4, 6, 3 blocks in conv2 ... conv5 (Table 1)."
            )
    sizes = []
    for a in adds:
        if a.output.shape[1] not in sizes:
            sizes.append(a.output.shape[1])
    if sizes != [16, 8, 4, 2]:
        return _fail(
            f"For a 64×64 input the four stages should output 16, 8, 4 and 2 pixels square; "
            f"yours output {sizes}. The stem (7×7 conv, stride 2, then 3×3 max pool, stride 2) "
            "divides the size by 4; conv2 keeps it (stride 1: the pool already halved it); "
            "conv3, conv4 and conv5 halve it in their first block."
        )
    reference = keras.applications.ResNet50(weights=None, input_shape=shape, classes=classes)
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    if model.count_params() != reference.count_params():
        return _fail(
            f"Your model computes what ResNet-50 computes, but has {model.count_params():,} "
            f"parameters against keras.applications.ResNet50's {reference.count_params():,}: "
            "Keras gives every convolution a bias (use_bias=True, the default)."
        )
    return Verdict(
        True,
        f"Correct: ResNet-50 with {len(adds)} blocks and {model.count_params():,} parameters; "
        "with the same weights it computes what keras.applications.ResNet50 computes.",
    )


# --- Notebook 02: count a plain CIFAR net's depth and parameters ------------------------


def _plain_count(n: int, widths: tuple[int, int, int], **mistake: bool) -> int:
    """Trainable parameters of the plain 6n+2 net for 32×32×3 images and 10 classes, or of
    what a learner who makes `mistake` counts."""
    bn = 0 if mistake.get("no_bn") else (4 if mistake.get("bn_statistics") else 2)
    bias = 1 if mistake.get("conv_bias") else 0
    window = 1 if mistake.get("one_by_one") else 9
    filters = [widths[0]] + [w for w in widths for _ in range(2 * n)]
    channels = [3, *filters[:-1]]
    if mistake.get("no_first_conv"):
        filters, channels = filters[1:], channels[1:]
    convs = sum((window * c + bias + bn) * f for c, f in zip(channels, filters, strict=True))
    return convs + widths[2] * 10 + (0 if mistake.get("no_dense_bias") else 10)


PLAIN_MISTAKES = {
    "bn_statistics": "BN's moving mean and variance are not trained: count only γ and β.",
    "conv_bias": "The convolutions have no bias (BN's β takes its place, §3.4).",
    "no_bn": "Each convolution is followed by BN, with a trainable γ and β per channel.",
    "no_dense_bias": "The Dense layer has a bias: 10 more parameters.",
    "no_first_conv": "Count the first 3×3 convolution on the RGB image (3 input channels) too.",
    "one_by_one": "A 3×3 convolution has 3 × 3 × (input channels) weights per filter.",
}


def check_plain_parameters(fn: Callable) -> Verdict:
    """Check `fn(n, widths)` returns (depth, trainable parameters) of the plain CIFAR net of
    He et al. 2015 (§4.2): 6n + 2 weighted layers, 3×3 convs without bias, each followed by
    BN, on 32×32×3 images, and a 10-way Dense layer."""
    cases = [(3, (16, 32, 64)), (9, (16, 32, 64)), (2, (8, 16, 32))]
    for n, widths in cases:
        result, error = _result(fn, n, widths)
        if error is not None:
            return error
        try:
            depth, params = (int(v) for v in result)
        except Exception:
            return _fail(
                f"Return two numbers, (depth, parameters). Received: {type(result).__name__}"
            )
        if depth != 6 * n + 2:
            hint = " (6n counts the stacked layers only)" if depth == 6 * n else ""
            return _fail(
                f"For n={n}: depth {depth}; the paper's nets have 6n + 2 = {6 * n + 2} weighted "
                f"layers: the first convolution, 6n in the three stages, the Dense layer{hint}."
            )
        expected = _plain_count(n, widths)
        if params != expected:
            for mistake, message in PLAIN_MISTAKES.items():
                if params == _plain_count(n, widths, **{mistake: True}):
                    return _fail(f"For n={n}, widths={widths}: {params:,} parameters. {message}")
            return _fail(
                f"For n={n}, widths={widths}: {params:,} parameters; expected {expected:,}. "
                "Per convolution: 9 × (input channels) × filters weights, plus 2 per channel "
                "for BN's γ and β; then (last width) × 10 + 10 for the Dense layer."
            )
    return Verdict(
        True,
        "Correct: depth 6n + 2, and the parameter counts of Keras's models (0.27 M for "
        "plain-20, as in Table 6).",
    )


# --- Notebook 10: a keras.applications trunk ---------------------------------------------


def check_keras_trunk(fn: Callable) -> Verdict:
    """Check `fn(image_size)` returns keras.applications.ResNet50 without its head, average-
    pooled to one 2,048-vector per image, for image_size×image_size×3 inputs."""
    size = 96
    model, error = _build_model(fn, size)
    if error is not None:
        return error
    try:
        shape_in = tuple(model.inputs[0].shape[1:])
        shape_out = tuple(model.outputs[0].shape[1:])
    except Exception:
        return _fail("Return a functional keras.Model, as keras.applications.ResNet50 builds.")
    names = [layer.name for layer in model.layers]
    if "predictions" in names or shape_out == (1000,):
        return _fail(
            f"The model ends in the ImageNet head (output {shape_out}); pass include_top=False."
        )
    if shape_in != (size, size, 3):
        return _fail(
            f"The input shape is {shape_in}; for image_size={size} it should be "
            f"({size}, {size}, 3): pass input_shape=(image_size, image_size, 3)."
        )
    if len(shape_out) == 3:
        return _fail(
            f"The output is a feature map of shape {shape_out}, not a vector: pass "
            "pooling='avg' (a value other than 'avg' or 'max' is silently ignored)."
        )
    if "max_pool" in names:
        return _fail(
            "The map is max-pooled; ResNet-50's own head averages (global average pooling, "
            "§3.4): pass pooling='avg'."
        )
    trunk_params = 23_587_712  # keras.applications.ResNet50(include_top=False)
    if shape_out != (2048,) or "avg_pool" not in names or model.count_params() != trunk_params:
        return _fail(
            f"Expected keras.applications.ResNet50 with an output of shape (2048,); received "
            f"a model with output {shape_out}."
        )
    return Verdict(
        True, f"Correct: ResNet-50's trunk, {model.count_params():,} parameters, 2,048 features."
    )
