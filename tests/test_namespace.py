"""``anygrad`` as an Array-API namespace: the namespace itself, dtype functions, creation on
devices, writing into tensors (``x[k] = v``, ``x += y``), repeated-index gradients, einsum,
operators, generic Array-API code, and a torch cross-check of some derivative rules."""

from __future__ import annotations

import importlib.util
import math
import sys

import array_api_strict as strict
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.array_api import make_strategies_namespace

import anygrad as ag
from anygrad.testing import gradcheck

SETTINGS = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


# -- the namespace ----------------------------------------------------------------------------
def test_tensor_namespace_is_the_module(backend):
    t = backend.tensor([1.0, 2.0])
    assert t.__array_namespace__() is ag
    assert t.__array_namespace__(api_version="2023.12") is ag
    with pytest.raises(ValueError, match="2099.12"):
        t.__array_namespace__(api_version="2099.12")
    assert ag.__array_api_version__ == "2024.12"
    assert (ag.e, ag.pi, ag.inf) == (math.e, math.pi, math.inf) and math.isnan(ag.nan)
    assert ag.newaxis is None
    assert t[ag.newaxis].shape == (1, 2)


def _public(module):
    """The functions, constants and dtypes array-api-strict defines (not its own extras)."""
    return [n for n, v in vars(module).items() if not n.startswith("_") and "strict" not in n
            and (getattr(v, "__module__", "").startswith("array_api_strict")
                 or isinstance(v, float | type(None)))
            and not isinstance(v, type)]


def test_every_function_of_the_standard_is_there():
    assert [n for n in _public(strict) if not hasattr(ag, n)] == []
    for ext in ("linalg", "fft"):
        module = getattr(strict, ext)
        names = [n for n in _public(module) if vars(module)[n].__module__ == module.__name__]
        assert len(names) > 10
        assert [n for n in names if not hasattr(getattr(ag, ext), n)] == []


def test_hypothesis_accepts_the_namespace(backend):
    xps = make_strategies_namespace(ag)
    assert xps.api_version == "2024.12"

    @settings(max_examples=5, deadline=None)
    @given(x=xps.arrays(xps.scalar_dtypes(), xps.array_shapes(max_side=3)))
    def drawn(x):
        assert isinstance(x, ag.Tensor) and x.device == backend.device
        assert not x.requires_grad

    drawn()


def test_namespace_info(backend):
    info = ag.__array_namespace_info__()
    assert info.default_device() == backend.device
    assert info.default_dtypes()["real floating"] == ag.float64
    assert set(info.dtypes(kind="integral")) == {"int8", "int16", "int32", "int64", "uint8",
                                                 "uint16", "uint32", "uint64"}
    assert info.capabilities()["boolean indexing"]
    assert ag.device("cpu") in info.devices()


# -- dtype functions, against array-api-strict -------------------------------------------------
DTYPES = [d.name for d in ag.dtypes.ALL if hasattr(strict, d.name)]


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("b", DTYPES)
def test_result_type_and_can_cast_match_strict(a, b):
    try:
        want = strict.result_type(getattr(strict, a), getattr(strict, b))
    except TypeError:
        with pytest.raises(ag.DTypeError):
            ag.result_type(getattr(ag, a), getattr(ag, b))
    else:
        assert ag.result_type(getattr(ag, a), getattr(ag, b)) == want
    assert ag.can_cast(getattr(ag, a), getattr(ag, b)) == strict.can_cast(
        getattr(strict, a), getattr(strict, b))


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5, 1j])
def test_result_type_with_python_scalars_matches_strict(a, scalar):
    try:
        want = strict.result_type(getattr(strict, a), scalar)
    except TypeError:
        with pytest.raises(ag.DTypeError):
            ag.result_type(getattr(ag, a), scalar)
    else:
        assert ag.result_type(getattr(ag, a), scalar) == want


@pytest.mark.parametrize("name", DTYPES)
def test_dtype_info_matches_strict(name):
    dt, sdt = getattr(ag, name), getattr(strict, name)
    for kind in ("bool", "signed integer", "unsigned integer", "integral", "real floating",
                 "complex floating", "numeric", ("bool", "real floating")):
        assert ag.isdtype(dt, kind) == strict.isdtype(sdt, kind)
    if ag.isdtype(dt, "integral"):
        got, want = ag.iinfo(dt), strict.iinfo(sdt)
        assert (got.bits, got.min, got.max) == (want.bits, want.min, want.max)
    if ag.isdtype(dt, ("real floating", "complex floating")):
        got, want = ag.finfo(dt), strict.finfo(sdt)
        assert (got.bits, got.eps, got.max, got.min, got.smallest_normal) == (
            want.bits, want.eps, want.max, want.min, want.smallest_normal)


def test_result_type_with_tensors_and_scalars(backend):
    x = backend.tensor(np.ones(2, np.float32))
    assert ag.result_type(x, 1.5) == ag.float32
    assert ag.result_type(x, ag.float64) == ag.float64
    assert ag.result_type(backend.tensor([1, 2]), 3) == ag.int64
    with pytest.raises(ag.DTypeError):
        ag.result_type(backend.tensor([True]), 1.0)


# -- creation ---------------------------------------------------------------------------------
CREATORS = {
    "zeros": lambda **kw: ag.zeros((2, 3), **kw),
    "ones": lambda **kw: ag.ones(3, **kw),
    "empty": lambda **kw: ag.empty((1, 2), **kw),
    "full": lambda **kw: ag.full((2,), 1.5, **kw),
    "eye": lambda **kw: ag.eye(3, 2, k=1, **kw),
    "arange": lambda **kw: ag.arange(0.0, 2.0, 0.5, **kw),
    "linspace": lambda **kw: ag.linspace(0.0, 1.0, 5, **kw),
    "asarray": lambda **kw: ag.asarray([[1.0, 2.0]], **kw),
}


@pytest.mark.parametrize("name", sorted(CREATORS))
def test_creation_honours_device(two_devices, name):
    for dev in two_devices:
        t = CREATORS[name](device=dev)
        assert t.device == dev and not t.requires_grad and t.dtype == ag.float64
        assert t.numpy().dtype == np.float64
        like = ag.zeros_like(t)
        assert like.device == dev and like.shape == t.shape
        assert ag.ones_like(t, device=two_devices[0]).device == two_devices[0]
        assert ag.full_like(t, 2, dtype=ag.int32).dtype == ag.int32


def test_creation_defaults(backend):
    assert ag.arange(5).dtype == ag.int64 and ag.arange(5).device == backend.device
    assert ag.full((2,), True).dtype == ag.bool
    assert ag.full((2,), 3).dtype == ag.int64
    assert ag.zeros(2, dtype=ag.float32).dtype == ag.float32
    np.testing.assert_allclose(ag.linspace(0, 1, 3, endpoint=False).numpy(), [0, 1 / 3, 2 / 3])
    np.testing.assert_array_equal(ag.eye(2).numpy(), np.eye(2))
    x = backend.tensor([1.0, 2.0])
    assert ag.asarray(x) is x
    y = ag.asarray(x, copy=True)
    assert y is not x and y.requires_grad  # a copy stays in the graph
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1])
    assert ag.asarray(x, dtype=ag.float32).dtype == ag.float32
    assert ag.from_dlpack(np.arange(3.0)).device == backend.device


# -- writing into tensors ---------------------------------------------------------------------
def test_setitem_sends_gradients_to_both_sides(backend):
    x = backend.tensor([1.0, 2.0, 3.0, 4.0])
    v = backend.tensor([10.0, 20.0])
    z = x * 1.0
    z[1:3] = v * v
    assert z.requires_grad and not z.is_leaf
    np.testing.assert_array_equal(z.numpy(), [1, 100, 400, 4])
    (z * backend.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 0, 4])
    np.testing.assert_array_equal(v.grad.numpy(), [2 * 10 * 2, 2 * 20 * 3])


@SETTINGS
@given(data=st.data())
def test_setitem_gradcheck(backend, data):
    n = data.draw(st.integers(2, 4))
    k = data.draw(st.integers(0, n - 1))
    x = backend.tensor(np.linspace(-1, 1, 2 * n).reshape(2, n))
    v = backend.tensor(np.array([0.3, -0.7]))

    def fn(x, v):
        z = ag.exp(x)
        z[:, k] = v * z[:, 0]  # reads z before the write
        z[0, ...] = z[1, ...] * 2.0
        return z * z

    gradcheck(fn, x, v)


def test_writes_into_a_leaf_that_requires_grad(backend):
    """MyGrad's semantics: allowed and differentiable, the tensor keeping the gradient of its
    new value; under no_grad only the value changes (an optimiser's update)."""
    x = backend.tensor([1.0, 2.0])
    x[0] = 5.0
    x *= 2.0
    assert not x.is_leaf and x.retains_grad
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 8.0])
    y = backend.tensor([1.0, 2.0])
    with ag.no_grad():
        y -= backend.tensor([0.5, 0.5])
        y[1] = 7.0
    np.testing.assert_array_equal(y.numpy(), [0.5, 7.0])
    assert y.requires_grad and y.is_leaf


def test_setitem_into_a_constant(backend):
    w = backend.tensor([1.0, 2.0])
    out = ag.zeros(3)
    out[1:] = w * 2.0
    out[0] = 5.0
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2, 2])
    c = ag.zeros(2)
    c[0] = 1.0
    assert not c.requires_grad and c.numpy().tolist() == [1, 0]


def test_setitem_with_a_mask(backend):
    x = backend.tensor([-1.0, 2.0, -3.0])
    z = x * 1.0
    z[z < 0] = 0.0
    z.sum().backward()
    np.testing.assert_array_equal(z.numpy(), [0, 2, 0])
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 0])


def test_inplace_operators(backend):
    x = backend.tensor([1.0, 2.0])
    y = x * 1.0
    before = y
    y += x
    y *= 3.0
    y **= 2
    y -= 1.0
    y /= 2.0
    assert y is before  # the same object, now the output of the last op
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 36 * np.array([1.0, 2.0]) / 2)
    i = backend.tensor([5, 6])
    i //= 2
    i %= 2
    i <<= 2
    i >>= 1
    i |= 1
    i &= 3
    i ^= 1
    assert i.tolist() == [0, 2]
    with pytest.raises(ag.DTypeError):
        i += 1.5
    with pytest.raises(ag.ShapeError):
        z = ag.zeros(2)
        z += ag.ones((2, 2))


def test_earlier_readers_of_an_overwritten_tensor_keep_their_gradient(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    y = x * 2.0
    w = y * 3.0  # reads y before the write below
    y[0] = 100.0
    y += 1.0
    (w.sum() + y.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6, 8, 8])
    x.zero_grad()
    z = x * 1.0
    for i in range(3):  # each write reads a version that a later write replaces
        z[i] = z[(i + 1) % 3] * 2.0
    z.sum().backward()
    np.testing.assert_array_equal(z.numpy(), [4, 6, 8])
    np.testing.assert_array_equal(x.grad.numpy(), [0, 6, 2])


def test_writes_in_lazy_mode(backend):
    def run(x):
        z = x * 2.0
        z[0] = z[1] * 5.0
        z += 1.0
        return ag.sum(ag.sort(z) * ag.arange(3.0))

    x, y = backend.tensor([1.0, 2.0, 3.0]), backend.tensor([1.0, 2.0, 3.0])
    with ag.lazy():
        lazy = run(x)
    lazy.backward()
    eager = run(y)
    eager.backward()
    assert lazy.item() == eager.item()
    np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())


# -- indexing gradients ----------------------------------------------------------------------
def test_repeated_indices_accumulate(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    idx = backend.tensor([0, 2, 0, 0])
    (x[idx] * backend.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [8, 0, 2])
    x.zero_grad()
    ag.take(x, idx).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 0, 1])
    m = backend.tensor(np.arange(6.0).reshape(2, 3))
    ag.take_along_axis(m, backend.tensor([[0, 0], [2, 2]]), axis=1).sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), [[2, 0, 0], [0, 0, 2]])
    m.zero_grad()
    ag.repeat(m, backend.tensor([3, 0]), axis=0).sum().backward()
    np.testing.assert_array_equal(m.grad.numpy(), [[3, 3, 3], [0, 0, 0]])


def test_negative_steps_on_every_backend(backend):
    host = np.arange(12.0).reshape(3, 4)
    x = backend.tensor(host)
    np.testing.assert_array_equal(x[::-1, 3:0:-2].numpy(), host[::-1, 3:0:-2])
    x[::-1, 3:0:-2].sum().backward()
    assert x.grad.numpy().sum() == 6


# -- einsum -----------------------------------------------------------------------------------
EINSUMS = [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
           ("i,i->", [(3,), (3,)]), ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]),
           ("ij,kj,k->i", [(2, 3), (4, 3), (4,)]), ("...ij,...jk", [(2, 2, 3), (3, 2)]),
           ("i,j->ij", [(2,), (3,)]), ("ab,b,bc,cd->ad", [(2, 3), (3,), (3, 2), (2, 2)]),
           ("ij,ij->i", [(1, 3), (2, 3)]), ("ii->i", [(3, 3)]), ("iji->j", [(2, 3, 2)]),
           ("ii,ij->j", [(2, 2), (2, 3)])]


@pytest.mark.parametrize("spec,shapes", EINSUMS)
def test_einsum_matches_numpy_and_is_differentiable(backend, spec, shapes):
    rng = np.random.default_rng(0)
    host = [rng.uniform(-1, 1, s) for s in shapes]
    tensors = [backend.tensor(h) for h in host]
    np.testing.assert_allclose(ag.einsum(spec, *tensors).numpy(), np.einsum(spec, *host),
                               rtol=1e-10, atol=1e-12)
    gradcheck(lambda *xs: ag.einsum(spec, *xs), *tensors)


def test_einsum_without_opt_einsum(monkeypatch):
    monkeypatch.setitem(sys.modules, "opt_einsum", None)  # import fails: left to right
    a, b, c = (ag.Tensor(np.ones(s)) for s in [(2, 3), (3, 4), (4,)])
    np.testing.assert_allclose(ag.einsum("ij,jk,k->i", a, b, c).numpy(), [12, 12])


def test_einsum_refuses_mismatched_sizes():
    with pytest.raises(ag.ShapeError, match="sizes 2 and 3"):
        ag.einsum("ii->i", ag.Tensor(np.ones((2, 3))))


# -- operators and attributes ----------------------------------------------------------------
def test_operators_of_the_standard(backend):
    i = backend.tensor([5, 6, 7])
    assert (i // 2).tolist() == [2, 3, 3] and (17 // i).tolist() == [3, 2, 2]
    assert (i % 4).tolist() == [1, 2, 3] and (20 % i).tolist() == [0, 2, 6]
    assert (i & 3).tolist() == [1, 2, 3] and (3 & i).tolist() == [1, 2, 3]
    assert (i | 8).tolist() == [13, 14, 15] and (i ^ 1).tolist() == [4, 7, 6]
    assert (~i).tolist() == [-6, -7, -8]
    assert (i << 1).tolist() == [10, 12, 14] and (i >> 1).tolist() == [2, 3, 3]
    assert (1 << i).tolist() == [32, 64, 128] and (256 >> i).tolist() == [8, 4, 2]
    b = backend.tensor([True, False])
    assert (~b).tolist() == [False, True] and (b & True).tolist() == [True, False]
    m = backend.tensor(np.arange(6.0).reshape(2, 3))
    assert m.mT.shape == (3, 2) and m.T.shape == (3, 2)
    assert m.to_device(backend.device) is m
    assert complex(m[0, 1]) == 1 + 0j
    assert m.prod().item() == 0 and m.argmax().item() == 5
    np.testing.assert_allclose(m.var().item(), np.var(np.arange(6.0)))


def test_results_are_tensors_never_scalars(backend):
    x = backend.tensor([1.0, 2.0])
    for out in (ag.sum(x), ag.max(x), ag.argmax(x), ag.linalg.vector_norm(x), x[0],
                ag.count_nonzero(x), ag.all(x > 0), ag.linalg.det(ag.eye(2))):
        assert isinstance(out, ag.Tensor) and out.ndim == 0


def test_constants_from_non_differentiable_functions(backend):
    x = backend.tensor([1.5, -2.0, 3.0])
    for out in (ag.argsort(x), ag.isnan(x), ag.floor(x), ag.equal(x, x), ag.nonzero(x)[0],
                ag.unique_values(x), ag.searchsorted(ag.sort(x), x)):
        assert not out.requires_grad


def test_device_mismatch_is_a_clear_error(two_devices):
    a = ag.ones(2, device=two_devices[0])
    b = ag.ones(2, device=two_devices[1])
    with pytest.raises(ag.DeviceError, match="different devices"):
        ag.atan2(a, b)
    with pytest.raises(ag.DeviceError):
        a[0:1] = b[0:1]


# -- generic Array-API code runs on anygrad, differentiably ----------------------------------
def _logistic_loss(w, x, y):
    """Written against the standard only: it asks its arrays for their namespace."""
    xp = w.__array_namespace__()
    z = xp.matmul(x, w)
    loss = xp.logaddexp(xp.zeros_like(z), -y * z)
    return xp.mean(loss) + 0.1 * xp.linalg.vector_norm(w) ** 2


def test_generic_array_api_code(backend):
    rng = np.random.default_rng(1)
    w = backend.tensor(rng.normal(size=3))
    x = backend.tensor(rng.normal(size=(5, 3)), requires_grad=False)
    y = backend.tensor(np.sign(rng.normal(size=5)), requires_grad=False)
    want = _logistic_loss(strict.asarray(w.numpy()), strict.asarray(x.numpy()),
                          strict.asarray(y.numpy()))
    np.testing.assert_allclose(_logistic_loss(w, x, y).item(), float(want))
    gradcheck(lambda w: _logistic_loss(w, x, y), w)


# -- torch cross-check ------------------------------------------------------------------------
TORCH_CASES = {  # name: (anygrad, torch, input shape)
    "cholesky": (ag.linalg.cholesky, lambda t: __import__("torch").linalg.cholesky(t), (3, 3)),
    "logsumexp": (lambda t: ag.logsumexp(t, axis=1), lambda t: t.logsumexp(1), (2, 3)),
    "sort": (ag.sort, lambda t: t.sort().values, (5,)),
    "prod_with_a_zero": (ag.prod, lambda t: t.prod(), (4,)),
    "svdvals": (ag.linalg.svdvals, lambda t: __import__("torch").linalg.svdvals(t), (4, 3)),
    "pinv": (ag.linalg.pinv, lambda t: __import__("torch").linalg.pinv(t), (3, 2)),
    "std": (lambda t: ag.std(t, axis=1, correction=1), lambda t: t.std(1), (2, 4)),
    "eigh": (lambda t: ag.linalg.eigh(t).eigenvalues,
             lambda t: __import__("torch").linalg.eigh(t).eigenvalues, (3, 3)),
}


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_gradients_match_torch(name):
    import torch
    ours, theirs, shape = TORCH_CASES[name]
    rng = np.random.default_rng(2)
    host = rng.uniform(-1, 1, shape)
    if name == "prod_with_a_zero":
        host[1] = 0.0
    if name in ("cholesky", "eigh"):
        host = host @ host.T + 3 * np.eye(3)
    weight = rng.uniform(-1, 1, np.shape(ours(ag.Tensor(host)).numpy()))
    x = ag.Tensor(host)
    (ours(x) * ag.Tensor(weight)).sum().backward()
    tx = torch.tensor(host, requires_grad=True)
    (theirs(tx) * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
