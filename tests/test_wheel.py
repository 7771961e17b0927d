"""The path of a learner without a clone (Colab, `pip install reslab`): the wheel, installed
into a fresh virtual environment, runs a notebook from a folder outside the repository.

The fresh environment borrows the course's dependencies from `.venv` through a `.pth` line
(offline, in seconds); a path added that way does not run `.venv`'s own `.pth` hooks, so the
clone's editable `reslab` stays invisible and `import reslab` finds only the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_degradation_problem.ipynb"  # reads committed results


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def learner(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh environment's python, the learner's empty folder)."""
    tmp = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", tmp / "dist", ROOT)  # fmt: skip
    (wheel,) = (tmp / "dist").glob("reslab-*.whl")
    run(sys._base_executable, "-m", "venv", "--without-pip", tmp / "venv")
    python = tmp / "venv" / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site / "course-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
        "--target", site, wheel)  # fmt: skip
    folder = tmp / "learner"
    folder.mkdir()
    return python, folder


def test_the_wheel_is_what_the_learner_imports(learner):
    python, folder = learner
    probe = (
        "import json, reslab, reslab.config as c, reslab.weights as w; print(json.dumps(["
        "reslab.__file__, c.in_clone(), str(c.workspace()), str(c.results_dir()),"
        "w.COURSE_WEIGHTS.is_file()]))"
    )
    where, in_clone, workspace, results, weights = json.loads(run(python, "-c", probe, cwd=folder))
    assert Path(where).is_relative_to(python.parent.parent), where
    assert not in_clone
    assert Path(workspace) == folder
    assert Path(results) == Path(where).parent / "results"
    assert weights, "the course's pretrained source model (notebooks 08, 09) is not installed"


def test_the_wheel_carries_every_committed_result(learner):
    python, folder = learner
    probe = "import reslab.config as c; print(c.results_dir())"
    results = Path(run(python, "-c", probe, cwd=folder).strip())
    tracked = run("git", "ls-files", "figures/results", cwd=ROOT).split()
    missing = [
        p for p in tracked if not (results / Path(p).relative_to("figures/results")).exists()
    ]
    assert tracked and not missing, missing
    assert not list(results.rglob("*.keras")), "resume checkpoints do not belong in the wheel"


def test_a_notebook_runs_outside_the_repository(learner):
    python, folder = learner
    site_packages = python.parent.parent / "lib"
    before = {p: p.stat().st_mtime for p in site_packages.rglob("*") if p.is_file()}
    env = {**os.environ, "RESLAB_PROFILE": "quick"}
    env.pop("RESLAB_FIGURES_DIR", None)
    notebook = folder / NOTEBOOK.name
    notebook.write_bytes(NOTEBOOK.read_bytes())
    run(python, "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
        "--ExecutePreprocessor.timeout=300", notebook, cwd=folder, env=env)  # fmt: skip
    outputs = [o for c in nbformat.read(notebook, 4).cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    banner = next(o.text for o in outputs if o.get("name") == "stdout" and "profile" in o.text)
    assert "profile: quick" in banner
    # Figures and results land beside the learner's notebook, where they expect them ...
    assert list((folder / "build" / "quick-figures").glob("*.png"))
    assert list((folder / "build" / "quick-figures" / "results").glob("*.json"))
    # ... and nothing is written inside the installed package (byte-compiled files aside).
    after = {p: p.stat().st_mtime for p in site_packages.rglob("*") if p.is_file()}
    changed = [p for p in after if before.get(p) != after[p] and p.suffix != ".pyc"]
    assert not changed, changed
