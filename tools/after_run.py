"""After re-running notebooks for their committed outputs: tidy what the run leaves behind.

    .venv/bin/python tools/after_run.py notebooks/01_vanishing_gradients.ipynb [...]

- nbconvert saves the explorers' widget state in the notebook (and crashes with the option
  that should stop it, `store_widget_state=False`, when a widget captures output); the
  website would then load a widget library from the internet, so the state is dropped.
- The decks' slide types follow the cells (a new figure, exercise or summary): refreshed
  with `tools/slides.py`'s rules.
"""

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slides import annotate  # tools/ is not a package: found through sys.path


def tidy(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    if notebook.metadata.pop("widgets", None) is not None:
        nbformat.write(notebook, path)
    annotate(path)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for name in sys.argv[1:]:
        tidy(Path(name))
