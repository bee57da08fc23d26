"""``anygrad.compile``: trace once, replay the plans; guards, fallbacks, fused regions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn
from anygrad.backends import fusion_blocked
from anygrad.compiler import CompileError, CompileWarning
from anygrad.lazy import graph

pytestmark = pytest.mark.filterwarnings("ignore::anygrad.GraphCutWarning")


def gelu_sin(x):
    return 0.5 * x * (1 + ag.tanh(0.7978845608 * (x + 0.044715 * x ** 3))) + ag.sin(x)


@pytest.fixture
def recorded(monkeypatch):
    """How many deferred ops were recorded (every lazy op goes through ``graph.deferred``)."""
    count = [0]
    real = graph.deferred

    def counting(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(graph, "deferred", counting)
    return count


@pytest.fixture(autouse=True)
def _eager_outside():
    with ag.mode("eager"):  # compile decides the mode of its traces (in lazy mode it inlines)
        yield


def _eager_grad(fn, x):
    x.grad = None
    fn(x).sum().backward()
    g, x.grad = x.grad.numpy(), None
    return g


def test_replays_give_eager_values_and_gradients_and_record_nothing(backend, recorded):
    x = backend.tensor(np.linspace(-2, 2, 50), dtype="float32")

    @ag.compile
    def step(v):
        loss = gelu_sin(v).sum()
        loss.backward()
        return loss

    want_loss = float(gelu_sin(x).sum().numpy())
    want = _eager_grad(gelu_sin, x)
    for call in range(3):
        before = recorded[0]
        loss = step(x)
        assert (recorded[0] == before) == (call > 0)  # the trace records; replays do not
        np.testing.assert_allclose(float(loss.numpy()), want_loss, rtol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6, atol=1e-7)
        assert x.grad.dtype == ag.float32 and x.grad.device == x.device
        assert loss.requires_grad and loss.device == x.device
        x.grad = None
    assert step.stats.traces == 1 and step.stats.replays == 2
    with pytest.raises(ag.GraphError):  # the graph was freed by backward, as in eager mode
        step(x).backward()


@pytest.mark.parametrize("make_opt", [lambda ps: ag.optim.SGD(ps, lr=0.1, momentum=0.9),
                                      lambda ps: ag.optim.Adam(ps, lr=0.05)])
def test_a_training_step_with_an_optimiser_follows_eager_step_by_step(make_opt, recorded):
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.standard_normal((16, 5)).astype(np.float32), requires_grad=False)
    y = ag.Tensor(rng.standard_normal((16, 3)).astype(np.float32), requires_grad=False)

    def setup():
        ag.random.seed(0)
        net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        opt = make_opt(net.parameters())

        def step(xb, yb):
            opt.zero_grad()
            loss = ((net(xb) - yb) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return net, step

    net_e, eager = setup()
    net_c, step = setup()
    compiled = ag.compile(step)
    for _ in range(4):
        a, b = eager(x, y), compiled(x, y)
        np.testing.assert_allclose(float(b.numpy()), float(a.numpy()), rtol=1e-5)
    for pe, pc in zip(net_e.parameters(), net_c.parameters(), strict=True):
        np.testing.assert_allclose(pc.numpy(), pe.numpy(), rtol=1e-5, atol=1e-6)
        assert pc.grad.dtype == pc.dtype
    assert compiled.stats.traces == 1 and compiled.stats.replays == 3
    before = recorded[0]
    compiled(x, y)
    assert recorded[0] == before


def test_effects_on_an_argument_follow_the_argument():
    @ag.compile
    def step(v):
        v.zero_grad()  # written down as an effect on "the first argument", not on this tensor
        loss = (v * v).sum()
        loss.backward()
        return loss

    a, b = ag.Tensor([1.0, 2.0]), ag.Tensor([3.0, 4.0])
    for x in (a, a, b, b):
        step(x)
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(b.grad.numpy(), [6.0, 8.0])
    assert step.stats.traces == 1 and step.stats.replays == 3


def test_an_optimiser_subclass_with_its_own_step_is_replayed_too():
    class Halving(ag.optim.SGD):  # its own step(): wrapped as an effect like SGD's
        def step(self, closure=None):
            for group in self.param_groups:
                group["lr"] = group["lr"] / 2
            return super().step(closure)

    w_e, w_c = ag.Tensor([1.0, -2.0]), ag.Tensor([1.0, -2.0])
    opt_e, opt_c = Halving([w_e], lr=0.4), Halving([w_c], lr=0.4)

    def make(w, opt):
        def step():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            opt.step()
            return loss
        return step

    eager, compiled = make(w_e, opt_e), ag.compile(make(w_c, opt_c))
    for _ in range(4):
        eager(), compiled()
    np.testing.assert_allclose(w_c.numpy(), w_e.numpy(), rtol=1e-12)
    assert opt_c.param_groups[0]["lr"] == opt_e.param_groups[0]["lr"] == 0.4 / 16
    assert compiled.stats.replays == 3


def test_a_new_shape_traces_again_and_the_cache_evicts_the_least_recent():
    @ag.compile(cache_size=2)
    def step(v):
        loss = (v * v).sum()
        loss.backward()
        return loss

    xs = [ag.Tensor(np.arange(n, dtype=np.float64)) for n in (3, 4, 5)]
    for x in xs[:2] * 2:
        step(x)
        np.testing.assert_array_equal(x.grad.numpy(), 2 * x.numpy())
        x.grad = None
    assert step.stats.traces == 2 and step.stats.replays == 2
    step(xs[2])  # a third shape: the least recently used (3) goes
    assert step.stats.evictions == 1
    step(xs[1])
    assert step.stats.traces == 3
    step(xs[0])
    assert step.stats.traces == 4
    np.testing.assert_array_equal(xs[0].grad.numpy(), 2 * xs[0].numpy())


def test_reading_a_value_falls_back_to_eager_and_is_never_stale():
    @ag.compile
    def f(v):
        return v * 2 if bool(v.sum() > 0) else v * 3  # control flow on a value

    pos, neg = ag.Tensor([1.0, 2.0]), ag.Tensor([-1.0, -2.0])
    with pytest.warns(CompileWarning, match="reads the value"):
        assert f(pos).numpy().tolist() == [2.0, 4.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per signature
        assert f(neg).numpy().tolist() == [-3.0, -6.0]  # the other branch: not a replay
        assert f(pos).numpy().tolist() == [2.0, 4.0]
    assert f.stats.replays == 0 and f.stats.fallbacks == 2

    where = ag.compile(lambda v: ag.nonzero(v)[0] * 2)  # a shape that depends on the values
    with pytest.warns(CompileWarning):
        assert where(ag.Tensor([0.0, 1.0, 2.0])).numpy().tolist() == [2, 4]
    assert where(ag.Tensor([1.0, 0.0, 3.0])).numpy().tolist() == [0, 4]

    strict = ag.compile(lambda v: v * float(v.max()), fallback="error")
    with pytest.raises(CompileError, match="reads the value"):
        strict(pos)


def test_random_draws_are_drawn_again_by_each_replay_as_eager_mode_draws_them(recorded):
    drop = ag.compile(lambda v: ag.nn.functional.dropout(v, 0.5) * 2)
    x = ag.Tensor(np.ones(1000), requires_grad=False)
    ag.random.seed(0)
    want = [ag.nn.functional.dropout(x, 0.5).numpy() * 2 for _ in range(3)]
    ag.random.seed(0)
    got = [drop(x).numpy() for _ in range(3)]
    assert drop.stats.replays == 2
    for w, g in zip(want, got, strict=True):  # the same stream: the very masks eager draws
        np.testing.assert_array_equal(g, w)
    assert not np.array_equal(got[1], got[2])  # a new mask each call, never the traced one


def test_an_array_of_unknown_origin_refuses_the_trace():
    hidden = ag.Tensor([1.0, 2.0]).detach()  # wrapped without a graph or a creation time
    f = ag.compile(lambda v: v * hidden)
    with pytest.warns(CompileWarning, match="origin"):
        assert f(ag.Tensor([3.0, 4.0], requires_grad=False)).numpy().tolist() == [3.0, 8.0]


def test_a_returned_graph_runs_in_lazy_mode_so_backward_outside_works():
    f = ag.compile(lambda v: (v * v).sum())
    x = ag.Tensor([1.0, 2.0, 3.0])
    with pytest.warns(CompileWarning, match="lazy mode"):
        f(x).backward()
    f(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0, 12.0])


def _step_of(w):
    def step(v):
        loss = (v * w).sum()
        loss.backward()
        return loss
    return step


def test_plans_are_never_shared_across_parameters_dtypes_branches_or_modes():
    x = ag.Tensor([1.0, 2.0])
    w1, w2 = ag.Tensor([3.0, 4.0]), ag.Tensor([5.0, 6.0])
    f1, f2 = ag.compile(_step_of(w1)), ag.compile(_step_of(w2))
    for _ in range(2):  # functions differing only in the parameter they close over
        assert float(f1(x).numpy()) == 11.0 and float(f2(x).numpy()) == 17.0
    np.testing.assert_array_equal(w2.grad.numpy(), [2.0, 4.0])

    @ag.compile
    def branchy(v, square):
        loss = (v * v if square else v * 3).sum()
        loss.backward()
        return loss

    for _ in range(2):
        x.grad = None
        branchy(x, True)
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
        x.grad = None
        branchy(x, False)
        np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert branchy.stats.traces == 2

    g = ag.compile(lambda v: v * 2)
    for dtype in ("float32", "float64", "float32"):
        out = g(ag.Tensor([1.0, 2.0], dtype=dtype, requires_grad=False))
        assert out.dtype == getattr(ag, dtype)
    with ag.no_grad():  # grad mode is part of the signature
        out = g(ag.Tensor([1.0]))
    assert not out.requires_grad
    assert g.stats.traces == 3


def test_a_changed_parameter_or_closure_retraces():
    x = ag.Tensor([1.0, 2.0])
    w = ag.Tensor([3.0, 4.0])
    scale = 2.0

    @ag.compile
    def step(v):
        loss = (v * w * scale).sum()
        loss.backward()
        return loss

    assert float(step(x).numpy()) == 22.0
    w.data = w.data * 0 + 1.0  # new values, same shape: read afresh, no retrace
    assert float(step(x).numpy()) == 6.0 and step.stats.traces == 1
    scale = 3.0  # a closure's number: part of the signature
    assert float(step(x).numpy()) == 9.0 and step.stats.traces == 2
    w.data = np.ones(3)  # new shape: the guard traces again
    with pytest.raises(ag.ShapeError):  # and raises eager mode's error
        step(x)
    w.data = np.ones(2)
    w.requires_grad = False  # a different graph: traced again, no gradient for w
    w.grad = None
    step(x)
    assert w.grad is None


def test_module_training_mode_is_part_of_the_signature():
    net = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    f = ag.compile(lambda v: net(v))
    x = ag.Tensor(np.ones((4, 3)), requires_grad=False)
    net.eval()
    with ag.no_grad():  # inference
        out_eval = f(x).numpy()
        np.testing.assert_array_equal(f(x).numpy(), out_eval)
        assert f.stats.replays == 1
        net.train()  # a new signature: dropout draws a new mask each call
        a, b = f(x).numpy(), f(x).numpy()
        assert not np.array_equal(a, b) and f.stats.traces == 2
        net.eval()
        np.testing.assert_array_equal(f(x).numpy(), out_eval)
    assert f.stats.replays == 3


def test_the_same_errors_as_eager():
    f = ag.compile(lambda a, b: a + b)
    with pytest.raises(ag.ShapeError):
        f(ag.Tensor(np.ones(3)), ag.Tensor(np.ones(4)))
    g = ag.compile(lambda v: v.sum().backward())
    with pytest.raises(ag.GraphError):
        g(ag.Tensor([1.0], requires_grad=False))
    with pytest.raises(TypeError):
        ag.compile(3)
    with pytest.raises(ValueError, match="cache_size"):
        ag.compile(lambda: None, cache_size=0)
    with pytest.raises(ValueError, match="fallback"):
        ag.compile(lambda: None, fallback="maybe")


def test_a_replay_raises_eager_modes_error_for_values_it_cannot_take():
    f = ag.compile(lambda a: ag.linalg.cholesky(a) * 2)
    good = ag.Tensor(np.eye(3), requires_grad=False)
    bad = ag.Tensor(-np.eye(3), requires_grad=False)
    np.testing.assert_array_equal(f(good).numpy(), 2 * np.eye(3))
    with pytest.raises(Exception) as eager:
        ag.linalg.cholesky(bad)
    with pytest.raises(type(eager.value), match="cholesky: "):
        f(bad)  # a replay (the same signature): the executor names the op
    assert f.stats.traces == 1
    np.testing.assert_array_equal(f(good).numpy(), 2 * np.eye(3))
    assert f.stats.replays == 1


def test_a_classifier_step_with_integer_labels_replays_and_checks_every_batch():
    """cross_entropy's label check is a node of the compiled graph: the step replays, and a
    batch with a label out of range raises in the replay as in eager mode."""
    ag.random.seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = ag.optim.SGD(net.parameters(), lr=0.1)

    @ag.compile
    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    x = ag.random.randn(6, 4, dtype=ag.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CompileWarning: nothing falls back
        for labels in ([0, 1, 2, 0, 1, 2], [2, 2, 1, 0, 0, 1]):
            step(x, ag.tensor(labels))
    assert step.stats.replays == 1 and step.stats.fallbacks == 0
    with pytest.raises(IndexError, match="label 3 is out of range for C=3"):
        step(x, ag.tensor([0, 1, 2, 3, 1, 2]))
    with pytest.raises(IndexError, match="label 3 is out of range for C=3"):
        nn.functional.cross_entropy(net(x), ag.tensor([0, 1, 2, 3, 1, 2]))


def test_devices_are_part_of_the_signature(backend, two_devices):
    a, b = two_devices

    @ag.compile
    def step(v):
        loss = (v * v).sum()
        loss.backward()
        return loss

    xa = ag.Tensor([1.0, 2.0], device=a)
    xb = ag.Tensor([1.0, 2.0], device=b)
    for _ in range(2):
        for x in (xa, xb):
            loss = step(x)
            assert loss.device == x.device and x.grad.device == x.device
            np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
            x.grad = None
    assert step.stats.traces == 2 and step.stats.replays == 2


def test_inside_lazy_mode_or_another_trace_a_compiled_function_is_inlined():
    inner = ag.compile(lambda v: v * 2)
    outer = ag.compile(lambda v: inner(v) + 1)
    x = ag.Tensor([1.0, 2.0], requires_grad=False)
    for _ in range(2):
        assert outer(x).numpy().tolist() == [3.0, 5.0]
    assert inner.stats.traces == 0 and outer.stats.replays == 1
    with ag.lazy():
        y = inner(x)
    assert y.numpy().tolist() == [2.0, 4.0] and inner.stats.traces == 0


N = 1 << 14


@pytest.fixture
def small_regions(monkeypatch):
    monkeypatch.setenv("ANYGRAD_CPU_FUSER", "numpy")
    monkeypatch.setattr(fusion_blocked.BlockedFuser, "min_size", N // 2)
    monkeypatch.setattr(fusion_blocked, "BLOCK", 1000)  # several blocks, a ragged last one
    ag.lazy.clear_cache()
    yield
    ag.lazy.clear_cache()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_and_gradient_of_a_region_are_one_kernel(small_regions, dtype):
    x = ag.Tensor(np.linspace(-3, 3, N), dtype=dtype)
    want = _eager_grad(gelu_sin, x)
    want_loss = float(gelu_sin(x).sum().numpy())

    @ag.compile
    def step(v):
        loss = gelu_sin(v).sum()
        loss.backward()
        return loss

    for _ in range(2):
        loss = step(x)
        tol = 2e-6 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=tol, atol=tol)
        np.testing.assert_allclose(float(loss.numpy()), want_loss, rtol=tol)
        assert x.grad.dtype == getattr(ag, dtype)
        x.grad = None
    (entry,) = step._cache.values()
    (run,) = [item for item in entry.program.items if item[0] == "run"]
    source = run[2].source
    assert source.count("k") >= 1 and source.count(" = ") <= 3, source


def test_a_region_keeps_results_users_hold_and_its_sums(small_regions):
    x = ag.Tensor(np.linspace(0.1, 1, N))
    with ag.lazy(), ag.no_grad():
        a = ag.exp(x) * 2
        b = (ag.sqrt(a + 1) * 3).sum()
        total = b.numpy()
    np.testing.assert_allclose(a.numpy(), np.exp(x.numpy()) * 2)
    np.testing.assert_allclose(total, (np.sqrt(np.exp(x.numpy()) * 2 + 1) * 3).sum())


def test_cuda_source_of_a_trained_region_compiles(tmp_path, monkeypatch):
    """The region the planner builds for the trained GELU chain on a CuPy-like fuser (several
    results, no sums): its CUDA source computes the forward and the gradient in one kernel,
    and compiles (nvcc or NVRTC, no GPU needed)."""
    import shutil

    from anygrad.backends import fusion_cupy
    from anygrad.backends.numpy_backend import NumpyBackend
    from tests.test_lazy_fusion import _compile_with_nvcc, _compile_with_nvrtc, _nvrtc

    seen = []

    class Recording:  # CuPy's fuser's abilities; declines, so the plan runs op by op here
        ops, dtypes, min_size = fusion_cupy.CupyFuser.ops, fusion_cupy.CupyFuser.dtypes, 0
        regions, sums = True, False

        def compile(self, program):
            seen.append(program)

    monkeypatch.setattr(NumpyBackend, "fuser", lambda self: Recording())
    ag.lazy.clear_cache()
    x = ag.Tensor(np.linspace(-1, 1, 64), dtype="float32")
    want = _eager_grad(gelu_sin, x)
    with ag.lazy():
        gelu_sin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
    ag.lazy.clear_cache()
    (region,) = [p for p in seen if p.outs]
    assert not region.sums and len(region.body) >= 20  # forward and gradient together
    source = fusion_cupy.check_source(region)
    assert source.count("out_y") >= 2 * len(region.outs)
    if not shutil.which("nvcc") and _nvrtc() is None:
        pytest.skip("neither nvcc nor NVRTC is here")
    ok, log = (_compile_with_nvcc(source, tmp_path) if shutil.which("nvcc")
               else _compile_with_nvrtc(_nvrtc(), source))
    assert ok, f"{log}\n{source}"


def test_the_digits_example_with_compile_reaches_the_same_accuracy(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    pytest.importorskip("tqdm")
    from tests.test_example import _run_example

    plain = _run_example(tmp_path, "--epochs", "1")
    compiled = _run_example(tmp_path, "--epochs", "1", "--compile")
    assert plain.returncode == 0 and compiled.returncode == 0, compiled.stderr
    last = [out.stdout.strip().splitlines()[-1] for out in (plain, compiled)]
    assert all(line.startswith("test accuracy: ") for line in last), last
    accuracy = [float(line.split()[-1]) for line in last]
    assert accuracy[0] > 0.5 and abs(accuracy[0] - accuracy[1]) < 0.01, last
    # the CNN replays: its max-pool's and convolutions' input gradients are nodes of the plan
    assert "CompileWarning" not in compiled.stderr, compiled.stderr


def test_a_cnn_step_replays_with_eager_modes_losses_and_gradients(recorded):
    """Convolutions past the first layer, max-pooling and slicing send their gradients back
    through writes into fresh zeros; those are ops of their own (``function.call``), so the
    whole step is one plan: replayed, never run eagerly, the very numbers of eager mode."""
    def make():
        ag.random.seed(3)
        net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(3, 4, 3, padding=1, stride=2), nn.Flatten(),
                            nn.Linear(16, 5))
        return net, ag.optim.Adam(net.parameters(), lr=1e-2)

    def stepper(net, opt):
        def step(x, y):
            opt.zero_grad()
            out = net(x)
            loss = nn.functional.cross_entropy(out[:, :5], y) + (out[1:3, None] ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return step

    (net_e, opt_e), (net_c, opt_c) = make(), make()
    eager, compiled = stepper(net_e, opt_e), ag.compile(stepper(net_c, opt_c))
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CompileWarning: nothing falls back
        for _ in range(4):
            x = ag.tensor(rng.standard_normal((6, 1, 8, 8)).astype(np.float32))
            y = ag.tensor(rng.integers(0, 5, 6))
            recorded[0] = 0
            a, b = eager(x, y), compiled(x, y)
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5)
            for p, q in zip(net_e.parameters(), net_c.parameters(), strict=True):
                np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-4,
                                           atol=1e-6)
                np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-5, atol=1e-6)
    assert compiled.stats.traces == 1 and compiled.stats.replays == 3
    assert compiled.stats.fallbacks == 0 and recorded[0] == 0  # (the last call: a replay)
