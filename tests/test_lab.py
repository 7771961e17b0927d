"""`make lab` opens a course that works: JupyterLab serves the notebooks with a Python kernel."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.root_dir={NOTEBOOKS}", f"--IdentityProvider.token={token}",
        "--ServerApp.port_retries=0", "--allow-root",
    ]  # fmt: skip
    # A private runtime and config folder: the learner's own Jupyter settings stay out of it.
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"

    def get(path: str, method: str = "GET"):
        request = urllib.request.Request(
            base + path, method=method, headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return response.status, body

    deadline = time.monotonic() + 90
    while True:
        try:
            get("/api/status")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
            time.sleep(0.5)
    yield get
    get("/api/shutdown", method="POST")
    server.wait(timeout=30)


def test_jupyterlab_serves_the_course(lab):
    status, body = lab("/api/contents")
    served = {item["name"] for item in json.loads(body)["content"]}
    on_disk = {path.name for path in NOTEBOOKS.glob("*.ipynb")}
    assert status == 200 and {"00_setup.ipynb", "01_vanishing_gradients.ipynb"} <= on_disk
    assert on_disk <= served

    status, body = lab("/api/contents/00_setup.ipynb")
    notebook = json.loads(body)
    assert status == 200 and notebook["type"] == "notebook"
    assert notebook["content"]["cells"], "the notebook came back empty"

    kernels = json.loads(lab("/api/kernelspecs")[1])
    assert "python3" in kernels["kernelspecs"]

    status, page = lab("/lab")
    assert status == 200 and b"JupyterLab" in page
    # The explorers (reslab.explore) are ipywidgets: JupyterLab must load their manager.
    assert b"@jupyter-widgets/jupyterlab-manager" in page


def test_the_file_browser_shows_the_course_not_the_website_configuration(lab):
    """The course's settings (installed into .venv by `make setup`) hide the website's files
    and switch off the first-run question about Jupyter news."""
    served = {item["name"] for item in json.loads(lab("/api/contents")[1])["content"]}
    assert served == {p.name for p in NOTEBOOKS.glob("*.ipynb")} | {"intro.md"}
    settings = json.loads(lab("/lab/api/settings/@jupyterlab/apputils-extension:notification")[1])
    defaults = settings["schema"]["properties"]  # the overrides become the defaults
    assert defaults["fetchNews"]["default"] == "false"
    assert defaults["checkForUpdates"]["default"] is False
