"""What hardware is here and how to use it well: mixed precision, XLA and a batch size.

`plan()` is pure decision logic over a list of GPUs (injected in tests); `configure()` looks
at the real devices, applies the plan (Keras's global dtype policy) and prints why.
The rules follow TensorFlow's mixed-precision guide: float16 matrix units (tensor cores)
exist from compute capability 7.0 (Volta) on; older GPUs and CPUs gain little or lose.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess

import keras

MIXED_PRECISION_MIN_CAPABILITY = (7, 0)
# Activation memory of one ResNet-50 training image at 224 px in float32, with what the
# optimizer and workspace need on top (a rounded measurement: batch 64 fits in 16 GB).
TRAIN_GB_PER_IMAGE_224 = 0.2


@dataclasses.dataclass(frozen=True)
class Gpu:
    """One visible GPU: its name, compute capability (major, minor) and memory in GB."""

    name: str
    capability: tuple[int, int] | None = None
    memory_gb: float | None = None


@dataclasses.dataclass(frozen=True)
class DevicePlan:
    """How to train here, and why; `str()` gives the report a notebook prints."""

    device: str
    gpus: tuple[Gpu, ...]
    policy: str  # Keras dtype policy: "mixed_float16" or "float32"
    jit_compile: bool
    batch_size: int
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        head = (
            f"device: {self.device} | dtype policy: {self.policy} | "
            f"XLA: {'on' if self.jit_compile else 'off'} | batch size: {self.batch_size}"
        )
        return "\n".join([head, *(f"  - {reason}" for reason in self.reasons)])


def _largest_power_of_two(limit: float, low: int, high: int) -> int:
    size = low
    while size * 2 <= min(limit, high):
        size *= 2
    return size


def plan(
    gpus: list[Gpu] | tuple[Gpu, ...],
    image_size: int = 224,
    backend: str | None = None,
    cpu_batch: int = 32,
) -> DevicePlan:
    """Decide dtype policy, XLA and batch size for training ResNet-50 at `image_size` on
    these GPUs (none: the CPU). The first GPU decides; Keras trains on one device unless a
    distribution strategy is set up."""
    backend = backend or keras.backend.backend()
    gpus = tuple(gpus)
    reasons = []
    if not gpus:
        cores = os.cpu_count() or 1
        reasons.append(
            f"no GPU visible: float32 on the CPU ({cores} cores); CPUs have no float16 "
            "matrix units, so mixed precision would only add casts"
        )
        jit = backend == "jax"
        reasons.append(
            "XLA: JAX always compiles with XLA"
            if jit
            else "XLA off: Keras's own `jit_compile='auto'` also turns it off on CPU-only "
            "machines, where compiling costs more than it saves"
        )
        reasons.append(f"batch size {cpu_batch}: larger batches do not speed up a CPU")
        return DevicePlan("CPU", gpus, "float32", jit, cpu_batch, tuple(reasons))

    gpu = gpus[0]
    described = gpu.name + (
        f" (compute capability {gpu.capability[0]}.{gpu.capability[1]})" if gpu.capability else ""
    )
    if len(gpus) > 1:
        reasons.append(
            f"{len(gpus)} GPUs visible; this plan uses the first. Wrap model building in "
            "tf.distribute.MirroredStrategy (or keras.distribution under JAX) to use all"
        )
    if gpu.capability is not None and gpu.capability >= MIXED_PRECISION_MIN_CAPABILITY:
        policy = "mixed_float16"
        reasons.append(
            "mixed_float16: tensor cores (compute capability >= 7.0) multiply float16 much "
            "faster; variables stay float32 and the output layer is kept in float32"
        )
    else:
        policy = "float32"
        reasons.append(
            "float32: this GPU has no tensor cores (compute capability < 7.0) or reports "
            "none, so mixed precision would gain little"
        )
    if backend == "torch":
        jit = False
        reasons.append(
            "no compilation: Keras runs PyTorch eagerly unless asked (jit_compile=True would "
            "call torch.compile with the inductor backend, which this course has not tested)"
        )
    else:
        jit = True
        reasons.append(
            "XLA on (jit_compile=True): fuses ResNet's conv-BN-ReLU chains on a GPU"
            + (" (JAX always compiles with XLA)" if backend == "jax" else "")
        )
    per_image = TRAIN_GB_PER_IMAGE_224 * (image_size / 224) ** 2
    if policy == "mixed_float16":
        per_image /= 2
    if gpu.memory_gb:
        batch = _largest_power_of_two(0.8 * gpu.memory_gb / per_image, 16, 256)
        reasons.append(
            f"batch size {batch}: the largest power of two whose ResNet-50 activations at "
            f"{image_size} px (about {per_image:.3f} GB per image) fit in 80 % of "
            f"{gpu.memory_gb:.0f} GB"
        )
    else:
        batch = 32
        reasons.append("batch size 32: the GPU did not report its memory")
    return DevicePlan(described, gpus, policy, jit, batch, tuple(reasons))


def _nvidia_smi_memory_gb() -> list[float]:
    query = ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=10, check=True)
        return [float(line) / 1024 for line in done.stdout.split()]  # MiB -> GiB
    except (OSError, subprocess.SubprocessError, ValueError):
        return []


def visible_gpus() -> list[Gpu]:
    """The GPUs the active Keras backend can use, with capability and memory where known."""
    backend = keras.backend.backend()
    found = []
    if backend == "tensorflow":
        import tensorflow as tf

        memory = _nvidia_smi_memory_gb()  # TensorFlow does not report a GPU's total memory
        for index, device in enumerate(tf.config.list_physical_devices("GPU")):
            details = tf.config.experimental.get_device_details(device)
            name = details.get("device_name", device.name)
            total = memory[index] if index < len(memory) else None
            found.append(Gpu(name, details.get("compute_capability"), total))
    elif backend == "jax":
        import jax

        for device in jax.devices():
            if device.platform == "gpu":
                capability = getattr(device, "compute_capability", None)
                if isinstance(capability, str):
                    capability = tuple(int(part) for part in capability.split("."))
                stats = device.memory_stats() or {}
                memory = stats.get("bytes_limit")
                found.append(Gpu(device.device_kind, capability, memory and memory / 1e9))
    elif backend == "torch":
        import torch

        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            found.append(Gpu(props.name, (props.major, props.minor), props.total_memory / 1e9))
    return found


def configure(
    image_size: int = 224, gpus: list[Gpu] | None = None, verbose: bool = True
) -> DevicePlan:
    """Look at the hardware, set Keras's global dtype policy accordingly, and report.

    Pass `plan.jit_compile` to `model.compile(...)`. Build models after this call: the
    policy applies to layers created afterwards.
    """
    chosen = plan(visible_gpus() if gpus is None else gpus, image_size=image_size)
    keras.mixed_precision.set_global_policy(chosen.policy)
    if verbose:
        print(chosen)
    return chosen
