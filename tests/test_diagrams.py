"""reslab.diagrams reads the real blocks and models: the paths it draws are the layers Keras
built, the stage sizes are Table 1's, and the phases are the flags reslab.train sets."""

import keras
import pytest

from reslab import blocks, config, diagrams, models


def one_block(build, shape=(8, 8, 16)) -> keras.Model:
    inputs = keras.Input(shape)
    return keras.Model(inputs, build(inputs))


def labels(layers) -> list[str]:
    return [diagrams.label(layer)[0] for layer in layers]


def test_a_v1_block_that_downsamples_with_a_projection():
    u = diagrams.unit(one_block(lambda x: blocks.basic_block(x, 32, 2, shortcut="B")))
    assert u.trunk == []
    assert labels(u.residual) == ["3×3 conv, 32, /2", "BN", "ReLU", "3×3 conv, 32", "BN"]
    assert labels(u.shortcut) == ["1×1 conv, 32, /2", "BN"]
    assert labels(u.after) == ["ReLU"]  # v1: the ReLU after the addition
    assert (u.input_shape, u.output_shape) == ((8, 8, 16), (4, 4, 32))


def test_identity_option_a_and_zero_gamma_shortcuts():
    identity = diagrams.unit(one_block(lambda x: blocks.basic_block(x, 16, zero_gamma=True)))
    assert identity.shortcut == [] and labels(identity.residual)[-1] == "BN (γ = 0)"
    a = diagrams.unit(one_block(lambda x: blocks.basic_block(x, 32, 2, shortcut="A")))
    assert labels(a.shortcut) == ["subsample, /2", "+16 zero channels"]
    c = diagrams.unit(one_block(lambda x: blocks.basic_block(x, 16, shortcut="C")))
    assert labels(c.shortcut) == ["1×1 conv, 16", "BN"]  # C projects even when shapes match


def test_pre_activation_units_put_bn_relu_where_he_2016_does():
    v2 = diagrams.unit(one_block(lambda x: blocks.basic_block(x, 16, version="v2")))
    assert v2.trunk == [] and v2.shortcut == [] and v2.after == []  # nothing after the sum
    assert labels(v2.residual) == ["BN", "ReLU", "3×3 conv, 16", "BN", "ReLU", "3×3 conv, 16"]
    projecting = diagrams.unit(
        one_block(lambda x: blocks.basic_block(x, 32, 2, shortcut="B", version="v2"))
    )
    assert labels(projecting.trunk) == ["BN", "ReLU"]  # both paths read the pre-activation
    assert labels(projecting.shortcut) == ["1×1 conv, 32, /2", "BN"]


def test_a_plain_block_has_one_path():
    u = diagrams.unit(one_block(lambda x: blocks.plain_block(x, 16)))
    assert u.add is None and u.shortcut == []
    assert labels(u.residual) == ["3×3 conv, 16", "BN", "ReLU", "3×3 conv, 16", "BN", "ReLU"]


def test_two_blocks_are_not_one_unit():
    with pytest.raises(ValueError, match="one residual unit"):
        diagrams.unit(models.block_stack(2))


def test_resnet50_stages_are_table_1():
    table = diagrams.stages(models.resnet(50))
    assert table["size"].tolist() == [56, 56, 28, 14, 7]
    assert table["channels"].tolist() == [64, 256, 512, 1024, 2048]
    assert table["blocks"].tolist() == [0, 3, 4, 6, 3]
    assert table.loc["conv3_x", "layers"] == "bottleneck, 128 → 512"
    assert diagrams.stages(models.resnet(34)).loc["conv5_x", "layers"] == "basic, 512 → 512"


def test_fine_tuning_phases_come_from_the_trainer_and_leave_the_trunk_alone():
    base = models.resnet(50, include_top=False, width=0.0625, input_shape=(32, 32, 3))
    flags = [layer.trainable for layer in base.layers]
    first, second = diagrams.phases(base, ("conv5_",)).values()
    assert first["conv trainable"].sum() == 0 and first["bn trainable"].sum() == 0
    assert second.loc["conv5_x", "conv trainable"] == second.loc["conv5_x", "conv"] > 0
    assert second.drop("conv5_x")["conv trainable"].sum() == 0
    assert second["bn trainable"].sum() == 0  # batch norm stays frozen: inference mode
    assert [layer.trainable for layer in base.layers] == flags


def test_drawings_are_saved_under_diagrams():
    model = one_block(lambda x: blocks.basic_block(x, 16))
    diagrams.draw_units({"residual": model}, "test_unit")
    diagrams.draw_stages(models.resnet(18, input_shape=(64, 64, 3)), "test_stages")
    base = models.resnet(18, include_top=False, width=0.0625, input_shape=(32, 32, 3))
    diagrams.draw_phases(base, "test_phases")
    folder = config.figures_dir() / "diagrams"
    for name in ("test_unit", "test_stages", "test_phases"):
        assert (folder / f"{name}.png").stat().st_size > 5_000
        (folder / f"{name}.png").unlink()
