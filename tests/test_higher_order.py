"""Gradients of gradients: ``anygrad.autograd.grad(..., create_graph=True)`` and
``backward(create_graph=True)`` run the same rules on Tensors (``xp = anygrad``)."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad.autograd import grad


def test_second_and_third_derivatives(backend):
    x = backend.tensor([0.5, 1.0, 2.0])
    (g,) = grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    assert g.requires_grad and x.grad is None  # grad() accumulates nothing
    (h,) = grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())
    (t,) = grad(h.sum(), x)
    np.testing.assert_allclose(t.numpy(), [6.0, 6.0, 6.0])
    assert not t.requires_grad


def test_backward_with_create_graph_makes_grad_differentiable(backend):
    x = backend.tensor([0.5, 1.0, 2.0])
    (ag.sin(x) * x).sum().backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad
    x.zero_grad()
    gx.sum().backward()
    v = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(v) - v * np.sin(v))


def test_hessian_vector_product_of_a_quadratic(backend):
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    A = backend.tensor(a, requires_grad=False)
    w = backend.tensor([1.0, -1.0])
    (gw,) = grad(0.5 * (w @ A @ w), w, create_graph=True)
    v = backend.tensor([1.0, 0.5], requires_grad=False)
    (hv,) = grad((gw * v).sum(), w)
    np.testing.assert_allclose(hv.numpy(), a @ [1.0, 0.5])


def test_several_outputs_and_grad_outputs(backend):
    x = backend.tensor([1.0, 2.0])
    y = backend.tensor([3.0, 4.0])
    gx, gy = grad([(x * y).sum(), (x * x).sum()], [x, y],
                  grad_outputs=[backend.tensor(2.0), backend.tensor(1.0)])
    np.testing.assert_allclose(gx.numpy(), 2 * y.numpy() + 2 * x.numpy())
    np.testing.assert_allclose(gy.numpy(), 2 * x.numpy())


def test_unused_inputs(backend):
    x, z = backend.tensor([1.0]), backend.tensor([2.0])
    with pytest.raises(ag.GraphError, match="allow_unused"):
        grad((x * 2).sum(), [x, z])
    gx, gz = grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.numpy()[0] == 2.0


def test_second_derivative_through_views_and_writes(backend):
    w = backend.tensor([0.5, 1.5, 2.5])
    x = w * 1.0
    x[1:] *= x[:2]  # x = [w0, w1 w0, w2 w1]
    (g,) = grad((x ** 2).sum(), w, create_graph=True)
    (h,) = grad(g[0], w)
    w0, w1, w2 = w.numpy()
    # f = w0^2 + w1^2 w0^2 + w2^2 w1^2; df/dw0 = 2 w0 + 2 w1^2 w0
    np.testing.assert_allclose(h.numpy(), [2 + 2 * w1 ** 2, 4 * w1 * w0, 0.0])
