"""Listing devices as simplegrad users know them: ``available_devices()`` and
``cuda_is_available()`` (the CUDA part runs only where CuPy allocates on a GPU)."""

from __future__ import annotations

import os
import re

import pytest

import anygrad as ag
from anygrad import backends

GPU_REASON = backends.available()["cupy"].reason  # "" where CuPy allocates on cuda:0


def test_cpu_comes_first_with_its_processor_and_core_count():
    devices = ag.available_devices()
    assert type(devices) is dict and next(iter(devices)) == "cpu"
    cpu = devices["cpu"]
    assert cpu.endswith(f" ({os.cpu_count()} logical cores)")
    assert cpu[: -len(f" ({os.cpu_count()} logical cores)")].strip()  # a name before it
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            models = [line.split(":", 1)[1].strip() for line in f
                      if line.startswith("model name") and ":" in line]
        if models and models[0]:
            assert cpu.startswith(models[0])


def test_every_listed_device_computes():
    for name in ag.available_devices():
        x = ag.Tensor([1.0, 2.0], device=name)
        (x * x).sum().backward()
        assert x.device == name and x.grad.tolist() == [2.0, 4.0]


def test_the_two_functions_agree():
    devices = ag.available_devices()
    gpus = [k for k in devices if k != "cpu"]
    assert all(re.fullmatch(r"cuda:\d+", k) for k in gpus)
    assert ag.cuda_is_available() is bool(gpus)


@pytest.mark.skipif(not GPU_REASON, reason="this machine has a usable GPU")
def test_without_a_gpu_only_the_cpu_is_listed_and_nothing_raises():
    assert list(ag.available_devices()) == ["cpu"]
    assert ag.cuda_is_available() is False
    with pytest.raises(ag.BackendUnavailableError, match=re.escape(GPU_REASON[:40])):
        ag.Tensor([1.0], device="cuda")  # the same reason, where a GPU is asked for


def test_the_array_module_and_native_device_are_reachable():
    cpu = backends.get("cpu")
    arr = cpu.xp.asarray([1.0, 2.0])
    t = ag.Tensor(arr, copy=False)
    assert t.device == "cpu" and t.backend is cpu
    assert cpu.xp.sum(t.data) == 3.0
    assert cpu.native == "cpu"  # NumPy's device object


def test_gpus_are_listed_with_name_and_memory():
    if GPU_REASON:
        pytest.skip(f"no usable GPU: {GPU_REASON}")
    import cupy

    from anygrad.backends.cupy_backend import device_properties

    devices = ag.available_devices()
    assert ag.cuda_is_available() is True and "cuda:0" in devices
    for key, text in devices.items():
        if key == "cpu":
            continue
        index = int(key.split(":")[1])
        name, memory = device_properties(index)
        assert text == f"{name} ({memory / 2**30:.1f} GiB)"
        with cupy.cuda.Device(index):
            assert memory == cupy.cuda.runtime.memGetInfo()[1]
        assert backends.get(key).native.id == index
