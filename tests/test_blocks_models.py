import keras
import numpy as np
import pytest

from reslab import autodiff, blocks, models

TABLE_6_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}  # He et al. 2015


@pytest.mark.parametrize("depth", TABLE_6_PARAMS_M)
def test_cifar_resnet_parameters_match_table_6(depth):
    model = models.cifar_resnet(depth, shortcut="A")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    digits = 1 if depth == 110 else 2  # Table 6 prints 1.7M, the others to 0.01M
    assert round(trainable / 1e6, digits) == TABLE_6_PARAMS_M[depth]
    # Option A shortcuts are parameter-free: the plain twin has exactly the same weights.
    assert models.plain_cifar(depth).count_params() == model.count_params()
    assert len(model.layers) > len(models.plain_cifar(depth).layers)  # ...plus Add layers


def test_cifar_layout_is_6n_plus_2_weighted_layers():
    model = models.cifar_resnet(20)
    weighted = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense)
    ]
    assert len(weighted) == 20
    shapes = {layer.name: layer.output.shape[1:] for layer in model.layers}
    assert shapes["conv2_block3_out"] == (32, 32, 16)
    assert shapes["conv3_block1_out"] == (16, 16, 32)
    assert shapes["conv4_block3_out"] == (8, 8, 64)
    assert model.output.shape[1:] == (10,)


def test_v2_cifar_net_shares_only_its_first_blocks_preactivation_with_the_shortcut():
    # He et al. 2016, appendix: "the first activation right after conv1 and before splitting
    # into two paths"; later identity shortcuts carry x itself, untouched.
    model = models.cifar_resnet(20, version="v2")

    def shortcut_source(block: str) -> str:
        add = model.get_layer(f"{block}_out")
        branch = model.get_layer(f"{block}_2_conv").output
        (short,) = [t for t in add.input if t is not branch]
        return short._keras_history.operation.name

    assert shortcut_source("conv2_block1") == "conv2_block1_preact_relu"
    assert shortcut_source("conv2_block2") == "conv2_block1_out"
    assert "conv1_bn" not in [layer.name for layer in model.layers]
    v1 = models.cifar_resnet(20, version="v1")
    assert model.count_params() == v1.count_params()  # BN moved, none added or lost


def test_options_b_and_c_add_projections_where_the_paper_says():
    a, b, c = (models.cifar_resnet(20, shortcut=s).count_params() for s in "ABC")
    # B: two projections (16->32, 32->64), each a 1x1 conv + BN (4 numbers per channel).
    assert b - a == (16 * 32 + 4 * 32) + (32 * 64 + 4 * 64)
    assert c > b
    projections = [
        layer.name for layer in models.cifar_resnet(20, "C").layers if "_0_conv" in layer.name
    ]
    assert len(projections) == 9  # C: one on every block


@pytest.mark.parametrize("depth", [0, 21, 8.5])
def test_bad_depth_is_a_clear_error(depth):
    with pytest.raises(ValueError, match=r"depth 6n \+ 2 .* Received: depth="):
        models.cifar_resnet(depth)


def test_bad_shortcut_and_version_are_clear_errors():
    with pytest.raises(ValueError, match=r"should be one of .*Received: shortcut='D'"):
        models.cifar_resnet(20, shortcut="D")
    with pytest.raises(ValueError, match="Received: version='v3'"):
        models.cifar_resnet(20, version="v3")
    x = keras.Input((8, 8, 32))
    with pytest.raises(ValueError, match="Option A can only add channels"):
        blocks.basic_block(x, 16, shortcut="A")
    with pytest.raises(ValueError, match=r"needs 4 \* filters = 64 channels. Received: 32"):
        blocks.identity_block(x, 16)


def test_option_a_subsamples_and_pads_with_zeros():
    x = keras.Input((8, 8, 16))
    model = keras.Model(x, blocks.shortcut_path(x, 32, 2, "A", "s"))
    value = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    out = np.asarray(model(value))
    assert out.shape == (2, 4, 4, 32) and model.count_params() == 0
    np.testing.assert_array_equal(out[..., :16], value[:, ::2, ::2, :])
    assert not out[..., 16:].any()


def test_zero_gamma_block_is_the_identity_and_passes_gradients_intact():
    keras.utils.set_random_seed(0)
    x = keras.Input((8, 8, 16))
    block = keras.Model(x, blocks.basic_block(x, 16, zero_gamma=True))
    value = np.random.default_rng(0).uniform(size=(2, 8, 8, 16)).astype("float32")
    out = autodiff.to_numpy(block(value, training=False))
    np.testing.assert_allclose(out, value, atol=1e-6)  # relu(x + 0) = x for x >= 0
    # d(sum of the outputs)/dx: all ones when the block passes gradients on unchanged.
    (gradient,) = autodiff.input_gradients(lambda t: keras.ops.sum(block(t, training=False)), value)
    np.testing.assert_allclose(gradient, np.ones(value.shape), atol=1e-6)


def test_bottleneck_stride_sits_in_the_1x1_for_v1_and_the_3x3_for_v1_5():
    for version, strided in (("v1", "b_1_conv"), ("v1.5", "b_2_conv")):
        x = keras.Input((16, 16, 64))
        model = keras.Model(
            x, blocks.convolutional_block(x, 32, stride=2, name="b", version=version)
        )
        strides = {layer.name: layer.strides for layer in model.layers if "conv" in layer.name}
        assert strides[strided] == (2, 2) and model.output.shape[1:] == (8, 8, 128)
        assert sorted(name for name, s in strides.items() if s == (2, 2)) == ["b_0_conv", strided]


def test_bottleneck_blocks_match_keras_resnet50_names_and_shapes():
    reference = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    x = keras.Input((16, 16, 64))
    y = blocks.convolutional_block(x, 64, stride=1, name="conv2_block1")
    y = blocks.identity_block(y, 64, name="conv2_block2")
    ours = keras.Model(x, y)

    def weights(model, prefix):
        return {
            (layer.name, tuple(tuple(w.shape) for w in layer.weights))
            for layer in model.layers
            if layer.name.startswith(prefix)
        }

    for prefix in ("conv2_block1_", "conv2_block2_"):
        assert weights(ours, prefix) == weights(reference, prefix)


def test_widths_scale_the_net_and_bad_widths_are_clear_errors():
    half = models.cifar_resnet(20, widths=(8, 16, 32))
    assert half.get_layer("conv4_block3_out").output.shape[1:] == (8, 8, 32)
    assert half.count_params() < models.cifar_resnet(20).count_params() / 3
    assert models.plain_cifar(20, widths=(8, 16, 32)).count_params() == half.count_params()
    with pytest.raises(
        ValueError, match=r"three positive filter counts.*Received: widths=\(8, 16\)"
    ):
        models.plain_cifar(20, widths=(8, 16))


def test_cifar_batch_norm_uses_a_short_run_momentum():
    model = models.cifar_resnet(20)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 19 and {bn.momentum for bn in bns} == {blocks.BN_MOMENTUM}


def test_block_stack_kinds_and_a_clear_error():
    plain, v1, v2 = (models.block_stack(3, kind) for kind in ("plain", "v1", "v2"))
    assert plain.output.shape[1:] == v1.output.shape[1:] == v2.output.shape[1:] == (8, 8, 16)
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    assert sum(isinstance(layer, keras.layers.Add) for layer in v2.layers) == 3
    assert v1.layers[-1].name == "block2_out" and isinstance(v2.layers[-1], keras.layers.Add)
    with pytest.raises(ValueError, match="Received: kind='v3'"):
        models.block_stack(2, "v3")


def test_stages_put_the_stride_where_each_layout_does():
    calls = []

    def block(x, filters, stride, name):
        calls.append((name, stride))
        return x

    x = keras.Input((8, 8, 4))
    models.stack_v1(x, block, 4, 3, 2, "conv3")  # the paper's: the first block (Table 1)
    models.stack_v2(x, block, 4, 3, 2, "conv4")  # Keras's ResNet50V2: the last block
    assert calls == [
        ("conv3_block1", 2),
        ("conv3_block2", 1),
        ("conv3_block3", 1),
        ("conv4_block1", 1),
        ("conv4_block2", 1),
        ("conv4_block3", 2),
    ]


def test_block_options_are_keywords_not_positional_flags():
    x = keras.Input((8, 8, 16))
    with pytest.raises(TypeError):
        blocks.basic_block(x, 16, 1, "A")  # which flag is "A"? Say shortcut="A".
    with pytest.raises(TypeError):
        blocks.bottleneck_block(x, 4, 1, "B", "v1")
    with pytest.raises(TypeError):
        models.resnet(50, "v1", False)  # include_top=False
