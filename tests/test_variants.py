"""The networks after ResNet (reslab.variants), the lesion study (reslab.lesion) and ResNet as
a backbone (reslab.backbone): notebook 11's building blocks."""

import keras
import numpy as np
import pandas as pd
import pytest
from keras import layers

from reslab import backbone, experiments, lesion, models, variants
from reslab.experiments import successors

# Parameters of each network on 32×32×1 inputs, 10 classes (ResNet-20: 0.27 M, Table 6).
PARAMETERS = {
    "plain": 270_810,
    "resnet": 270_810,
    "highway": 284_714,
    "wide": 687_274,
    "resnext": 212_058,
    "se": 279_294,
    "stochastic": 270_810,
    "densenet": 296_098,
}


@pytest.mark.parametrize("kind", variants.KINDS)
def test_every_variant_builds_with_its_parameter_count(kind):
    model = variants.variant(kind, input_shape=(32, 32, 1))
    assert tuple(model.output.shape) == (None, 10)
    assert model.count_params() == PARAMETERS[kind]


def out(model, data) -> np.ndarray:
    """A model's (or layer's) output as NumPy, on every backend (a PyTorch output that
    requires grad refuses `np.asarray`)."""
    return keras.ops.convert_to_numpy(model(data))


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="should be one of"):
        variants.variant("mobilenet")


def test_resnext_split_groups_compute_a_grouped_convolution():
    """Fig. 3b (split, convolve, concatenate) equals Conv2D(groups=8) with the same kernels."""
    x = keras.Input((8, 8, 32))
    y = variants.resnext_block(x, 16, name="b")
    model = keras.Model(x, y)
    parts = [model.get_layer(f"b_2_conv_g{g}") for g in range(8)]
    grouped = layers.Conv2D(32, 3, padding="same", groups=8, use_bias=False)
    grouped.build((None, 8, 8, 32))
    grouped.kernel.assign(np.concatenate([p.kernel.numpy() for p in parts], axis=-1))
    inner = keras.Model(x, model.get_layer("b_1_relu").output)
    split = keras.Model(x, model.get_layer("b_2_concat").output)
    data = np.random.default_rng(0).normal(size=(2, 8, 8, 32)).astype("float32")
    np.testing.assert_allclose(out(split, data), out(grouped, out(inner, data)), atol=1e-5)


def test_highway_block_with_a_closed_gate_carries_its_input():
    x = keras.Input((6, 6, 8))
    model = keras.Model(x, variants.highway_block(x, 8, name="h"))
    gate = model.get_layer("h_gate")
    gate.kernel.assign(np.zeros(gate.kernel.shape, "float32"))
    gate.bias.assign(np.full(gate.bias.shape, -30.0, "float32"))  # T = sigmoid(-30) ≈ 0
    data = np.random.default_rng(0).normal(size=(2, 6, 6, 8)).astype("float32")
    np.testing.assert_allclose(out(model, data), data, atol=1e-6)


def test_squeeze_excite_rescales_each_channel_by_a_weight_in_0_1():
    x = keras.Input((5, 5, 16))
    model = keras.Model(x, variants.squeeze_excite(x, 4))
    data = np.random.default_rng(0).normal(size=(2, 5, 5, 16)).astype("float32")
    ratio = out(model, data) / data
    assert np.all((ratio > 0) & (ratio < 1))
    np.testing.assert_allclose(ratio, ratio[:, :1, :1, :].repeat(5, 1).repeat(5, 2), rtol=1e-4)
    assert model.count_params() == 16 * 4 + 4 + 4 * 16 + 16


def test_stochastic_depth_drops_whole_batches_in_training_and_scales_at_test():
    drop = variants.StochasticDepth(0.75, seed=1)
    x = np.ones((4, 3), "float32")
    np.testing.assert_allclose(drop(x), 0.75 * x)
    kept = [float(np.asarray(drop(x, training=True)).mean()) for _ in range(400)]
    assert set(kept) == {0.0, 1.0}  # the whole mini-batch, kept or dropped
    assert 0.68 < np.mean(kept) < 0.82
    with pytest.raises(ValueError, match="survival"):
        variants.StochasticDepth(0.0)


def test_survival_rates_decay_linearly_to_the_last_value():
    rates = variants.survival_rates(9, last=0.5)
    assert rates[-1] == pytest.approx(0.5)
    assert rates[0] == pytest.approx(1 - 0.5 / 9)
    assert np.allclose(np.diff(rates), -0.5 / 9)


def test_dense_block_grows_by_the_growth_rate_per_layer():
    x = keras.Input((8, 8, 24))
    y = variants.dense_block(x, 4, 12)
    assert y.shape[-1] == 24 + 4 * 12
    assert variants.transition(y).shape[1:] == (4, 4, 72)


def test_deleting_an_identity_block_of_a_zero_gamma_resnet_changes_nothing():
    """With its last BN at γ = 0 a v1 block computes ReLU(x + 0) = x: deleting it is exact."""
    model = models.cifar_resnet(14, zero_gamma=True, input_shape=(16, 16, 1), widths=(4, 8, 16))
    data = np.random.default_rng(0).random((3, 16, 16, 1)).astype("float32")
    for block in lesion.block_names(model):
        np.testing.assert_allclose(
            out(lesion.delete_blocks(model, [block]), data), out(model, data), atol=1e-6
        )


def test_deleting_a_plain_block_changes_the_output_and_shares_the_weights():
    model = models.plain_cifar(14, input_shape=(16, 16, 1), widths=(4, 8, 16))
    data = np.random.default_rng(0).random((3, 16, 16, 1)).astype("float32")
    lesioned = lesion.delete_blocks(model, ["conv2_block2"])
    assert not np.allclose(out(lesioned, data), out(model, data))
    assert {id(w) for w in lesioned.weights} < {id(w) for w in model.weights}
    np.testing.assert_allclose(out(lesion.delete_blocks(model, []), data), out(model, data))
    with pytest.raises(ValueError, match="changes the shape"):
        lesion.delete_blocks(model, ["conv3_block1"])
    with pytest.raises(ValueError, match="has no block"):
        lesion.delete_blocks(model, ["conv9_block1"])


def test_stage_outputs_are_at_strides_4_8_16_32():
    model = models.resnet(18, include_top=False, input_shape=(64, 64, 3), width=0.25)
    stages = backbone.stage_outputs(model)
    assert [tuple(o.shape[1:3]) for o in stages.outputs] == [(16, 16), (8, 8), (4, 4), (2, 2)]
    pyramid = backbone.feature_pyramid(stages.outputs, channels=32)
    assert [tuple(p.shape[1:]) for p in pyramid] == [
        (16, 16, 32),
        (8, 8, 32),
        (4, 4, 32),
        (2, 2, 32),
    ]
    with pytest.raises(ValueError, match="no `conv5_block"):
        backbone.stage_outputs(models.plain_cifar(8, widths=(4, 8, 16)))


def test_successors_runner_writes_rows_keeps_weights_and_resumes(tmp_path, capsys):
    out = tmp_path / "succ"
    argv = [
        "successors",
        "--kinds",
        "resnet",
        "highway",
        "--seeds",
        "0",
        "--epochs",
        "1",
        "--train-samples",
        "40",
        "--test-samples",
        "20",
        "--out",
        str(out),
    ]
    experiments.main(argv)
    table = pd.read_csv(f"{out}.csv")
    assert list(table.kind) == ["resnet", "highway"]
    assert table.params.tolist() == [PARAMETERS["resnet"], PARAMETERS["highway"]]
    assert successors.weights_path(out, "resnet").exists()
    assert not successors.weights_path(out, "highway").exists()
    experiments.main(argv)
    assert "already in" in capsys.readouterr().out
