"""data.image_folder on a folder holding every kind of bad input a learner's photos have."""

import warnings

import keras
import numpy as np
import pytest
from PIL import Image

from reslab import data

SIZE = 40


def photo(seed: int, mode: str = "RGB", size: int = 48) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels).convert(mode)


@pytest.fixture
def messy(tmp_path):
    """cats/ and dogs/ with good photos and every problem; birds/ empty; fish/ only junk."""
    root = tmp_path / "photos"
    for name in ("cats", "dogs", "birds", "fish"):
        (root / name).mkdir(parents=True)
    for i in range(6):
        photo(i).save(root / "cats" / f"cat{i}.jpg")
        photo(10 + i).save(root / "dogs" / f"dog{i}.png")
    photo(20, "L").save(root / "cats" / "gray.png")
    photo(21, "RGBA").save(root / "cats" / "alpha.png")
    photo(22, "CMYK").save(root / "dogs" / "cmyk.jpg")
    photo(23).save(root / "dogs" / "photo.tiff")
    (root / "dogs" / "nested").mkdir()
    photo(24).save(root / "dogs" / "nested" / "deep.jpg")
    photo(25, size=8).save(root / "cats" / "tiny.png")
    (root / "cats" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    good = root / "dogs" / "dog0.png"
    (root / "dogs" / "truncated.png").write_bytes(good.read_bytes()[:200])
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "cats" / ".DS_Store").write_bytes(b"\0\0")
    (root / "fish" / "fish.txt").write_text("no fish here")
    return root


def test_messy_folder_report_names_every_problem(messy, tmp_path):
    with pytest.warns(UserWarning, match="skipped 7 item") as caught:
        train, val, report = data.image_folder(
            messy, image_size=SIZE, batch_size=4, work_dir=tmp_path / "work"
        )
    message = str(caught[0].message)
    for name in ("broken.jpg", "truncated.png", "notes.txt", "tiny.png", "fish.txt", "birds/"):
        assert name in message, f"{name} not reported"
    assert report.class_names == ["cats", "dogs"]
    assert report.counts == {"cats": 8, "dogs": 9}  # 6 + gray + alpha; 6 + cmyk, tiff, nested
    assert sorted(report.empty_classes) == ["birds", "fish"]
    skipped = dict(report.skipped)
    assert "too small: 8x8" in skipped["cats/tiny.png"]
    assert "corrupt or truncated" in skipped["cats/broken.jpg"]
    assert "corrupt or truncated" in skipped["dogs/truncated.png"]
    assert "not an image" in skipped["cats/notes.txt"]
    converted = dict(report.converted)
    assert converted == {
        "cats/alpha.png": "RGBA -> RGB",
        "cats/gray.png": "grayscale -> RGB",
        "dogs/cmyk.jpg": "CMYK -> RGB",
        "dogs/photo.tiff": "TIFF file -> PNG",
    }
    assert ".DS_Store" not in str(report)
    images, _ = next(iter(train))
    assert images.shape[1:] == (SIZE, SIZE, 3) and images.dtype == "uint8"
    total = sum(int(y.shape[0]) for _, y in train) + sum(int(y.shape[0]) for _, y in val)
    assert total == 17


def test_training_runs_on_the_good_files(messy, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, val, _ = data.image_folder(
            messy, image_size=SIZE, batch_size=4, augment=True, work_dir=tmp_path / "w"
        )
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=2, shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()


def test_every_epoch_is_reshuffled(tmp_path):
    root = data.fashion_mnist_folder(tmp_path / "fm", per_class=4, size=36)
    train, _, _ = data.image_folder(
        root, image_size=36, batch_size=8, validation_split=0.25, work_dir=tmp_path / "w"
    )
    first, second = ([int(v) for _, y in train for v in y] for _ in range(2))
    assert sorted(first) == sorted(second) and first != second


def test_fashion_mnist_folder_layout(tmp_path):
    root = data.fashion_mnist_folder(tmp_path / "fm", per_class=3, size=36)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == sorted(c.replace("/", "_") for c in data.FASHION_CLASSES)
    with Image.open(next((root / "Bag").glob("*.png"))) as image:
        assert image.size == (36, 36) and image.mode == "L"
    mtime = (root / "Bag" / "0000.png").stat().st_mtime
    assert data.fashion_mnist_folder(root, per_class=3, size=36) == root
    assert (root / "Bag" / "0000.png").stat().st_mtime == mtime  # reused, not rewritten


def test_fashion_mnist_folder_of_some_classes_and_a_split(tmp_path):
    root = data.fashion_mnist_folder(
        tmp_path / "target", per_class=2, size=32, classes=data.TARGET_CLASSES, split="test"
    )
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [
        "Ankle boot",
        "Bag",
        "Sandal",
        "Shirt",
        "Sneaker",
    ]
    again = data.fashion_mnist_folder(root, per_class=3, size=32, classes=data.TARGET_CLASSES)
    assert len(list((again / "Bag").glob("*.png"))) == 3  # another recipe: rewritten


def test_image_size_can_be_a_height_width_tuple(tmp_path):
    root = data.fashion_mnist_folder(tmp_path / "fm", per_class=2, size=36)
    train, _, _ = data.image_folder(
        root, image_size=(40, 56), batch_size=4, validation_split=0, work_dir=tmp_path / "w"
    )
    assert next(iter(train))[0].shape[1:] == (40, 56, 3)
    for bad in ((40,), (40, 0), 0, "64", (40.5, 56)):
        with pytest.raises(ValueError, match="positive int or a \\(height, width\\) tuple"):
            data.image_folder(root, image_size=bad, work_dir=tmp_path / "w")


def test_missing_path_says_what_layout_is_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No folder at .*one sub-folder per class"):
        data.image_folder(tmp_path / "nowhere")


def test_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="pass the folder"):
        data.image_folder(tmp_path / "a.jpg")


def test_folder_without_class_folders(tmp_path):
    photo(0).save(tmp_path / "loose.jpg")
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.image_folder(tmp_path, work_dir=tmp_path / ".w")


def test_a_single_class_is_refused(tmp_path):
    (tmp_path / "cats").mkdir()
    for i in range(3):
        photo(i).save(tmp_path / "cats" / f"{i}.jpg")
    (tmp_path / "dogs").mkdir()  # empty: leaves one usable class
    with pytest.raises(ValueError, match=r"1 class folder\(s\) with usable images \(cats\)"):
        data.image_folder(tmp_path, work_dir=tmp_path / ".w")
