"""``anygrad.func``: grad, value_and_grad, vjp, jvp, jacrev, jacfwd, hessian and hvp against
analytic values, torch's Hessians of small networks, and finite differences of gradients."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad import func

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 3))
Y = RNG.standard_normal(6)
A = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, -0.5], [0.5, -0.5, 4.0]])
H_IN, H_HID = 3, 4  # the MLP: 3 -> 4 (tanh) -> 1
N_MLP = H_IN * H_HID + H_HID + H_HID + 1


def f_scalar(x):
    return ag.sum(ag.sin(x) * x ** 2)


def df_scalar(v):
    return np.cos(v) * v ** 2 + 2 * v * np.sin(v)


def d2f_scalar(v):
    return -np.sin(v) * v ** 2 + 4 * v * np.cos(v) + 2 * np.sin(v)


def mlp_loss(w, x, y, xp=ag):
    """Mean squared error of a 2-layer tanh MLP with all weights flattened into ``w``."""
    k = 0
    w1 = xp.reshape(w[k:k + H_IN * H_HID], (H_IN, H_HID))
    k += H_IN * H_HID
    b1 = w[k:k + H_HID]
    k += H_HID
    w2 = w[k:k + H_HID]
    b2 = w[k + H_HID]
    pred = xp.tanh(x @ w1 + b1) @ w2 + b2
    return xp.mean((pred - y) ** 2)


def logreg_loss(w, x, y, xp=ag):
    """L2-regularised binary logistic regression (labels in {-1, 1})."""
    z = x @ w
    return xp.mean(xp.log1p(xp.exp(-y * z))) + 0.05 * xp.sum(w * w)


def _torch_hessian(loss, w, x, y):
    torch = pytest.importorskip("torch", reason="torch is not installed: no reference Hessian")
    t = [torch.tensor(a, dtype=torch.float64) for a in (w, x, y)]
    return torch.autograd.functional.hessian(lambda v: loss(v, t[1], t[2], xp=torch),
                                             t[0]).numpy()


def test_grad_and_value_and_grad_match_the_derivative(backend):
    x = backend.tensor([0.5, 1.0, 2.0])
    g = func.grad(f_scalar)(x)
    np.testing.assert_allclose(g.numpy(), df_scalar(x.numpy()))
    value, g2 = func.value_and_grad(f_scalar)(x)
    np.testing.assert_allclose(value.numpy(), np.sum(np.sin(x.numpy()) * x.numpy() ** 2))
    np.testing.assert_allclose(g2.numpy(), g.numpy())
    assert g.device == x.device and g.dtype == x.dtype
    assert not g.requires_grad and not value.requires_grad  # top level: constants
    assert x.grad is None and x.is_leaf and x.requires_grad  # the caller's tensor untouched


def test_argnums_tuples_kwargs_and_host_data(backend):
    x, y = backend.tensor([1.0, 2.0]), backend.tensor([3.0, -1.0])

    def f(a, b, scale=1.0):
        return scale * ag.sum(a * a * b)

    gx, gy = func.grad(f, argnums=(0, 1))(x, y, scale=2.0)
    np.testing.assert_allclose(gx.numpy(), 4 * x.numpy() * y.numpy())
    np.testing.assert_allclose(gy.numpy(), 2 * x.numpy() ** 2)
    gy_only = func.grad(f, argnums=-1)(x, y)
    np.testing.assert_allclose(gy_only.numpy(), x.numpy() ** 2)
    # Python and NumPy data become Tensors on the default device
    g = func.grad(lambda t: ag.sum(t ** 3))(np.array([1.0, 2.0]))
    assert isinstance(g, ag.Tensor) and g.device == ag.get_default_device()
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    assert func.grad(lambda t: t * t)(3.0).item() == 6.0
    # an argument f ignores has a zero gradient
    np.testing.assert_allclose(func.grad(lambda a, b: ag.sum(b))(x, y).numpy(), [0.0, 0.0])


def test_has_aux(backend):
    x = backend.tensor([1.0, 2.0, 3.0])

    def f(t):
        y = t ** 2
        return ag.sum(y), {"squares": y, "n": 3}

    g, aux = func.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy())
    np.testing.assert_allclose(aux["squares"].numpy(), x.numpy() ** 2)
    assert aux["n"] == 3 and not aux["squares"].requires_grad
    (value, aux2), g2 = func.value_and_grad(f, has_aux=True)(x)
    assert value.item() == 14.0 and aux2["n"] == 3
    out, vjp_fn, aux3 = func.vjp(lambda t: (t * 2, t.sum()), x, has_aux=True)
    np.testing.assert_allclose(vjp_fn(backend.tensor([1.0, 0.0, 1.0]))[0].numpy(), [2, 0, 2])
    assert aux3.item() == 6.0


def test_vjp_and_jvp_of_a_linear_map_and_a_nonlinear_one(backend):
    a = backend.tensor(A, requires_grad=False)
    x = backend.tensor([1.0, -2.0, 0.5])
    out, vjp_fn = func.vjp(lambda t: a @ t, x)
    np.testing.assert_allclose(out.numpy(), A @ x.numpy())
    u = np.array([1.0, 0.5, -1.0])
    (ct,) = vjp_fn(backend.tensor(u))
    np.testing.assert_allclose(ct.numpy(), u @ A)
    (ct2,) = vjp_fn(u)  # callable again, with host data
    np.testing.assert_allclose(ct2.numpy(), u @ A)
    out, tangent = func.jvp(lambda t: a @ t, (x,), (backend.tensor(u),))
    np.testing.assert_allclose(tangent.numpy(), A @ u)
    # several primals and outputs
    y = backend.tensor([0.3, 0.2, 0.1])
    (o1, o2), (t1, t2) = func.jvp(lambda p, q: (ag.sin(p) * q, ag.sum(p * q)), (x, y),
                                  (backend.tensor(u), backend.tensor([1.0, 1.0, 1.0])))
    xv, yv = x.numpy(), y.numpy()
    np.testing.assert_allclose(t1.numpy(), np.cos(xv) * u * yv + np.sin(xv))
    np.testing.assert_allclose(t2.numpy(), u @ yv + xv.sum())
    with pytest.raises(ag.ShapeError, match="tangent"):
        func.jvp(ag.sin, (x,), (backend.tensor([1.0, 2.0]),))


def test_jacfwd_equals_jacrev(backend):
    x = backend.tensor([0.5, -1.0, 2.0])
    w = backend.tensor(RNG.standard_normal((2, 3)))

    def f(t, m):
        return ag.tanh(m @ t) * ag.sum(t ** 2)

    jr = func.jacrev(f, argnums=(0, 1))(x, w)
    jf = func.jacfwd(f, argnums=(0, 1))(x, w)
    assert jr[0].shape == (2, 3) and jr[1].shape == (2, 2, 3)
    for a, b in zip(jr, jf, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
    np.testing.assert_allclose(func.jacobian(f)(x, w).numpy(), jr[0].numpy())
    np.testing.assert_allclose(func.jacobian(f, 1, mode="forward")(x, w).numpy(), jr[1].numpy())
    # elementwise: a diagonal Jacobian
    np.testing.assert_allclose(func.jacfwd(ag.sin)(x).numpy(), np.diag(np.cos(x.numpy())),
                               atol=1e-15)


def test_composition(backend):
    x = backend.tensor([0.5, 1.0, 2.0])
    gg = func.grad(lambda t: ag.sum(func.grad(f_scalar)(t)))(x)
    np.testing.assert_allclose(gg.numpy(), d2f_scalar(x.numpy()))
    s = backend.tensor(0.7)
    d3 = func.grad(func.grad(func.grad(lambda t: t ** 4 * ag.sin(t))))(s)
    v = 0.7  # d3/dt3 of t^4 sin t
    expect = (24 * v * np.sin(v) + 36 * v ** 2 * np.cos(v) - 12 * v ** 3 * np.sin(v)
              - v ** 4 * np.cos(v))
    np.testing.assert_allclose(d3.item(), expect)
    h = func.hessian(f_scalar)(x)
    np.testing.assert_allclose(h.numpy(), np.diag(d2f_scalar(x.numpy())), atol=1e-12)
    np.testing.assert_allclose(func.jacrev(func.jacrev(f_scalar))(x).numpy(), h.numpy(),
                               atol=1e-12)
    assert x.grad is None


def test_hessian_of_a_quadratic_and_tuple_argnums(backend):
    a = backend.tensor(A, requires_grad=False)
    x = backend.tensor([1.0, -2.0, 0.5])
    np.testing.assert_allclose(func.hessian(lambda t: 0.5 * (t @ a @ t))(x).numpy(), A)
    y = backend.tensor([0.5, 0.25])
    (hxx, hxy), (hyx, hyy) = func.hessian(lambda p, q: ag.sum(p) * ag.sum(q * q),
                                          argnums=(0, 1))(x, y)
    assert hxx.shape == (3, 3) and hxy.shape == (3, 2) and hyx.shape == (2, 3)
    np.testing.assert_allclose(hxx.numpy(), 0.0)
    np.testing.assert_allclose(hxy.numpy(), np.tile(2 * y.numpy(), (3, 1)))
    np.testing.assert_allclose(hyy.numpy(), 2 * x.numpy().sum() * np.eye(2))


@pytest.mark.parametrize("loss,n", [(mlp_loss, N_MLP), (logreg_loss, 3)],
                         ids=["tanh_mlp", "logistic_regression"])
def test_hessians_of_small_networks_match_torch(backend, loss, n):
    w0 = np.random.default_rng(1).standard_normal(n) * 0.5
    y = Y if loss is mlp_loss else np.sign(Y)
    x_t, y_t = backend.tensor(X, requires_grad=False), backend.tensor(y, requires_grad=False)
    h = func.hessian(loss)(backend.tensor(w0), x_t, y_t)
    assert h.shape == (n, n) and h.dtype == ag.float64 and h.device == backend.device
    expect = _torch_hessian(loss, w0, X, y)
    np.testing.assert_allclose(h.numpy(), expect, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), h.numpy().T, atol=1e-12)


@pytest.mark.parametrize("loss,n", [(mlp_loss, N_MLP), (logreg_loss, 3)],
                         ids=["tanh_mlp", "logistic_regression"])
def test_hvp_matches_finite_differences_of_gradients(backend, loss, n):
    rng = np.random.default_rng(2)
    w0, v = rng.standard_normal(n) * 0.5, rng.standard_normal(n)
    y = Y if loss is mlp_loss else np.sign(Y)
    x_t, y_t = backend.tensor(X, requires_grad=False), backend.tensor(y, requires_grad=False)
    w = backend.tensor(w0)
    value, hv = func.hvp(lambda t: loss(t, x_t, y_t), w, backend.tensor(v))
    eps = 1e-5
    g = func.grad(loss)
    fd = (g(backend.tensor(w0 + eps * v), x_t, y_t).numpy()
          - g(backend.tensor(w0 - eps * v), x_t, y_t).numpy()) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(value.numpy(), loss(w, x_t, y_t).numpy())
    # agrees with the full Hessian, and a tuple of primals gives a tuple
    np.testing.assert_allclose(hv.numpy(), func.hessian(loss)(w, x_t, y_t).numpy() @ v,
                               atol=1e-10)
    _, (hv2,) = func.hvp(lambda t: loss(t, x_t, y_t), (w,), (v,))
    np.testing.assert_allclose(hv2.numpy(), hv.numpy())
    assert w.grad is None and hv.dtype == w.dtype


def test_dtype_and_device_are_kept(backend):
    dev = backend.devices[-1]
    x = ag.Tensor(np.array([0.5, 1.5], dtype=np.float32), device=dev)
    g = func.grad(f_scalar)(x)
    h = func.hessian(f_scalar)(x)
    _, hv = func.hvp(f_scalar, x, ag.Tensor(np.array([1.0, 0.0], dtype=np.float32), device=dev))
    for t in (g, h, hv, func.jacfwd(ag.sin)(x)):
        assert t.dtype == ag.float32 and t.device == x.device
    np.testing.assert_allclose(h.numpy(), np.diag(d2f_scalar(x.numpy())), rtol=1e-5,
                               atol=1e-6)


def test_no_grad_outside_does_not_stop_the_transforms(backend):
    x = backend.tensor([1.0, 2.0])
    with ag.no_grad():
        g = func.grad(lambda t: ag.sum(t ** 3))(x)
        h = func.hessian(lambda t: ag.sum(t ** 3))(x)
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(h.numpy(), np.diag([6.0, 12.0]))


def test_clear_errors(backend):
    x = backend.tensor([1.0, 2.0])
    with pytest.raises(ag.ShapeError, match="scalar"):
        func.grad(lambda t: t * 2)(x)
    with pytest.raises(ag.ShapeError, match="scalar"):
        func.hvp(lambda t: t * 2, x, x)
    with pytest.raises(ValueError, match="out of range"):
        func.grad(ag.sum, argnums=1)(x)
    with pytest.raises(ValueError, match="repeats"):
        func.grad(lambda a, b: ag.sum(a * b), argnums=(0, 0))(x, x)
    with pytest.raises(TypeError, match="argnums"):
        func.jacrev(ag.sin, argnums=1.0)(x)
    with pytest.raises(TypeError, match="argnums"):
        func.grad(ag.sum, argnums=())(x)
    with pytest.raises(ag.DTypeError, match="argument 0"):
        func.grad(ag.sum)(backend.tensor([1, 2]))
    with pytest.raises(TypeError, match="pair"):
        func.grad(ag.sum, has_aux=True)(x)
    with pytest.raises(TypeError, match="Tensor"):
        func.jacrev(lambda t: 3.0)(x)
    with pytest.raises(ValueError, match="mode"):
        func.jacobian(ag.sin, mode="sideways")
