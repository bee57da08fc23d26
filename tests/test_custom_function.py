"""Custom differentiable ops: ``anygrad.autograd.Function`` (forward/backward with a ctx),
in eager and lazy mode, and differentiated twice when backward uses anygrad ops."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad.autograd import Function, grad
from anygrad.testing import assert_allclose, gradcheck, gradgradcheck


class Cube(Function):
    """k x^3, with a non-tensor argument and a backward written with anygrad ops."""

    @staticmethod
    def forward(ctx, x, k):
        assert not ag.is_grad_enabled()  # inputs are constants in forward
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.k, None


class Exp(Function):
    """exp, saving its output (second derivatives flow through the saved output)."""

    @staticmethod
    def forward(ctx, x):
        y = ag.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class MulAdd(Function):
    """(x * y, x + y): two outputs, two tensor inputs."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y, x + y

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        x, y = ctx.saved_tensors
        return g_prod * y + g_sum, g_prod * x + g_sum


def test_eager_gradient_and_non_tensor_argument(backend):
    x = backend.tensor([0.5, -1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.requires_grad and y.device == x.device
    assert_allclose(y, 2 * x.numpy() ** 3)
    y.sum().backward()
    assert_allclose(x.grad, 6 * x.numpy() ** 2)
    assert x.grad.dtype == x.dtype


def test_gradcheck_and_second_derivatives(backend):
    x = backend.tensor([0.5, -1.0, 2.0])
    gradcheck(lambda t: Cube.apply(t, 1.5), [x])
    gradgradcheck(lambda t: Cube.apply(t, 1.5), [x])
    gradgradcheck(Exp.apply, [x])
    (g,) = grad(Cube.apply(x, 1.0).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = grad(g.sum(), x, create_graph=True)
    assert_allclose(h, 6 * x.numpy(), rtol=1e-12)
    (t,) = grad(h.sum(), x)
    assert_allclose(t, [6.0, 6.0, 6.0])


def test_composes_with_ordinary_ops(backend):
    x = backend.tensor([[0.3, 0.7], [-0.4, 1.1]])
    fn = lambda t: ag.sin(Exp.apply(ag.tanh(t) * 2)) @ t  # noqa: E731
    gradcheck(fn, [x])
    gradgradcheck(fn, [x])


def test_several_outputs(backend):
    x, y = backend.tensor([1.0, 2.0]), backend.tensor([3.0, -1.0])
    p, s = MulAdd.apply(x, y)
    assert_allclose(p, [3.0, -2.0])
    (2 * p + s * s).sum().backward()
    assert_allclose(x.grad, 2 * y.numpy() + 2 * (x.numpy() + y.numpy()))
    assert_allclose(y.grad, 2 * x.numpy() + 2 * (x.numpy() + y.numpy()))
    fn = lambda a, b: MulAdd.apply(a, b)[0] * MulAdd.apply(a, b)[1]  # noqa: E731
    gradcheck(fn, [x, y])
    gradgradcheck(fn, [x, y])
    (gx,) = grad(MulAdd.apply(x, y)[1].sum(), x)  # the unused output's gradient is zero
    assert_allclose(gx, [1.0, 1.0])


def test_none_gradients_and_needs_input_grad(backend):
    seen = []

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, w):
            seen.append(ctx.needs_input_grad)
            ctx.save_for_backward(w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            return g * w, None  # no gradient for w, even though it requires one

    x = backend.tensor([1.0, 2.0])
    w = backend.tensor([3.0, 4.0])
    c = backend.tensor([5.0, 6.0], requires_grad=False)
    Scale.apply(x, c).sum().backward()
    assert seen[-1] == (True, False)
    assert_allclose(x.grad, [5.0, 6.0])
    gx, gw = grad(Scale.apply(x, w).sum(), [x, w])
    assert_allclose(gw, [0.0, 0.0])
    with ag.no_grad():
        out = Scale.apply(x, w)
    assert not out.requires_grad and seen[-1] == (False, False)


def test_mark_non_differentiable(backend):
    class SortedWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            idx = ag.argsort(x)
            ctx.mark_non_differentiable(idx)
            ctx.idx = idx
            return ag.take(x, idx), idx

        @staticmethod
        def backward(ctx, g, _):
            return ag.take(g, ag.argsort(ctx.idx))  # the inverse permutation

    x = backend.tensor([3.0, 1.0, 2.0])
    v, i = SortedWithIndex.apply(x)
    assert v.requires_grad and not i.requires_grad
    (v * backend.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert_allclose(x.grad, [100.0, 1.0, 10.0])


def test_lazy_mode(backend):
    x = backend.tensor([0.2, 0.9, -0.5])
    with ag.lazy():
        y = ag.sin(Cube.apply(ag.exp(x) * 0.5, 3.0)).sum()
    y.backward()
    h = x.numpy()
    u = np.exp(h) * 0.5
    want = np.cos(3 * u ** 3) * 9 * u ** 2 * u
    assert_allclose(x.grad, want, rtol=1e-10)
    with ag.lazy():
        (g,) = grad(Exp.apply(x * x).sum(), x, create_graph=True)
        (hh,) = grad(g.sum(), x)
    assert_allclose(hh, (2 + 4 * h * h) * np.exp(h * h), rtol=1e-10)


def test_errors(backend):
    x = backend.tensor([1.0, 2.0])

    class WrongCount(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    with pytest.raises(ag.GraphError, match="WrongCount.backward returned 3 gradients"):
        WrongCount.apply(x, x).sum().backward()

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    with pytest.raises(ag.ShapeError, match="WrongShape.backward: the gradient of input 0"):
        WrongShape.apply(x).sum().backward()

    class NotATensor(Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="must return a Tensor"):
        NotATensor.apply(x)
    with pytest.raises(TypeError, match="Cube.apply"):
        Cube()

    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1

    with pytest.raises(NotImplementedError, match="backward"):
        NoBackward.apply(x).sum().backward()
    with pytest.raises(TypeError, match="save_for_backward"):
        class SaveNumber(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(3)
                return x
        SaveNumber.apply(x)


def test_different_devices(backend, two_devices):
    a = ag.Tensor(np.ones(2), device=two_devices[0])
    b = ag.Tensor(np.ones(2), device=two_devices[1])
    with pytest.raises(ag.DeviceError, match="MulAdd"):
        MulAdd.apply(a, b)


def test_assert_allclose_nonfinite():
    """NaN equals NaN and an infinity equals itself; anything else non-finite differs."""
    nan, inf = float("nan"), float("inf")
    assert_allclose(np.array([nan, inf, -inf, 1.0]), np.array([nan, inf, -inf, 1.0]))
    assert_allclose(2.0, np.array([2.0, 2.0]))
    for actual, desired in [([nan], [1.0]), ([inf], [1.0]), ([1.0], [inf]), ([inf], [-inf]),
                            ([1.0, 2.0], 1.0)]:
        with pytest.raises(AssertionError, match="differ"):
            assert_allclose(np.array(actual), np.array(desired))
