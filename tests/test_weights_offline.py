"""weights.fetch_resnet50_weights / resnet50_imagenet without internet, and with bad files."""

import hashlib

import keras
import pytest

from reslab import weights


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty Keras cache in tmp_path, and every download failing as it does offline."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com: None -- [Errno -2]")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    return tmp_path / "models"


def test_offline_error_names_the_file_the_folder_and_the_fixes(offline):
    with pytest.raises(weights.WeightsNotFoundError) as caught:
        weights.fetch_resnet50_weights()
    message = str(caught.value)
    assert weights.RESNET50_NOTOP_FILE in message and str(offline) in message
    assert "KERAS_HOME" in message and "~/.keras/models" in message
    assert "make prefetch" in message and weights.WEIGHTS_URL in message
    assert "the download failed" in message


def test_only_the_quick_profile_falls_back_to_random_weights(offline):
    with pytest.raises(weights.WeightsNotFoundError):
        weights.resnet50_imagenet("cpu", input_shape=(32, 32, 3))
    with pytest.warns(UserWarning, match="RANDOM weights"):
        model, sentence = weights.resnet50_imagenet("quick", input_shape=(32, 32, 3), pooling="avg")
    assert "RANDOM" in sentence and model.output_shape == (None, 2048)


def test_a_bad_cached_file_is_reported_and_kept(offline):
    offline.mkdir(parents=True)
    bad = offline / weights.RESNET50_NOTOP_FILE
    bad.write_bytes(b"half a download")
    with pytest.raises(weights.WeightsNotFoundError, match="not the right file"):
        weights.fetch_resnet50_weights()
    assert bad.read_bytes() == b"half a download"  # left for the learner to inspect


def test_a_good_cached_file_is_used_without_any_download(offline, monkeypatch):
    offline.mkdir(parents=True)
    good = offline / weights.RESNET50_FILE
    good.write_bytes(b"pretend weights")
    md5 = hashlib.md5(b"pretend weights").hexdigest()
    monkeypatch.setitem(weights.RESNET50_MD5, weights.RESNET50_FILE, md5)
    assert weights.fetch_resnet50_weights(include_top=True) == good  # get_file never called
    assert good.read_bytes() == b"pretend weights"


def test_a_download_lands_in_the_cache_only_when_complete(offline, monkeypatch):
    def fake_download(fname, origin, file_hash, cache_dir, cache_subdir):
        path = f"{cache_dir}/{fname}"
        with open(path, "wb") as f:
            f.write(b"fresh weights")
        return path

    monkeypatch.setattr(keras.utils, "get_file", fake_download)
    path = weights.fetch_resnet50_weights()
    assert path == offline / weights.RESNET50_NOTOP_FILE and path.read_bytes() == b"fresh weights"
