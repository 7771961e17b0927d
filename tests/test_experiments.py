import json

import pandas as pd
import pytest

from reslab import data, experiments


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
    assert "train error %" in capsys.readouterr().out

    experiments.main(argv)  # a second run with the same arguments trains nothing again
    assert "plain-8: already in" in capsys.readouterr().out
    assert pd.read_csv(out.with_suffix(".csv")).equals(table)
