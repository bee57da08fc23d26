"""Every differentiable op of the core against float64 central differences, with
Hypothesis-drawn shapes, on every test backend; against torch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anygrad as ag
from anygrad.testing import gradcheck
from tests.strategies import broadcastable_pair, shapes, values

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

UNARY = {
    "negative": (ag.negative, {}),
    "positive": (ag.positive, {}),
    "abs": (ag.abs, {"away_from": 0.0}),
    "exp": (ag.exp, {}),
    "log": (ag.log, {"low": 0.2, "high": 3.0}),
    "sqrt": (ag.sqrt, {"low": 0.2, "high": 3.0}),
    "tanh": (ag.tanh, {}),
    "sin": (ag.sin, {}),
    "cos": (ag.cos, {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary(backend, name, data):
    fn, domain = UNARY[name]
    x = data.draw(values(data.draw(shapes()), **domain))
    gradcheck(fn, backend.tensor(x))


BINARY = {
    "add": (ag.add, {}, {}),
    "subtract": (ag.subtract, {}, {}),
    "multiply": (ag.multiply, {}, {}),
    "divide": (ag.divide, {}, {"away_from": 0.0}),
    "pow": (ag.pow, {"low": 0.3, "high": 2.0}, {"low": -1.5, "high": 1.5}),
    "maximum": (ag.maximum, {}, {}),
    "minimum": (ag.minimum, {}, {}),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_with_broadcasting(backend, name, data):
    fn, dom_x, dom_y = BINARY[name]
    sx, sy = data.draw(broadcastable_pair())
    x = data.draw(values(sx, **dom_x))
    y = data.draw(values(sy, **dom_y))
    if name in ("maximum", "minimum"):  # keep clear of ties, where the derivative jumps
        y = np.where(np.abs(x - y) < 0.05, y + 0.2, y)
    gradcheck(fn, backend.tensor(x), backend.tensor(y))


def test_binary_with_python_scalars(backend):
    x = backend.tensor([0.5, 1.5, 2.5])
    gradcheck(lambda t: (2.0 - t) * 3 + t / 2 - 1 / t + t ** 2 + 2 ** t, x)


def test_max_min_share_gradient_among_ties(backend):
    x = backend.tensor([1.0, 3.0, 3.0, 0.0])
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5, 0])
    y = backend.tensor([2.0, 2.0])
    z = backend.tensor([2.0, 1.0])
    ag.maximum(y, z).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 1.0])
    np.testing.assert_allclose(z.grad.numpy(), [0.5, 0.0])


@st.composite
def axis_args(draw, ndim):
    if ndim == 0:
        return None
    choice = draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "none":
        return None
    if choice == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
@SETTINGS
@given(data=st.data())
def test_reductions(backend, name, data):
    shape = data.draw(shapes())
    x = data.draw(values(shape, distinct=name in ("max", "min")))
    axis = data.draw(axis_args(len(shape)))
    keepdims = data.draw(st.booleans())
    fn = getattr(ag, name)
    out = fn(backend.tensor(x), axis=axis, keepdims=keepdims)
    ref = getattr(np, {"max": "amax", "min": "amin"}.get(name, name))(x, axis=axis,
                                                                     keepdims=keepdims)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    gradcheck(lambda t: fn(t, axis=axis, keepdims=keepdims), backend.tensor(x))


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                 ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 1, 3, 2), (4, 2, 3)),
                 ((2, 3, 2), (2,))]


@pytest.mark.parametrize("sx,sy", MATMUL_SHAPES)
def test_matmul(backend, sx, sy):
    rng = np.random.default_rng(len(sx) * 10 + len(sy))
    x, y = rng.standard_normal(sx), rng.standard_normal(sy)
    out = backend.tensor(x) @ backend.tensor(y)
    np.testing.assert_allclose(out.numpy(), x @ y, rtol=1e-12)
    gradcheck(ag.matmul, backend.tensor(x), backend.tensor(y))


@SETTINGS
@given(data=st.data())
def test_reshape_permute_transpose(backend, data):
    shape = data.draw(shapes(min_dims=1))
    x = backend.tensor(data.draw(values(shape)))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    gradcheck(lambda t: ag.permute_dims(t, perm), x)
    gradcheck(lambda t: t.reshape(-1), x)
    gradcheck(lambda t: ag.reshape(t, (int(np.prod(shape)), 1)), x)
    gradcheck(lambda t: t.T * 1.0, x)
    if len(shape) >= 2:
        gradcheck(lambda t: t.mT, x)


@SETTINGS
@given(data=st.data())
def test_broadcast_to(backend, data):
    sx, target = data.draw(broadcastable_pair())
    target = np.broadcast_shapes(sx, target)
    x = backend.tensor(data.draw(values(sx)))
    gradcheck(lambda t: ag.broadcast_to(t, target), x)


@SETTINGS
@given(data=st.data())
def test_concat_and_stack(backend, data):
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[axis] = data.draw(st.integers(1, 3))
    a = backend.tensor(data.draw(values(shape)))
    b = backend.tensor(data.draw(values(tuple(other))))
    gradcheck(lambda s, t: ag.concat([s, t, s], axis=axis), a, b)
    gradcheck(lambda s, t: ag.concat([s, t], axis=None), a, b)
    c = backend.tensor(data.draw(values(shape)))
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    gradcheck(lambda s, t: ag.stack([s, t], axis=new_axis), a, c)


@SETTINGS
@given(data=st.data())
def test_where(backend, data):
    sx, sy = data.draw(broadcastable_pair())
    x = backend.tensor(data.draw(values(sx)))
    y = backend.tensor(data.draw(values(sy)))
    cond = backend.tensor(data.draw(values(sx)) > 0)
    gradcheck(lambda s, t: ag.where(cond, s, t), x, y)
    gradcheck(lambda s: ag.where(cond, s, 0.5), x)


KEYS = [np.s_[1:], np.s_[::2], np.s_[1:, ::2], np.s_[None, ...], np.s_[..., 1],
        np.s_[-1], np.s_[1:, ::2, None, ...], np.s_[:, None, 1:3]]


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_basic_indexing(backend, key):
    x = np.arange(60.0).reshape(3, 4, 5) / 7
    t = backend.tensor(x)
    np.testing.assert_array_equal(t[key].numpy(), x[key])
    gradcheck(lambda s: s[key], t)


def test_indexing_twice_accumulates(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    (x[0] + x[0] * 2 + x[1:].sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 1.0, 1.0])


def test_float32_grads_through_every_core_op(backend):
    x = backend.tensor(np.linspace(0.1, 1.0, 6).reshape(2, 3), dtype=ag.float32)
    y = (ag.sqrt(x) + ag.log(x) + ag.abs(-x) + ag.maximum(x, 0.5) + ag.minimum(x, 0.5)
         + ag.sin(x) * ag.cos(x) / (x + 1) - x ** 1.5)
    z = ag.concat([y, ag.stack([x[0], x[1]])], axis=0)
    w = ag.where(z > 0.5, z, z * 2).reshape(3, 4).T
    (w @ w.T).mean(axis=0).max().backward()
    assert x.grad.dtype == ag.float32 and x.grad.shape == (2, 3)



@pytest.mark.parametrize("case", ["mlp", "broadcast", "reductions"])
def test_against_torch(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal(5)

    def program(lib, a, b, c):
        if case == "mlp":
            h = lib.tanh(a @ b + c)
            return (h * h).sum() / 3
        if case == "broadcast":
            return (lib.maximum(a[:, :1] * c[:3], lib.exp(a) / 2) - lib.sin(a) ** 2).mean()
        return lib.sum(lib.max(a @ b, axis=1) * lib.min(b, axis=0)[:4]) + (a @ b).mean()

    ours = [ag.Tensor(v) for v in (a, b, c)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b, c)]

    class T:  # torch spelled like our namespace
        tanh, exp, sin = torch.tanh, torch.exp, torch.sin
        maximum = torch.maximum

        @staticmethod
        def sum(x):
            return torch.sum(x)

        @staticmethod
        def max(x, axis):
            return torch.amax(x, dim=axis)

        @staticmethod
        def min(x, axis):
            return torch.amin(x, dim=axis)

    program(ag, *ours).backward()
    program(T, *theirs).backward()
    for o, t in zip(ours, theirs, strict=True):
        if t.grad is None:
            assert o.grad is None
        else:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
