import importlib.util
import json
import random
from pathlib import Path

import keras
import numpy as np
import pytest

from reslab import config


def test_profiles_are_typed_and_grow_from_quick_to_gpu():
    quick, cpu, gpu = (config.PROFILES[name] for name in ("quick", "cpu", "gpu"))
    assert all(isinstance(p, config.Profile) for p in (quick, cpu, gpu))
    assert quick.train_samples < cpu.train_samples <= gpu.train_samples
    assert max(quick.mlp_depths) < max(cpu.mlp_depths) <= max(gpu.mlp_depths)
    assert quick.cifar_train < cpu.cifar_train < gpu.cifar_train
    for profile in (quick, cpu, gpu):  # CIFAR depths are 6n + 2, shallow before deep
        shallow, deep = profile.cifar_depths
        assert shallow < deep and (shallow - 2) % 6 == 0 == (deep - 2) % 6
    assert gpu.cifar_widths == (16, 32, 64)  # the paper's width on a GPU


def test_profile_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "quick")
    assert config.get_profile().name == "quick"
    assert config.get_profile("gpu").name == "gpu"  # an explicit name wins


@pytest.mark.parametrize(("gpus", "expected"), [([], "cpu"), (["/physical_device:GPU:0"], "gpu")])
def test_profile_is_detected_from_the_device(monkeypatch, gpus, expected):
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    monkeypatch.setattr(config, "gpu_names", lambda: gpus)
    assert config.get_profile().name == expected


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "laptop")
    with pytest.raises(ValueError, match=r"Unknown profile 'laptop'.*quick, cpu, gpu"):
        config.get_profile()


def test_quick_runs_never_overwrite_the_committed_figures(monkeypatch, tmp_path):
    monkeypatch.delenv(config.FIGURES_ENV, raising=False)
    assert config.figures_dir(config.PROFILES["cpu"]) == config.ROOT / "figures"
    assert config.figures_dir(config.PROFILES["quick"]) == config.ROOT / "build" / "quick-figures"
    monkeypatch.setenv(config.FIGURES_ENV, str(tmp_path))
    assert config.figures_dir(config.PROFILES["cpu"]) == tmp_path


def test_setup_notebook_prints_one_banner_and_seeds(capsys):
    profile = config.setup_notebook("cpu")
    first = (random.random(), np.random.rand())
    config.setup_notebook("cpu")
    assert (random.random(), np.random.rand()) == first
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2  # one banner per call
    assert profile.name == "cpu"
    backend = keras.backend.backend()
    assert "Keras 3." in lines[0]
    assert ("TensorFlow 2." if backend == "tensorflow" else f"on {backend} ") in lines[0]
    assert "device: " in lines[0] and lines[0].endswith("profile: cpu")


def test_tensorflow_log_level_is_set_before_tensorflow_loads():
    import os

    # Importing JAX sets level 1 (Keras imports it when it is installed, on every backend),
    # and this module imports Keras before reslab; notebooks import reslab first.
    jax = importlib.util.find_spec("jax") is not None
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] in ({"1", "2", "3"} if jax else {"2", "3"})


def test_save_results_records_the_profile_and_never_touches_the_committed_files(
    monkeypatch, tmp_path
):
    monkeypatch.delenv(config.FIGURES_ENV, raising=False)
    monkeypatch.setattr(config, "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    path = config.save_results("nb", {"ratio": np.float32(2.5)}, config.PROFILES["quick"])
    assert path == tmp_path / "build" / "quick-figures" / "results" / "nb.json"
    assert json.loads(path.read_text()) == {"profile": "quick", "ratio": 2.5}
    assert not (tmp_path / "figures").exists()


def test_without_a_clone_the_learner_writes_beside_the_notebook(monkeypatch, tmp_path):
    # Installed from a wheel, ROOT is site-packages: no pyproject.toml, no notebooks/.
    monkeypatch.delenv(config.FIGURES_ENV, raising=False)
    monkeypatch.setattr(config, "ROOT", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path)
    assert not config.in_clone()
    assert config.workspace() == tmp_path
    assert config.figures_dir(config.PROFILES["cpu"]) == tmp_path / "figures"
    assert config.results_dir() == Path(config.__file__).resolve().parent / "results"


def test_check_backend_names_the_supported_backends(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "mxnet")
    with pytest.raises(ValueError, match="tensorflow, jax, torch"):
        config.check_backend()
    monkeypatch.delenv("KERAS_BACKEND")
    assert config.check_backend() == "tensorflow"  # the default


def test_check_backend_says_what_to_install(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[jax\]"'):
        config.check_backend()


def test_a_quick_run_never_replaces_what_a_real_run_saved():
    quick, cpu = config.PROFILES["quick"], config.PROFILES["cpu"]
    assert config.build_dir("08_fine_tune", cpu) == config.workspace() / "build" / "08_fine_tune"
    assert config.build_dir("08_fine_tune", quick) != config.build_dir("08_fine_tune", cpu)


def test_each_backend_draws_its_own_weights_from_the_course_seed():
    """Notebook 00: its committed draw is TensorFlow's; the course's seed gives the same weights
    again on every backend, and other weights on JAX and PyTorch (their own generators)."""

    def first_weights() -> np.ndarray:
        config.seed_everything()
        layer = keras.layers.Dense(3)
        layer.build((None, 2))
        return keras.ops.convert_to_numpy(layer.kernel).ravel()[:3]

    drawn = first_weights()
    np.testing.assert_array_equal(first_weights(), drawn)
    notebook = json.loads((config.workspace() / "notebooks" / "00_setup.ipynb").read_text())
    printed = next(
        "".join(output["text"])
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "first initial weights" in "".join(output.get("text", ""))
    )
    assert printed.startswith(f"tensorflow, seed {config.SEED}:")
    committed = np.array(printed[printed.index("[") + 1 : printed.index("]")].split(), float)
    if keras.backend.backend() == "tensorflow":
        np.testing.assert_allclose(drawn, committed, atol=6e-4)
    else:
        assert not np.allclose(drawn, committed, atol=1e-2)
