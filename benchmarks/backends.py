"""One training step of the same network on each Keras backend (TensorFlow, JAX, PyTorch),
side by side.

    .venv/bin/python benchmarks/backends.py [--model resnet20|resnet50] [--steps 10]

Keras chooses its backend once per process, so each backend gets a worker process that builds
the same network (same seed, same batch, same loss and optimizer, Keras's default
`jit_compile="auto"`), compiles it and takes one untimed first step (tracing or compiling).
The driver then asks the workers for one step each in turn (TensorFlow, JAX, PyTorch,
TensorFlow, ...): only one computes at a time, and a change in the machine's speed during the
run hits all alike. Prints each backend's first step, median seconds per step and ratio to
TensorFlow. Backends that are not installed are left out, with a note.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import statistics
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")
MODELS = {  # name: (input side, batch size): 07's CIFAR batch, 08's ResNet-50 batch at 96 px
    "resnet20": (32, 128),
    "resnet50": (96, 8),
}


def worker(model_name: str) -> None:
    """Build, compile and warm up, then answer each line on stdin with one step's seconds."""
    import keras
    import numpy as np

    from reslab import models

    side, batch = MODELS[model_name]
    keras.utils.set_random_seed(0)
    if model_name == "resnet20":
        model = models.cifar_resnet(20)
    else:
        model = models.resnet(50, input_shape=(side, side, 3), classes=10)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, side, side, 3)).astype("float32")
    y = rng.integers(0, 10, batch)
    start = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - start
    jit = model.jit_compile if keras.backend.backend() != "jax" else True  # JAX always jits
    print(f"ready {first:.3f} {jit}", flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        model.train_on_batch(x, y)
        print(f"{time.perf_counter() - start:.6f}", flush=True)


def start(backend: str, model_name: str) -> tuple[subprocess.Popen, float, str]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", "--model", model_name],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:  # skip anything a library prints before the worker is ready
        if line.startswith("ready "):
            _, first, jit = line.split()
            return process, float(first), jit
    raise RuntimeError(f"the {backend} worker stopped before it was ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="resnet20")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.model)
        return
    present = [b for b in BACKENDS if importlib.util.find_spec(b) is not None]
    for missing in sorted(set(BACKENDS) - set(present)):
        print(f"{missing}: not installed, left out")
    workers = {}
    for backend in present:  # one at a time, so that each first step runs alone
        workers[backend] = start(backend, args.model)
    times: dict[str, list[float]] = {backend: [] for backend in workers}
    for _ in range(args.steps):
        for backend, (process, _, _) in workers.items():
            process.stdin.write("step\n")
            process.stdin.flush()
            times[backend].append(float(process.stdout.readline()))
    for process, _, _ in workers.values():
        process.stdin.close()
        process.wait()

    side, batch = MODELS[args.model]
    print(
        f"{args.model}: {args.steps} alternating training steps per backend, batch {batch}, "
        f"{side}x{side} images, Keras {importlib.metadata.version('keras')}, {os.cpu_count()} CPUs"
    )
    print(f"  {'backend':<11} {'version':<12} {'XLA':<6} {'first step':>10} {'median':>9} ratio")
    reference = statistics.median(times[present[0]])
    for backend, (_, first, jit) in workers.items():
        median = statistics.median(times[backend])
        version = importlib.metadata.version(backend)
        print(
            f"  {backend:<11} {version:<12} {jit:<6} {first:>9.1f}s {median:>8.3f}s "
            f"{median / reference:.2f}"
        )


if __name__ == "__main__":
    main()
