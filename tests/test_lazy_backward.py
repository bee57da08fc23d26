"""backward() in lazy mode: forward and backward in one plan, made once per graph."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import anygrad as ag
from anygrad.lazy import backward as lazy_backward
from anygrad.lazy import cache


@pytest.fixture
def rules_recorded(monkeypatch):
    """How many times the derivative rules were run on deferred tensors."""
    calls = []
    record = lazy_backward._record

    def counting(*args):
        calls.append(1)
        return record(*args)

    monkeypatch.setattr(lazy_backward, "_record", counting)
    return calls


def _mlp(backend, dtype):
    rng = np.random.default_rng(0)
    params = [backend.tensor(rng.standard_normal((4, 5)), dtype=dtype),
              backend.tensor(rng.standard_normal(5), dtype=dtype),
              backend.tensor(rng.standard_normal((5, 3)), dtype=dtype)]
    x = backend.tensor(rng.standard_normal((6, 4)), dtype=dtype, requires_grad=False)
    onehot = backend.tensor(np.eye(3)[[0, 1, 2, 0, 1, 2]], dtype=dtype, requires_grad=False)
    return params, x, onehot


def _step(params, x, onehot, lazy):
    w1, b1, w2 = params
    with ag.mode("lazy" if lazy else "eager"):
        h = ag.maximum(x @ w1 + b1, 0.0)
        logits = h @ w2
        z = logits - logits.max(axis=1, keepdims=True)
        loss = -(onehot * (z - ag.log(ag.exp(z).sum(axis=1, keepdims=True)))).sum() / 6
        loss.backward()
    grads = [p.grad.numpy() for p in params]
    assert all(p.grad.dtype == p.dtype and p.grad.device == p.device for p in params)
    with ag.no_grad():
        for p in params:
            p.data = p.data - 0.1 * p.grad.data
            p.grad = None
    return loss.item(), grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_training_loop_plans_its_step_once(backend, rules_recorded, dtype):
    """Step after step: eager mode's losses and gradients (dtype and device kept), the rules
    run on the first step only, and each later step is one hit of the plan cache."""
    eager, lazy = _mlp(backend, dtype), _mlp(backend, dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for step in range(4):
        hits = cache.stats.hits
        loss_e, grads_e = _step(*eager, lazy=False)
        loss_l, grads_l = _step(*lazy, lazy=True)
        assert loss_l == pytest.approx(loss_e, rel=tol)
        for a, b in zip(grads_e, grads_l, strict=True):
            np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
        if step:
            assert cache.stats.hits - hits == 1
    assert len(rules_recorded) == 1


def test_intermediates_keep_their_values_and_lose_their_graph(rules_recorded):
    x = ag.Tensor(np.arange(1.0, 5.0))
    for _ in range(2):
        with ag.lazy():
            a = x * 2
            b = ag.exp(a)
            loss = (b * x).sum()  # b * x: only the graph holds it
            loss.backward()
        np.testing.assert_allclose(a.numpy(), np.arange(2.0, 10.0, 2))
        np.testing.assert_allclose(b.numpy(), np.exp(np.arange(2.0, 10.0, 2)))
        np.testing.assert_allclose(x.grad.numpy(), np.exp(2 * x.numpy()) * (1 + 2 * x.numpy()))
        assert a._parents is None and b._parents is None  # freed, as the engine frees them
        with pytest.raises(ag.GraphError):
            loss.backward()
        x.grad = None
    assert len(rules_recorded) == 1


def test_retain_graph_allows_another_backward(backend):
    w = backend.tensor([1.0, 2.0, 3.0])
    for _ in range(2):
        with ag.lazy():
            h = ag.tanh(w) * w
            loss = (h * h).sum()
            loss.backward(retain_graph=True)
            loss.backward()
        expected = 2 * 2 * (np.tanh(w.numpy()) * w.numpy()) * (
            (1 - np.tanh(w.numpy()) ** 2) * w.numpy() + np.tanh(w.numpy()))
        np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)
        w.grad = None


def test_a_given_grad_is_read_every_step(backend, rules_recorded):
    w = backend.tensor([1.0, 2.0])
    for scale in (1.0, 3.0, -2.0):
        with ag.lazy():
            (w * w).backward(backend.tensor([scale, 10 * scale]))
        np.testing.assert_allclose(w.grad.numpy(), [2 * scale, 40 * scale])
        w.grad = None
    assert len(rules_recorded) == 1


def test_a_gradient_is_never_the_plans_own_constant():
    """``reshape``'s gradient is a view of the seed (ones the plan keeps): it is copied."""
    w = ag.Tensor([3.0])
    for _ in range(3):
        with ag.lazy():
            ag.reshape(w, ()).backward()
        assert w.grad.item() == 1.0
        w.grad.data[...] = 5.0  # the user may write into a gradient
        w.grad = None


def test_graphs_the_plan_cannot_serve_take_the_engine(rules_recorded):
    """A target computed eagerly (it has a graph of its own), and integer-array indexing
    (its index arrays are parameters: a plan cannot tell one from another) get eager mode's
    gradients; the second kind learns it once."""
    w = ag.Tensor([1.0, 2.0, 3.0])
    idx = ag.Tensor(np.array([0, 2, 2]), requires_grad=False)
    for _ in range(2):
        with ag.eager():
            h = w * 2  # its own graph
        with ag.lazy():
            (h * h).sum().backward()
            (w[idx] * w[idx]).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), [8 + 2, 16, 24 + 2 * 2 * 3])
        w.grad = None
    assert len(rules_recorded) == 1


def _peak(fn) -> int:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def test_training_releases_what_only_the_graph_holds():
    """Forward results nobody holds are released once backward has read them (and their
    buffers reused), as the eager engine frees them: lazy training needs no more memory."""
    x = ag.Tensor(np.linspace(-2, 2, 200_000))

    def step(lazy):
        with ag.mode("lazy" if lazy else "eager"):
            y = x
            for _ in range(6):
                y = ag.sin(y) * 1.5 + y
            y.sum().backward()
        x.grad = None

    step(True)
    eager, lazy = _peak(lambda: step(False)), _peak(lambda: step(True))
    assert lazy <= eager


def test_what_depends_on_constants_only_is_computed_once():
    """The default seed's share of the backward (mean's 1/n, the seed's reshapes) is computed
    when the step is planned, not every step; a seed the caller gives changes, so it is read."""
    from anygrad import backends

    from .test_core import CountingBackend

    with backends.registered({"counting": CountingBackend}):
        w = ag.Tensor(np.arange(1.0, 7.0).reshape(2, 3), device="counting")
        counted = type(w.backend.counted)

        def calls(seed):
            before = counted.calls
            with ag.lazy():
                (w * w).mean().backward(seed)
            np.testing.assert_allclose(w.grad.numpy(), w.numpy() / 3)
            w.grad = None
            return counted.calls - before

        one = ag.Tensor(1.0, device="counting")
        default, given = [calls(None) for _ in range(3)], [calls(one) for _ in range(3)]
        assert default[1] == default[2] < given[1] == given[2]


def test_a_gradient_that_is_a_constant_itself():
    """d(sum(3 w))/dw reads no forward value: it is computed each step all the same, and
    handed out as an array of its own each time."""
    w = ag.Tensor([1.0, 2.0])
    grads = []
    for _ in range(3):
        with ag.lazy():
            (w * 3).sum().backward()
        grads.append(w.grad)
        w.grad = None
    for g in grads:
        np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])
    assert len({id(g.data) for g in grads}) == 3
