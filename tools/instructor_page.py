"""The generated parts of the instructor's page (notebooks/instructor.md): how long each
notebook takes, measured, and what each exercise's checker catches.

The `cpu` time of a notebook is read from its committed outputs: nbconvert records when each
cell started and finished, so the run that produced the website is the measurement. With
`--quick`, each notebook is also run in the `quick` profile and timed (a few minutes; the
times are kept in figures/results/notebook_times.json for the next run without `--quick`).
The mistakes come from the learner-room tests (tests/test_learners.py), which prove that each
checker rejects them with a message naming the words shown.

    .venv/bin/python tools/instructor_page.py [--quick]

rewrites the page between its `<!-- generated:... -->` markers; tests/test_notebook_times.py
fails when the page is out of date.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RESULTS = ROOT / "figures" / "results" / "notebook_times.json"
PAGE = ROOT / "notebooks" / "instructor.md"


def recorded_seconds(path: Path) -> float | None:
    """Wall-clock seconds of the run saved in the notebook (first cell's start to last cell's
    end), or None if it carries no execution record."""
    stamps = []
    for cell in json.loads(path.read_text())["cells"]:
        record = cell.get("metadata", {}).get("execution", {})
        stamps += [record[k] for k in ("iopub.execute_input", "shell.execute_reply") if k in record]
    if not stamps:
        return None
    moments = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    return (max(moments) - min(moments)).total_seconds()


def phrase(seconds: float) -> str:
    """How a notebook's "Time" line says it: "under a minute", "about 3 minutes"."""
    if seconds < 60:
        return "under a minute"
    minutes = max(1, round(seconds / 60))
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def quick_seconds(path: Path) -> float:
    """Run the notebook in the quick profile, as the tests do, and time it."""
    env = {**os.environ, "RESLAB_PROFILE": "quick", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--output-dir", out, "--log-level", "ERROR", str(path)],
            check=True, env=env, cwd=path.parent,
        )  # fmt: skip
        return time.monotonic() - start


def _title(path: Path) -> str:
    """The notebook's short title, as the website's table of contents gives it."""
    toc = yaml.safe_load((ROOT / "notebooks" / "_toc.yml").read_text())
    titles = {chapter["file"]: chapter.get("title") for chapter in toc["chapters"]}
    return titles.get(path.stem) or path.stem


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _exercises(path: Path) -> list[tuple[str, str]]:
    """(exercise heading, checker name) for each exercise of a notebook."""
    found = []
    for cell in json.loads(path.read_text())["cells"]:
        text = "".join(cell["source"])
        for heading in re.findall(r"^#+ (.*[Ee]xercise[^:]*: .*)$", text, flags=re.M):
            found.append([heading, ""])
        for checker in re.findall(r"checks\.(check_\w+)\(", text):
            if found and not found[-1][1]:
                found[-1][1] = checker
    return [tuple(e) for e in found]


def times_table(quick: dict[str, float]) -> str:
    """The page's table of notebooks, times and exercises."""
    lines = [
        "| notebook | `cpu` (2 cores) | `quick` | exercise (checker) |",
        "|---|---|---|---|",
    ]
    for path in NOTEBOOKS:
        cpu = recorded_seconds(path)
        quick_time = _duration(quick[path.stem]) if path.stem in quick else "not measured"
        work = "; ".join(f"{h.split(': ', 1)[-1]} (`{c}`)" for h, c in _exercises(path))
        lines.append(
            f"| [{_title(path)}]({path.name}) | {_duration(cpu)} | {quick_time} | {work} |"
        )
    return "\n".join(lines)


def mistakes_list() -> str:
    """Per checker: how many right answers in other styles it accepts, and each wrong answer
    it rejects with the words its message must contain (tests/test_learners.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import test_learners

    lines = []
    for checker, right, wrong in test_learners.ROOM:
        lines.append(
            f"- **`{checker.__name__}`** accepts {len(right)} correct styles; rejects "
            + "; ".join(
                f"*{name.replace('_', ' ')}* (“{words}”)" for name, (_, words) in wrong.items()
            )
            + "."
        )
    return "\n".join(lines)


def replace_between(text: str, name: str, body: str) -> str:
    """Put `body` between the page's `<!-- generated:name -->` and `<!-- /generated -->`."""
    start, end = f"<!-- generated:{name} -->", "<!-- /generated -->"
    head, rest = text.split(start, 1)
    return head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="also run each notebook in quick")
    args = parser.parse_args()
    quick = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.quick:
        for path in NOTEBOOKS:
            quick[path.stem] = round(quick_seconds(path), 1)
            print(f"{path.stem:32s} quick {quick[path.stem]} s")
        RESULTS.write_text(json.dumps(quick, indent=2) + "\n")
    page = replace_between(PAGE.read_text(), "times", times_table(quick))
    PAGE.write_text(replace_between(page, "mistakes", mistakes_list()))


if __name__ == "__main__":
    main()
