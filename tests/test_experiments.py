import json
import re

import keras
import numpy as np
import pandas as pd
import pytest

from reslab import data, experiments
from reslab.experiments import transfer


def test_step_schedule_divides_by_ten_at_half_and_three_quarters():
    schedule = experiments.step_schedule(0.1, steps=400)
    rates = {step: float(schedule(step)) for step in (0, 199, 201, 299, 301, 399)}
    assert rates == pytest.approx({0: 0.1, 199: 0.1, 201: 0.01, 299: 0.01, 301: 0.001, 399: 0.001})


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_degradation_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "deg"
    argv = ["degradation", "--depths", "8", "--widths", "2", "2", "2", "--epochs", "2",
            "--train-samples", "64", "--test-samples", "32", "--batch-size", "32",
            "--out", str(out)]  # fmt: skip
    experiments.main(argv)
    table = pd.read_csv(out.with_suffix(".csv"))
    assert list(table.model.unique()) == ["plain-8", "ResNet-8"]
    assert table.groupby("model").epoch.max().tolist() == [2, 2]
    assert {"accuracy", "val_accuracy", "loss", "seconds"} <= set(table.columns)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["command"].startswith("python -m reslab.experiments degradation --depths 8")
    assert meta["hardware"] and meta["arguments"]["epochs"] == 2
    assert meta["backend"] == keras.backend.backend() and meta["backend_version"].count(".") >= 1
    assert "train error %" in capsys.readouterr().out

    experiments.main(argv)  # a second run with the same arguments trains nothing again
    assert "plain-8: already in" in capsys.readouterr().out
    assert pd.read_csv(out.with_suffix(".csv")).equals(table)


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_degradation_in_the_imagenet_layout_trains_plain_and_residual_18(tmp_path):
    out = tmp_path / "fig4"
    argv = ["degradation", "--layout", "imagenet", "--depths", "18", "--width", "0.0625",
            "--epochs", "1", "--train-samples", "64", "--test-samples", "32",
            "--batch-size", "32", "--out", str(out)]  # fmt: skip
    experiments.main(argv)
    table = pd.read_csv(out.with_suffix(".csv"))
    assert list(table.model.unique()) == ["plain-18", "ResNet-18"]
    assert json.loads(out.with_suffix(".json").read_text())["arguments"]["layout"] == "imagenet"
    panels = experiments.error_panels(table)
    assert list(panels["plain networks"]) == ["plain-18"]
    assert list(panels["residual networks"]) == ["ResNet-18"]


# --- the paper's CIFAR-10 recipe (python -m reslab.experiments cifar) -----------------------


def test_paper_schedule_with_resnet110_warmup():
    schedule = experiments.step_schedule(0.1, steps=64_000, warmup_steps=400)
    rates = {s: float(schedule(s)) for s in (0, 399, 401, 31_999, 32_001, 47_999, 48_001, 63_999)}
    assert rates == pytest.approx(
        {
            0: 0.01,
            399: 0.01,
            401: 0.1,
            31_999: 0.1,
            32_001: 0.01,
            47_999: 0.01,
            48_001: 0.001,
            63_999: 0.001,
        }
    )


def test_pad_crop_flip_takes_windows_of_the_padded_image():
    image = np.arange(4 * 4, dtype="float32").reshape(1, 4, 4, 1) + 1  # no zeros inside
    batch = np.repeat(image, 400, axis=0)
    out = data.pad_crop_flip(batch, np.random.default_rng(0), pad=2)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    padded = np.pad(image[0, :, :, 0], 2)
    windows = {padded[r : r + 4, c : c + 4].tobytes() for r in range(5) for c in range(5)}
    flipped = {np.frombuffer(w, "float32").reshape(4, 4)[:, ::-1].tobytes() for w in windows}
    seen = {o[:, :, 0].tobytes() for o in out}
    assert seen <= windows | flipped  # every output is a (flipped) window of the padded image
    assert seen & windows and seen & (flipped - windows)  # both flips happen
    assert (out == 0).any() and not (out == 0).all(axis=(1, 2, 3)).any()  # zero border, no blanks
    corner = padded[0:4, 0:4].tobytes()  # the most-shifted crop: two zero rows and columns
    assert (
        corner in seen or np.frombuffer(corner, "float32").reshape(4, 4)[:, ::-1].tobytes() in seen
    )


def tiny_cifar(out, *extra):
    return ["cifar", "--depth", "8", "--profile", "quick", "--data", "fashion",
            "--iterations", "9", "--train", "64", "--val", "16", "--test", "32",
            "--batch-size", "16", "--widths", "2", "2", "2", "--out", str(out), *extra]  # fmt: skip


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_cifar_run_writes_results_table_and_paper_value(tmp_path, capsys):
    experiments.main(tiny_cifar(tmp_path, "--depth", "20"))
    out = capsys.readouterr().out
    assert "profile quick: 9 iterations instead of the paper's 64,000" in out
    assert "Fashion-MNIST padded to 32x32 stands in for CIFAR-10" in out
    assert re.search(r"resnet20_A_v1 epoch 1/3 iteration 4 lr 0.1 .* \| ETA \d+ s", out)
    assert re.search(r"test error \d+\.\d\d % on Fashion-MNIST \(32x32\) after 9 iterations "
                     r"\| paper \(Table 6\): 8.75 % on CIFAR-10", out)  # fmt: skip
    table = pd.read_csv(tmp_path / "resnet20_A_v1.csv")
    assert list(table.columns) == [
        "model",
        "epoch",
        "iteration",
        "learning_rate",
        "loss",
        "train_error",
        "val_error",
    ]
    assert table.iteration.tolist() == [4, 8, 9] and table.learning_rate.tolist()[-1] == 0.001
    meta = json.loads((tmp_path / "resnet20_A_v1.json").read_text())
    assert meta["data"] == "Fashion-MNIST (32x32)" and 0 <= meta["test_error"] <= 100
    assert meta["command"].startswith("python -m reslab.experiments cifar --depth 8")
    # the resolved recipe is part of what a resumed run must match (not only the flags)
    assert meta["arguments"]["recipe"] == {
        "iterations": 9, "batch_size": 16, "train": 64, "val": 16, "test": 32, "widths": [2, 2, 2]
    }  # fmt: skip


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_cifar_resumes_to_the_same_weights(tmp_path, capsys):
    experiments.main(tiny_cifar(tmp_path / "whole"))
    experiments.main(tiny_cifar(tmp_path / "cut", "--stop-after", "1"))
    assert "stopped after epoch 1 of 3; run again to continue" in capsys.readouterr().out
    experiments.main(tiny_cifar(tmp_path / "cut"))
    assert "resuming after epoch 1" in capsys.readouterr().out
    whole = keras.models.load_model(tmp_path / "whole" / "checkpoints" / "resnet8_A_v1.keras")
    cut = keras.models.load_model(tmp_path / "cut" / "checkpoints" / "resnet8_A_v1.keras")
    for a, b in zip(whole.weights, cut.weights, strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)
    a = pd.read_csv(tmp_path / "whole" / "resnet8_A_v1.csv")
    b = pd.read_csv(tmp_path / "cut" / "resnet8_A_v1.csv")
    pd.testing.assert_frame_equal(a, b, atol=1e-4)
    # A finished run started again trains nothing more, even when its last epoch was short
    # (9 iterations = 4 + 4 + 1).
    capsys.readouterr()
    experiments.main(tiny_cifar(tmp_path / "whole"))
    assert "resuming after epoch 3" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "whole" / "resnet8_A_v1.csv"), a)


def test_cifar_offline_is_a_clear_error_outside_reduced_profiles(tmp_path, monkeypatch):
    def offline():
        raise Exception("URL fetch failure on https://www.cs.toronto.edu: None -- [Errno -2] x")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    for profile_args in (["--profile", "gpu"], ["--data", "cifar10"]):
        argv = [a for a in tiny_cifar(tmp_path) if a not in ("--data", "fashion")]
        with pytest.raises(data.DataNotFoundError, match="make prefetch"):
            experiments.main([*argv, *profile_args])


def test_final_train_error_weights_each_epoch_by_the_iterations_it_covers():
    curve = pd.DataFrame({"iteration": [10, 20, 22], "train_error": [50.0, 20.0, 80.0]})
    # the last 12 iterations: 2 from the short last epoch (80 %), 10 from the one before (20 %)
    assert experiments.final_train_error(curve, 12) == pytest.approx((2 * 80 + 10 * 20) / 12)
    assert experiments.final_train_error(curve, 2) == pytest.approx(80)
    assert experiments.final_train_error(curve, 1000) == pytest.approx((500 + 200 + 160) / 22)


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_cifar_warmup_flag_starts_at_the_papers_warmup_rate(tmp_path, capsys):
    experiments.main(tiny_cifar(tmp_path, "--warmup", "2"))
    assert "warm-up at 0.01 for 2" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "resnet8_A_v1.csv")
    assert table.learning_rate.iloc[0] == pytest.approx(0.1)  # iteration 4: warm-up over
    meta = json.loads((tmp_path / "resnet8_A_v1.json").read_text())
    assert meta["arguments"]["warmup"] == 2


# --- the course's source model and the transfer curve (notebook 08) -------------------------


@pytest.mark.skipif(data.find_fashion_mnist() is None, reason="Fashion-MNIST is not installed")
def test_pretrain_resumes_then_transfer_reads_its_weights(tmp_path, capsys, monkeypatch):
    from reslab import weights

    out = tmp_path / "source"
    argv = ["pretrain", "--width", "0.0625", "--image-size", "32", "--epochs", "2",
            "--train-samples", "40", "--batch-size", "20", "--out", str(out)]  # fmt: skip
    experiments.main([*argv, "--stop-after", "1"])
    assert "stopped after epoch 1 of 2; run again to go on" in capsys.readouterr().out
    assert not list(out.glob("*.weights.h5"))  # weights only once the run is finished
    experiments.main(argv)
    assert "resuming after epoch 1" in capsys.readouterr().out
    table = pd.read_csv(out / "pretrain.csv")
    assert table.epoch.tolist() == [1, 2] and table.iteration.tolist() == [2, 4]
    meta = json.loads((out / "pretrain.json").read_text())
    assert meta["source_classes"] == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
    weights_file = out / meta["weights_file"]
    assert weights_file.name == "resnet50_w0.0625_fashion5_32px.weights.h5"

    monkeypatch.setattr(weights, "COURSE_WIDTH", 0.0625)
    monkeypatch.setattr(weights, "COURSE_WEIGHTS", weights_file)
    curve = tmp_path / "curve"
    experiments.main(["transfer", "--per-class", "2", "--seeds", "0", "--test-per-class", "4",
                      "--width", "0.0625", "--image-size", "32", "--steps", "2",
                      "--tune-steps", "1", "--out", str(curve)])  # fmt: skip
    rows = pd.read_csv(curve.with_suffix(".csv"))
    assert rows.method.tolist() == list(transfer.METHODS)
    assert rows.accuracy.between(0, 1).all() and (rows.per_class == 2).all()
    assert json.loads(curve.with_suffix(".json").read_text())["test_images"] == 20


def test_reset_restarts_the_optimizer_but_keeps_its_learning_rate():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    start = model.get_weights()
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=2, verbose=0)
    transfer._reset(model, start)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert int(model.optimizer.iterations) == 0
    for variable in model.optimizer.variables:
        if variable.name not in ("learning_rate", "iteration"):
            assert not np.asarray(variable).any()
    for a, b in zip(start, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)  # and it still learns
    assert not np.array_equal(start[0], model.get_weights()[0])
