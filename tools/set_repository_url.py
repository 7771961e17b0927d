"""Point the course at another repository (a fork, a mirror): one command, every place.

The address lives in notebooks/_config.yml (`repository: url:`). The website's Colab,
repository and download buttons read it there; this script copies a new address into that
file, into pyproject.toml, and into every notebook's set-up cell (which installs `reslab`
from the repository in Colab). tests/test_book.py checks that they all agree.

    .venv/bin/python tools/set_repository_url.py https://github.com/you/reslab
"""

import argparse
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "notebooks" / "_config.yml"


def repository_url() -> str:
    """The repository's address, as the website's configuration gives it."""
    return yaml.safe_load(CONFIG.read_text())["repository"]["url"]


def files_naming_the_url() -> list[Path]:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return [CONFIG, ROOT / "pyproject.toml", *notebooks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="https://github.com/<owner>/<repository>")
    new = parser.parse_args().url.rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", new):
        parser.error(f"{new!r} is not https://github.com/<owner>/<repository> (Colab needs GitHub)")
    old = repository_url()
    for path in files_naming_the_url():
        text = path.read_text()
        if old in text:
            path.write_text(text.replace(old, new))
            print(f"{path.relative_to(ROOT)}: {old} -> {new}")


if __name__ == "__main__":
    main()
