"""Lazy mode: deferred tensors, realize(), the scheduler's guarantees, the plan cache."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import anygrad as ag
from anygrad import backends
from anygrad._tensor import Tensor
from anygrad.lazy import cache, pending
from anygrad.lazy.schedule import trace

from .test_core import CountingBackend


# -- the API -----------------------------------------------------------------------------
@pytest.fixture
def eager_start():
    """These tests start from eager mode, even when the suite runs in lazy mode."""
    with ag.eager():
        yield


def test_modes_switch_and_nest(eager_start):
    assert not ag.is_lazy()
    with ag.lazy():
        assert ag.is_lazy()
        with ag.mode("eager"):
            assert not ag.is_lazy()
        with ag.eager():
            assert not ag.is_lazy()
        assert ag.is_lazy()
    assert not ag.is_lazy()
    with ag.mode("lazy"):
        assert ag.is_lazy()
    with pytest.raises(ValueError, match="lazy.*eager"):
        ag.set_mode("later")

    @ag.lazy
    def f(x):
        return x * 2, ag.is_lazy()

    y, flag = f(ag.Tensor([1.0]))
    assert flag and pending(y) and not ag.is_lazy()


def test_set_mode_is_per_thread(eager_start):
    seen = []

    def worker():
        ag.set_mode("lazy")
        seen.append(ag.is_lazy())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [True] and not ag.is_lazy()
    ag.set_mode("lazy")
    try:
        assert ag.is_lazy()
    finally:
        ag.set_mode("eager")


def test_deferred_tensor_knows_shape_and_dtype(backend):
    x = backend.tensor(np.ones((2, 3)), dtype=ag.float32)
    with ag.lazy():
        y = (ag.exp(x) * 2 + 1).sum(axis=0, keepdims=True)
        z = y @ backend.tensor(np.ones((3, 4)), dtype=ag.float32)
    for t, shape in ((y, (1, 3)), (z, (1, 4))):
        assert pending(t)
        assert t.shape == shape and t.ndim == 2 and t.dtype == ag.float32
        assert t.device == x.device and t.requires_grad and not t.is_leaf
    assert pending(z)  # asking shape, dtype and device computed nothing
    np.testing.assert_allclose(z.numpy(), np.full((1, 4), 6 * (2 * np.e + 1)), rtol=1e-6)
    assert not pending(z) and type(z) is Tensor


def test_values_realize_on_demand(backend):
    x = backend.tensor([1.0, 2.0])
    with ag.lazy():
        a, b, c, d = x * 2, x + 1, (x * x).sum(), x - 1
        assert a.realize() is a and not pending(a)
        assert c.item() == 5.0
        assert "Tensor(" in repr(b) and not pending(b)
        assert float(d.sum()) == 1.0
    e = ag.Tensor([3.0]).realize()
    assert type(e) is Tensor  # a no-op on eager tensors


def test_eager_ops_on_deferred_tensors_realize_them(backend, eager_start):
    x = backend.tensor([1.0, 2.0])
    with ag.lazy():
        y = x * 3
    z = y + 1  # eager mode
    assert not pending(z)
    np.testing.assert_allclose(z.numpy(), [4.0, 7.0])


def test_requires_grad_no_grad_and_leaves_as_in_eager(backend):
    x = backend.tensor([1.0, 2.0])
    c = backend.tensor([1.0, 2.0], requires_grad=False)
    with ag.lazy():
        y = x * c
        k = c * 2
        with ag.no_grad():
            n = x * 2
        cmp = x > 1
    assert y.requires_grad and not y.is_leaf and y.op is not None
    assert not k.requires_grad and k.is_leaf and k.op is None
    assert not n.requires_grad and n.is_leaf
    assert not cmp.requires_grad and cmp.dtype == ag.bool
    with pytest.raises(ag.GraphError):
        n.backward()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0])


def _mlp_grads(backend, lazy):
    rng = np.random.default_rng(0)
    w1 = backend.tensor(rng.standard_normal((4, 5)))
    w2 = backend.tensor(rng.standard_normal((5, 3)))
    x = backend.tensor(rng.standard_normal((6, 4)), requires_grad=False)
    with ag.mode("lazy" if lazy else "eager"):
        h = ag.tanh(x @ w1)
        h = ag.maximum(h, 0.1 * h)
        logits = h @ w2
        z = logits - logits.max(axis=1, keepdims=True)
        loss = -(z - ag.log(ag.exp(z).sum(axis=1, keepdims=True)))[:, 0].mean()
        assert pending(loss) == lazy
        loss.backward()
    return loss.item(), w1.grad.numpy(), w2.grad.numpy()


def test_lazy_and_eager_give_the_same_values_and_gradients(backend):
    eager, lazy = _mlp_grads(backend, False), _mlp_grads(backend, True)
    for e, v in zip(eager, lazy, strict=True):
        np.testing.assert_allclose(v, e, rtol=1e-12, atol=1e-12)


def test_backward_realizes_and_links_the_graph(backend):
    x = backend.tensor([0.5, 1.5])
    with ag.lazy():
        y = ag.sin(x) * x
        loss = y.sum()
    assert pending(loss) and pending(y)
    loss.backward(retain_graph=True)
    assert not pending(y)  # held by the user: realized with the graph links backward needs
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.5]) * [0.5, 1.5]
                               + np.sin([0.5, 1.5]))
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.cos([0.5, 1.5]) * [0.5, 1.5]
                                                     + np.sin([0.5, 1.5])))


def test_training_loop_under_lazy_mode(backend):
    """The pattern of ``examples/train_digits.py --lazy``: forward, loss, backward and the
    optimizer's step inside ``anygrad.lazy()``, the loss printed now and then."""
    rng = np.random.default_rng(1)
    model = ag.nn.Sequential(ag.nn.Linear(4, 8), ag.nn.ReLU(), ag.nn.Linear(8, 3))
    model.to(backend.device)
    opt = ag.optim.SGD(model.parameters(), lr=0.1)
    x = backend.tensor(rng.standard_normal((16, 4)), requires_grad=False)
    target = backend.tensor(rng.integers(0, 3, 16))
    losses = []
    for _ in range(5):
        with ag.lazy():
            opt.zero_grad()
            loss = ag.nn.functional.cross_entropy(model(x), target)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert losses[-1] < losses[0]


# -- the scheduler -------------------------------------------------------------------------
@pytest.fixture
def counting():
    with backends.registered({"counting": CountingBackend}):
        yield


def _calls(t):
    return type(t.backend.counted).calls


def test_each_node_runs_once_dead_branches_are_skipped_and_equal_nodes_shared(counting):
    x = ag.Tensor([1.0, 2.0, 3.0], device="counting")
    with ag.lazy():
        a = ag.exp(x)
        b = a * 2
        c = ag.exp(x) * 2       # equal to b: shared
        d = (b + c) * (b - c)   # b and c both read twice: still computed once
        dead = ag.sin(a) * 100  # no requested output needs it
        del c
        before = _calls(x)
        d.realize()
    # exp, multiply, add, subtract, multiply: five distinct ops
    assert _calls(x) - before == 5
    np.testing.assert_allclose(d.numpy(), 0.0)
    assert pending(dead) and not pending(a) and not pending(b)
    np.testing.assert_allclose(dead.numpy(), 100 * np.sin(np.exp([1.0, 2.0, 3.0])))


def test_neutral_ops_are_skipped_to_the_bit(counting):
    """``x - 0``, ``x * 1``, ``x / 1`` a tensor does not hold are ``x`` itself (every value,
    -0.0 and nan included); one a tensor holds gets its own buffer."""
    values = np.array([-0.0, 0.0, np.nan, -np.inf, 2.5])
    x = ag.Tensor(values, device="counting")
    with ag.lazy(), ag.no_grad():
        y = ag.sign((x * 3 - 0) * 1.0 / 1)
        held = x * 3 - 0.0
        before = _calls(x)
        ag.lazy.realize(y, held)
    assert _calls(x) - before == 3  # x * 3 (shared), sign, and held's subtract
    expected = np.sign(values * 3)
    np.testing.assert_array_equal(y.numpy(), expected)
    assert list(np.signbit(y.numpy())) == list(np.signbit(expected))
    np.testing.assert_array_equal(held.numpy(), values * 3)
    assert not np.shares_memory(held.data, x.data)


def test_realize_walks_long_graphs_without_recursion(counting):
    x = ag.Tensor([1.0], device="counting")
    with ag.lazy():
        y = x
        for _ in range(5000):
            y = y * 1.0001
        before = _calls(x)
        y.realize()
    assert _calls(x) - before == 5000
    np.testing.assert_allclose(y.numpy(), 1.0001 ** 5000)


def test_realize_several_tensors_in_one_schedule(counting):
    x = ag.Tensor([1.0, 2.0], device="counting")
    with ag.lazy():
        shared = ag.exp(x) + 1
        p, q = shared * 2, shared * 3
        del shared
        before = _calls(x)
        ag.realize(p, q)
    assert _calls(x) - before == 4  # exp, add once for both, then the two products
    np.testing.assert_allclose(q.numpy(), 3 * (np.exp([1.0, 2.0]) + 1))


class OutBackend(backends.Backend):
    """NumPy, recording the results it is asked to write into existing buffers."""

    name = "outcounting"
    supports_out = True

    def __init__(self, device):
        import array_api_compat.numpy as xp

        class Recorder:
            outs: list = []

            def __getattr__(self, attr):
                fn = getattr(xp, attr)
                if not callable(fn) or isinstance(fn, type):
                    return fn

                def call(*a, **k):
                    if k.get("out") is not None:
                        Recorder.outs.append((id(k["out"]), [id(v) for v in a]))
                    return fn(*a, **k)
                return call

        self.recorder = Recorder
        self.recycle_from = 0  # every buffer, however small
        super().__init__(Recorder(), device, "cpu")

    def _native_dtype(self, name):
        return np.dtype(name)

    def asarray(self, obj, dtype=None, copy=None):
        return np.array(obj, dtype=None if dtype is None else self.native_dtype(dtype))


def test_intermediates_are_released_and_their_buffers_reused():
    with backends.registered({"outcounting": OutBackend}):
        x = ag.Tensor(np.linspace(0.1, 1, 1000), device="outcounting")
        outs = x.backend.recorder.outs
        outs.clear()
        with ag.lazy(), ag.no_grad():
            y = x
            for _ in range(20):
                y = ag.sin(y) + 1
            y.realize()
        expected = np.linspace(0.1, 1, 1000)
        for _ in range(20):
            expected = np.sin(expected) + 1
        np.testing.assert_allclose(y.numpy(), expected)
        # 40 results: the first two get new buffers, the others reuse released ones, never
        # one the step reads (NumPy's sign written over its own input runs 7x slower)
        assert len(outs) == 38
        assert all(out not in ins for out, ins in outs)
        assert len({out for out, _ in outs}) == 2  # two buffers take turns
        assert all(out != id(x.data) for out, _ in outs)  # never the user's buffer


def test_buffers_users_hold_are_never_reused(monkeypatch):
    monkeypatch.setattr(type(backends.get("cpu")), "fuser", lambda self: None)
    x = ag.Tensor(np.arange(1.0, 7.0))
    with ag.lazy(), ag.no_grad():
        held = ag.exp(x)            # the user holds it: its buffer is theirs
        view = (held * 2).reshape(2, 3)   # a view of an intermediate's buffer
        y = x
        for _ in range(5):
            y = ag.sqrt(y + 1)
        out = ag.sum(view) + y
        ag.realize(out, held, view)
    e_held = np.exp(np.arange(1.0, 7.0))
    np.testing.assert_allclose(held.numpy(), e_held)
    np.testing.assert_allclose(view.numpy(), (2 * e_held).reshape(2, 3))
    assert len({id(held.data), id(out.data)}) == 2


def test_recycled_buffer_counts(monkeypatch):
    """Count the fresh arrays a no-grad chain allocates: with recycling, a constant few."""
    monkeypatch.setattr(type(backends.get("cpu")), "fuser", lambda self: None)
    x = ag.Tensor(np.linspace(0.1, 1, 4096))
    with ag.lazy(), ag.no_grad():
        y = x
        for _ in range(30):
            y = ag.tanh(y) * 1.5
        nodes = trace([y._args], y._backend)[0]
        assert len(nodes) == 60
        y.realize()
    import tracemalloc
    with ag.lazy(), ag.no_grad():
        y = x
        for _ in range(30):
            y = ag.tanh(y) * 1.5
        gc.collect()
        tracemalloc.start()
        y.realize()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 4 * x.data.nbytes  # 60 results in at most a few buffers of 32 KiB


def test_plan_cache_serves_a_training_loop(backend):
    w = backend.tensor(np.full((3, 2), 0.5))
    x = backend.tensor(np.ones((4, 3)), requires_grad=False)
    hits = []
    for _ in range(3):
        before = cache.stats.hits
        with ag.lazy():
            loss = ag.tanh(x @ w).sum() * (1.0 / 4)
            loss.backward()
        hits.append(cache.stats.hits - before)
        with ag.no_grad():
            w.data = w.data - 0.1 * w.grad.data
        w.grad = None
    assert hits[1] >= 1 and hits[2] >= 1  # the second step reused the first step's plan


def test_plan_cache_tells_different_graphs_apart():
    x = ag.Tensor(np.ones(3))
    with ag.lazy():
        a = (x * 2 + 3).numpy()
        b = (x * 3 + 3).numpy()  # same ops, another scalar
        c = (x[1:] * 2 + 3).numpy()  # another shape
    np.testing.assert_allclose(a, 5.0)
    np.testing.assert_allclose(b, 6.0)
    np.testing.assert_allclose(c, [5.0, 5.0])


def test_bad_inputs_behave_as_in_eager(backend):
    x = backend.tensor(np.ones((2, 3)))
    with ag.lazy():
        with pytest.raises(ag.ShapeError, match="add"):
            x + backend.tensor(np.ones((4, 5)))
        with pytest.raises(ag.ShapeError, match="matmul"):
            x @ x
        with pytest.raises(ag.ShapeError, match="inv"):
            ag.linalg.inv(x)
        y = ag.flip(x * 2, axis=0)
        z = (y * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4.0)


def test_transfers_are_deferred_and_gradients_flow_back(two_devices):
    a, b = two_devices
    x = ag.Tensor([1.0, 2.0, 3.0], device=a)
    with ag.lazy():
        h = ag.exp(x) * 2          # on a, deferred
        y = h.to(b)                # h is computed (a plan runs on one backend); the copy waits
        assert not pending(h) and pending(y) and y.device == b and y.dtype == h.dtype
        z = (y * ag.Tensor([1.0, 2.0, 3.0], device=b)).sum()
        assert pending(z) and z.device == b
        with ag.no_grad():
            unused = x.to(b)       # never asked for: never copied
        z.backward()
    assert pending(unused) and x.grad.device == a
    np.testing.assert_allclose(y.numpy(), 2 * np.exp([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0, 3.0]) * [1.0, 2.0, 3.0])


def test_value_errors_surface_at_realize_naming_the_op():
    x = ag.Tensor(np.arange(6.0).reshape(2, 3))
    with ag.lazy():
        y = ag.take(x, ag.Tensor(np.array([0, 5])), axis=1)  # 5 is out of bounds
        assert pending(y) and y.shape == (2, 2)
        with pytest.raises(IndexError, match=r"take: .*float64\[2, 3\]"):
            y.realize()
    assert pending(y)  # nothing half-done: fixing the input is up to the user


def test_sorting_linalg_and_fft_are_deferred(counting):
    x = ag.Tensor(np.array([[3.0, 1.0], [2.0, 5.0]]), device="counting")
    with ag.lazy():
        outs = [ag.sort(x, axis=1), ag.cumulative_sum(x, axis=0), ag.flip(x, axis=0),
                ag.linalg.inv(x), ag.fft.rfft(x), *ag.linalg.qr(x), ag.linalg.svd(x).S]
        twins = ag.sort(x, axis=1), ag.linalg.inv(x)  # equal to outs[0] and outs[3]
        before = _calls(x)
        assert all(pending(t) for t in outs + list(twins))
        ag.realize(*outs, *twins)
        assert _calls(x) - before == 3  # sort, cumulative_sum, flip (xp.linalg/xp.fft uncounted)
    assert twins[0].data is outs[0].data and twins[1].data is outs[3].data
    with ag.eager():
        want = [ag.sort(x, axis=1), ag.cumulative_sum(x, axis=0), ag.flip(x, axis=0),
                ag.linalg.inv(x), ag.fft.rfft(x), *ag.linalg.qr(x), ag.linalg.svd(x).S]
    for got, w in zip(outs, want, strict=True):
        assert got.shape == w.shape and got.dtype == w.dtype
        np.testing.assert_allclose(got.numpy(), w.numpy(), atol=1e-12)


def test_inplace_ops_under_lazy_mode(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    with ag.lazy():
        y = x * 2
        y += 1
        y[0] = 5.0
        y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [5.0, 5.0, 7.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 2.0, 2.0])
