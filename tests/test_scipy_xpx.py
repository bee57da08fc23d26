"""SciPy (``SCIPY_ARRAY_API=1``) and array-api-extra on anygrad tensors: NumPy's values, and
gradients equal to central differences, on every CPU test backend.

SciPy reads ``SCIPY_ARRAY_API`` once, when it is first imported. Where this process imported
it without the variable (the whole suite does, through other modules), the SciPy tests here
are skipped in-process and :func:`test_scipy_in_a_subprocess_with_scipy_array_api` runs them
in a fresh interpreter with the variable set. array-api-extra needs no variable.

Every test turns a :class:`anygrad.GraphCutWarning` into an error: a library that silently
cut the graph (an ``np.asarray`` inside) fails here instead of returning wrong gradients.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import anygrad as ag
from anygrad.testing import gradcheck

xpx = pytest.importorskip("array_api_extra", reason="array-api-extra is not installed")
pytest.importorskip("scipy", reason="SciPy is not installed")
import scipy  # noqa: E402
import scipy.fft  # noqa: E402
import scipy.integrate  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::anygrad.GraphCutWarning")

#: Whether SciPy dispatches on anygrad tensors in this process: it answers a Tensor.
SCIPY_ON_TENSORS = isinstance(
    scipy.special.logsumexp(ag.Tensor([0.0, 1.0], requires_grad=False)), ag.Tensor)
in_scipy_array_api = pytest.mark.skipif(
    not SCIPY_ON_TENSORS, reason="SciPy was imported without SCIPY_ARRAY_API=1 here: "
    "test_scipy_in_a_subprocess_with_scipy_array_api runs these")

RNG = np.random.default_rng(7)
X = RNG.normal(size=(4, 5))
POSITIVE = RNG.uniform(0.5, 2.0, size=(4, 5))


def _real(out: ag.Tensor) -> ag.Tensor:
    """A complex result as its real and imaginary parts side by side (gradcheck is real)."""
    return ag.concat([ag.real(out), ag.imag(out)], axis=-1) if out.dtype.kind == "c" else out


def _check(backend, fn, *host: np.ndarray, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    """``fn`` on Tensors of ``backend`` gives ``fn`` on NumPy's arrays, a Tensor of the input's
    dtype and device, and gradients equal to central differences."""
    want = fn(*host)
    tensors = [backend.tensor(h) for h in host]
    got = fn(*tensors)
    assert isinstance(got, ag.Tensor), f"{type(got).__name__}, not a Tensor"
    assert got.device == tensors[0].device and got.requires_grad
    assert got.dtype == (ag.complex128 if np.iscomplexobj(want) else ag.float64)
    np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=atol)
    gradcheck(lambda *ts: _real(fn(*ts)), tensors)


# -- SciPy --------------------------------------------------------------------------------------
SCIPY = {
    "special.logsumexp": (lambda x: scipy.special.logsumexp(x, axis=1), X),
    "special.logsumexp(b=)": (lambda x, b: scipy.special.logsumexp(x, axis=0, b=b), X, POSITIVE),
    "special.softmax": (lambda x: scipy.special.softmax(x, axis=1), X),
    "special.log_softmax": (lambda x: scipy.special.log_softmax(x, axis=0), X),
    "stats.zscore": (lambda x: scipy.stats.zscore(x, axis=1, ddof=1), X),
    "stats.moment": (lambda x: scipy.stats.moment(x, order=3, axis=0), X),
    "stats.skew": (lambda x: scipy.stats.skew(x, axis=1), X),
    "stats.kurtosis": (lambda x: scipy.stats.kurtosis(x, axis=1), X),
    "fft.rfft": (lambda x: scipy.fft.rfft(x, axis=1), X),
    "fft.irfft": (lambda x: scipy.fft.irfft(scipy.fft.rfft(x, axis=0), n=4, axis=0), X),
    "integrate.trapezoid": (lambda x: scipy.integrate.trapezoid(x, dx=0.5, axis=1), X),
    "integrate.trapezoid(x=)": (lambda y, x: scipy.integrate.trapezoid(y, x=x, axis=1), X,
                                np.cumsum(POSITIVE, axis=1)),
}


@in_scipy_array_api
@pytest.mark.parametrize("name", list(SCIPY))
def test_scipy_values_and_gradients(backend, name):
    fn, *host = SCIPY[name]
    _check(backend, fn, *host)


@in_scipy_array_api
def test_scipy_softmax_gradient_through_a_loss(backend):
    """A cross-entropy written with SciPy's functions trains: its gradient is softmax - onehot."""
    logits = backend.tensor(X)
    labels = np.array([0, 3, 1, 4])
    onehot = backend.tensor(np.eye(5)[labels], requires_grad=False)
    loss = -ag.sum(onehot * scipy.special.log_softmax(logits, axis=1))
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(),
                               scipy.special.softmax(X, axis=1) - np.eye(5)[labels], rtol=1e-12)


def test_scipy_in_a_subprocess_with_scipy_array_api():
    if SCIPY_ON_TENSORS:
        pytest.skip("SciPy dispatches on Tensors in this process: the tests above ran here")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    here = str(Path(__file__).relative_to(root))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", here,
                          "-k", "scipy_values or scipy_softmax"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=600)
    tail = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, tail


# -- array-api-extra ----------------------------------------------------------------------------
def _expand_dims(x):
    with warnings.catch_warnings():  # deprecated in array-api-extra 0.11 (the standard has it)
        warnings.simplefilter("ignore", DeprecationWarning)
        return xpx.expand_dims(x, axis=(0, 2))


XPX = {
    "cov": (xpx.cov, X),
    "sinc": (xpx.sinc, X),
    "kron": (xpx.kron, X[:2, :3], POSITIVE[:3, :2]),
    "pad": (lambda x: xpx.pad(x, 2), X),
    "pad(value, widths)": (lambda x: xpx.pad(x, ((1, 0), (0, 2)), constant_values=3.0), X),
    "atleast_nd": (lambda x: xpx.atleast_nd(x[0], ndim=3), X),
    "expand_dims": (_expand_dims, X),
    "create_diagonal": (lambda x: xpx.create_diagonal(x[1], offset=1), X),
    "nan_to_num": (lambda x: xpx.nan_to_num(x * 2.0), X),
    "apply_where": (lambda x: xpx.apply_where(x > 0, x, lambda v: v**0.5, fill_value=-1.0), X),
}
# array-api-extra's functions have NumPy equivalents, used as the reference values
NUMPY_OF = {
    "cov": np.cov, "sinc": np.sinc, "kron": np.kron, "pad": lambda x: np.pad(x, 2),
    "pad(value, widths)": lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=3.0),
    "atleast_nd": lambda x: x[0][None, None], "expand_dims": lambda x: x[None, :, None],
    "create_diagonal": lambda x: np.diag(x[1], k=1), "nan_to_num": lambda x: x * 2.0,
    "apply_where": lambda x: np.where(x > 0, np.sqrt(np.abs(x)), -1.0),
}


@pytest.mark.parametrize("name", list(XPX))
def test_array_api_extra_values_and_gradients(backend, name):
    fn, *host = XPX[name]
    np.testing.assert_allclose(fn(*host), NUMPY_OF[name](*host), rtol=1e-12)  # xpx on NumPy
    _check(backend, fn, *host)


# -- xpx.at: functional writes, in place where the tensor is writeable (copy=None) ------------
def test_tensors_are_writeable_arrays(backend):
    compat = pytest.importorskip("array_api_compat")
    t = backend.tensor([1.0, 2.0])
    assert compat.is_writeable_array(t) and not compat.is_lazy_array(t)
    assert compat.array_namespace(t) is ag


@pytest.mark.parametrize("copy", [None, False, True])
def test_at_set_and_add_write_as_numpy_does_and_gradients_flow(backend, copy):
    x = backend.tensor(X[0])
    v = backend.tensor([10.0, 20.0])
    y = x * 2.0
    z = xpx.at(y)[1:3].set(v, copy=copy)
    z = xpx.at(z, 0).add(x[4], copy=copy)
    want = X[0] * 2.0
    want[1:3] = [10.0, 20.0]
    want[0] += X[0, 4]
    np.testing.assert_allclose(z.numpy(), want, rtol=1e-15)
    assert (z is y) == (copy is not True)  # copy=None: in place, as on NumPy's arrays
    np.testing.assert_allclose(y.numpy(), want if copy is not True else X[0] * 2.0)
    ag.sum(z * z).backward()
    grad = 4.0 * want
    grad[1:3] = 0.0
    grad[4] += 2.0 * want[0]
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12)
    np.testing.assert_allclose(v.grad.numpy(), 2.0 * want[1:3], rtol=1e-12)
    assert x.grad.dtype == x.dtype and x.grad.device == x.device


AT_NUMPY = {"set": lambda a, v: v, "add": np.add, "subtract": np.subtract,
            "multiply": np.multiply, "divide": np.divide, "power": np.power,
            "min": np.minimum, "max": np.maximum}


@pytest.mark.parametrize("method", list(AT_NUMPY))
def test_at_methods_match_numpy_with_gradients(backend, method):
    rows = POSITIVE > 1.0  # a boolean mask, the sole index (the standard's only masking)

    def fn(x, v):
        mask = rows if isinstance(x, np.ndarray) else ag.asarray(rows, device=x.device)
        return getattr(xpx.at(x * 1.0)[mask], method)(v)

    host, v = POSITIVE, RNG.uniform(0.5, 2.0, size=int(rows.sum()))
    want = host.copy()
    want[rows] = AT_NUMPY[method](want[rows], v)
    np.testing.assert_allclose(fn(host, v), want, rtol=1e-15)
    _check(backend, fn, host, v)


def test_at_on_a_view_writes_through_to_its_base(backend):
    base = backend.tensor([1.0, 2.0, 3.0, 4.0])
    b = base * 1.0
    view = b[:2]
    xpx.at(view)[0].set(9.0)  # copy=None: in place, into b's memory too (NumPy's semantics)
    np.testing.assert_array_equal(b.numpy(), [9.0, 2.0, 3.0, 4.0])
    ag.sum(b * b).backward()
    np.testing.assert_allclose(base.grad.numpy(), [0.0, 4.0, 6.0, 8.0])


def test_at_on_a_0d_constant_result(backend):
    """A 0-d result (a NumPy scalar on the NumPy backend) takes an in-place write."""
    total = ag.sum(backend.tensor([1.0, 2.0], requires_grad=False))  # e.g. inside scipy.stats
    out = xpx.at(total)[()].set(5.0)
    assert out is total and float(total) == 5.0
    x = backend.tensor([1.0, 2.0])
    y = ag.sum(x * x)
    xpx.at(y)[()].add(5.0)
    y.backward()
    assert float(y.detach()) == 10.0
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


@pytest.mark.parametrize("lib", ["jax", "dask"])
def test_at_on_immutable_backends_writes_the_tensor(lib):
    """JAX and Dask arrays are immutable; a Tensor of theirs still takes ``xpx.at``'s in-place
    write (copy=None) as NumPy's arrays do: the backend's functional write, same identity."""
    if lib == "jax":
        make = pytest.importorskip("jax.numpy", reason="jax is not installed").asarray
    else:
        da = pytest.importorskip("dask.array", reason="dask is not installed")
        make = lambda a: da.from_array(a, chunks=2)  # noqa: E731
    x = ag.Tensor(make(np.array([1.0, 2.0, 3.0], np.float32)))
    y = x * 2.0
    z = xpx.at(y)[1].set(10.0)
    assert z is y and y.device.kind == lib
    np.testing.assert_allclose(y.numpy(), [2.0, 10.0, 6.0])
    ag.sum(z * z).backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 0.0, 24.0])
    assert x.grad.dtype == ag.float32 and x.grad.device == x.device
