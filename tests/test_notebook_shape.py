"""What every notebook keeps as it grows: short code cells (the algorithm on the page, the
plumbing in reslab), no helper defined in two notebooks, questions at the end, and each
structure's diagram where it is introduced."""

import collections
import json
import re

import pytest

from reslab import config

NOTEBOOKS = sorted((config.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_LINES = 25
DIAGRAMS = {  # notebook -> the diagrams it draws (figures/diagrams/<name>.png)
    "03": ["03_plain_vs_residual"],
    "04": ["04_shortcut_options"],
    "05": ["05_resnet50_stages"],
    "06": ["06_v1_vs_v2"],
    "08": ["08_fine_tuning_phases"],
}


def cells(path):
    return json.loads(path.read_text())["cells"]


def is_solution(cell) -> bool:
    return "solution" in cell["metadata"].get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short(path):
    long = [
        (index, len("".join(cell["source"]).splitlines()))
        for index, cell in enumerate(cells(path))
        if cell["cell_type"] == "code" and not is_solution(cell)
        if len("".join(cell["source"]).splitlines()) > MAX_LINES
    ]
    assert not long, f"cells over {MAX_LINES} lines (index, lines): {long}"


def test_no_helper_is_defined_in_two_notebooks():
    where = collections.defaultdict(set)
    for path in NOTEBOOKS:
        for cell in cells(path):
            if cell["cell_type"] == "code" and not is_solution(cell):
                for name in re.findall(r"^def (\w+)", "".join(cell["source"]), re.MULTILINE):
                    where[name].add(path.stem[:2])
    twice = {name: sorted(books) for name, books in where.items() if len(books) > 1}
    assert not twice, f"move these into reslab: {twice}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_questions_after_its_summary(path):
    markdown = ["".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown"]
    assert "\n## Summary\n" in "\n" + markdown[-2]
    last = markdown[-1]
    assert last.startswith("## Questions to think about")
    assert 3 <= len(re.findall(r"^\d+\. ", last, re.MULTILINE)) <= 5


@pytest.mark.parametrize("number", sorted(DIAGRAMS))
def test_diagrams_are_drawn_in_the_notebook_and_committed(number):
    (path,) = [p for p in NOTEBOOKS if p.stem.startswith(number)]
    for name in DIAGRAMS[number]:
        drawing = next(
            c
            for c in cells(path)
            if re.search(rf'diagrams\.draw_\w+\([^#]*"{name}"', "".join(c["source"]))
        )
        assert any("image/png" in o.get("data", {}) for o in drawing["outputs"]), name
        assert len(drawing["metadata"]["mystnb"]["image"]["alt"]) > 80, name
        assert (config.ROOT / "figures" / "diagrams" / f"{name}.png").exists(), name
