import os
from collections import defaultdict

os.environ.setdefault("MPLBACKEND", "Agg")  # no display in tests

NOTEBOOK_BUDGET_S = 60.0  # a notebook's quick run on 2 CPU cores (../shared/DESIGN.md)
_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    """Add up each notebook's cells (nbval items), kernel start included."""
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    """One line per notebook with its quick-profile time, so the test log shows the budget
    kept or broken (a measurement, not a test: timings vary from machine to machine)."""
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook run times (quick profile)")
    for path, seconds in sorted(_notebook_seconds.items()):
        flag = (
            "" if seconds <= NOTEBOOK_BUDGET_S else f"  OVER the {NOTEBOOK_BUDGET_S:.0f} s budget"
        )
        terminalreporter.write_line(f"{seconds:6.1f} s  {path}{flag}")
