import gzip
from pathlib import Path

import numpy as np
import pytest

from reslab import data


def write_fake_fashion_mnist(folder: Path, n: int, value: int) -> None:
    """Four idx files in Keras's gzip layout, every pixel equal to `value`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in data.FASHION_FILES:
        header = bytes(16 if "images" in name else 8)
        body = bytes([value] * n * 28 * 28) if "images" in name else bytes(range(n))
        with gzip.open(folder / name, "wb") as f:
            f.write(header + body)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """The three offline places, all empty, and a download that fails."""
    env, home, system = tmp_path / "env", tmp_path / "keras", tmp_path / "system"
    monkeypatch.setenv(data.DATA_ENV, str(env))
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(data, "SYSTEM_DIR", system)

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_download_fashion_mnist", offline)
    return {"env": env, "keras": home / "datasets" / "fashion-mnist", "system": system}


def test_search_order_is_env_then_keras_cache_then_system(places):
    for value, where in enumerate(("system", "keras", "env"), start=1):
        write_fake_fashion_mnist(places[where], n=3, value=value)
        (x_train, y_train), (x_test, _) = data.load_fashion_mnist()
        assert data.find_fashion_mnist() == places[where]
        assert x_train.shape == (3, 28, 28) and x_test.shape == (3, 28, 28)
        assert (x_train == value).all() and list(y_train) == [0, 1, 2]


def test_incomplete_folder_is_skipped(places):
    write_fake_fashion_mnist(places["system"], n=2, value=9)
    write_fake_fashion_mnist(places["env"], n=2, value=1)
    (places["env"] / data.FASHION_FILES[0]).unlink()
    assert data.find_fashion_mnist() == places["system"]


def test_download_is_the_last_resort(places, monkeypatch):
    fake = ((np.zeros((1, 28, 28)), np.zeros(1)), (np.zeros((1, 28, 28)), np.zeros(1)))
    monkeypatch.setattr(data, "_download_fashion_mnist", lambda: fake)
    assert data.load_fashion_mnist() is fake


def test_missing_data_error_names_every_place_and_three_fixes(places):
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    for folder in (places["env"], places["keras"], places["system"]):
        assert str(folder) in message
    assert "network is unreachable" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert data.DATA_ENV in message and "~/.keras/datasets/fashion-mnist" in message


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_real_fashion_mnist_has_the_published_shape():
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and set(np.unique(y_train)) == set(range(10))
    assert np.bincount(y_test).tolist() == [1000] * 10


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_source_and_target_classes_split_fashion_mnist():
    assert set(data.SOURCE_CLASSES).isdisjoint(data.TARGET_CLASSES)
    (x_all, y_all), _ = data.load_fashion_mnist()
    x, y = data.fashion_classes(data.TARGET_CLASSES, "train")
    assert len(x) == 30_000 and np.bincount(y).tolist() == [6000] * 5  # relabelled 0-4
    np.testing.assert_array_equal(x[y == 3][0], x_all[y_all == 8][0])  # 3rd target is Bag (8)
    x, y = data.fashion_classes((9, 5), "test", per_class=4, seed=1)
    assert x.shape == (8, 28, 28) and np.bincount(y).tolist() == [4, 4]
    with pytest.raises(ValueError, match=r"'train' or 'test'\. Received: split='val'"):
        data.fashion_classes((0,), "val")


def test_rgb_pipeline_gives_rgb_0_255_images_at_the_size():
    x = np.zeros((5, 28, 28), np.uint8)
    x[:, :, :14] = 255
    images, labels = next(iter(data.rgb_pipeline(x, np.arange(5), (56, 40), batch_size=8)))
    images = np.asarray(images)
    assert images.shape == (5, 56, 40, 3) and list(np.asarray(labels)) == [0, 1, 2, 3, 4]
    assert images[:, :, :5].min() == 255 and images[:, :, -5:].max() == 0
    assert (images[..., 0] == images[..., 2]).all()  # grey: three equal channels


def test_subsample_is_balanced_and_reproducible():
    y = np.repeat(np.arange(10), 50)
    x = np.arange(500)
    xs, ys = data.subsample(x, y, 95, seed=3)
    assert len(xs) == 95 and sorted(np.bincount(ys)) == [9] * 5 + [10] * 5
    assert (y[xs] == ys).all()  # images keep their labels
    assert (data.subsample(x, y, 95, seed=3)[0] == xs).all()
    assert data.subsample(x, y, 1000)[0] is x


def test_to_float_images_pads_28_to_32_around_the_centre():
    x = np.full((2, 28, 28), 255, dtype=np.uint8)
    out = data.to_float_images(x, size=32)
    assert out.shape == (2, 32, 32, 1) and out.dtype == np.float32
    assert out[:, 2:30, 2:30].min() == 1.0
    assert out.sum() == 2 * 28 * 28  # the 2-pixel border is zeros
    with pytest.raises(ValueError, match="Cannot pad images of size 28x28 to 16x16"):
        data.to_float_images(x, size=16)


def test_fashion_mnist_32_is_padded_balanced_floats(places):
    write_fake_fashion_mnist(places["env"], n=10, value=255)
    (x_train, y_train), (x_test, y_test) = data.fashion_mnist_32(5, 3)
    assert x_train.shape == (5, 32, 32, 1) and x_test.shape == (3, 32, 32, 1)
    assert x_train.dtype == np.float32 and x_train.max() == 1.0 and x_train[:, :2].max() == 0
    assert len(set(y_train.tolist())) == 5 and len(y_test) == 3  # class-balanced subsets
