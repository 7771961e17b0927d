"""`make prefetch` (reslab.prefetch): what is present, what is missing, said plainly."""

import pytest

from reslab import data, prefetch


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


def test_check_reports_each_item_without_downloading(empty_cache, capsys):
    missing = prefetch.prefetch(download=False)
    out = capsys.readouterr().out
    assert missing.keys() == prefetch.ITEMS.keys()
    assert missing["Fashion-MNIST (notebooks 00-07)"] is None  # Debian's package, in CI too
    assert all(missing[name] for name in list(prefetch.ITEMS)[1:])
    assert "4 of 5 missing" in out and "make prefetch" in out
    assert "Is this machine offline?" not in out  # --check downloads nothing, blames nothing
    assert "downloading was not allowed" in missing["flower photos (notebook 08)"]


def test_exit_status_says_whether_everything_is_there(empty_cache, monkeypatch):
    monkeypatch.setattr("sys.argv", ["prefetch", "--check"])
    with pytest.raises(SystemExit) as status:
        prefetch.main()
    assert status.value.code == 1
    monkeypatch.setattr(prefetch, "ITEMS", {"x": lambda download: empty_cache})
    with pytest.raises(SystemExit) as status:
        prefetch.main()
    assert status.value.code == 0


def test_flower_photos_found_in_the_keras_cache(empty_cache):
    (empty_cache / "datasets" / "flower_photos" / "flower_photos" / "daisy").mkdir(parents=True)
    assert data.flower_photos(download=False).name == "flower_photos"
    with pytest.raises(data.DataNotFoundError, match="make prefetch"):
        (empty_cache / "datasets" / "flower_photos" / "flower_photos" / "daisy").rmdir()
        data.flower_photos(download=False)
