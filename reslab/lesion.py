"""Delete blocks from a trained network at test time: the lesion study of Veit et al. 2016.

A residual block y = ReLU(x + F(x)) is deleted by keeping its shortcut alone, y = x (the
ReLU then changes nothing: x is already the output of a ReLU). A plain block y = G(x) can
only be deleted where its input and output shapes match, by passing x straight through.
Nothing is retrained: the network keeps its weights and loses one block.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd


def block_names(model: keras.Model) -> list[str]:
    """The blocks of a network built by `reslab.models` (`conv3_block2`, ...), in order."""
    names = []
    for layer in model.layers:
        if "_block" in layer.name:
            block = layer.name.split("_")[0] + "_" + layer.name.split("_")[1]
            if block not in names:
                names.append(block)
    return names


def _skipped(model: keras.Model, block: str) -> set[str]:
    """Names of the layers to replace by their (first) input to delete `block`."""
    names = {layer.name for layer in model.layers}
    if f"{block}_add" in names:  # residual: the addition returns the shortcut alone
        return {f"{block}_add"}
    inside = [layer for layer in model.layers if layer.name.startswith(f"{block}_")]
    if not inside:
        raise ValueError(f"{model.name} has no block {block!r}. Its blocks: {block_names(model)}")
    shape_in = inside[0].input.shape
    shape_out = inside[-1].output.shape
    if tuple(shape_in) != tuple(shape_out):
        raise ValueError(
            f"{block} of {model.name} changes the shape {tuple(shape_in[1:])} -> "
            f"{tuple(shape_out[1:])} and has no shortcut, so it cannot be deleted."
        )
    return {layer.name for layer in inside}


def delete_blocks(model: keras.Model, blocks: list[str] | tuple[str, ...]) -> keras.Model:
    """A model that shares `model`'s layers and weights but skips `blocks` (Veit et al. 2016,
    §4: delete a block of a trained network, test it as it is)."""
    skipped = set().union(*(_skipped(model, b) for b in blocks)) if blocks else set()

    def call(layer, *args, **kwargs):
        if layer.name in skipped:
            inputs = args[0]
            return inputs[0] if isinstance(inputs, list | tuple) else inputs
        return layer(*args, **kwargs)

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


def test_error(model: keras.Model, x, y, batch_size: int = 500) -> float:
    """Test error % of `model` on images `x` with integer labels `y` (inference mode)."""
    wrong = 0
    for start in range(0, len(x), batch_size):
        scores = keras.ops.convert_to_numpy(model(x[start : start + batch_size], training=False))
        wrong += int((scores.argmax(-1) != y[start : start + batch_size]).sum())
    return 100 * wrong / len(x)


def single_deletions(model: keras.Model, x, y) -> pd.DataFrame:
    """Test error % with each block deleted in turn (the blocks that can be), and with none."""
    rows = [{"deleted": "none", "error": test_error(model, x, y)}]
    for block in block_names(model):
        try:
            lesioned = delete_blocks(model, [block])
        except ValueError:  # a plain block that changes the shape
            continue
        rows.append({"deleted": block, "error": test_error(lesioned, x, y)})
    return pd.DataFrame(rows)


def random_deletions(
    model: keras.Model, x, y, counts: tuple[int, ...], draws: int, seed: int = 0
) -> pd.DataFrame:
    """Test error % with `count` blocks chosen at random deleted together, `draws` times per
    count, and which blocks they were (Veit et al. 2016, Fig. 5a)."""
    rng = np.random.default_rng(seed)
    names = block_names(model)
    rows = []
    for count in counts:
        for _ in range(draws):
            chosen = [names[i] for i in sorted(rng.choice(len(names), count, replace=False))]
            lesioned = delete_blocks(model, chosen)
            rows.append(
                {"deleted blocks": count, "blocks": chosen, "error": test_error(lesioned, x, y)}
            )
    return pd.DataFrame(rows)
