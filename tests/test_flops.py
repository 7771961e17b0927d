import keras
import pytest

from reslab import flops, models


def test_multiply_adds_of_a_hand_computed_net():
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(x)  # -> 4x4x4
    y = keras.layers.BatchNormalization(name="bn")(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    y = keras.layers.Dense(10, name="fc")(y)
    table = flops.layer_table(keras.Model(x, y))
    assert list(table.index) == ["conv", "bn", "fc"]
    assert table.loc["conv", "mult_adds"] == 4 * 4 * 3 * 3 * 3 * 4  # out pixels x k x k x in x out
    assert table.loc["conv", "params"] == 3 * 3 * 3 * 4 + 4
    assert table.loc["bn", "mult_adds"] == 0  # the paper counts convs and fc only
    assert table.loc["fc", "mult_adds"] == 4 * 10
    assert flops.multiply_adds(keras.Model(x, y)) == 1728 + 40


def test_cifar_resnets_cost_what_their_layers_say():
    # ResNet-20 on 32x32: 19 3x3 convs over 16/32/64 channels at 32/16/8 px, plus the fc.
    first = 32 * 32 * 9 * 3 * 16
    per_stage = [32 * 32 * 9 * 16 * 16, 16 * 16 * 9 * 32 * 32, 8 * 8 * 9 * 64 * 64]
    strided = [16 * 16 * 9 * 16 * 32, 8 * 8 * 9 * 32 * 64]  # the first conv of stages 2, 3
    expected = first + 6 * per_stage[0] + sum(strided) + 5 * sum(per_stage[1:]) + 64 * 10
    assert flops.multiply_adds(models.cifar_resnet(20)) == expected  # about 41 M
    assert flops.multiply_adds(models.plain_cifar(20)) == expected  # option A is free


def test_model_without_weights_is_a_clear_error():
    x = keras.Input((4,))
    with pytest.raises(ValueError, match="no layer with weights"):
        flops.layer_table(keras.Model(x, keras.layers.ReLU()(x)))
