import os

os.environ.setdefault("MPLBACKEND", "Agg")  # no display in tests
