"""reslab.device: the decisions, with the device list injected."""

import keras
import pytest

from reslab import device
from reslab.device import Gpu


def test_cpu_only_trains_in_float32_without_xla():
    plan = device.plan([], backend="tensorflow")
    assert (plan.device, plan.policy, plan.jit_compile, plan.batch_size) == (
        "CPU",
        "float32",
        False,
        32,
    )
    assert "no GPU visible" in str(plan)
    assert device.plan([], backend="jax").jit_compile  # JAX always compiles with XLA


@pytest.mark.parametrize(
    ("gpu", "policy", "batch"),
    [
        (Gpu("Tesla K80", (3, 7), 12), "float32", 32),  # no tensor cores: 0.8*12/0.2 = 48
        (Gpu("Tesla T4", (7, 5), 15), "mixed_float16", 64),  # 0.8*15/0.1 = 120
        (Gpu("NVIDIA H100", (9, 0), 80), "mixed_float16", 256),  # capped at 256
        (Gpu("unknown GPU"), "float32", 32),  # reports nothing: the safe choices
    ],
)
def test_gpu_decisions(gpu, policy, batch):
    plan = device.plan([gpu], backend="tensorflow")
    assert (plan.policy, plan.jit_compile, plan.batch_size) == (policy, True, batch)
    assert gpu.name in plan.device


def test_each_backend_compiles_its_own_way_on_a_gpu():
    t4 = [Gpu("Tesla T4", (7, 5), 15)]
    assert device.plan(t4, backend="jax").jit_compile
    assert "JAX always compiles" in str(device.plan(t4, backend="jax"))
    torch = device.plan(t4, backend="torch")  # eager, as Keras's "auto" runs PyTorch
    assert not torch.jit_compile and "torch.compile" in str(torch)
    assert torch.policy == "mixed_float16"  # the dtype policy is Keras's, on every backend


def test_smaller_images_allow_larger_batches():
    t4 = Gpu("Tesla T4", (7, 5), 15)
    assert device.plan([t4], image_size=96).batch_size > device.plan([t4]).batch_size


def test_several_gpus_are_reported():
    plan = device.plan([Gpu("A100", (8, 0), 40)] * 2)
    assert "2 GPUs visible" in str(plan)


def test_configure_sets_the_global_policy(capsys):
    try:
        plan = device.configure(gpus=[Gpu("Tesla T4", (7, 5), 15)])
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        assert "mixed_float16" in capsys.readouterr().out
        device.configure(gpus=[], verbose=False)
        assert keras.mixed_precision.global_policy().name == "float32"
        assert plan.jit_compile == (keras.backend.backend() != "torch")
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_this_machine_is_seen():
    gpus = device.visible_gpus()
    assert isinstance(gpus, list) and all(isinstance(g, Gpu) for g in gpus)
