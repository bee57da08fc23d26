"""CuPy specifics; they run where CuPy can allocate on a GPU and skip with the reason elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag

STATUS = ag.backends.available()["cupy"]
pytestmark = pytest.mark.skipif(not STATUS, reason=f"no usable GPU: {STATUS.reason}")


def _gpus() -> int:
    import cupy
    return cupy.cuda.runtime.getDeviceCount()


def test_tensor_lands_on_the_requested_gpu_whatever_the_current_device():
    import cupy
    index = _gpus() - 1
    with cupy.cuda.Device(0):
        x = ag.Tensor([1.0, 2.0], device=f"cuda:{index}")
        assert x.data.device.id == index
        y = (ag.exp(x) * x + 1).sum()
        y.backward()  # rules use operators: they must run on x's GPU
    assert x.grad.data.device.id == index
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1, 2]) * (1 + np.array([1, 2])))


def test_cpu_gpu_round_trip_keeps_gradient_on_the_source():
    x = ag.Tensor([1.0, 2.0, 3.0], dtype=ag.float32)
    y = x.to("cuda")
    assert y.device == "cuda:0" and y.dtype == ag.float32
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.dtype == ag.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_two_gpus_refuse_to_mix():
    if _gpus() < 2:
        pytest.skip("one GPU on this host")
    a = ag.Tensor([1.0], device="cuda:0")
    b = ag.Tensor([1.0], device="cuda:1")
    with pytest.raises(ag.DeviceError, match="cuda:0.*cuda:1"):
        a + b
    (a.to("cuda:1") * b).sum().backward()
    assert a.grad.device == "cuda:0"


def test_from_cupy_array_keeps_its_gpu():
    import cupy
    with cupy.cuda.Device(_gpus() - 1):
        arr = cupy.arange(3.0)
    t = ag.Tensor(arr)
    assert t.device == f"cuda:{_gpus() - 1}" and t.backend.name == "cupy"


def test_complex_gradients_of_gathers_with_repeated_indices():
    """``cupyx.scatter_add`` takes no complex dtypes: the backend adds (re, im) pairs."""
    host = np.array([1 + 2j, 3 - 1j, 0.5 + 0.5j])
    idx = [0, 2, 0, 1]
    x = ag.Tensor(host, device="cuda")
    y = x[ag.Tensor(np.array(idx), device="cuda")]
    ag.real(y * ag.conj(y)).sum().backward()
    want = np.zeros(3, complex)
    np.add.at(want, idx, 2 * host[idx])  # d|z|^2 = 2z, PyTorch's convention
    np.testing.assert_allclose(x.grad.numpy(), want)


def test_writes_through_views_on_the_gpu():
    x = ag.Tensor(np.arange(6.0).reshape(2, 3), device="cuda")
    y = x * 1.0
    head = y[0]
    head *= -1  # writes y's memory on the GPU; d/dx of (-x)^2 is 2x
    np.testing.assert_allclose(y.numpy()[0], [0.0, -1.0, -2.0])
    (y ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3))
    assert head.base is y
