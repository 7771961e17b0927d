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

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    yield from serve_lab(NOTEBOOKS, tmp_path)


def serve_lab(root: Path, tmp_path: Path):
    """Start JupyterLab on `root`; yield `get(path, method)`, then shut it down."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
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
    get.base, get.token = base, token
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


def test_an_explorer_runs_in_jupyterlab(tmp_path):
    """In JupyterLab itself (headless Chromium): the convolution calculator of notebook 04
    shows its controls and figure, and moving a slider redraws the figure."""
    from playwright.sync_api import sync_playwright
    from test_book import chromium

    root = tmp_path / "root"
    root.mkdir()
    cell = nbformat.v4.new_code_cell("from reslab import explore\nexplore.conv_size()")
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    notebook = nbformat.v4.new_notebook(cells=[cell], metadata=kernel)
    nbformat.write(notebook, root / "explorer.ipynb")
    server = serve_lab(root, tmp_path)
    get = next(server)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium())
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{get.base}/lab/tree/explorer.ipynb?token={get.token}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)  # kernel ready
            page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
            page.keyboard.press("Shift+Enter")
            figure = page.locator(".jupyter-widgets img").first
            figure.wait_for(timeout=120_000)
            readout = page.locator(".widget-readout").first
            assert readout.inner_text() == "8"  # the first state: n = 8
            before = figure.get_attribute("src")
            page.locator(".widget-slider .noUi-handle").first.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "src => document.querySelector('.jupyter-widgets img')?.src !== src",
                arg=before,
                timeout=60_000,
            )
            assert readout.inner_text() == "9"
            browser.close()
    finally:
        next(server, None)
