"""One test body, every backend: the ``backend`` fixture runs a test on each CPU test backend
(NumPy; array-api-strict with ``cpu``/``cuda:0``/``cuda:1`` mapped onto its fake devices
``CPU_DEVICE``/``device1``/``device2``, which refuse to mix; torch CPU when installed) and on
CuPy when a GPU can allocate.

``ANYGRAD_TEST_BACKENDS=cupy`` (see ci/gpu) picks the backends to run.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import settings

import anygrad as ag
from anygrad import backends

# SciPy reads it once, at its import (none happened yet): its functions on Tensors
# (tests/test_scipy_xpx.py, docs/interop.md) need it.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# CI runs the same examples every time (a red CI must be reproducible); locally Hypothesis
# explores new ones on each run.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@dataclass(frozen=True)
class TestBackend:
    """The backend a test runs on: its name, and the anygrad devices it serves."""

    __test__ = False
    name: str
    devices: tuple[str, ...]  # first = default device; more than one allows device tests

    @property
    def device(self) -> str:
        return self.devices[0]

    def tensor(self, data, **kwargs) -> ag.Tensor:
        return ag.Tensor(np.asarray(data), device=self.device, **kwargs)


def _strict_mapping() -> dict:
    import array_api_strict as xp
    return {name: backends.GenericBackend(xp, xp.Device(native), ag.device(name))
            for name, native in (("cpu", "CPU_DEVICE"), ("cuda:0", "device1"),
                                 ("cuda:1", "device2"))}


def _torch_mapping() -> dict:
    import array_api_compat.torch as xp
    import torch
    return {"cpu": backends.GenericBackend(xp, torch.device("cpu"), ag.device("cpu"))}


def _gpu_reason() -> str:
    return backends.available()["cupy"].reason


ALL = {
    "numpy": (lambda: {}, ("cpu",), lambda: ""),
    "strict": (_strict_mapping, ("cpu", "cuda:0", "cuda:1"),
               lambda: "" if importlib.util.find_spec("array_api_strict")
               else "array-api-strict is not installed"),
    "torch": (_torch_mapping, ("cpu",),
              lambda: "" if importlib.util.find_spec("torch") else "torch is not installed"),
    "cupy": (lambda: {}, ("cuda:0", "cuda:1"), _gpu_reason),
}
SELECTED = [b for b in os.environ.get("ANYGRAD_TEST_BACKENDS",
                                      "numpy,strict,torch,cupy").split(",") if b]


# ``ANYGRAD_TEST_MODE=lazy`` runs every test body inside ``anygrad.lazy()`` (see .ci/run):
# lazy and eager mode must give the same values, gradients and errors.
# ``ANYGRAD_TEST_MODE=compile`` does too, and every plan run (each backward() included) is
# run again by the code a compiled replay runs, which must give the very same arrays (see
# anygrad/compiler/testing.py).
MODE = os.environ.get("ANYGRAD_TEST_MODE", "eager")


@pytest.fixture(autouse=True)
def _mode():
    if MODE == "compile":
        from anygrad.compiler.testing import checked_replays
        with ag.mode("lazy"), checked_replays():
            yield
    else:
        with ag.mode(MODE):
            yield


@pytest.fixture(params=SELECTED)
def backend(request):
    mapping, devices, reason = ALL[request.param]
    why = reason()
    if why:
        pytest.skip(f"{request.param} backend unavailable: {why}")
    if request.param == "cupy":
        import cupy
        devices = devices[:cupy.cuda.runtime.getDeviceCount()]
    with backends.registered(mapping()), ag.default_device(devices[0]):
        yield TestBackend(request.param, devices)


@pytest.fixture
def dispatch(monkeypatch):
    """scikit-learn's ``array_api_dispatch=True`` (it insists on ``SCIPY_ARRAY_API=1``)."""
    sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    try:
        ctx = sklearn.config_context(array_api_dispatch=True)
        ctx.__enter__()
    except (ImportError, RuntimeError) as exc:  # SciPy too old, or array-api-compat missing
        pytest.skip(f"scikit-learn's array-API dispatch is unavailable here: {exc}")
    try:
        yield
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture
def two_devices(backend):
    """Two distinct devices of the backend under test (skips where it has one)."""
    if len(backend.devices) < 2:
        pytest.skip(f"{backend.name} test backend has one device")
    return backend.devices[0], backend.devices[1]
