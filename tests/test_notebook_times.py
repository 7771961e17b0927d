"""Each notebook's "Time" line, its row in the README and its line in the website's
introduction say how long its committed `cpu` run took (tools/instructor_page.py reads it
from the notebook's execution record)."""

import importlib.util
import json
import re

import pytest

from reslab import config

spec = importlib.util.spec_from_file_location("times", config.ROOT / "tools" / "instructor_page.py")
times = importlib.util.module_from_spec(spec)
spec.loader.exec_module(times)

README = (config.ROOT / "README.md").read_text()
INTRO = (config.ROOT / "notebooks" / "intro.md").read_text()


def _short(seconds: float) -> str:
    return "< 1 min" if seconds < 60 else f"~{max(1, round(seconds / 60))} min"


def test_phrases_round_to_whole_minutes():
    assert times.phrase(59) == "under a minute"
    assert times.phrase(89) == "about 1 minute" and times.phrase(150) == "about 2 minutes"


@pytest.mark.parametrize("path", times.NOTEBOOKS, ids=lambda p: p.stem)
def test_time_lines_say_how_long_the_committed_run_took(path):
    seconds = times.recorded_seconds(path)
    assert seconds is not None, f"{path.name} has no execution record: run it with nbconvert"
    cells = json.loads(path.read_text())["cells"]
    line = next(
        "".join(c["source"]).split("**Time:**")[1].split("\n\n")[0]
        for c in cells
        if "**Time:**" in "".join(c["source"])
    )
    expected = times.phrase(seconds)
    if expected == "under a minute":
        assert "under a minute" in line, (path.name, seconds, line)
    else:
        assert f"{expected} (`cpu`)" in line, (path.name, seconds, line)
    number = path.stem[:2]
    row = next(r for r in README.splitlines() if r.startswith(f"| [{number} ·"))
    assert row.endswith(f"| {_short(seconds)} |"), (seconds, row[-20:])
    item = next(r for r in INTRO.splitlines() if r.startswith(f"- **[{number} ·"))
    assert re.search(rf"\*\* \({re.escape(_short(seconds))}\b", item), (seconds, item[:80])


def test_the_instructors_page_is_up_to_date():
    """Its tables are generated from the notebooks and the learner-room tests."""
    page = times.PAGE.read_text()
    quick = json.loads(times.RESULTS.read_text()) if times.RESULTS.exists() else {}
    fresh = times.replace_between(page, "times", times.times_table(quick))
    fresh = times.replace_between(fresh, "mistakes", times.mistakes_list())
    assert page == fresh, "out of date: run .venv/bin/python tools/instructor_page.py"
