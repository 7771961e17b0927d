"""The ImageNet ResNets of Table 1: equal to keras.applications where Keras has the model."""

import keras
import numpy as np
import pytest
from matplotlib import cbook

from reslab import flops, models, weights

KERAS_MODELS = {
    (50, "v1"): keras.applications.ResNet50,
    (101, "v1"): keras.applications.ResNet101,
    (152, "v1"): keras.applications.ResNet152,
    (50, "v2"): keras.applications.ResNet50V2,
    (101, "v2"): keras.applications.ResNet101V2,
    (152, "v2"): keras.applications.ResNet152V2,
}


def layers_of(model):
    """Names, kinds and weight shapes of every layer but the input and unnamed pools."""
    return [
        (layer.name, type(layer).__name__, [tuple(w.shape) for w in layer.weights])
        for layer in model.layers[1:]
        if not layer.name.startswith("max_pooling2d") and not layer.name.endswith("_0_pool")
    ]


@pytest.mark.parametrize(("depth", "version"), KERAS_MODELS)
def test_resnet_equals_keras_applications(depth, version):
    reference = KERAS_MODELS[depth, version](weights=None)
    ours = models.resnet(depth, version)
    assert ours.count_params() == reference.count_params()
    assert layers_of(ours) == layers_of(reference)


def test_published_parameter_counts():
    assert models.resnet(50).count_params() == 25_636_712
    assert models.resnet(50, "v2").count_params() == 25_613_800
    headless = models.resnet(50, include_top=False)
    assert headless.count_params() == 23_587_712 and headless.output.shape[1:] == (None, None, 2048)
    # v1.5 moves the stride, not any weight
    assert models.resnet(50, "v1.5").count_params() == 25_636_712


def test_width_scales_every_layer_and_keeps_the_names_and_maps():
    full = models.resnet(50, include_top=False, input_shape=(96, 96, 3))
    quarter = models.resnet(50, include_top=False, input_shape=(96, 96, 3), width=0.25)
    assert [layer.name for layer in quarter.layers[1:]] == [layer.name for layer in full.layers[1:]]
    for name, channels in [
        ("conv1_conv", 16),
        ("conv2_block1_1_conv", 16),
        ("conv5_block3_out", 512),
    ]:
        assert quarter.get_layer(name).output.shape[-1] == channels
    assert quarter.output.shape[1:] == (*full.output.shape[1:3], 512)  # 3x3 at 96 px
    # convolutions dominate: a quarter of the width leaves about 1/16 of the weights
    assert 14 < full.count_params() / quarter.count_params() < 17
    assert models.resnet(50, width=1.0).count_params() == 25_636_712
    with pytest.raises(ValueError, match=r"`width` should be a multiplier in \(0, 4\]"):
        models.resnet(50, width=0)


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        (dict(include_top=False, pooling="avg", input_shape=(64, 64, 3)), (2048,)),
        (dict(include_top=False, pooling="max", input_shape=(64, 64, 3)), (2048,)),
        (dict(include_top=False, input_shape=(64, 64, 3)), (2, 2, 2048)),
        (dict(classes=7, input_shape=(96, 96, 3)), (7,)),
        (dict(classes=10, input_shape=(32, 32, 1)), (10,)),  # grayscale, the minimum size
    ],
)
def test_keyword_arguments_behave_as_in_keras(kwargs, shape):
    assert models.resnet(50, **kwargs).output.shape[1:] == shape
    assert keras.applications.ResNet50(weights=None, **kwargs).output.shape[1:] == shape


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(depth=42), r"`depth` should be one of \(18, 34, 50, 101, 152\).*depth=42"),
        (dict(depth=18, version="v1.5"), r"should be one of \('v1', 'v2'\)"),
        (dict(pooling="mean"), r"`pooling` should be one of .*pooling='mean'"),
        (dict(input_shape=(16, 16, 3)), "at least 32x32"),
        (dict(input_shape=(64, 64)), r"\(height, width, channels\)"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.resnet(**kwargs)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_transplant_from_keras_gives_equal_outputs(version):
    keras.utils.set_random_seed(0)
    kwargs = dict(input_shape=(64, 64, 3), classes=10, classifier_activation=None)  # logits
    reference = KERAS_MODELS[50, version](weights=None, **kwargs)
    ours = models.resnet(50, version, **kwargs)
    assert weights.randomize_statistics(reference) > 200  # BN statistics, γ, β, biases
    assert weights.transplant(reference, ours) == len([x for x in ours.layers if x.weights])
    # a real photograph (it ships with matplotlib), preprocessed as each version expects
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    photo = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(64, 64)))[None]
    module = keras.applications.resnet50 if version == "v1" else keras.applications.resnet_v2
    images = module.preprocess_input(photo)
    expected = keras.ops.convert_to_numpy(reference(images))
    assert expected.std() > 1e-2  # logits that differ between classes: a real comparison
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ours(images)), expected, rtol=1e-4, atol=1e-4
    )
    # and the check can fail: one BN layer's moving variance left behind changes the output
    bn = next(x for x in ours.layers if isinstance(x, keras.layers.BatchNormalization))
    bn.moving_variance.assign(np.ones(bn.moving_variance.shape, "float32"))
    assert np.abs(keras.ops.convert_to_numpy(ours(images)) - expected).max() > 1e-3


def test_mismatched_transplant_names_the_first_layer_and_copies_nothing():
    source = models.resnet(50, input_shape=(64, 64, 3), classes=10)
    target = models.resnet(101, input_shape=(64, 64, 3), classes=10)
    before = target.get_layer("conv1_conv").get_weights()[0].copy()
    with pytest.raises(
        ValueError, match=r"the source has 'conv5_block1_1_conv'.*'conv4_block7_1_conv'"
    ):
        weights.transplant(source, target)
    np.testing.assert_array_equal(target.get_layer("conv1_conv").get_weights()[0], before)
    with pytest.raises(ValueError, match="does not match"):
        weights.transplant(source, models.resnet(50, input_shape=(64, 64, 3), classes=5))


# He et al. 2015, Table 1: FLOPs (multiply-adds) at 224 x 224.
TABLE_1_GFLOPS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}


@pytest.mark.parametrize("depth", TABLE_1_GFLOPS)
def test_multiply_adds_reproduce_table_1(depth):
    gmacs = flops.multiply_adds(models.resnet(depth)) / 1e9
    assert gmacs == pytest.approx(TABLE_1_GFLOPS[depth], rel=0.02)


def test_v1_5_costs_more_than_v1():
    v1, v1_5 = (flops.multiply_adds(models.resnet(50, v)) for v in ("v1", "v1.5"))
    assert 1.03 < v1_5 / v1 < 1.15


def test_keras_resnet50_says_when_it_falls_back_to_random_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert weights.keras_models_dir() == tmp_path / "models"
    model, which = weights.keras_resnet50(download=False, input_shape=(32, 32, 3), classes=1000)
    assert which.startswith("RANDOM weights, not ImageNet")
    assert str(tmp_path / "models" / weights.RESNET50_FILE) in which
    assert model.count_params() == 25_636_712


@pytest.mark.parametrize("depth", [18, 34])
def test_plain_imagenet_nets_are_resnets_without_shortcuts(depth):
    # Table 2 / Fig. 4: plain-18/34 have the ResNets' layers (option B adds projections, so
    # the plain net has exactly the projections' weights fewer) and no addition at all.
    plain = models.resnet(depth, shortcuts=False, input_shape=(64, 64, 3), classes=10)
    resnet = models.resnet(depth, input_shape=(64, 64, 3), classes=10)
    assert plain.name == f"plain{depth}"
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    projections = [layer for layer in resnet.layers if layer.name.endswith(("_0_conv", "_0_bn"))]
    assert plain.count_params() == resnet.count_params() - sum(
        layer.count_params() for layer in projections
    )
    assert plain.output.shape[1:] == resnet.output.shape[1:] == (10,)
    convs = [layer for layer in plain.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) + 1 == depth  # the paper's depth: convolutions plus the fc layer


def test_plain_nets_exist_only_where_the_paper_has_them():
    with pytest.raises(ValueError, match="18- and 34-layer v1 nets of Table 2"):
        models.resnet(50, shortcuts=False)
    with pytest.raises(ValueError, match="18- and 34-layer v1 nets of Table 2"):
        models.resnet(34, version="v2", shortcuts=False)


def test_layout_is_what_transplant_needs_to_match():
    shape = dict(input_shape=(64, 64, 3), classes=5)
    ours = weights.layout(models.resnet(50, **shape))
    assert ours[0] == ("conv1_conv", [(7, 7, 3, 64), (64,)])
    assert ours == weights.layout(keras.applications.ResNet50(weights=None, **shape))
    assert ours != weights.layout(models.resnet(50, "v2", **shape))
