"""environment.yml (conda) must list exactly what pyproject.toml installs."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def normalized(requirements) -> set[str]:
    return {str(Requirement(r)) for r in requirements}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert len(pip_lists) == 1, "environment.yml should have one pip: section"
    pip = [r for r in pip_lists[0] if not r.startswith("-e")]
    assert "-e ." in pip_lists[0], "environment.yml must install reslab itself (-e .)"
    expected = normalized(project["dependencies"] + project["optional-dependencies"]["test"])
    assert normalized(pip) == expected


def test_python_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if str(d).startswith("python="))
    version = conda_python.split("=")[1]
    assert Requirement(f"python{project['requires-python']}").specifier.contains(version)


def test_gpu_extra_installs_tensorflow_cuda_libraries():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (gpu,) = [Requirement(r) for r in project["optional-dependencies"]["gpu"]]
    (tf,) = [Requirement(r) for r in project["dependencies"] if r.startswith("tensorflow")]
    assert gpu.name == "tensorflow" and "and-cuda" in gpu.extras
    assert gpu.specifier == tf.specifier  # the same TensorFlow, with CUDA
