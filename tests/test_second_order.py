"""Second derivatives (``grad(..., create_graph=True)`` twice) of every differentiable
elementwise op against analytic values, and of binary ops, matmul, reductions and
(log-)softmax against central differences of their first-order gradients
(``anygrad.testing.gradgradcheck``), on every test backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anygrad as ag
from anygrad.autograd import grad
from anygrad.nn import functional as F
from anygrad.testing import assert_allclose, gradgradcheck
from tests.strategies import broadcastable_pair, shapes, values

SETTINGS = settings(max_examples=4, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
LN2, LN10 = np.log(2.0), np.log(10.0)
POS = {"low": 0.3, "high": 2.5}
UNIT = {"low": -0.8, "high": 0.8}
BIG = {"low": 1.2, "high": 3.0}
AWAY = {"away_from": 0.0}


def _sinc2(x):
    p = np.pi * x
    return (-p * p * np.sin(p) - 2 * p * np.cos(p) + 2 * np.sin(p)) / (p ** 3) * np.pi ** 2


# name: (function, f''(x) on NumPy values, domain of the drawn values)
UNARY = {
    "negative": (ag.negative, lambda x: 0 * x, {}),
    "positive": (ag.positive, lambda x: 0 * x, {}),
    "abs": (ag.abs, lambda x: 0 * x, AWAY),
    "exp": (ag.exp, np.exp, {}),
    "log": (ag.log, lambda x: -1 / x ** 2, POS),
    "sqrt": (ag.sqrt, lambda x: -0.25 * x ** -1.5, POS),
    "tanh": (ag.tanh, lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2, {}),
    "sin": (ag.sin, lambda x: -np.sin(x), {}),
    "cos": (ag.cos, lambda x: -np.cos(x), {}),
    "tan": (ag.tan, lambda x: 2 * np.tan(x) / np.cos(x) ** 2, {"low": -1.2, "high": 1.2}),
    "asin": (ag.asin, lambda x: x / (1 - x * x) ** 1.5, UNIT),
    "acos": (ag.acos, lambda x: -x / (1 - x * x) ** 1.5, UNIT),
    "atan": (ag.atan, lambda x: -2 * x / (1 + x * x) ** 2, {}),
    "sinh": (ag.sinh, np.sinh, {}),
    "cosh": (ag.cosh, np.cosh, {}),
    "asinh": (ag.asinh, lambda x: -x / (x * x + 1) ** 1.5, {}),
    "acosh": (ag.acosh, lambda x: -x / (x * x - 1) ** 1.5, BIG),
    "atanh": (ag.atanh, lambda x: 2 * x / (1 - x * x) ** 2, UNIT),
    "expm1": (ag.expm1, np.exp, {}),
    "log1p": (ag.log1p, lambda x: -1 / (1 + x) ** 2, {"low": -0.7, "high": 2.0}),
    "log2": (ag.log2, lambda x: -1 / (x * x * LN2), POS),
    "log10": (ag.log10, lambda x: -1 / (x * x * LN10), POS),
    "square": (ag.square, lambda x: 2 + 0 * x, {}),
    "reciprocal": (ag.reciprocal, lambda x: 2 / x ** 3, AWAY),
    "sign": (ag.sign, lambda x: 0 * x, AWAY),
    "real": (ag.real, lambda x: 0 * x, {}),
    "conj": (ag.conj, lambda x: 0 * x, {}),
    "cbrt": (ag.cbrt, lambda x: -2 / 9 * np.cbrt(x) / x ** 2, AWAY),
    "sinc": (ag.sinc, _sinc2, AWAY),
    "sec": (ag.sec, lambda x: (1 + 2 * np.tan(x) ** 2) / np.cos(x), {"low": -1.2, "high": 1.2}),
    "csc": (ag.csc, lambda x: (1 + 2 / np.tan(x) ** 2) / np.sin(x), {"low": 0.3, "high": 2.8}),
    "cot": (ag.cot, lambda x: 2 * np.cos(x) / np.sin(x) ** 3, {"low": 0.3, "high": 2.8}),
    "arcsec": (ag.arcsec, lambda x: -x * (2 * x * x - 1) / (x * x * (x * x - 1)) ** 1.5, BIG),
    "arccsc": (ag.arccsc, lambda x: x * (2 * x * x - 1) / (x * x * (x * x - 1)) ** 1.5, BIG),
    "arccot": (ag.arccot, lambda x: 2 * x / (1 + x * x) ** 2, AWAY),
    "sech": (ag.sech, lambda x: (np.tanh(x) ** 2 - 1 / np.cosh(x) ** 2) / np.cosh(x), {}),
    "csch": (ag.csch, lambda x: (1 / np.tanh(x) ** 2 + 1 / np.sinh(x) ** 2) / np.sinh(x),
             {"low": 0.3, "high": 2.5}),
    "coth": (ag.coth, lambda x: 2 * np.cosh(x) / np.sinh(x) ** 3, {"low": 0.3, "high": 2.5}),
    "arccoth": (ag.arccoth, lambda x: 2 * x / (1 - x * x) ** 2, BIG),
    "arccsch": (ag.arccsch, lambda x: (2 * x * x + 1) / (x * x * (x * x + 1) ** 1.5),
                {"low": 0.3, "high": 2.5}),
}
# the rest of elementwise.py has no derivative (floor, ceil, round, trunc, comparisons,
# logical and bitwise ops, isnan/isinf/isfinite/signbit, nextafter); ``imag`` needs a
# complex input (strict and torch refuse real ones) and is linear.


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary_second_derivative(backend, name, data):
    fn, second, domain = UNARY[name]
    host = data.draw(values(data.draw(shapes(max_dims=2, max_side=3)), **domain))
    x = backend.tensor(host)
    (g,) = grad(fn(x).sum(), x, create_graph=True)
    want = second(host)
    if not g.requires_grad:  # a constant first derivative
        assert np.all(want == 0)
        assert np.all(want == 0)
    else:
        (h,) = grad(g.sum(), x, allow_unused=True)
        assert h.dtype == x.dtype and h.device == x.device
        assert_allclose(h, want, rtol=1e-9, atol=1e-10)
    gradgradcheck(fn, [x], atol=1e-5, rtol=1e-4)


def test_every_differentiable_elementwise_op_is_covered():
    from anygrad.ops import elementwise
    from anygrad.ops.elementwise import Op
    ops = {name: getattr(elementwise, name) for name in dir(elementwise)}
    differentiable = set()
    for name, fn in ops.items():
        op = getattr(fn, "op", None)
        if isinstance(op, Op) and op.vjps is not None and op.elementwise and name == op.name:
            differentiable.add(name)
    covered = set(UNARY) | set(BINARY) | {"imag", "clip", "floor_divide"}
    assert differentiable - covered == set()


# name: (function, domain of x, domain of y)
BINARY = {
    "add": (ag.add, {}, {}),
    "subtract": (ag.subtract, {}, {}),
    "multiply": (ag.multiply, {}, {}),
    "divide": (ag.divide, {}, AWAY),
    "pow": (ag.pow, POS, {"low": -1.5, "high": 1.5}),
    "maximum": (ag.maximum, {}, {}),
    "minimum": (ag.minimum, {}, {}),
    "atan2": (ag.atan2, POS, {}),
    "hypot": (ag.hypot, POS, {}),
    "logaddexp": (ag.logaddexp, {}, {}),
    "logaddexp2": (ag.logaddexp2, {}, {}),
    "copysign": (ag.copysign, AWAY, AWAY),
    "remainder": (ag.remainder, POS, {"low": 0.7, "high": 1.9}),
    "fmod": (ag.fmod, POS, {"low": 0.7, "high": 1.9}),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_second_derivatives(backend, name, data):
    fn, dom_x, dom_y = BINARY[name]
    sx, sy = data.draw(broadcastable_pair(max_dims=2))
    x = data.draw(values(sx, **dom_x))
    y = data.draw(values(sy, **dom_y))
    if name in ("maximum", "minimum"):  # clear of ties, where the derivative jumps
        y = np.where(np.abs(x - y) < 0.05, y + 0.2, y)
    if name in ("remainder", "fmod"):  # clear of the jumps at multiples of y
        q = x / y
        x = np.where(np.abs(q - np.round(q)) < 0.05, x + 0.1 * y, x)
    gradgradcheck(fn, [backend.tensor(x), backend.tensor(y)], atol=1e-5, rtol=1e-4)


def test_mixed_partials_analytic(backend):
    hx, hy = np.array([0.5, 1.5, 2.0]), np.array([-0.7, 0.4, 1.3])
    x, y = backend.tensor(hx), backend.tensor(hy)
    # d2(x^y)/dxdy = x^(y-1) (1 + y log x); d2(x/y)/dxdy = -1/y^2; d2(xy)/dxdy = 1
    for f, want in ((ag.pow, hx ** (hy - 1) * (1 + hy * np.log(hx))),
                    (ag.divide, -1 / hy ** 2), (ag.multiply, 1 + 0 * hx)):
        (gx,) = grad(f(x, y).sum(), x, create_graph=True)
        (gxy,) = grad(gx.sum(), y)
        assert_allclose(gxy, want, rtol=1e-12)


def test_clip_and_piecewise_constant(backend):
    x = backend.tensor([-1.5, -0.3, 0.4, 1.7])
    lo, hi = backend.tensor([-1.0] * 4), backend.tensor([1.0] * 4)
    gradgradcheck(lambda a, b, c: ag.clip(a, b, c) * a, [x, lo, hi])
    gradgradcheck(lambda a: ag.floor_divide(a, 0.7) * a * a, [x])


@SETTINGS
@given(data=st.data(), n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3))
def test_matmul(backend, data, n, k, m):
    a = backend.tensor(data.draw(values((n, k))))
    b = backend.tensor(data.draw(values((k, m))))
    gradgradcheck(lambda s, t: ag.matmul(s, t) * ag.matmul(s, t), [a, b])
    # sum(A @ B) is bilinear: its Hessian in A alone is zero, d2/dA dB_jl = 1
    (ga,) = grad(ag.matmul(a, b).sum(), a, create_graph=True)
    (gb,) = grad(ga.sum(), b)
    assert_allclose(gb, np.full((k, m), float(n)))


REDUCTIONS = {
    "sum": (lambda t, axis: ag.sum(t * t * t, axis=axis), {}),
    "mean": (lambda t, axis: ag.mean(ag.sin(t), axis=axis), {}),
    "prod": (lambda t, axis: ag.prod(t, axis=axis), {"low": 0.3, "high": 1.5}),
    "max": (lambda t, axis: ag.max(t * t, axis=axis), {"distinct": True}),
    "logsumexp": (lambda t, axis: ag.logsumexp(t, axis=axis), {}),
    "var": (lambda t, axis: ag.var(t, axis=axis), {}),
    "std": (lambda t, axis: ag.std(t, axis=axis, correction=1), {"distinct": True}),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(data=st.data())
def test_reductions(backend, name, data):
    fn, domain = REDUCTIONS[name]
    shape = data.draw(shapes(min_dims=1, max_dims=2, max_side=3))
    if name == "std":
        shape = (*shape[:-1], max(shape[-1], 2))
    axis = data.draw(st.sampled_from([None, -1]))
    x = backend.tensor(data.draw(values(shape, **domain)))
    if name == "max":  # distinct values: keep the squares distinct too
        x = backend.tensor(x.numpy() + 3.0)
    gradgradcheck(lambda t: fn(t, axis), [x], atol=1e-5, rtol=1e-4)


def test_reductions_analytic(backend):
    h = np.array([0.5, -1.0, 2.0])
    x = backend.tensor(h)
    (g,) = grad(ag.prod(x), x, create_graph=True)
    (hp,) = grad(g[0], x)  # d2 prod / dx0 dxj = prod / (x0 xj), j != 0; 0 on the diagonal
    assert_allclose(hp, [0.0, h[2], h[1]], rtol=1e-12)
    (g,) = grad(ag.var(x), x, create_graph=True)
    (hv,) = grad(g[1], x)  # var = mean((x - mean)^2): d2/dxi dxj = 2/n (delta_ij - 1/n)
    assert_allclose(hv, 2 / 3 * (np.eye(3)[1] - 1 / 3), rtol=1e-12, atol=1e-15)
    (g,) = grad(ag.logsumexp(x), x, create_graph=True)
    (hl,) = grad(g[0], x)  # softmax's Jacobian: diag(p) - p p^T
    p = np.exp(h) / np.exp(h).sum()
    assert_allclose(hl, (np.diag(p) - np.outer(p, p))[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("which", ["log_softmax", "softmax"])
@SETTINGS
@given(data=st.data())
def test_softmax(backend, which, data):
    fn = getattr(F, which)
    shape = data.draw(shapes(min_dims=1, max_dims=2, max_side=3))
    x = backend.tensor(data.draw(values(shape)))
    gradgradcheck(lambda t: fn(t, axis=-1), [x], atol=1e-5, rtol=1e-4)


def test_log_softmax_analytic(backend):
    h = np.array([[0.3, -1.2, 0.8]])
    x = backend.tensor(h)
    (g,) = grad(F.log_softmax(x, axis=-1)[0, 0], x, create_graph=True)  # e0 - p
    (hh,) = grad(g[0, 2], x)  # -dp2/dx = -(p2 (delta_2j - pj))
    p = np.exp(h[0]) / np.exp(h[0]).sum()
    assert_allclose(hh, [-(p[2] * (np.eye(3)[2] - p))], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", ["slice", "new_axis", "gather", "windows", "conv", "max_pool",
                                  "max_pool_overlapping"])
def test_gradients_placed_in_zeros(backend, case):
    """The gradients that rules build by writing into fresh zeros (slices, gathers, col2im,
    max-pooling's) are ops of their own, differentiable again: their second derivatives
    against central differences of the first."""
    rng = np.random.default_rng(1)
    x = backend.tensor(rng.standard_normal((2, 2, 5, 5)))
    w = backend.tensor(rng.standard_normal((3, 2, 3, 3)))
    fns = {
        "slice": lambda t: (t[:, 1:, ::2] ** 3).sum(),
        "new_axis": lambda t: (t[None, 0, ..., None, 1:3] ** 3).sum(),
        "gather": lambda t: (ag.take(ag.reshape(t, (-1,)), backend.tensor([3, 3, 7, 0])) ** 3
                             ).sum(),
        "windows": lambda t: (F.avg_pool2d(t, 3, stride=2) ** 3).sum(),
        "conv": lambda t: (F.conv2d(t, w, padding=1, stride=2) ** 2).sum(),
        "max_pool": lambda t: (F.max_pool2d(t, 2) ** 3).sum(),
        "max_pool_overlapping": lambda t: (F.max_pool2d(t, 3, stride=1) ** 3).sum(),
    }
    gradgradcheck(fns[case], [x], atol=1e-5, rtol=1e-4)
