"""Gaps a run of MyGrad's test suite found: NumPy's metadata functions on tensors that require
grad, NumPy's and MyGrad's functions beyond the Array API (``cbrt``, ``fmod``, ``logaddexp2``,
``sinc``, the reciprocal trigonometric functions, ``geomspace``, ``logspace``), and small API
(``t.moveaxis``, ``v in t``, ``squeeze(x)``, ``transpose``, ``reshape(newshape=)``,
``astype(casting=)``). Values against NumPy, gradients against central differences."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad.testing import gradcheck

RNG = np.random.default_rng(11)
NAMES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "float16", "float32", "float64", "complex64", "complex128"]


# -- 1. metadata functions cut no graph ------------------------------------------------------
def _metadata_checks(t: ag.Tensor, host: np.ndarray) -> None:
    assert t.requires_grad
    for to in (np.float16, np.float32, np.float64, np.complex128, np.int64):
        for casting in ("safe", "same_kind", "unsafe"):
            assert np.can_cast(t, to, casting) == np.can_cast(host, to, casting)
    assert np.min_scalar_type(t) == np.min_scalar_type(host)
    assert np.iscomplexobj(t) is np.iscomplexobj(host)
    assert np.isrealobj(t) is np.isrealobj(host)
    assert np.isscalar(t) is False
    assert np.issubdtype(t.dtype, np.floating) == np.issubdtype(host.dtype, np.floating)
    assert np.issubdtype(t.dtype, np.complexfloating) == np.iscomplexobj(host)
    assert np.common_type(t) is np.common_type(host)
    assert np.ndim(t) == host.ndim and np.shape(t) == host.shape


def test_metadata_functions_on_tensors_that_require_grad(backend):
    for host in (RNG.standard_normal((2, 3)), np.asarray(3.0), np.asarray(1e50),
                 RNG.standard_normal(4).astype(np.float32),
                 RNG.standard_normal(3) + 1j * RNG.standard_normal(3)):
        t = backend.tensor(host)
        _metadata_checks(t, host)
        y = (t * 2).sum()  # the graph is intact
        y.backward()
        np.testing.assert_array_equal(t.grad.numpy(), np.full(host.shape, 2.0, host.dtype))
    assert np.common_type(backend.tensor(np.ones(2, np.float32)),
                          backend.tensor(np.ones(2))) is np.float64
    assert np.min_scalar_type(backend.tensor(np.asarray(-3))) == np.int8
    assert np.can_cast(backend.tensor(np.ones(2, np.int32)), np.float64)


def test_metadata_functions_need_no_host_data(backend):
    device = backend.devices[-1]  # strict: a fake device NumPy cannot read
    t = ag.Tensor(np.ones((2, 1)), device=device)
    assert np.can_cast(t, np.float32, "same_kind") and not np.can_cast(t, np.float32)
    assert np.min_scalar_type(t) == np.float64 and np.isrealobj(t) and not np.iscomplexobj(t)
    assert np.min_scalar_type(ag.Tensor(np.asarray(300), device=device)) == np.uint16


def test_functions_reading_values_still_refuse_a_gradient(backend):
    i = backend.tensor(np.array([0, 1, 1]))
    w = backend.tensor(np.array([0.5, 1.0, 2.0]))
    with pytest.raises(TypeError, match="requires a gradient"):
        np.bincount(i, weights=w)
    with ag.no_grad():  # nothing is recorded: NumPy may compute (on host data)
        if backend.name == "numpy":
            np.testing.assert_array_equal(np.bincount(i, weights=w).numpy(), [0.5, 3.0])


# -- 2. functions beyond the Array API -------------------------------------------------------
UNARY = {  # name: (NumPy's values, sample range avoiding singularities)
    "cbrt": (np.cbrt, (-3.0, 3.0)),
    "sinc": (np.sinc, (-2.5, 2.5)),
    "sec": (lambda x: 1 / np.cos(x), (-1.2, 1.2)),
    "csc": (lambda x: 1 / np.sin(x), (0.2, 2.9)),
    "cot": (lambda x: 1 / np.tan(x), (0.2, 2.9)),
    "arcsec": (lambda x: np.arccos(1 / x), (1.2, 4.0)),
    "arccsc": (lambda x: np.arcsin(1 / x), (1.2, 4.0)),
    "arccot": (lambda x: np.arctan(1 / x), (0.2, 3.0)),
    "sech": (lambda x: 1 / np.cosh(x), (-2.0, 2.0)),
    "csch": (lambda x: 1 / np.sinh(x), (0.2, 2.0)),
    "coth": (lambda x: 1 / np.tanh(x), (0.2, 2.0)),
    "arccoth": (lambda x: np.arctanh(1 / x), (1.2, 4.0)),
    "arccsch": (lambda x: np.arcsinh(1 / x), (0.2, 3.0)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients(backend, name):
    want, (lo, hi) = UNARY[name]
    fn = getattr(ag, name)
    host = RNG.uniform(lo, hi, (2, 3))
    if name in ("arcsec", "arccsc", "arccoth", "arccsch"):
        host[0] *= -1  # both branches
    np.testing.assert_allclose(fn(backend.tensor(host)).numpy(), want(host), rtol=1e-12)
    assert gradcheck(fn, backend.tensor(host))
    f32 = fn(backend.tensor(host.astype(np.float32)))
    assert f32.dtype == ag.float32
    np.testing.assert_allclose(f32.numpy(), want(host), rtol=1e-5)


def test_cbrt_of_negative_numbers_and_integers(backend):
    t = backend.tensor(np.array([-27.0, -8.0, 0.0, 1.0, 64.0]))
    np.testing.assert_allclose(ag.cbrt(t).numpy(), [-3.0, -2.0, 0.0, 1.0, 4.0], rtol=1e-15)
    i = ag.cbrt(backend.tensor(np.array([-8, 27])))
    assert i.dtype == ag.float64 and not i.requires_grad
    np.testing.assert_allclose(i.numpy(), [-2.0, 3.0], rtol=1e-15)
    out = np.cbrt(backend.tensor(np.array([8.0, -1.0])))  # NumPy's ufunc dispatches here
    assert isinstance(out, ag.Tensor) and out.requires_grad


def test_sinc_at_zero(backend):
    x = backend.tensor(np.array([0.0, 0.5, -1.0, 1e-3]))
    y = ag.sinc(x)
    np.testing.assert_allclose(y.numpy(), np.sinc(x.numpy()), rtol=1e-13)
    assert y.numpy()[0] == 1.0
    y.backward()
    # d/dx sinc(x) = (cos(pi x) - sinc(x)) / x, 0 at 0
    h = x.numpy()[1:]
    want = np.concatenate([[0.0], (np.cos(np.pi * h) - np.sinc(h)) / h])
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6, atol=1e-12)
    assert gradcheck(ag.sinc, backend.tensor(np.array([0.0, 0.3, -1.7])))
    z = np.sinc(backend.tensor(np.array([0.0, 0.25])))  # numpy.sinc is an array function
    assert isinstance(z, ag.Tensor) and z.requires_grad and z.numpy()[0] == 1.0


def test_fmod(backend):
    x = np.array([[-5.5, 5.5, -3.0], [7.25, -0.5, 4.0]])
    y = np.array([[2.0, -2.0, 1.5], [-3.0, 2.0, 3.0]])
    got = ag.fmod(backend.tensor(x), backend.tensor(y))
    np.testing.assert_allclose(got.numpy(), np.fmod(x, y), rtol=1e-15)
    np.testing.assert_allclose(ag.fmod(backend.tensor(x), 2.0).numpy(), np.fmod(x, 2.0))
    np.testing.assert_allclose(ag.fmod(7.5, backend.tensor(y)).numpy(), np.fmod(7.5, y))
    assert ag.fmod(backend.tensor(x.astype(np.float32)), 3).dtype == ag.float32
    i = ag.fmod(backend.tensor(np.array([-7, 7, -8])), backend.tensor(np.array([3, -3, 4])))
    assert i.dtype == ag.int64
    np.testing.assert_array_equal(i.numpy(), np.fmod([-7, 7, -8], [3, -3, 4]))
    xs = RNG.uniform(0.1, 0.9, (2, 3)) + np.array([[-6.0, 3.0, -1.0]])  # off the jumps
    assert gradcheck(ag.fmod, backend.tensor(xs), backend.tensor(np.full((2, 3), 1.25)))
    assert np.fmod(backend.tensor(x), 2.0).requires_grad


def test_logaddexp2(backend):
    x, y = RNG.standard_normal((2, 3)) * 10, RNG.standard_normal((2, 3)) * 10
    got = ag.logaddexp2(backend.tensor(x), backend.tensor(y))
    np.testing.assert_allclose(got.numpy(), np.logaddexp2(x, y), rtol=1e-13)
    np.testing.assert_allclose(ag.logaddexp2(backend.tensor(x), 1.0).numpy(),
                               np.logaddexp2(x, 1.0), rtol=1e-13)
    big = ag.logaddexp2(backend.tensor(np.array([2000.0])), 2000.0)  # no overflow
    np.testing.assert_allclose(big.numpy(), [2001.0])
    assert gradcheck(ag.logaddexp2, backend.tensor(x / 10), backend.tensor(y / 10))
    assert np.logaddexp2(backend.tensor(x), backend.tensor(y)).requires_grad


def test_geomspace_and_logspace(backend):
    cases = [((1, 1000, 4), {}), ((-1, -1000, 4), {}), ((1000, 1, 5), {"endpoint": False}),
             ((2.0, 3.0, 7), {}), ((5, 7, 1), {}), ((1, 2, 0), {})]
    for args, kw in cases:
        got = ag.geomspace(*args, **kw)
        assert got.dtype == ag.float64 and not got.requires_grad
        assert got.device == ag.device(backend.device)
        np.testing.assert_allclose(got.numpy(), np.geomspace(*args, **kw), rtol=1e-14)
    g = ag.geomspace(3, 96, 6).numpy()
    assert g[0] == 3 and g[-1] == 96  # the ends are exact
    for args, kw in [((0, 2, 5), {}), ((0, 3, 4), {"base": 2.0}), ((1, -1, 3), {}),
                     ((0, 1, 4), {"endpoint": False})]:
        np.testing.assert_allclose(ag.logspace(*args, **kw).numpy(),
                                   np.logspace(*args, **kw), rtol=1e-14)
    assert ag.logspace(0, 1).shape == (50,) and ag.geomspace(1, 2).shape == (50,)
    f = ag.logspace(0, 2, 3, dtype=ag.float32, requires_grad=True)
    assert f.dtype == ag.float32 and f.requires_grad and f.is_leaf
    assert ag.geomspace(1, 8, 4, constant=False).requires_grad
    assert not ag.geomspace(1, 8, 4, constant=True).requires_grad
    np.testing.assert_array_equal(ag.logspace(0, 2, 3, dtype=ag.int64).numpy(), [1, 10, 100])
    with pytest.raises(ValueError, match="zero"):
        ag.geomspace(0, 1, 3)
    with pytest.raises(TypeError):
        ag.logspace(0, 1, 3, requires_grad=True, constant=True)


def test_new_names_are_exported():
    for name in (*UNARY, "fmod", "logaddexp2", "geomspace", "logspace", "reshape"):
        assert name in ag.__all__ and callable(getattr(ag, name))


# -- 3. tensor methods and small API ---------------------------------------------------------
def test_moveaxis_method(backend):
    host = RNG.standard_normal((2, 3, 4))
    x = backend.tensor(host)
    for src, dst in ((0, -1), (2, 0), ((0, 1), (2, 0))):
        y = x.moveaxis(src, dst)
        np.testing.assert_array_equal(y.numpy(), np.moveaxis(host, src, dst))
    assert gradcheck(lambda t: t.moveaxis(0, 2) * backend.tensor(np.arange(24.0).reshape(3, 4, 2)),
                     backend.tensor(host))


def test_contains(backend):
    x = backend.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert 3.0 in x and 4 in x and 5.0 not in x
    assert backend.tensor(np.array([3.0, 4.0])) in x  # NumPy's: (x == v).any()
    assert backend.tensor(np.array([5.0, 6.0])) not in x
    assert (2 in backend.tensor(np.array([1, 2, 3]))) is True


def test_squeeze_without_axis(backend):
    host = RNG.standard_normal((1, 3, 1, 2))
    x = backend.tensor(host)
    assert ag.squeeze(x).shape == (3, 2) == np.squeeze(host).shape
    assert ag.squeeze(x, axis=None).shape == (3, 2)
    assert ag.squeeze(x, 2).shape == (1, 3, 2) and ag.squeeze(x, axis=(0, 2)).shape == (3, 2)
    assert ag.squeeze(backend.tensor(np.ones((1, 1)))).shape == ()
    assert ag.squeeze(backend.tensor(np.ones((2, 3)))).shape == (2, 3)
    with pytest.raises(ag.ShapeError):
        ag.squeeze(x, 1)
    assert gradcheck(lambda t: ag.squeeze(t) * 2, backend.tensor(host))


def test_transpose_takes_numpys_arguments(backend):
    host = RNG.standard_normal((2, 3, 4))
    x = backend.tensor(host)
    for axes in (None, (1, 0, 2), [2, 0, 1], (-1, 0, 1), np.array([0, 2, 1]), range(3)):
        want = np.transpose(host, axes)
        np.testing.assert_array_equal(ag.transpose(x, axes).numpy(), want)
        np.testing.assert_array_equal(ag.transpose(x, axes=axes).numpy(), want)
        np.testing.assert_array_equal(np.transpose(x, axes).numpy(), want)
    np.testing.assert_array_equal(ag.transpose(x, 2, 0, 1).numpy(), np.transpose(host, (2, 0, 1)))
    v = backend.tensor(np.arange(3.0))
    np.testing.assert_array_equal(ag.transpose(v, 0).numpy(), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError):
        ag.transpose(x, (0, 1))
    with pytest.raises(ValueError):
        ag.transpose(x, (0, 0, 1))
    assert gradcheck(lambda t: ag.transpose(t, [2, 0, 1]) * 3, backend.tensor(host))


def test_reshape_newshape(backend):
    x = backend.tensor(np.arange(6.0))
    assert ag.reshape(x, newshape=(2, 3)).shape == (2, 3)
    assert ag.reshape(x, (3, 2)).shape == (3, 2) and ag.reshape(x, shape=(6, 1)).shape == (6, 1)
    assert ag.reshape(x, -1).shape == (6,)
    with pytest.raises(TypeError):
        ag.reshape(x, (2, 3), newshape=(3, 2))
    y = ag.reshape(x, newshape=(2, 3))
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.arange(6.0))


def test_astype_casting(backend):
    x = backend.tensor(np.array([1.5, -2.0]))
    with pytest.raises(TypeError, match="float64 to int32 according to the rule 'safe'"):
        x.astype(ag.int32, casting="safe")
    with pytest.raises(TypeError):
        ag.astype(x, ag.float32, casting="safe")
    with pytest.raises(TypeError):
        x.astype(ag.float32, casting="no")
    np.testing.assert_array_equal(x.astype(ag.int32).numpy(), [1, -2])  # default: unsafe
    np.testing.assert_array_equal(x.astype(ag.int32, casting="unsafe").numpy(), [1, -2])
    assert x.astype(ag.float64, casting="no").dtype == ag.float64
    y = x.astype(ag.float32, casting="same_kind")
    assert y.dtype == ag.float32 and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    i = backend.tensor(np.array([1, 2], dtype=np.int32))
    assert i.astype(ag.float64, casting="safe").dtype == ag.float64
    assert i.astype(ag.int64, casting="safe").dtype == ag.int64
    with pytest.raises(TypeError):
        i.astype(ag.uint32, casting="same_kind")
    with pytest.raises(ValueError):
        x.astype(ag.float32, casting="sometimes")


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("casting", ["no", "equiv", "safe", "same_kind", "unsafe"])
def test_astype_casting_rules_match_numpy(casting):
    for a in NAMES:
        x = ag.Tensor(np.zeros(2, a))
        for b in NAMES:
            if np.can_cast(a, b, casting):
                assert x.astype(b, casting=casting).dtype == getattr(ag, b if b != "bool"
                                                                     else "bool")
            else:
                with pytest.raises(TypeError):
                    x.astype(b, casting=casting)
