"""The block checkers of notebooks 03, 04 and 06 (bottleneck identity and convolutional
blocks, the pre-activation block), with the steps they share."""

from __future__ import annotations

import re
from collections.abc import Callable

import keras

from reslab import blocks, compare
from reslab.checks.verdict import Verdict, _fail, _model_of, _result, _same_as

# --- Blocks and networks: shared steps ----------------------------------------------------

CONCATENATE = (
    "Concatenate stacks the two tensors' channels; a residual block adds them: "
    "layers.Add()([shortcut, y]) or y + shortcut."
)
SHAPE = r"\((\d+), (\d+), (\d+)\)"  # a 3-d shape in a Keras error message


def _block_output(fn: Callable, x, *args) -> tuple[object, Verdict | None]:
    """Run the learner's block on the symbolic input `x`; feedback for every way that fails."""
    y, error = _result(fn, x, *args)
    if error is not None:
        text = error.message
        if "shape" in text and ("incompatible" in text or "broadcast" in text):
            first = text.split(": ", 1)[-1].splitlines()[0][:160]
            return None, _fail(
                "Adding the shortcut failed: the two tensors have different shapes (Keras: "
                f"{first}). The residual branch must end with the shape of the shortcut."
            )
        return None, error
    if isinstance(y, keras.Model | keras.layers.Layer):
        return None, _fail(
            f"`{fn.__name__}` returned a {type(y).__name__}; return the block's output tensor "
            "(the result of the last layer applied to x), as the functional API does."
        )
    if not isinstance(y, keras.KerasTensor):
        return None, _fail(
            f"`{fn.__name__}` returned a {type(y).__name__}; return the output tensor of the "
            "last layer, built from the input tensor x with Keras layers."
        )
    return y, None


def _reads_input(op) -> bool:
    """Whether `op` reads the block's input x directly."""
    return any(isinstance(p, keras.layers.InputLayer) for p in compare.parents(op))


def _shortcut_problem(model: keras.Model) -> str | None:
    """Messages for the shortcut mistakes learners make most: none, concatenated, added after
    the ReLU, taken from the wrong tensor, or no ReLU after the addition."""
    ops = compare.operations(model)
    if any(type(op).__name__ == "Concatenate" for op in ops):
        return CONCATENATE
    adds = [op for op in ops if compare.is_add(op)]
    if not adds:
        return (
            "The shortcut is missing: add the block's input to the output of the last BN "
            "(layers.Add()([x, y]) or y + x)."
        )
    add = adds[-1]
    inputs = compare.parents(add)
    if any(compare.is_relu(p) for p in inputs):
        return (
            "The shortcut is added after a ReLU. Add it to the output of the last BN first, then "
            "apply the ReLU (He et al. 2015, Eq. 1 and Fig. 5: y = F(x) + x, then ReLU)."
        )
    if not compare.is_relu(ops[-1]):
        return (
            "The block must end with a ReLU after the addition (He et al. 2015, Fig. 5); "
            f"yours ends with {compare.describe_op(ops[-1])}."
        )
    return None


# --- Notebook 03: the bottleneck identity block -----------------------------------------


def check_identity_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters)` builds ResNet-50's identity block on tensor `x`:
    1×1 → 3×3 → 1×1 convs with BN (and ReLU after the first two), x added, then ReLU."""
    filters, shape = 4, (6, 6, 16)
    x = keras.Input(shape)
    y, error = _block_output(fn, x, filters)
    if error is not None:
        found = [tuple(int(n) for n in m) for m in re.findall(SHAPE, error.message)]
        branch = [s for s in found if s != shape]
        if "Adding the shortcut failed" not in error.message or not branch:
            return error
        out = branch[0]
    else:
        out = tuple(y.shape[1:])
        model, error = _model_of(x, y)
        if error is not None:
            return error
        if any(type(op).__name__ == "Concatenate" for op in compare.operations(model)):
            return _fail(CONCATENATE)
    if out[:2] != shape[:2]:
        return _fail(
            f"The output is {out}; the grid must stay {shape[:2]}. Give the 3×3 conv "
            "padding='same' and every conv a stride of 1."
        )
    if out != shape:
        return _fail(
            f"The output is {out}; an identity block keeps the input shape {shape}: the last "
            f"1×1 conv needs 4 * filters = {4 * filters} filters."
        )
    problem = _shortcut_problem(model)
    adds = [op for op in compare.operations(model) if compare.is_add(op)]
    if problem is None and not _reads_input(adds[-1]):
        problem = (
            "The shortcut must carry the block's input x itself, unchanged; yours adds "
            + " and ".join(f"`{p.name}`" for p in compare.parents(adds[-1]))
            + "."
        )
    if problem:
        return _fail(problem)
    sizes = [w.layer.kernel_size for w in compare.weighted_layers(model) if w.kind == "Conv2D"]
    if sizes != [(1, 1), (3, 3), (1, 1)]:
        return _fail(f"The conv kernel sizes are {sizes}; expected 1×1, 3×3, 1×1 (a bottleneck).")
    x_ref = keras.Input(shape)
    reference = keras.Model(x_ref, blocks.identity_block(x_ref, filters))
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    return Verdict(True, f"Correct: an identity block with {model.count_params():,} parameters.")


# --- Notebook 04: the convolutional block (bottleneck, projection shortcut) -----------------


def check_convolutional_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters, stride)` builds ResNet-50's convolutional block (v1): the
    bottleneck with the stride in its first 1×1 conv and a strided 1×1 projection + BN."""
    filters, stride, shape = 4, 2, (8, 8, 8)
    expected = (4, 4, 4 * filters)
    x = keras.Input(shape)
    y, error = _block_output(fn, x, filters, stride)
    if error is not None:
        shapes = re.findall(SHAPE, error.message)
        if "Adding the shortcut failed" in error.message and (8, 8, 8) in [
            tuple(int(n) for n in s) for s in shapes
        ]:
            return _fail(
                "The shortcut is the block's input x itself, of shape (8, 8, 8), but this block "
                "changes the shape. The shortcut needs a projection: a 1×1 conv with "
                "4 * filters filters and the same stride, then BN (He et al. 2015, §3.3, "
                "option B)."
            )
        if "Adding the shortcut failed" in error.message:
            return _fail(
                error.message + " Give the 3×3 conv padding='same', and put the stride in "
                "the first 1×1 conv and in the projection, nowhere else."
            )
        return error
    if tuple(y.shape[1:]) != expected:
        return _fail(
            f"The output is {tuple(y.shape[1:])}; for a {shape} input, filters={filters} and "
            f"stride={stride} it should be {expected}: the stride halves the grid and the last "
            "1×1 conv expands to 4 * filters channels."
        )
    model, error = _model_of(x, y)
    if error is not None:
        return error
    problem = _shortcut_problem(model)
    if problem:
        return _fail(problem.replace("the block's input", "the projected input"))
    convs = [w for w in compare.weighted_layers(model) if w.kind == "Conv2D"]
    reading_x = [w for w in convs if _reads_input(w.layer)]
    if len(reading_x) < 2:
        return _fail(
            "The shortcut needs its own 1×1 convolution (the projection, then BN) applied to "
            "the block's input x, beside the residual branch's first 1×1 convolution: found "
            f"{len(reading_x)} convolution(s) reading x."
        )
    strided = [w for w in convs if w.layer.strides != (1, 1) and w not in reading_x]
    if any(w.layer.kernel_size == (3, 3) for w in strided):
        return _fail(
            "The stride sits in the 3×3 conv. That is ResNet v1.5 (torchvision); the paper's "
            "released models and keras.applications.ResNet50 put it in the first 1×1 conv."
        )
    x_ref = keras.Input(shape)
    reference = keras.Model(x_ref, blocks.convolutional_block(x_ref, filters, stride))
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    return Verdict(
        True, f"Correct: a convolutional block with {model.count_params():,} parameters."
    )


# --- Notebook 06: the pre-activation (v2) block -----------------------------------------


def check_preact_block(fn: Callable) -> Verdict:
    """Check `fn(x, filters)` builds the v2 basic block of He et al. 2016 (Fig. 4e):
    BN-ReLU-conv3×3-BN-ReLU-conv3×3, x added, nothing after the addition."""
    filters, shape = 8, (6, 6, 8)
    x = keras.Input(shape)
    y, error = _block_output(fn, x, filters)
    if error is not None:
        return error
    if tuple(y.shape[1:]) != shape:
        return _fail(
            f"The output is {tuple(y.shape[1:])}; this block keeps its input's shape {shape}: "
            "both 3×3 convolutions with `filters` filters, padding='same', stride 1."
        )
    model, error = _model_of(x, y)
    if error is not None:
        return error
    ops = compare.operations(model)
    if any(type(op).__name__ == "Concatenate" for op in ops):
        return _fail(CONCATENATE)
    adds = [op for op in ops if compare.is_add(op)]
    if not adds:
        return _fail("The shortcut is missing: add x to the second convolution's output.")
    if ops[-1] is not adds[-1]:
        return _fail(
            f"Your block ends with {compare.describe_op(ops[-1])} after the addition. In v2 "
            "nothing follows the addition: its output is the next block's input, untouched "
            "(He et al. 2016, Fig. 4e)."
        )
    if not _reads_input(adds[-1]):
        return _fail(
            "The shortcut must carry the block's input x itself, not its pre-activated "
            "version: " + " and ".join(f"`{p.name}`" for p in compare.parents(adds[-1])) + "."
        )
    first = [op for op in ops if _reads_input(op) and op is not adds[-1]]
    if first and isinstance(first[0], keras.layers.Conv2D):
        return _fail(
            "The residual branch starts with a convolution, as in v1. In v2 it starts with BN "
            "and ReLU (pre-activation), before each convolution."
        )
    x_ref = keras.Input(shape)
    reference = keras.Model(x_ref, blocks.basic_block(x_ref, filters, version="v2"))
    problem = _same_as(model, reference, shape)
    if problem:
        return _fail(problem)
    return Verdict(
        True, f"Correct: a pre-activation block with {model.count_params():,} parameters."
    )
