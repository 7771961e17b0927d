"""Compare a learner's Keras model with a reference by what it computes, not how it is written.

The checkers of `reslab.checks` use this for blocks and networks: the weighted layers of both
models are paired by kind and shape (in order of depth from the input, so the order in which
the learner created them does not matter), the reference's weights, with every BN statistic
drawn at random, are copied into the learner's layers, and both models run on the same input.
If the outputs differ, the first paired layer whose output differs locates the mistake.
`y + x` and `layers.Add()`, `layers.ReLU()` and `Activation("relu")` are all the same here:
only the numbers count.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import keras
import numpy as np

from reslab.autodiff import to_numpy

KIND_NAMES = {
    "Conv2D": "convolution",
    "Dense": "Dense layer",
    "BatchNormalization": "BN",
}


@dataclasses.dataclass(frozen=True)
class Weighted:
    """A layer with weights, where it sits, and what it is (kind + main weight's shape)."""

    layer: keras.layers.Layer
    depth: int  # weighted layers on the longest path from the input, this one included
    index: int  # position in the model's topological order

    @property
    def kind(self) -> str:
        return type(self.layer).__name__

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.layer.weights[0].shape)

    @property
    def signature(self) -> tuple[str, tuple[int, ...]]:
        return self.kind, self.shape

    def describe(self) -> str:
        kind = KIND_NAMES.get(self.kind, self.kind)
        if self.kind == "Conv2D":
            size = "×".join(str(k) for k in self.shape[:2])
            stride = self.layer.strides
            strided = f", stride {stride[0]}" if stride != (1, 1) else ""
            return f"{size} {kind} with {self.shape[-1]} filters{strided}"
        if self.kind == "BatchNormalization":
            return f"BN over {self.shape[0]} channels"
        return f"{kind} with {self.shape[-1]} units"


def functional(model: keras.Model) -> keras.Model:
    """The functional graph of a functional or Sequential model (a subclassed model has
    none: ValueError)."""
    if hasattr(model, "operations"):
        return model
    try:
        return keras.Model(model.inputs, model.outputs)
    except Exception as err:
        raise ValueError(f"{type(model).__name__} has no functional graph") from err


def operations(model: keras.Model) -> list:
    """Every operation of a model in the order it runs (layers and `ops` alike)."""
    ops = functional(model).operations
    return [op for op in ops if not isinstance(op, keras.layers.InputLayer)]


def parents(op) -> list:
    """The operations whose outputs `op` reads (its first call)."""
    node = op._inbound_nodes[0]
    return [t._keras_history.operation for t in node.input_tensors]


def weighted_layers(model: keras.Model) -> list[Weighted]:
    """The layers with weights, with their depth from the input, in topological order."""
    depth: dict[int, int] = {}
    found = []
    for index, op in enumerate(functional(model).operations):
        above = max((depth.get(id(p), 0) for p in parents(op)), default=0)
        has_weights = bool(getattr(op, "weights", None))
        depth[id(op)] = above + has_weights
        if has_weights:
            found.append(Weighted(op, depth[id(op)], index))
    return found


def pair_layers(
    mine: keras.Model, reference: keras.Model
) -> tuple[list[tuple[Weighted, Weighted]], str | None]:
    """Pair every weighted layer of `mine` with one of `reference`: same kind and shape, in
    order of depth. Returns the pairs and, if the layers do not correspond, why not."""
    groups: dict[tuple, list[list[Weighted]]] = defaultdict(lambda: [[], []])
    for side, model in enumerate((mine, reference)):
        for w in weighted_layers(model):
            groups[w.signature][side].append(w)
    for _, (ours, theirs) in sorted(groups.items(), key=lambda g: _first_index(g[1][1])):
        if len(ours) < len(theirs):
            missing = theirs[len(ours)]
            return [], (
                f"Missing: a {missing.describe()} (the reference has {len(theirs)} of these, "
                f"yours {len(ours)})."
            )
    for _, (ours, theirs) in groups.items():
        if len(ours) > len(theirs):
            extra = ours[len(theirs)]
            return [], (
                f"Unexpected: a {extra.describe()} (`{extra.layer.name}`); the reference has "
                f"{len(theirs)} of these, yours {len(ours)}."
            )
    pairs = []
    for ours, theirs in groups.values():
        key = lambda w: (w.depth, w.index)  # noqa: E731
        pairs += zip(sorted(ours, key=key), sorted(theirs, key=key), strict=True)
    return sorted(pairs, key=lambda pair: pair[1].index), None


def _first_index(layers: list[Weighted]) -> int:
    return min((w.index for w in layers), default=10**9)


def randomize(model: keras.Model, x: np.ndarray, seed: int = 0) -> None:
    """Random kernels, biases, γ and β, spread enough that layers in the wrong order, or a
    missing ReLU, change the output; then every BN's moving statistics set to its batch
    statistics on `x` (one training-mode pass with momentum 0), so that activations keep
    their size through a deep model in inference mode and no softmax saturates."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        name, shape = weight.path.split("/")[-1], tuple(weight.shape)
        if name in ("moving_mean", "moving_variance"):
            continue
        if name == "gamma":
            value = rng.uniform(0.5, 1.5, shape)
        elif name in ("beta", "bias"):
            value = rng.normal(0.0, 0.5, shape)
        else:  # kernels: He-scaled
            fan_in = int(np.prod(shape[:-1]))
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        weight.assign(value.astype(weight.dtype))
    norms = [op for op in model.operations if isinstance(op, keras.layers.BatchNormalization)]
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.momentum = 0.0
    model(x, training=True)
    for bn, momentum in zip(norms, momenta, strict=True):
        bn.momentum = momentum


def copy_weights(pairs: list[tuple[Weighted, Weighted]]) -> None:
    """Reference weights into the learner's layers. A bias that only one side has is set to
    0 there: a bias before BN changes nothing a checker should grade (a parameter count, if
    the exercise asks for one, catches it)."""
    for ours, theirs in pairs:
        mine = {w.path.split("/")[-1]: w for w in ours.layer.weights}
        values = {w.path.split("/")[-1]: w for w in theirs.layer.weights}
        for name in values.keys() - mine.keys():
            values[name].assign(np.zeros(tuple(values[name].shape), values[name].dtype))
        for name, weight in mine.items():
            source = values.get(name)
            if source is None:
                weight.assign(np.zeros(tuple(weight.shape), weight.dtype))
            else:
                weight.assign(keras.ops.convert_to_numpy(source))
        if hasattr(ours.layer, "epsilon"):  # BN: compare the arithmetic, not Keras's default
            ours.layer.epsilon = theirs.layer.epsilon


def first_difference(
    mine: keras.Model,
    reference: keras.Model,
    pairs: list[tuple[Weighted, Weighted]],
    x: np.ndarray,
    atol: float = 1e-4,
) -> tuple[Weighted, Weighted] | None:
    """The first pair (in the reference's order) whose outputs differ on `x`, or None."""
    ours = keras.Model(mine.input, [p[0].layer.output for p in pairs])
    theirs = keras.Model(reference.input, [p[1].layer.output for p in pairs])
    for pair, a, b in zip(pairs, _as_list(ours(x)), _as_list(theirs(x)), strict=True):
        a, b = to_numpy(a), to_numpy(b)
        scale = atol * max(1.0, float(np.abs(b).max()))
        if a.shape != b.shape or not np.allclose(a, b, atol=scale, rtol=1e-4):
            return pair
    return None


def _as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def same_function(
    mine: keras.Model, reference: keras.Model, x: np.ndarray, atol: float = 1e-4
) -> tuple[bool, str]:
    """Copy the randomised reference's weights into `mine` and compare outputs on `x`.
    Returns (equal, what differs first) in words a learner can act on."""
    pairs, problem = pair_layers(mine, reference)
    if problem:
        return False, problem
    randomize(reference, x)
    copy_weights(pairs)
    a, b = to_numpy(mine(x)), to_numpy(reference(x))
    if a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=1e-4):
        # Inference mode agrees; training mode also shows layers that only act then.
        a, b = to_numpy(mine(x, training=True)), to_numpy(reference(x, training=True))
        if np.allclose(a, b, atol=atol, rtol=1e-4):
            return True, ""
        extra = [describe_op(op) for op in operations(mine) if "Dropout" in type(op).__name__]
        return False, (
            "In inference mode your model computes what the reference computes, but not in "
            f"training mode: {', '.join(extra) or 'a layer that acts only in training'} is not "
            "part of the reference. Remove it."
        )
    pair = first_difference(mine, reference, pairs, x, atol)
    if pair is None:
        return False, (
            "Every layer with weights computes what the reference's does, but the final output "
            "differs: check what comes after the last layer with weights (the addition and "
            "the final activation)."
        )
    ours, theirs = pair
    mine_act = getattr(getattr(ours.layer, "activation", None), "__name__", None)
    their_act = getattr(getattr(theirs.layer, "activation", None), "__name__", None)
    if mine_act != their_act:
        return False, (
            f"`{ours.layer.name}` uses activation '{mine_act}'; the reference's "
            f"{theirs.describe()} (`{theirs.layer.name}`) uses '{their_act}'."
        )
    a_shape = tuple(ours.layer.output.shape[1:])
    b_shape = tuple(theirs.layer.output.shape[1:])
    if a_shape != b_shape:
        return False, (
            f"`{ours.layer.name}` outputs shape {a_shape}; the reference's {theirs.describe()} "
            f"(`{theirs.layer.name}`) outputs {b_shape}. Check its stride and padding, and "
            "those of the layers before it."
        )
    return False, (
        f"The first layer whose output differs from the reference's is `{ours.layer.name}`, "
        f"a {theirs.describe()} (`{theirs.layer.name}` in the reference). Check what comes "
        f"before it: the reference applies {chain(theirs.layer)}; yours applies "
        f"{chain(ours.layer)}."
    )


def chain(layer) -> str:
    """The operations between a layer and the previous layer with weights (or the input),
    in words: 'conv1_bn → ReLU → ZeroPadding2D → MaxPooling2D → this layer'."""
    steps, op = [], layer
    while True:
        above = parents(op)
        if not above:
            break
        op = above[0]
        if getattr(op, "weights", None) or isinstance(op, keras.layers.InputLayer):
            steps.append(f"`{op.name}`")
            break
        if len(above) > 1 or is_add(op):
            steps.append(describe_op(op))
            break
        steps.append(describe_op(op))
    return " → ".join([*reversed(steps), "this layer"])


def describe_op(op) -> str:
    """A short name for what an operation computes."""
    kind = type(op).__name__
    if kind == "InputLayer":
        return "the input"
    if is_relu(op):
        return "ReLU"
    if kind == "Add":
        return "an addition"
    if kind == "Activation":
        return f"{getattr(op.activation, '__name__', 'an')} activation"
    return kind


def is_relu(op) -> bool:
    """ReLU however it is written: `Activation("relu")`, `layers.ReLU()`, `ops.relu`."""
    kind = type(op).__name__
    if kind == "Activation":
        return getattr(op.activation, "__name__", "") == "relu"
    if kind == "ReLU":  # the layer, with its defaults, or keras.ops.relu
        plain = getattr(op, "negative_slope", 0) == 0 and getattr(op, "threshold", 0) == 0
        return plain and getattr(op, "max_value", None) is None
    return kind == "Relu"


def is_add(op) -> bool:
    """An addition: `layers.Add()`, `y + x` or `keras.ops.add`."""
    return type(op).__name__ == "Add"
