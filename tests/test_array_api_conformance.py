"""What the Array API standard's own test suite (data-apis/array-api-tests, run by
``ci/array-api-tests``) found, kept as tests of our own: each passes without the suite, on
every test backend, in eager and lazy mode.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

import anygrad as ag

INF, NAN = math.inf, math.nan
STANDARD_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                   "uint64", "float32", "float64", "complex64", "complex128"}


def _quiet(fn, *args, **kwargs):
    """``fn(*args)`` as NumPy arrays, without the warnings IEEE special values raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs).numpy()


def _same_floats(got: np.ndarray, want: list[float]) -> None:
    """Equal values, NaN where NaN, and the same sign of every zero."""
    want = np.asarray(want, dtype=got.dtype)
    np.testing.assert_array_equal(got, want)
    zero = want == 0
    assert np.array_equal(np.signbit(got[zero]), np.signbit(want[zero])), (got, want)


# -- data-type functions and the inspection API -------------------------------------------------
@pytest.mark.parametrize("name, real", [("complex64", "float32"), ("complex128", "float64"),
                                        ("float32", "float32"), ("float64", "float64")])
def test_finfo_of_a_complex_dtype_describes_its_real_part(backend, name, real):
    dtype = getattr(ag, name)
    for arg in (dtype, backend.tensor(np.ones(2)).astype(dtype),
                backend.tensor(np.ones(2)).astype(dtype).dtype):
        info = ag.finfo(arg)
        assert info.dtype is getattr(ag, real)
        for field in (info.eps, info.max, info.min, info.smallest_normal):
            assert type(field) is float
        assert info.bits == np.finfo(real).bits and info.eps == float(np.finfo(real).eps)


def test_inspection_lists_the_standard_dtypes_only(backend):
    info = ag.__array_namespace_info__()
    assert set(info.dtypes()) == STANDARD_DTYPES  # float16 works, but is no Array API dtype
    assert set(info.dtypes(kind="real floating")) == {"float32", "float64"}
    assert set(info.dtypes(kind=("bool", "complex floating"))) == {"bool", "complex64",
                                                                   "complex128"}
    assert set(info.dtypes(kind="numeric")) == STANDARD_DTYPES - {"bool"}
    for device in (None, *(d for d in info.devices() if d in backend.devices)):
        for name, dtype in info.dtypes(device=device).items():
            t = ag.empty(1, dtype=dtype, device=device)
            assert t.dtype is dtype and t.dtype.name == name


def test_inspection_devices_defaults_and_capabilities(backend):
    info = ag.__array_namespace_info__()
    assert isinstance(info.devices(), list)
    assert info.default_device() in info.devices()
    for device in info.devices():
        defaults = info.default_dtypes(device=device)
        assert {"real floating", "complex floating", "integral", "indexing"} <= set(defaults)
    caps = info.capabilities()
    assert type(caps["boolean indexing"]) is bool and type(caps["data-dependent shapes"]) is bool
    assert caps["max dimensions"] is None or caps["max dimensions"] > 0


# -- __dlpack__ ------------------------------------------------------------------------------------
def test_dlpack_takes_the_standards_keywords(backend):
    params = inspect.signature(ag.Tensor.__dlpack__).parameters
    for name in ("stream", "max_version", "dl_device", "copy"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY and params[name].default is None
    t = backend.tensor([1.0, 2.0, 3.0], requires_grad=False)  # (else: a graph cut, warned)
    kind, index = t.__dlpack_device__()
    assert int(kind) == 1 and isinstance(index, int)  # kDLCPU
    for kw in ({}, {"max_version": (1, 0)}, {"max_version": (0, 0)}, {"copy": True},
               {"dl_device": (1, 0), "copy": None, "max_version": (1, 0)}):
        assert t.__dlpack__(**kw) is not None
    np.testing.assert_array_equal(np.from_dlpack(t), [1.0, 2.0, 3.0])


# -- reductions keep the dtype= they are given --------------------------------------------------
@pytest.mark.parametrize("fn, want", [
    (lambda x, d: ag.sum(x, dtype=d), 44),                        # 200 + 100 wraps in uint8
    (lambda x, d: ag.prod(x, dtype=d), 32),                       # 20000 % 256
    (lambda x, d: ag.cumulative_sum(x, dtype=d)[-1], 44),
    (lambda x, d: ag.cumulative_prod(x, dtype=d)[-1], 32),
])
def test_reductions_accumulate_in_the_dtype_given(backend, fn, want):
    x = backend.tensor(np.array([200, 100], np.uint8))
    out = fn(x, ag.uint8)
    assert out.dtype == ag.uint8 and int(out) == want
    wide = ag.sum(x)  # no dtype: the default (unsigned, where the library has one) integer
    assert int(wide) == 300 and wide.dtype in (ag.uint64, ag.int64)


def test_sum_in_another_float_dtype_keeps_the_gradient_in_the_inputs(backend):
    x = backend.tensor(np.array([1.0, 2.0, 3.0]))
    y = ag.sum(x * x, dtype=ag.float32)
    assert y.dtype == ag.float32 and float(y.detach()) == 14.0
    y.backward()
    assert x.grad.dtype == ag.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])


# -- vecdot and tensordot -------------------------------------------------------------------------
def test_vecdot_keeps_small_integer_dtypes(backend):
    x = backend.tensor(np.array([[1, 2], [3, 4]], np.int8))
    out = ag.vecdot(x, backend.tensor(np.array([5, 6], np.int8)))
    assert out.dtype == ag.int8
    np.testing.assert_array_equal(out.numpy(), [17, 39])
    assert ag.linalg.vecdot(x, x, axis=0).dtype == ag.int8


def test_vecdot_refuses_vectors_of_different_lengths(backend):
    x = backend.tensor(np.ones((2, 3)))
    for other in (np.ones(1), np.ones((2, 1)), np.ones(0)):
        with pytest.raises(ag.ShapeError, match="vecdot"):
            ag.vecdot(x, backend.tensor(other))
    with pytest.raises(ag.ShapeError, match="vecdot"):
        ag.vecdot(backend.tensor(np.ones((3, 2))), backend.tensor(np.ones((1, 2))), axis=0)


def test_vecdot_broadcasts_the_other_axes_and_differentiates(backend):
    a, b = np.arange(6.0).reshape(3, 2) + 1j, np.array([[1.0 - 2j], [3.0], [0.5j]])
    x, y = backend.tensor(a), backend.tensor(b)
    out = ag.vecdot(x, y, axis=0)  # (3, 2) with (3, 1) along the first axis
    np.testing.assert_allclose(out.numpy(), np.sum(np.conj(a) * b, axis=0))
    ag.sum(ag.real(out)).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(b, (3, 2)))  # d Re(conj x y)
    np.testing.assert_allclose(y.grad.numpy(), np.sum(np.conj(np.conj(a)), axis=1,
                                                      keepdims=True))


def test_tensordot_of_empty_tensors(backend):
    a = backend.tensor(np.zeros((2, 0)))
    out = ag.tensordot(a, backend.tensor(np.zeros((0, 3))), axes=1)
    assert out.shape == (2, 3) and not np.any(out.numpy())
    assert ag.tensordot(backend.tensor(np.zeros((0, 2))), backend.tensor(np.zeros((2, 0))),
                        axes=1).shape == (0, 0)
    e = backend.tensor(np.zeros(0, np.uint8))
    assert ag.tensordot(e, e, axes=1).shape == () and int(ag.tensordot(e, e, axes=1)) == 0
    with pytest.raises(ag.ShapeError, match="tensordot"):
        ag.tensordot(backend.tensor(np.ones((2, 3))), backend.tensor(np.ones((2, 3))), axes=1)


def test_tensordot_gradient_with_an_empty_free_axis(backend):
    x = backend.tensor(np.ones((0, 2)))
    y = backend.tensor(np.arange(6.0).reshape(2, 3))
    ag.sum(ag.tensordot(x, y, axes=1)).backward()
    assert x.grad.shape == (0, 2)
    np.testing.assert_array_equal(y.grad.numpy(), np.zeros((2, 3)))


# -- special cases NumPy gets wrong ---------------------------------------------------------------
FLOOR_X = [INF, INF, -INF, -INF, 1.0, -1.0, 1.0, -1.0, 7.0, -7.0, INF, 0.0, NAN]
FLOOR_Y = [2.0, -2.0, 2.0, -2.0, -INF, INF, INF, -INF, 2.0, 2.0, INF, 3.0, INF]
FLOOR_WANT = [INF, -INF, -INF, INF, -0.0, -0.0, 0.0, 0.0, 3.0, -4.0, NAN, 0.0, NAN]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floor_divide_with_infinities(backend, dtype):
    x = backend.tensor(np.array(FLOOR_X, dtype))
    y = backend.tensor(np.array(FLOOR_Y, dtype))
    _same_floats(_quiet(ag.floor_divide, x, y), FLOOR_WANT)
    _same_floats(_quiet(lambda a, b: a // b, x, y), FLOOR_WANT)
    _same_floats(_quiet(lambda a: a // -2.0, x[:4]), [-INF, -INF, INF, INF])  # a Python divisor
    _same_floats(_quiet(lambda b: 1.0 // b, y[4:6]), [-0.0, 0.0])    # a Python dividend
    z = ag.asarray(x, copy=True, device=x.device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        z //= y
    _same_floats(z.numpy(), FLOOR_WANT)


def test_floor_divide_stays_exact_on_integers_and_has_zero_gradient(backend):
    x = backend.tensor(np.array([7, -7, 8], np.int32))
    out = ag.floor_divide(x, backend.tensor(np.array([2, 2, -3], np.int32)))
    assert out.dtype == ag.int32
    np.testing.assert_array_equal(out.numpy(), [3, -4, -3])
    a = backend.tensor([5.0, -5.0])
    ag.sum(ag.floor_divide(a, 2.0)).backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])


EXPM1_CASES = [  # x, the standard's expm1(x) (NaN components: any NaN)
    (complex(0.0, 0.0), complex(0.0, 0.0)),
    (complex(-0.0, 0.0), complex(0.0, 0.0)),
    (complex(INF, 0.0), complex(INF, 0.0)),
    (complex(-INF, INF), complex(-1.0, 0.0)),
    (complex(INF, INF), complex(INF, NAN)),
    (complex(-INF, NAN), complex(-1.0, 0.0)),
    (complex(INF, NAN), complex(INF, NAN)),
    (complex(NAN, 0.0), complex(NAN, 0.0)),
    (complex(NAN, 2.0), complex(NAN, NAN)),
    (complex(1.0, INF), complex(NAN, NAN)),
    (complex(1.0, NAN), complex(NAN, NAN)),
    (complex(-INF, 2.0), complex(-1.0, 0.0) + 0.0 * complex(math.cos(2.0), math.sin(2.0))),
]


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_expm1_special_cases(backend, dtype):
    x = backend.tensor(np.array([c for c, _ in EXPM1_CASES], dtype))
    got = _quiet(ag.expm1, x)
    want = np.array([w for _, w in EXPM1_CASES], dtype)
    for g, w, c in zip(got, want, EXPM1_CASES, strict=True):
        for part in (np.real, np.imag):
            if np.isnan(part(w)):
                assert np.isnan(part(g)), (c, g)
            elif np.isinf(part(w)):
                assert np.isinf(part(g)), (c, g)  # (the sign is unspecified where so noted)
            else:
                assert part(g) == part(w), (c, g)
    assert not np.signbit(got[1].real)  # expm1(-0 + 0j) is +0 + 0j


def test_complex_expm1_is_accurate_near_zero_and_keeps_symmetry(backend):
    z = np.array([1e-10 + 1e-10j, -3e-9 + 2e-9j, 0.5 - 0.25j, 1 + 2j, -20 + 3j, 1e-3j])
    got = ag.expm1(backend.tensor(z)).numpy()
    # exp(z) - 1 loses every digit at 1e-10; the series z + z^2/2 + z^3/6 does not
    small = z[:2]
    np.testing.assert_allclose(got[:2], small + small ** 2 / 2 + small ** 3 / 6, rtol=1e-14)
    np.testing.assert_allclose(got[2:], np.exp(z[2:]) - 1, rtol=1e-14)
    np.testing.assert_allclose(ag.expm1(backend.tensor(np.conj(z))).numpy(), np.conj(got),
                               rtol=1e-15)
    conj_zero = ag.expm1(backend.tensor(np.array([complex(0.0, -0.0)]))).numpy()[0]
    assert conj_zero == 0 and np.signbit(conj_zero.imag)


def test_complex_expm1_gradient(backend):
    z = np.array([0.3 + 0.2j, -1.0 + 2.0j])
    x = backend.tensor(z)
    ag.sum(ag.real(ag.expm1(x))).backward()
    # PyTorch's convention: dL/dRe + i dL/dIm of L = Re(exp(z) - 1), i.e. conj(exp(z))
    np.testing.assert_allclose(x.grad.numpy(), np.conj(np.exp(z)), rtol=1e-12)
    r = backend.tensor([0.5, -2.0])
    ag.sum(ag.expm1(r)).backward()
    np.testing.assert_allclose(r.grad.numpy(), np.exp([0.5, -2.0]), rtol=1e-14)


def test_like_functions_take_array_likes(backend):
    """``zeros_like`` and friends take any array-like, as NumPy's do."""
    assert ag.zeros_like([1.0, 2.0]).shape == (2,)
    assert ag.full_like([[1, 2]], 3).numpy().tolist() == [[3, 3]]
    assert ag.ones_like(backend.tensor([1.0])).device == ag.device(backend.device)


def test_asarray_copy_false_refuses_a_cast(backend):
    t = backend.tensor([1.0, 2.0])
    assert ag.asarray(t, copy=False) is t
    assert ag.asarray(t, dtype=ag.float64, copy=False) is t
    with pytest.raises(ValueError, match="cast to float32"):
        ag.asarray(t, dtype=ag.float32, copy=False)


def test_einsum_errors_name_the_letters(backend):
    x = backend.tensor(np.ones((2, 3)))
    with pytest.raises(ag.ShapeError, match="no input term has: k"):
        ag.einsum("ij->k", x)
    with pytest.raises(ag.ShapeError, match="repeats a letter"):
        ag.einsum("ij->ii", x)
    with pytest.raises(ag.ShapeError, match="letter .j. of .ij,jk. has sizes 3 and 4"):
        ag.einsum("ij,jk", x, backend.tensor(np.ones((4, 5))))
    assert ag.einsum("ij,jk->ik", x, backend.tensor(np.ones((1, 5)))).shape == (2, 5)
