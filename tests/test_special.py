"""``anygrad.special`` against SciPy on every test backend: values, gradients (float64 central
differences), second derivatives, dtypes and devices, domain edges (against torch's gradient
conventions), typed errors; and SciPy's own ``scipy.special`` dispatching to it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anygrad as ag
from anygrad.testing import assert_allclose, gradcheck, gradgradcheck
from tests.strategies import broadcastable_pair, shapes, values

sp = pytest.importorskip("scipy.special")

SETTINGS = settings(max_examples=4, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
RTOL, ATOL = 1e-9, 1e-12  # torch.special's and SciPy's algorithms differ in the last bits

# name -> the domain its values are drawn from (clear of poles and kinks)
UNARY = {
    "erf": {}, "erfc": {}, "erfcx": {}, "erfinv": {"low": -0.9, "high": 0.9},
    "erfcinv": {"low": 0.1, "high": 1.9}, "ndtr": {"low": -3.0, "high": 3.0},
    "ndtri": {"low": 0.05, "high": 0.95}, "log_ndtr": {"low": -6.0, "high": 3.0},
    "expit": {"low": -5.0, "high": 5.0}, "logit": {"low": 0.05, "high": 0.95},
    "log_expit": {"low": -5.0, "high": 5.0}, "gammaln": {"low": 0.2, "high": 5.0},
    "gamma": {"low": 0.2, "high": 4.0}, "digamma": {"low": 0.2, "high": 4.0},
    "psi": {"low": 0.2, "high": 4.0}, "i0": {"low": -3.0, "high": 3.0},
    "i0e": {"low": -3.0, "high": 3.0, "away_from": 0.0}, "i1": {"low": -3.0, "high": 3.0},
    "i1e": {"low": -3.0, "high": 3.0}, "entr": {"low": 0.1, "high": 3.0},
}
# name -> the domains of its two arguments
BINARY = {
    "xlogy": ({}, {"low": 0.2, "high": 3.0}),
    "xlog1py": ({}, {"low": -0.8, "high": 3.0}),
    "rel_entr": ({"low": 0.1, "high": 3.0}, {"low": 0.1, "high": 3.0}),
    "kl_div": ({"low": 0.1, "high": 3.0}, {"low": 0.1, "high": 3.0}),
    "huber": ({"low": 0.1, "high": 2.0}, {"low": -3.0, "high": 3.0}),
    "pseudo_huber": ({"low": 0.2, "high": 2.0}, {"low": -3.0, "high": 3.0}),
    "betaln": ({"low": 0.2, "high": 4.0}, {"low": 0.2, "high": 4.0}),
    "beta": ({"low": 0.3, "high": 3.0}, {"low": 0.3, "high": 3.0}),
}
ALIASES = {"sinc": {}, "expm1": {}, "log1p": {"low": -0.5, "high": 3.0}, "exp2": {},
           "cbrt": {"low": 0.2, "high": 3.0}, "softplus": {}}
TORCH_HAS = ("erf", "erfc", "erfcx", "erfinv", "expit", "logit", "ndtr", "ndtri", "log_ndtr",
             "gammaln", "digamma", "psi", "i0", "i0e", "i1", "i1e", "entr")


def _close(actual, desired, **kwargs):
    """Like ``assert_allclose``, with NaN equal to NaN (and infinities compared exactly)."""
    np.testing.assert_allclose(actual.numpy(), desired, **kwargs)


def _f(name):
    return getattr(ag.special, name)


def _drawn_pair(data, name):
    dom_x, dom_y = BINARY[name]
    sx, sy = data.draw(broadcastable_pair(max_dims=2))
    x, y = data.draw(values(sx, **dom_x)), data.draw(values(sy, **dom_y))
    if name == "huber":  # keep clear of the kink at |r| = delta
        y = np.where(np.abs(np.abs(y) - x) < 0.05, y + 0.2, y)
    return x, y


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary_values_and_gradients(backend, name, data):
    x = data.draw(values(data.draw(shapes(max_dims=2, max_side=3)), **UNARY[name]))
    t = backend.tensor(x, requires_grad=True)
    assert_allclose(_f(name)(t), getattr(sp, name)(x), rtol=RTOL, atol=ATOL)
    gradcheck(_f(name), t)


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_values_and_gradients_with_broadcasting(backend, name, data):
    x, y = _drawn_pair(data, name)
    tx, ty = backend.tensor(x, requires_grad=True), backend.tensor(y, requires_grad=True)
    assert_allclose(_f(name)(tx, ty), getattr(sp, name)(x, y), rtol=RTOL, atol=ATOL)
    gradcheck(_f(name), tx, ty)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
@SETTINGS
@given(data=st.data())
def test_polygamma(backend, n, data):
    x = data.draw(values(data.draw(shapes(max_dims=2, max_side=3)), low=0.3, high=4.0))
    t = backend.tensor(x, requires_grad=True)
    assert_allclose(ag.special.polygamma(n, t), sp.polygamma(n, x), rtol=RTOL, atol=ATOL)
    gradcheck(lambda v: ag.special.polygamma(n, v), t)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_multigammaln(backend, d):
    a = np.array([[(d - 1) / 2 + 0.3, 1.7, 4.2], [2.5, 3.1, 6.0]])
    t = backend.tensor(a, requires_grad=True)
    assert_allclose(ag.special.multigammaln(t, d), sp.multigammaln(a, d), rtol=RTOL)
    gradcheck(lambda v: ag.special.multigammaln(v, d), t)
    below = ag.special.multigammaln(backend.tensor([(d - 1) / 2]), d)  # SciPy raises there
    assert np.isnan(below.numpy()).all()


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_elementary_functions_scipy_also_exports(backend, name):
    x = np.linspace(ALIASES[name].get("low", -2.0), ALIASES[name].get("high", 2.0), 7)
    t = backend.tensor(x, requires_grad=True)
    assert_allclose(_f(name)(t), getattr(sp, name)(x), rtol=RTOL, atol=ATOL)
    gradcheck(_f(name), t)


# -- reductions: SciPy's axis=None means every element -------------------------------------
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp(backend, axis, keepdims):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3, 4)), rng.uniform(0.1, 2.0, (3, 1))
    ta, tb = backend.tensor(a, requires_grad=True), backend.tensor(b, requires_grad=True)
    lse = ag.special.logsumexp
    assert_allclose(lse(ta, axis=axis, keepdims=keepdims),
                    sp.logsumexp(a, axis=axis, keepdims=keepdims), rtol=1e-12)
    assert_allclose(lse(ta, axis=axis, b=tb, keepdims=keepdims),
                    sp.logsumexp(a, axis=axis, b=b, keepdims=keepdims), rtol=1e-12)
    gradcheck(lambda u, v: lse(u, axis=axis, b=v, keepdims=keepdims), ta, tb)


def test_logsumexp_signed_weights(backend):
    a, b = np.array([[0.5, 1.0, -0.3], [2.0, 0.1, 0.4]]), np.array([1.0, -2.0, 0.5])
    ta, tb = backend.tensor(a, requires_grad=True), backend.tensor(b, requires_grad=True)
    out, sign = ag.special.logsumexp(ta, axis=1, b=tb, return_sign=True)
    want, want_sign = sp.logsumexp(a, axis=1, b=b, return_sign=True)
    assert_allclose(out, want, rtol=1e-12)
    assert_allclose(sign, want_sign)
    with np.errstate(invalid="ignore"):
        _close(ag.special.logsumexp(ta, axis=1, b=tb), sp.logsumexp(a, axis=1, b=b))
    gradcheck(lambda u, v: ag.special.logsumexp(u, axis=1, b=v, return_sign=True)[0], ta, tb)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 1, (0, 1)])
def test_softmax(backend, name, axis):
    x = np.random.default_rng(2).standard_normal((3, 4))
    t = backend.tensor(x, requires_grad=True)
    assert_allclose(_f(name)(t, axis=axis), getattr(sp, name)(x, axis=axis), rtol=1e-12)
    gradcheck(lambda v: _f(name)(v, axis=axis), t)


# -- second derivatives: the rules record with xp = anygrad -----------------------------------
SECOND = {"erf": (-1.5, 1.5), "log_ndtr": (-4.0, 2.0), "gammaln": (0.3, 4.0),
          "digamma": (0.3, 4.0), "i1": (-2.0, 2.0), "i1e": (-2.0, 2.0), "expit": (-3.0, 3.0),
          "log_expit": (-3.0, 3.0), "ndtri": (0.1, 0.9), "erfcinv": (0.2, 1.8)}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivatives(backend, name):
    t = backend.tensor(np.linspace(*SECOND[name], 5), requires_grad=True)
    gradgradcheck(_f(name), t)


@pytest.mark.parametrize("name", ["xlogy", "betaln", "pseudo_huber", "kl_div"])
def test_second_derivatives_binary(backend, name):
    x = backend.tensor([0.4, 1.3, 2.2], requires_grad=True)
    y = backend.tensor([[0.7], [1.9]], requires_grad=True)
    gradgradcheck(_f(name), x, y)


def test_polygamma_third_derivative(backend):
    x = backend.tensor([0.7, 1.5, 3.0], requires_grad=True)
    (g,) = ag.autograd.grad(ag.special.gammaln(x).sum(), x, create_graph=True)
    (h,) = ag.autograd.grad(g.sum(), x, create_graph=True)
    (k,) = ag.autograd.grad(h.sum(), x)
    assert_allclose(k, sp.polygamma(2, x.numpy()), rtol=RTOL)


# -- dtypes and devices ------------------------------------------------------------------------
def _call(name, t, u):
    if name in BINARY:
        return _f(name)(t, u)
    if name == "polygamma":
        return ag.special.polygamma(1, t)
    if name == "multigammaln":
        return ag.special.multigammaln(t, 2)
    return _f(name)(t)


ALL = sorted({*UNARY, *BINARY, "polygamma", "multigammaln"})
INSIDE = np.array([0.55, 0.7, 0.85])  # in every function's domain


@pytest.mark.parametrize("name", ALL)
def test_float32_stays_float32(backend, name):
    t = backend.tensor(INSIDE.astype(np.float32), requires_grad=True)
    u = backend.tensor(INSIDE[::-1].copy().astype(np.float32), requires_grad=True)
    out = _call(name, t, u)
    assert out.dtype == ag.float32
    out.sum().backward()
    assert t.grad.dtype == ag.float32
    if name in BINARY:
        assert u.grad.dtype == ag.float32
    want = _call(name, backend.tensor(INSIDE), backend.tensor(INSIDE[::-1].copy()))
    assert_allclose(out, want, rtol=2e-5, atol=1e-6)


def test_integers_become_float64(backend):
    out = ag.special.gammaln(backend.tensor(np.array([1, 2, 5])))
    assert out.dtype == ag.float64
    assert_allclose(out, sp.gammaln([1.0, 2.0, 5.0]), rtol=RTOL, atol=ATOL)
    assert ag.special.xlogy(backend.tensor(np.array([2, 3])), 2).dtype == ag.float64


def test_python_numbers_take_the_tensors_dtype(backend):
    t = backend.tensor(np.array([0.5, 2.0], np.float32), requires_grad=True)
    assert ag.special.xlogy(2, t).dtype == ag.float32
    assert ag.special.huber(1.0, t).dtype == ag.float32
    assert_allclose(ag.special.xlogy(t, 3.0), sp.xlogy([0.5, 2.0], 3.0), rtol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_device_kept(two_devices, name):
    dev = two_devices[1]
    t = ag.Tensor(INSIDE, device=dev, requires_grad=True)
    u = ag.Tensor(INSIDE[::-1].copy(), device=dev, requires_grad=True)
    out = _call(name, t, u)
    assert out.device == t.device
    out.sum().backward()
    assert t.grad.device == t.device
    if name in BINARY:
        assert u.grad.device == u.device


def test_devices_do_not_mix(two_devices):
    a, b = two_devices
    with pytest.raises(ag.DeviceError, match="xlogy"):
        ag.special.xlogy(ag.Tensor([1.0], device=a), ag.Tensor([2.0], device=b))


# -- domain edges, with torch's gradient conventions --------------------------------------------
EDGES = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 1/0 in the rules
def _grads(fn, *arrays):
    ts = [ag.Tensor(a, requires_grad=True) for a in arrays]
    fn(*ts).sum().backward()
    return [t.grad.numpy() for t in ts]


def _torch_grads(torch_fn, *arrays):
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch_fn(*ts).sum().backward()
    return [t.grad.numpy() for t in ts]


@EDGES
def test_logit_at_0_and_1(backend):
    t = backend.tensor([0.0, 1.0, 0.5], requires_grad=True)
    out = ag.special.logit(t)
    _close(out, [-np.inf, np.inf, 0.0])
    out.sum().backward()
    _close(t.grad, [np.inf, np.inf, 4.0])


@EDGES
def test_xlogy_at_zero(backend):
    x, y = backend.tensor([0.0, 0.0, 0.0, 2.0], requires_grad=True), \
        backend.tensor([0.0, 3.0, -1.0, 3.0], requires_grad=True)
    out = ag.special.xlogy(x, y)
    _close(out, sp.xlogy([0.0, 0.0, 0.0, 2.0], [0.0, 3.0, -1.0, 3.0]))
    out.sum().backward()
    assert_allclose(x.grad, [0.0, np.log(3.0), 0.0, np.log(3.0)])  # torch's convention
    _close(y.grad, [np.nan, 0.0, -0.0, 2 / 3])


@EDGES
@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_family_gradients_equal_torch(name):
    torch = pytest.importorskip("torch")
    x = np.array([0.0, 0.0, 0.0, 1.5, -0.5, 0.0])
    y = np.array([0.0, 2.0, -1.0, 0.7, 2.0, -3.0])
    with np.errstate(all="ignore"):
        want_value = getattr(sp, name)(x, y)
    _close(_f(name)(ag.Tensor(x), ag.Tensor(y)), want_value)
    ours = _grads(_f(name), x, y)
    theirs = _torch_grads(getattr(torch.special, name), x, y)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o, t, rtol=1e-12)


@pytest.mark.parametrize("name", TORCH_HAS)
def test_gradients_equal_torch(name):
    torch = pytest.importorskip("torch")
    dom = UNARY[name]
    x = np.linspace(dom.get("low", -2.0), dom.get("high", 2.0), 9)
    ours = _grads(_f(name), x)
    theirs = _torch_grads(getattr(torch.special, name), x)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=1e-12)


@EDGES
def test_entr_edges(backend):
    t = backend.tensor([0.0, -1.0, 1.0], requires_grad=True)
    out = ag.special.entr(t)
    _close(out, [0.0, -np.inf, 0.0])
    out.sum().backward()
    _close(t.grad, [np.inf, np.nan, -1.0])  # torch's -(1 + log x)


def test_scipy_edge_values(backend):
    def check(name, *args):
        with np.errstate(all="ignore"):
            want = getattr(sp, name)(*args)
        got = _f(name)(*(backend.tensor(np.asarray(a, dtype=np.float64)) for a in args))
        _close(got, want, err_msg=name)

    check("rel_entr", [0.0, 0.0, 1.0, -1.0, np.nan], [0.0, -1.0, 0.0, 1.0, 1.0])
    check("kl_div", [0.0, 0.0, 1.0, np.nan], [2.0, -1.0, 0.0, 1.0])
    check("huber", [-1.0, 0.0, 1.0, 1.0], [2.0, 2.0, 0.5, -3.0])
    check("pseudo_huber", [-1.0, 0.0, 1.0, 1e-3], [1.0, 2.0, 0.0, 1e-9])
    check("erfinv", [1.0, -1.0, 2.0])
    check("ndtri", [0.0, 1.0])
    check("erfcinv", [1e-300, 2.0, 0.0])
    check("log_expit", [-800.0, 800.0])
    check("expit", [-800.0, 800.0])
    check("gamma", [-1.5, 0.5])


def test_pseudo_huber_delta_gradient_at_zero(backend):
    d = backend.tensor([0.0, 0.0], requires_grad=True)
    ag.special.pseudo_huber(d, backend.tensor([2.0, -3.0])).sum().backward()
    assert_allclose(d.grad, [2.0, 3.0])  # the one-sided limit |r|


# -- typed errors --------------------------------------------------------------------------------
def test_bad_input_raises_typed_errors(backend):
    t = backend.tensor([0.5, 1.5])
    with pytest.raises(ag.DTypeError, match="erf"):
        ag.special.erf(backend.tensor(np.array([1 + 2j])))
    with pytest.raises(ag.DTypeError, match="xlogy"):
        ag.special.xlogy("a", t)
    with pytest.raises(ag.DTypeError, match="polygamma"):
        ag.special.polygamma(1.5, t)
    with pytest.raises(ag.DomainError, match="polygamma"):
        ag.special.polygamma(-1, t)
    with pytest.raises(ag.DomainError, match="multigammaln"):
        ag.special.multigammaln(t, 0)
    with pytest.raises(ag.ShapeError, match="betaln"):
        ag.special.betaln(backend.tensor([1.0, 2.0]), backend.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ag.AxisError):
        ag.special.logsumexp(t, axis=3)


def test_without_scipy_formulas_work_and_the_rest_raise(backend, monkeypatch):
    from anygrad.backends import special as libraries
    monkeypatch.setattr(libraries, "_scipy_special", lambda: None)
    monkeypatch.setattr(libraries, "_found", {})
    t = backend.tensor([0.2, 0.7], requires_grad=True)
    assert_allclose(ag.special.xlogy(t, 3.0), sp.xlogy([0.2, 0.7], 3.0), rtol=1e-12)
    if backend.name == "torch":  # torch.special has it, SciPy or not
        assert_allclose(ag.special.gammaln(t), sp.gammaln([0.2, 0.7]), rtol=RTOL)
    else:
        with pytest.raises(ag.BackendUnavailableError, match=r"gammaln.*anygrad\[special\]"):
            ag.special.gammaln(t).numpy()


def test_lazy_mode_defers_special_functions(backend):
    from anygrad.lazy.graph import LazyTensor
    x = backend.tensor([0.3, 0.8], requires_grad=True)
    with ag.lazy():
        y = ag.special.betaln(ag.special.erf(x), 2.0) + ag.special.polygamma(1, x)
        assert type(y) is LazyTensor and y.shape == (2,) and y.dtype == ag.float64
        y.sum().backward()
    want = sp.psi(sp.erf([0.3, 0.8])) - sp.psi(sp.erf([0.3, 0.8]) + 2)
    want = want * 2 / np.sqrt(np.pi) * np.exp(-np.array([0.09, 0.64])) + sp.polygamma(2, [0.3, 0.8])
    assert_allclose(x.grad, want, rtol=1e-9)


# -- SciPy's dispatch: ``scipy.special.f(tensor)`` comes here with SCIPY_ARRAY_API=1 ------------
_DISPATCH = textwrap.dedent("""
    import os, sys
    import numpy as np
    import scipy.special as sp
    import anygrad as ag
    from anygrad.testing import assert_allclose, gradcheck

    x = np.array([0.2, 0.45, 0.7, 0.9])
    y = np.array([1.3, 0.6, 2.0, 0.8])
    cases = {"erf": (x,), "erfc": (x,), "expit": (x,), "logit": (x,), "ndtri": (x,),
             "gammaln": (x,), "psi": (x,), "digamma": (x,), "i0e": (x,), "i1": (x,),
             "entr": (x,), "xlogy": (x, y), "rel_entr": (x, y), "huber": (x, y),
             "betaln": (x, y)}
    with ag.mode("lazy" if os.environ.get("ANYGRAD_TEST_MODE", "eager") != "eager" else "eager"):
        for name, args in cases.items():
            want = getattr(sp, name)(*args)           # NumPy in, SciPy's own
            ts = [ag.Tensor(a, requires_grad=True) for a in args]
            got = getattr(sp, name)(*ts)              # anygrad in: anygrad.special
            assert isinstance(got, ag.Tensor) and got.requires_grad, (name, type(got))
            assert_allclose(got, want, rtol=1e-12, err_msg=name)
            gradcheck(getattr(sp, name), ts)
        t = ag.Tensor(x, requires_grad=True)
        got = sp.polygamma(1, t)
        assert isinstance(got, ag.Tensor)
        assert_allclose(got, sp.polygamma(1, x), rtol=1e-12)
        got.sum().backward()
        assert_allclose(t.grad, sp.polygamma(2, x), rtol=1e-9)
    print("ok")
""")


def test_scipy_dispatches_to_anygrad_special():
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    run = subprocess.run([sys.executable, "-c", _DISPATCH], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")
