"""Time contenders side by side: their steps alternate (A, B, A, B, ...), so that a change in
the machine's speed during the run hits all alike. The benchmarks here import it."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import keras


def alternate(contenders: dict[str, Callable[[], object]], steps: int) -> dict[str, float]:
    """Median seconds per call of each contender, `steps` alternating calls after two
    untimed warm-up calls each (tracing)."""
    for step in contenders.values():
        for _ in range(2):
            step()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(steps):
        for name, step in contenders.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def training_steps(models: dict[str, keras.Model], x, y) -> dict[str, Callable[[], object]]:
    """One `train_on_batch(x, y)` call per compiled model, ready for `alternate`."""
    return {name: lambda m=model: m.train_on_batch(x, y) for name, model in models.items()}


def backend() -> str:
    """Keras, its backend and the CPU count, for the header line of a benchmark's output."""
    return f"Keras {keras.__version__} ({keras.backend.backend()}), {os.cpu_count()} CPUs"
