"""The trunks notebooks 08 and 09 fine-tune: the course's own pretrained source model, and
the ImageNet path, run end to end offline on a weights file planted in Keras's cache."""

import hashlib

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

from reslab import data, train, weights


def test_imagenet_class_names_ship_with_the_course():
    classes = weights.imagenet_classes()
    assert len(classes) == 1000 and len({wnid for wnid, _ in classes}) == 1000
    assert classes[0] == ("n01440764", "tench")  # Keras's imagenet_class_index.json agrees
    assert classes[285] == ("n02124075", "Egyptian_cat")
    assert classes[999] == ("n15075141", "toilet_tissue")


def test_decode_predictions_offline_in_keras_format():
    probabilities = np.full((2, 1000), 1e-4)
    probabilities[0, 285], probabilities[0, 0], probabilities[1, 999] = 0.9, 0.05, 0.7
    decoded = weights.decode_predictions(probabilities, top=2)
    assert decoded[0] == [("n02124075", "Egyptian_cat", 0.9), ("n01440764", "tench", 0.05)]
    assert decoded[1][0] == ("n15075141", "toilet_tissue", 0.7)
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\). Received: shape=\(5,\)"):
        weights.decode_predictions(np.zeros(5))


@pytest.mark.skipif(not weights.COURSE_WEIGHTS.is_file(), reason="course weights not committed")
def test_course_source_model_loads_its_committed_weights():
    trunk = weights.course_resnet50(64)
    assert trunk.output.shape[1:] == (512,) and trunk.get_layer("conv5_block3_out")
    fresh = weights.resnet50_trunk(64, weights.COURSE_WIDTH)
    loaded = dict(zip([w.path for w in trunk.weights], trunk.get_weights(), strict=True))
    moving = [w.path for w in fresh.weights if "moving_variance" in w.path]
    assert all(not np.allclose(loaded[p], 1.0) for p in moving)  # trained statistics, not init


def test_missing_course_weights_say_how_to_restore_them(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "COURSE_WEIGHTS", tmp_path / "gone.weights.h5")
    with pytest.raises(weights.WeightsNotFoundError, match="git checkout -- figures/results"):
        weights.course_resnet50()


def test_without_imagenet_weights_the_course_model_is_chosen(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    if not weights.COURSE_WEIGHTS.is_file():
        pytest.skip("course weights not committed")
    trunk = weights.pretrained_trunk("cpu", (64, 80))
    assert trunk.source == "course" and "not ImageNet" in trunk.note
    assert trunk.model.input_shape == (None, 64, 80, 3)


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """Random ResNet-50 weights written where and how Keras keeps the ImageNet file (its
    name, Keras's legacy HDF5 layout), with a test-only expected MD5 for that file."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    keras.utils.set_random_seed(3)
    source = keras.applications.ResNet50(weights=None, include_top=False)
    path = weights.keras_models_dir() / weights.RESNET50_NOTOP_FILE
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(weights.RESNET50_MD5, weights.RESNET50_NOTOP_FILE, md5)
    return source


def test_the_imagenet_path_runs_end_to_end_on_planted_weights(planted, tmp_path):
    size = 32
    trunk = weights.pretrained_trunk("cpu", size)
    assert trunk.source == "imagenet" and trunk.note.startswith("ImageNet weights")
    for a, b in zip(planted.get_weights(), trunk.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # every weight, as planted
    folder = data.fashion_mnist_folder(tmp_path / "fm", per_class=3, size=size, classes=(7, 8))
    train_ds, val_ds, report = data.image_folder(
        folder, size, batch_size=4, validation_split=0.5, work_dir=tmp_path / "w"
    )
    model, _ = train.classifier(trunk.model, len(report.class_names), size)
    history = train.fine_tune(
        model, trunk.model, train_ds, val_ds, tmp_path / "run", 1, 1, verbose=0
    )
    assert len(history["val_accuracy"]) == 2
    model.save(tmp_path / "tuned.keras")
    reloaded = keras.models.load_model(tmp_path / "tuned.keras")
    photo = next((folder / "Bag").glob("*.png"))
    image = keras.utils.img_to_array(keras.utils.load_img(photo, target_size=(size, size)))
    np.testing.assert_array_equal(
        reloaded.predict(image[None], verbose=0), model.predict(image[None], verbose=0)
    )


def test_a_planted_file_with_the_wrong_hash_is_refused(planted, monkeypatch):
    monkeypatch.setitem(weights.RESNET50_MD5, weights.RESNET50_NOTOP_FILE, "0" * 32)
    with pytest.raises(weights.WeightsNotFoundError, match="not the right file"):
        weights.pretrained_trunk("cpu", 32)
