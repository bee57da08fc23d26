"""NumPy's own functions on Tensors: ufuncs (NEP 13), array functions (NEP 18), np.asarray."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad.testing import gradcheck

RNG = np.random.default_rng(0)
A = RNG.uniform(0.2, 0.9, (3, 4))      # inside every unary ufunc's domain below
B = RNG.uniform(0.2, 0.9, (3, 4))
SPD = (lambda m: m @ m.T + 4 * np.eye(4))(RNG.standard_normal((4, 4)))


def check_tensor(got, want, like):
    """``got`` is a Tensor on ``like``'s device holding NumPy's ``want``."""
    assert isinstance(got, ag.Tensor), type(got)
    assert got.device == like.device
    want = np.asarray(want)
    assert got.shape == want.shape
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_array_equal(got.numpy(), want)


# -- ufuncs --------------------------------------------------------------------------------
UNARY = [np.exp, np.log, np.sin, np.cos, np.tanh, np.sqrt, np.arccos, np.arcsin, np.arctan,
         np.arcsinh, np.arctanh, np.absolute, np.negative, np.square, np.reciprocal, np.expm1,
         np.log1p, np.deg2rad, np.rad2deg]


@pytest.mark.parametrize("ufunc", UNARY, ids=lambda u: u.__name__)
def test_unary_ufunc_values_dtype_device_and_gradient(backend, ufunc):
    x = backend.tensor(A)
    y = ufunc(x)
    check_tensor(y, ufunc(A), x)
    assert y.dtype == x.dtype and y.requires_grad
    gradcheck(ufunc, backend.tensor(A))
    x32 = backend.tensor(A.astype(np.float32))
    assert ufunc(x32).dtype == ag.float32


@pytest.mark.parametrize("ufunc,same", [(np.add, ag.add), (np.multiply, ag.multiply),
                                        (np.subtract, ag.subtract), (np.true_divide, ag.divide),
                                        (np.power, ag.pow), (np.arctan2, ag.atan2),
                                        (np.maximum, ag.maximum), (np.hypot, ag.hypot),
                                        (np.matmul, ag.matmul)], ids=lambda u: u.__name__)
def test_binary_ufunc_matches_anygrad(backend, ufunc, same):
    a, b = (A, B.T) if ufunc is np.matmul else (A, B)
    x, y = backend.tensor(a), backend.tensor(b)
    check_tensor(ufunc(x, y), ufunc(a, b), x)
    ufunc(x, y).sum().backward()
    x2, y2 = backend.tensor(a), backend.tensor(b)
    same(x2, y2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy())
    np.testing.assert_allclose(y.grad.numpy(), y2.grad.numpy())
    gradcheck(ufunc, backend.tensor(a), backend.tensor(b))


def test_comparisons_and_logical_ufuncs_are_constants(backend):
    x = backend.tensor(A)
    for ufunc in (np.less_equal, np.greater, np.equal, np.not_equal):
        got = ufunc(x, 0.5)
        check_tensor(got, ufunc(A, 0.5), x)
        assert got.dtype == ag.bool and not got.requires_grad
    got = np.logical_and(x > 0.3, x < 0.7)
    check_tensor(got, np.logical_and(A > 0.3, A < 0.7), x)
    assert np.isfinite(x).dtype == ag.bool


def test_mixed_numpy_array_and_tensor_operands(backend):
    x = backend.tensor(A)
    if backend.name == "numpy":
        got = B + x
        check_tensor(got, B + A, x)
        check_tensor(np.maximum(B, x), np.maximum(B, A), x)
        got.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), np.ones_like(A))
    else:  # a host array beside a tensor elsewhere is refused, as the operators refuse it
        with pytest.raises(ag.DeviceError):
            B + x
        with pytest.raises(ag.DeviceError):
            np.multiply(B, x)
    x32 = backend.tensor(A.astype(np.float32))
    got = np.float64(2.0) * x32  # NumPy scalars promote weakly
    assert got.dtype == ag.float32
    check_tensor(got, 2 * A.astype(np.float32), x32)


def test_ufunc_out_writes_into_the_tensor_and_is_differentiable(backend):
    x = backend.tensor(A)
    out = backend.tensor(np.zeros_like(A), requires_grad=False)
    got = np.exp(x, out=out)
    assert got is out
    check_tensor(out, np.exp(A), x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(A))
    out2 = backend.tensor(np.zeros_like(A), requires_grad=False)
    assert np.add(x, 1.0, out=(out2,)) is out2
    check_tensor(out2, A + 1, x)


def test_ufunc_where_keeps_out_and_zeros_without_out(backend):
    x = backend.tensor(A)
    mask = A > 0.5
    out = backend.tensor(np.full_like(A, -1.0), requires_grad=False)
    want = np.full_like(A, -1.0)
    np.add(A, 1.0, out=want, where=mask)
    check_tensor(np.add(x, 1.0, out=out, where=backend.tensor(mask)), want, x)
    got = np.sin(x, where=backend.tensor(mask))
    check_tensor(got, np.where(mask, np.sin(A), 0.0), x)
    got.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(mask, np.cos(A), 0.0))


def test_ufunc_dtype_computes_in_that_dtype(backend):
    i = backend.tensor(np.arange(6).reshape(2, 3))
    got = np.add(i, i, dtype=np.float32)
    assert got.dtype == ag.float32
    check_tensor(got, np.add(np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3),
                             dtype=np.float32), i)
    x = backend.tensor(A)
    got = np.exp(x, dtype=np.float32)
    assert got.dtype == ag.float32 and got.requires_grad
    np.testing.assert_allclose(got.numpy(), np.exp(A.astype(np.float32)), rtol=1e-6)


def test_ufunc_reduce_accumulate_outer(backend):
    x = backend.tensor(A)
    check_tensor(np.add.reduce(x), np.add.reduce(A), x)                       # axis 0
    check_tensor(np.add.reduce(x, axis=None), np.add.reduce(A, axis=None), x)
    check_tensor(np.multiply.reduce(x, axis=1), np.multiply.reduce(A, axis=1), x)
    check_tensor(np.maximum.reduce(x, axis=1, keepdims=True),
                 np.maximum.reduce(A, axis=1, keepdims=True), x)
    check_tensor(np.minimum.reduce(x, axis=0, initial=0.3),
                 np.minimum.reduce(A, axis=0, initial=0.3), x)
    check_tensor(np.add.reduce(x, axis=1, where=backend.tensor(A > 0.5)),
                 np.add.reduce(A, axis=1, where=A > 0.5), x)
    check_tensor(np.logical_or.reduce(x > 0.8, axis=0), np.logical_or.reduce(A > 0.8, axis=0), x)
    check_tensor(np.logical_and.reduce(x > 0.1), np.logical_and.reduce(A > 0.1), x)
    check_tensor(np.add.accumulate(x, axis=1), np.add.accumulate(A, axis=1), x)
    check_tensor(np.multiply.accumulate(x), np.multiply.accumulate(A), x)
    v = backend.tensor(A[0])
    check_tensor(np.multiply.outer(v, x), np.multiply.outer(A[0], A), x)
    gradcheck(lambda t: np.multiply.reduce(t, axis=1), backend.tensor(A))
    gradcheck(lambda t: np.add.accumulate(t, axis=0), backend.tensor(A))
    gradcheck(lambda t: np.maximum.reduce(t, axis=0), backend.tensor(A))


# -- array functions -------------------------------------------------------------------------
IDX = np.array([[0, 2, 1, 3], [3, 0, 0, 1], [1, 1, 2, 0]])


def like(a, host):
    """``host`` as ``a`` is: a NumPy array, or a Tensor on ``a``'s device."""
    return host if isinstance(a, np.ndarray) else ag.Tensor(host, device=a.device)


CASES = {  # name: (function of NumPy arrays or Tensors, differentiable)
    "sum": (lambda a: np.sum(a, axis=0), True),
    "sum_keepdims": (lambda a: np.sum(a, axis=(0, 1), keepdims=True), True),
    "mean": (lambda a: np.mean(a, axis=1), True),
    "std_ddof": (lambda a: np.std(a, axis=0, ddof=1), True),
    "var": (lambda a: np.var(a), True),
    "prod": (lambda a: np.prod(a, axis=1), True),
    "max": (lambda a: np.max(a, axis=0), True),
    "amin": (lambda a: np.amin(a, axis=1, keepdims=True), True),
    "argmax": (lambda a: np.argmax(a, axis=1), False),
    "argmin": (lambda a: np.argmin(a), False),
    "cumsum": (lambda a: np.cumsum(a), True),
    "cumprod": (lambda a: np.cumprod(a, axis=1), True),
    "einsum": (lambda a: np.einsum("ij,kj->ik", a, a), True),
    "concatenate": (lambda a: np.concatenate([a, a * 2], axis=1), True),
    "stack": (lambda a: np.stack([a, a], axis=-1), True),
    "vstack": (lambda a: np.vstack([a, a[0]]), True),
    "hstack": (lambda a: np.hstack([a, a]), True),
    "transpose": (lambda a: np.transpose(a), True),
    "reshape": (lambda a: np.reshape(a, (2, 6)), True),
    "ravel": (lambda a: np.ravel(a), True),
    "squeeze": (lambda a: np.squeeze(np.expand_dims(a, 0)), True),
    "expand_dims": (lambda a: np.expand_dims(a, axis=(0, 2)), True),
    "moveaxis": (lambda a: np.moveaxis(np.reshape(a, (3, 2, 2)), 0, -1), True),
    "swapaxes": (lambda a: np.swapaxes(a, 0, 1), True),
    "broadcast_to": (lambda a: np.broadcast_to(a, (2, 3, 4)), True),
    "flip": (lambda a: np.flip(a, axis=1), True),
    "where": (lambda a: np.where(a > 0.5, a, -a), True),
    "clip": (lambda a: np.clip(a, 0.3, 0.7), True),
    "dot": (lambda a: np.dot(a, a.T), True),
    "dot_vector": (lambda a: np.dot(a, a[0]), True),
    "outer": (lambda a: np.outer(a[0], a[1]), True),
    "tensordot": (lambda a: np.tensordot(a, a, axes=([1], [1])), True),
    "sort": (lambda a: np.sort(a, axis=0), True),
    "argsort": (lambda a: np.argsort(a, axis=1), False),
    "zeros_like": (lambda a: np.zeros_like(a), False),
    "ones_like": (lambda a: np.ones_like(a, dtype=np.float32), False),
    "full_like": (lambda a: np.full_like(a, 7.0), False),
    "copy": (lambda a: np.copy(a), True),
    "abs": (lambda a: np.abs(a - 0.5), True),
    "round": (lambda a: np.round(a, 1), False),
    "diff": (lambda a: np.diff(a, 2, axis=1), True),
    "diff_prepend": (lambda a: np.diff(a, prepend=0.0), True),
    "tile": (lambda a: np.tile(a, (2, 1)), True),
    "repeat": (lambda a: np.repeat(a, 2, axis=0), True),
    "roll": (lambda a: np.roll(a, 1, axis=1), True),
    "take": (lambda a: np.take(a, [3, 0, 0], axis=1), True),
    "take_flat": (lambda a: np.take(a, 5), True),
    "take_along_axis": (lambda a: np.take_along_axis(a, like(a, IDX), axis=1), True),
    "trace": (lambda a: np.trace(a), True),
    "diagonal": (lambda a: np.diagonal(a, 1), True),
    "cross": (lambda a: np.cross(a[:, :3], a[:, 1:]), True),
    "linalg.norm": (lambda a: np.linalg.norm(a), True),
    "linalg.norm_axis": (lambda a: np.linalg.norm(a, ord=1, axis=1), True),
    "linalg.inv": (lambda a: np.linalg.inv(a[:, :3] + like(a, 2 * np.eye(3))), True),
    "linalg.det": (lambda a: np.linalg.det(a[:, :3]), True),
    "linalg.solve": (lambda a: np.linalg.solve(a[:, :3] + like(a, np.eye(3)), a[:, 3]), True),
    "linalg.svdvals": (lambda a: np.linalg.svd(a, compute_uv=False), True),
    "linalg.slogdet": (lambda a: np.linalg.slogdet(a[:, :3] + like(a, np.eye(3)))[1], True),
    "linalg.qr_r": (lambda a: np.abs(np.linalg.qr(a.T)[1]), True),
    "linalg.multi_dot": (lambda a: np.linalg.multi_dot([a, a.T, a]), True),
    "fft.fft": (lambda a: np.abs(np.fft.fft(a)), True),
    "fft.rfft2": (lambda a: np.real(np.fft.rfft2(a)), True),
    "fft.ifftn": (lambda a: np.imag(np.fft.ifftn(a, norm="ortho")), True),
    "fft.fftshift": (lambda a: np.fft.fftshift(a), True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_array_function_matches_numpy(backend, name):
    fn, differentiable = CASES[name]
    x = backend.tensor(A)
    got, want = fn(x), fn(A)
    check_tensor(got, want, x)
    assert got.dtype.name == np.asarray(want).dtype.name
    assert got.requires_grad == differentiable
    if differentiable:
        gradcheck(fn, backend.tensor(A))


def test_linalg_decompositions(backend):
    s = backend.tensor(SPD)
    check_tensor(np.linalg.cholesky(s), np.linalg.cholesky(SPD), s)
    w, v = np.linalg.eigh(s)
    w_np, v_np = np.linalg.eigh(SPD)
    check_tensor(w, w_np, s)
    np.testing.assert_allclose(np.abs(v.numpy()), np.abs(v_np), atol=1e-10)
    w_up = np.linalg.eigvalsh(ag.Tensor(np.triu(SPD), device=s.device), UPLO="U")
    check_tensor(w_up, w_np, s)
    u, sv, vh = np.linalg.svd(s)
    np.testing.assert_allclose((u.numpy() * sv.numpy()) @ vh.numpy(), SPD, atol=1e-10)
    gradcheck(lambda t: np.linalg.eigvalsh(t + np.linalg.matrix_transpose(t)),
              backend.tensor(SPD))


def test_numpy_functions_of_several_tensors_and_properties(backend):
    x, y = backend.tensor(A), backend.tensor(B)
    check_tensor(np.concatenate((x, y)), np.concatenate((A, B)), x)
    check_tensor(np.where(x > y, x, y), np.where(A > B, A, B), x)
    check_tensor(np.einsum("ij,ij->i", x, y), np.einsum("ij,ij->i", A, B), x)
    gradcheck(lambda p, q: np.einsum("ij,kj->ik", p, q), backend.tensor(A), backend.tensor(B))
    rows, cols = np.nonzero(x > 0.5)
    want_rows, want_cols = np.nonzero(A > 0.5)
    check_tensor(rows, want_rows, x)
    check_tensor(cols, want_cols, x)
    ints = backend.tensor(np.array([3, 1, 3, 2, 1, 3]))
    check_tensor(np.unique(ints), np.unique(np.array([3, 1, 3, 2, 1, 3])), ints)
    values, counts = np.unique(ints, return_counts=True)
    check_tensor(counts, np.array([2, 1, 3]), ints)
    assert np.ndim(x) == 2 and np.shape(x) == (3, 4) and np.size(x) == 12 and np.size(x, 1) == 4
    assert np.result_type(x, np.float32) == np.float64
    assert np.result_type(backend.tensor(A.astype(np.float32)), 1.0) == np.float32
    close = np.isclose(x, x + 1e-9)
    check_tensor(close, np.ones(A.shape, bool), x)
    assert not close.requires_grad
    assert np.allclose(x, x * (1 + 1e-9)) is True
    assert np.allclose(x, x + 1e-3) is False
    assert np.array_equal(x, backend.tensor(A)) is True


def test_shares_memory_through_the_backend(backend):
    x = backend.tensor(A, requires_grad=False)
    assert np.shares_memory(x, x)
    assert not np.shares_memory(x, backend.tensor(A))
    assert not np.may_share_memory(x, ag.Tensor(A, device=x.device))
    if backend.name == "numpy":
        assert np.shares_memory(x, x.data) and np.may_share_memory(x.data, x)
        assert not np.shares_memory(x, A)
    else:
        assert not np.shares_memory(x, A)  # different backends never share


# -- what anygrad has no equivalent for ------------------------------------------------------
def test_unsupported_function_on_a_tensor_requiring_grad_raises(backend):
    x = backend.tensor(A)
    with pytest.raises(TypeError, match="heaviside"):
        np.heaviside(x, 0.3)
    with pytest.raises(TypeError, match="median"):
        np.median(x)
    with pytest.raises(TypeError, match="gradient"):
        np.percentile(x, 50)
    with pytest.raises(TypeError, match="sort"):  # an argument anygrad cannot honour
        np.sort(x, order="f")


def test_unsupported_function_on_constants_falls_back_to_numpy(backend):
    x = backend.tensor(A, requires_grad=False)
    got = np.heaviside(x, 0.3)
    check_tensor(got, np.heaviside(A, 0.3), x)
    assert not got.requires_grad and got.dtype == ag.float64
    check_tensor(np.median(x, axis=0), np.median(A, axis=0), x)
    check_tensor(np.median(x), np.median(A), x)  # NumPy's scalar becomes a 0-d Tensor
    with ag.no_grad():  # no graph to cut
        check_tensor(np.heaviside(backend.tensor(A), 0.3), np.heaviside(A, 0.3), x)
    out = backend.tensor(np.zeros_like(A), requires_grad=False)
    assert np.heaviside(x, 0.3, out=out) is out
    check_tensor(out, np.heaviside(A, 0.3), x)


def test_unsupported_function_on_another_device_raises(backend, two_devices):
    for device in two_devices:
        x = ag.Tensor(A, device=device, requires_grad=False)
        if x.device.kind == "cpu":
            continue
        with pytest.raises(TypeError, match="heaviside"):
            np.heaviside(x, 0.3)
        with pytest.raises(TypeError, match="median"):
            np.median(x)
        check_tensor(np.exp(x), np.exp(A), x)  # what anygrad has stays on the device
        check_tensor(np.sum(x, axis=0), A.sum(axis=0), x)


# -- np.asarray ------------------------------------------------------------------------------
def test_asarray_on_host_and_refused_elsewhere(backend):
    x = backend.tensor(A)
    host = np.asarray(x)
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(host, A)
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    copied = np.array(x, copy=True)
    assert not np.shares_memory(copied, host)
    if backend.name == "numpy":  # NumPy's own array: shared, unless a copy is asked for
        assert np.shares_memory(host, x.data)
        assert np.shares_memory(np.asarray(x, copy=False), x.data)
        with pytest.raises(ValueError):
            np.asarray(x, dtype=np.float32, copy=False)
    for device in backend.devices[1:]:  # array-api-strict's fake GPUs
        y = ag.Tensor(A, device=device)
        with pytest.raises(TypeError, match=r"t\.numpy\(\)"):
            np.asarray(y)
        np.testing.assert_array_equal(y.numpy(), A)


def test_array_function_out_dtype_and_keywords(backend):
    x = backend.tensor(A)
    out = backend.tensor(np.zeros(4), requires_grad=False)
    assert np.sum(x, axis=0, out=out) is out
    check_tensor(out, A.sum(axis=0), x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones_like(A))
    got = np.sum(x, dtype=np.float32)
    assert got.dtype == ag.float32
    np.testing.assert_allclose(got.item(), A.sum(), rtol=1e-6)
    check_tensor(np.var(x, axis=1, correction=1), np.var(A, axis=1, correction=1), x)
    check_tensor(np.reshape(x, shape=(4, 3)), np.reshape(A, shape=(4, 3)), x)
    check_tensor(np.clip(x, min=0.4), np.clip(A, min=0.4), x)
    check_tensor(np.max(x, axis=1, initial=0.85), np.max(A, axis=1, initial=0.85), x)
    mask = A > 0.5
    with pytest.raises(TypeError, match="mean"):  # where= has no anygrad mean: no cut graph
        np.mean(x, where=backend.tensor(mask))
    c = backend.tensor(A, requires_grad=False)
    check_tensor(np.mean(c, where=backend.tensor(mask)), np.mean(A, where=mask), x)
