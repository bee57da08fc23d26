"""JAX and Dask, whose arrays are immutable: gradients that scatter (slices, masks, integer
arrays, padding, convolution, pooling, sorting) go through the backend's functional writes
(``set_at``/``add_at``/``index_add``), and values and gradients match NumPy's. Each library's
tests skip where it is not installed."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad import backends
from anygrad.nn import functional as F

LIBS = ("jax", "dask")


def _maker(lib: str):
    """The library's array from a NumPy array (Dask: several chunks, to cross blocks)."""
    if lib == "jax":
        jnp = pytest.importorskip("jax.numpy", reason="jax is not installed")
        return jnp.asarray
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    return lambda a: da.from_array(np.asarray(a), chunks=2)


@pytest.fixture(params=LIBS)
def lib(request):
    return request.param, _maker(request.param)


def _host(t: ag.Tensor) -> np.ndarray:
    return t.numpy()


def _check(lib, fn, *arrays, seed=None):
    """``fn`` on tensors of the library and on NumPy tensors: same values, same gradients
    (float32 tolerance: JAX computes in float32 unless x64 is enabled)."""
    name, mk = lib
    theirs = [ag.Tensor(mk(a), requires_grad=a.dtype.kind == "f") for a in arrays]
    ours = [ag.Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, ref = fn(*theirs), fn(*ours)
    assert out.device.kind == name
    np.testing.assert_allclose(_host(out), ref.numpy(), rtol=1e-5, atol=1e-6)
    ag.sum(out * ag.Tensor(mk(np.arange(1.0, 1.0 + ref.size).reshape(ref.shape)))).backward()
    ag.sum(ref * ag.Tensor(np.arange(1.0, 1.0 + ref.size).reshape(ref.shape))).backward()
    for t, r in zip(theirs, ours, strict=True):
        if r.grad is not None:
            assert t.grad is not None and t.grad.device == t.device
            if name == "dask":  # gradients stay lazy
                import dask.array as da
                assert isinstance(t.grad.data, da.Array)
            rtol = 1e-4 if name == "jax" else 1e-5  # float32 sums in another order (lazy)
            np.testing.assert_allclose(_host(t.grad), r.grad.numpy(), rtol=rtol, atol=1e-6)


A = np.arange(24.0).reshape(4, 6) / 7 - 1


def test_slices(lib):
    _check(lib, lambda x: x[1:, ::2], A)
    _check(lib, lambda x: x[::-1, 1:5:3], A)
    _check(lib, lambda x: x[None, 2], A)


def test_integer_arrays_repeat_and_accumulate(lib):
    idx = np.array([0, 3, 0, 2])
    _check(lib, lambda x, i: x[i], A, idx)
    _check(lib, lambda x, i: ag.take(x, i, axis=1), A, idx)


def test_take_along_axis_and_sort(lib):
    idx = np.array([[0, 5], [1, -1], [2, 2], [4, 3]])
    _check(lib, lambda x, i: ag.take_along_axis(x, i, axis=1), A, idx)
    r = np.random.default_rng(0).standard_normal((3, 5))
    _check(lib, lambda x: ag.sort(x, axis=1), r)
    _check(lib, lambda x: ag.sort(x, axis=0, descending=True), r)


def test_max(lib):
    m = np.array([[3.0, 1.0, 3.0], [0.0, 5.0, 2.0]])
    _check(lib, lambda x: ag.max(x, axis=1), m)
    _check(lib, lambda x: ag.max(x), m)


def test_padded_conv_and_pool(lib):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    _check(lib, lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), x, w, b)
    _check(lib, lambda x: F.max_pool2d(x, 2), x)
    _check(lib, lambda x: F.max_pool2d(x, 3, stride=2, padding=1), x)
    _check(lib, lambda x: F.pad(x, ((1, 2), (0, 1))), x)


def test_conv2d_layer(lib):
    name, mk = lib
    conv, pool = ag.nn.Conv2d(3, 2, 3, padding=1), ag.nn.MaxPool2d(2)
    x = np.random.default_rng(2).standard_normal((1, 3, 4, 4))
    ref = ag.sum(pool(conv(ag.Tensor(x))))
    ref.backward()
    want = {k: p.grad.numpy() for k, p in conv.named_parameters()}
    t = ag.Tensor(mk(x))
    conv.zero_grad()
    conv.to(t.device)
    out = ag.sum(pool(conv(t)))
    out.backward()
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)
    for k, p in conv.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), want[k], rtol=1e-4, atol=1e-5)


def test_boolean_mask(lib):
    name, mk = lib
    mask = A > 0.2
    x = ag.Tensor(mk(A), requires_grad=True)
    y = x[ag.Tensor(mk(mask))]
    if name == "dask":  # a mask's result has unknown chunk sizes until computed
        y.data.compute_chunk_sizes()
    ag.sum(y * y).backward()
    want = np.where(mask, 2 * A, 0)
    np.testing.assert_allclose(_host(x.grad), want, rtol=1e-5, atol=1e-6)


def test_cross_entropy(lib):
    labels = np.array([0, 5, 1, 3])
    _check(lib, lambda x, t: F.cross_entropy(x, t)[None], A, labels)


def test_writes_are_functional(lib):
    name, mk = lib
    x = ag.Tensor(mk(np.arange(6.0)), requires_grad=True)
    y = x * 1
    v = y[1:4]
    assert v.base is None  # no views: a slice is a copy
    y[1:3] = 0.0
    y[ag.Tensor(mk(np.array([5])))] = 7.0
    np.testing.assert_array_equal(_host(y), [0, 0, 0, 3, 4, 7])
    np.testing.assert_array_equal(_host(v), [1, 2, 3])  # the copy is not written
    ag.sum(y * y).backward()
    np.testing.assert_allclose(_host(x.grad), [0, 0, 0, 6, 8, 0])
    assert not backends.of_array(x.data).views


def test_python_floats_keep_the_dtype(lib):
    name, mk = lib
    x = ag.Tensor(mk(np.ones(3, np.float32)), requires_grad=True)
    y = F.pad(x * 2.5 + 1.0, ((1, 1),))
    assert y.dtype == ag.float32
    ag.sum(y[1:]).backward()
    assert x.grad.dtype == ag.float32


def test_dask_unknown_chunk_sizes_say_how_to_compute_them():
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    x = ag.Tensor(da.from_array(A, chunks=2), requires_grad=True)
    y = x[x > 0.2]
    with pytest.raises(Exception, match=r"(?s)reshape.*compute_chunk_sizes"):
        ag.reshape(y, (2, 3))
    backend = backends.of_array(x.data)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        backend.set_at(da.zeros(A.shape), x.data > 0.2, y.data)


def test_dask_backward_through_unknown_sizes_says_how_to_compute_them():
    da = pytest.importorskip("dask.array")
    x = ag.Tensor(da.from_array(np.arange(6.0), chunks=3), requires_grad=True)
    y = x[x > 2]
    with pytest.raises(ag.ShapeError, match="compute_chunk_sizes"):
        ag.sum(y * y).backward()
