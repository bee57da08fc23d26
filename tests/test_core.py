"""The core: Tensor, backend registry, devices, modes, engine, errors."""

from __future__ import annotations

import contextvars
import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anygrad as ag
from anygrad import backends


def test_tensor_attributes(backend):
    x = backend.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=ag.float32, label="x")
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6
    assert x.dtype == ag.float32 and x.dtype == "float32" and x.dtype != ag.float64
    assert x.device == backend.device and str(x.device) == backend.device
    assert x.requires_grad and x.is_leaf and x.grad is None and x.label == "x"
    assert x.backend.xp is not None
    np.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [4, 5, 6]])
    assert isinstance(x.numpy(), np.ndarray)
    assert backend.tensor(7.5).item() == 7.5 and isinstance(backend.tensor(7).item(), int)
    assert "Tensor(" in repr(x) and "requires_grad=True" in repr(x)


def test_tensor_from_python_and_default_dtypes(backend):
    assert ag.Tensor(3.0).dtype == ag.float64
    assert ag.Tensor([1, 2]).dtype == ag.int64
    assert ag.Tensor([True, False]).dtype == ag.bool
    assert ag.Tensor([[1.0, 2.0]], dtype="float32").dtype == ag.float32
    assert ag.Tensor(3.0).device == backend.device  # host data goes to the default device


def test_requires_grad_defaults(backend):
    assert backend.tensor([1.0]).requires_grad
    assert not backend.tensor([1.0], requires_grad=False).requires_grad
    assert not backend.tensor([1, 2]).requires_grad
    assert not backend.tensor([True]).requires_grad
    with pytest.raises(ag.DTypeError, match="int64"):
        backend.tensor([1, 2], requires_grad=True)
    with pytest.raises(ag.DTypeError):
        backend.tensor([1, 2]).requires_grad_()


def test_tensor_from_tensor_copies_and_detaches(backend):
    x = backend.tensor([1.0, 2.0])
    y = ag.Tensor(x * 2)
    assert y.is_leaf and y.requires_grad and y.device == x.device
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])


def test_tensor_copies_numpy_input_by_default():
    a = np.ones(3)
    x = ag.Tensor(a)
    a[0] = 5
    assert x.numpy()[0] == 1
    shared = ag.Tensor(a, copy=False)
    assert shared.data is a


def test_tensor_from_foreign_arrays_keeps_their_backend():
    xp = pytest.importorskip("array_api_strict")
    arr = xp.asarray([1.0, 2.0], device=xp.Device("device1"))
    t = ag.Tensor(arr)
    assert t.backend.name == "array_api_strict"
    assert str(t.device) == "array_api_strict:device1"
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [2.0, 4.0])
    assert ag.Tensor(arr, device="cpu").backend.name == "numpy"


def test_tensor_from_torch():
    torch = pytest.importorskip("torch")
    t = ag.Tensor(torch.tensor([1.0, 2.0], dtype=torch.float32))
    assert t.backend.name == "torch" and t.dtype == ag.float32 and t.dtype == torch.float32
    (ag.exp(t) * 2).sum().backward()
    assert isinstance(t.grad.data, torch.Tensor) and t.grad.data.dtype == torch.float32
    np.testing.assert_allclose(t.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


# -- backward semantics ------------------------------------------------------------------
def test_backward_basic_and_accumulation(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])
    y.backward()  # accumulates
    np.testing.assert_allclose(x.grad.numpy(), [4, 8, 12])
    with pytest.raises(ag.GraphError, match="retain_graph"):
        y.backward()
    x.zero_grad()
    assert x.grad is None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3, 3])


def test_nonscalar_backward_seeds_ones(backend):
    x = backend.tensor([[1.0, 2.0], [3.0, 4.0]])
    (x * x).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
    x.zero_grad()
    (x * x).backward(backend.tensor([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [0.0, 16.0]])
    with pytest.raises(ag.ShapeError):
        (x * x).backward(backend.tensor([1.0, 2.0]))


def test_backward_on_constant_raises(backend):
    with pytest.raises(ag.GraphError):
        backend.tensor([1.0], requires_grad=False).sum().backward()


def test_leaf_backward(backend):
    x = backend.tensor(3.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_diamond_graph_and_reuse(backend):
    x = backend.tensor([0.5, -1.5])
    a = ag.exp(x)
    b = a * a + a * x  # a used three times, x twice
    b.sum().backward()
    ex = np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * ex * ex + ex * x.numpy() + ex, rtol=1e-12)


def test_broadcast_gradients_are_summed_back(backend):
    x = backend.tensor(np.arange(6.0).reshape(2, 3))
    b = backend.tensor([[10.0, 20.0, 30.0]])
    s = backend.tensor(2.0)
    ((x + b) * s).sum().backward()
    assert b.grad.shape == (1, 3) and s.grad.shape == ()
    np.testing.assert_allclose(b.grad.numpy(), [[4.0, 4.0, 4.0]])
    np.testing.assert_allclose(s.grad.numpy(), (x.numpy() + b.numpy()).sum())


def test_long_chain_has_no_recursion_and_is_linear(backend):
    if backend.name != "numpy":
        pytest.skip("timing on one backend is enough")
    import time

    def run(n):
        x = ag.Tensor([1.0])
        y = x
        for _ in range(n):
            y = y * 1.0
        t0 = time.perf_counter()
        y.backward()
        assert x.grad.item() == 1.0
        return time.perf_counter() - t0

    small, big = run(10_000), run(100_000)
    assert big < 30 * small  # linear, with room for noise (quadratic would be 100x)


def test_no_grad_records_nothing(backend):
    x = backend.tensor([1.0, 2.0])
    with ag.no_grad():
        y = x * 2
        assert not ag.is_grad_enabled()
        with ag.enable_grad():
            z = x * 2
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf

    @ag.no_grad
    def f(t):
        return t * 3

    @ag.no_grad()
    def g(t):
        return t * 3

    assert not f(x).requires_grad and not g(x).requires_grad


def test_detach_and_constants(backend):
    x = backend.tensor([1.0, 2.0])
    c = backend.tensor([3.0, 4.0], requires_grad=False)
    y = (x * c + x.detach() * x).sum()
    y.backward()
    assert c.grad is None and c.constant
    np.testing.assert_allclose(x.grad.numpy(), c.numpy() + x.numpy())


def test_comparisons_are_bool_constants(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    for r in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert r.dtype == ag.bool and not r.requires_grad
    np.testing.assert_array_equal((x > 1.5).numpy(), [False, True, True])


def test_gradient_keeps_dtype(backend):
    x = backend.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=ag.float32)
    w = backend.tensor(np.ones((3, 2)), dtype=ag.float32)
    y = ((ag.tanh(x @ w) * 1.5 + 2) ** 2 / 3).mean()
    y.backward()
    assert x.grad.dtype == ag.float32 and w.grad.dtype == ag.float32
    assert y.dtype == ag.float32


def test_python_and_numpy_scalars_promote_weakly(backend):
    x = backend.tensor([1.0], dtype=ag.float32)
    assert (x * 2.0).dtype == ag.float32
    assert (x * np.float64(2.0)).dtype == ag.float32
    assert (2 - x).dtype == ag.float32
    np.testing.assert_allclose((2 - x).numpy(), [1.0])
    np.testing.assert_allclose((2 / x).numpy(), [2.0])
    np.testing.assert_allclose((2 ** x).numpy(), [2.0])


# -- devices ------------------------------------------------------------------------------
def test_mixing_devices_raises_naming_both(two_devices):
    a, b = two_devices
    x = ag.Tensor([1.0, 2.0], device=a)
    y = ag.Tensor([1.0, 2.0], device=b)
    with pytest.raises(ag.DeviceError, match=f"{a}.*{b}|{b}.*{a}"):
        x + y
    with pytest.raises(ag.DeviceError):
        ag.matmul(x, y)
    with pytest.raises(ag.DeviceError):
        ag.where(x > 1, x, y)


def test_to_moves_and_gradient_flows_back(two_devices):
    a, b = two_devices
    x = ag.Tensor([1.0, 2.0, 3.0], device=a)
    y = x.to(b)
    assert y.device == b and x.to(a) is x
    w = ag.Tensor([2.0, 2.0, 2.0], device=b)
    (y * w).sum().backward()
    assert x.grad.device == a
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_no_silent_copy_of_host_arrays(two_devices):
    _, b = two_devices
    x = ag.Tensor([1.0, 2.0], device=b)
    with pytest.raises(ag.DeviceError, match="NumPy"):
        x + np.ones(2)


def test_numpy_arrays_combine_on_cpu():
    x = ag.Tensor([1.0, 2.0])
    np.testing.assert_allclose((x + np.ones(2)).numpy(), [2, 3])
    np.testing.assert_allclose((np.ones(2) + x).numpy(), [2, 3])


def test_cuda_unavailable_error_says_why_and_how():
    if backends.available()["cupy"].available:
        pytest.skip("a GPU is available here")
    with pytest.raises(ag.BackendUnavailableError, match="(CuPy|CUDA).*") as info:
        ag.Tensor([1.0], device="cuda")
    assert "pip install" in str(info.value) or "device='cpu'" in str(info.value)


def test_device_parsing_is_canonical():
    assert ag.device("cuda") is ag.device("cuda:0")
    with pytest.raises(ag.DeviceError, match="lower case"):
        ag.device(" CUDA:0 ")  # names are strict (tests/test_validation.py)
    assert ag.device("cpu") is ag.device("cpu:0")
    assert ag.device("cuda:1") == "cuda:1" and hash(ag.device("cuda:1")) == hash("cuda:1")
    assert {ag.device("cpu"): 1}[ag.device("cpu")] == 1
    with pytest.raises(ag.DeviceError):
        ag.device("cuda:")
    with pytest.raises(ag.DeviceError, match="no backend"):
        ag.Tensor([1.0], device="tpu:0")


def test_default_device_switching():
    xp = pytest.importorskip("array_api_strict")
    strict = backends.GenericBackend(xp, xp.Device("device1"), ag.device("cuda:0"))
    with backends.registered({"cuda:0": strict}):
        assert ag.get_default_device() == "cpu"
        with ag.default_device("cuda"):
            assert ag.Tensor([1.0]).device == "cuda:0"
            assert ag.Tensor([1.0], device="cpu").device == "cpu"
        assert ag.Tensor([1.0]).device == "cpu"

        def in_thread(out):
            out.append(ag.get_default_device())

        ctx = contextvars.copy_context()
        ctx.run(ag.set_default_device, "cuda:0")
        assert ctx.run(ag.get_default_device) == "cuda:0"
        assert ag.get_default_device() == "cpu"  # the change stayed in its context
        seen = []
        th = threading.Thread(target=in_thread, args=(seen,))
        th.start()
        th.join()
        assert seen == [ag.device("cpu")]


def test_env_var_sets_default_device(tmp_path):
    import subprocess
    import sys
    code = "import anygrad as ag; print(ag.get_default_device())"
    env = {**__import__("os").environ, "ANYGRAD_DEVICE": "array_api_strict:device2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "array_api_strict:device2", out.stderr


# -- registry ----------------------------------------------------------------------------
def test_available_lists_backends_with_reasons():
    av = backends.available()
    assert av["numpy"].available and av["numpy"].reason == ""
    assert "cupy" in av
    for name, entry in av.items():
        assert entry.available or entry.reason, name


class CountingBackend(backends.Backend):
    """A third-party backend: NumPy with a call counter, registered from outside."""

    name = "counting"

    def __init__(self, device):
        import array_api_compat.numpy as xp

        class Counted:
            calls = 0

            def __getattr__(self, attr):
                fn = getattr(xp, attr)
                if not callable(fn) or isinstance(fn, type):
                    return fn

                def counted(*a, **k):
                    Counted.calls += 1
                    return fn(*a, **k)
                return counted

        self.counted = Counted()
        super().__init__(self.counted, device, "cpu")

    def _native_dtype(self, name):
        return np.dtype(name)

    def asarray(self, obj, dtype=None, copy=None):
        return np.array(obj, dtype=None if dtype is None else self.native_dtype(dtype))


def test_third_party_backend_registers_without_touching_anygrad():
    with backends.registered({"counting": CountingBackend}):
        x = ag.Tensor([1.0, 2.0], device="counting:3")
        assert x.device == "counting:3" and x.backend.name == "counting"
        before = type(x.backend.counted).calls
        y = (ag.exp(x) * x).sum()
        y.backward()
        assert type(x.backend.counted).calls > before
        np.testing.assert_allclose(x.grad.numpy(), np.exp([1, 2]) * (1 + np.array([1, 2])))
        with pytest.raises(ag.DeviceError):
            x + ag.Tensor([1.0, 2.0])  # counting:3 and cpu do not mix
    with pytest.raises(ag.DeviceError):
        ag.Tensor([1.0], device="counting:3")  # unregistered again


# -- errors -------------------------------------------------------------------------------
def test_shape_errors_name_op_and_shapes(backend):
    a = backend.tensor(np.ones((2, 3)))
    b = backend.tensor(np.ones((4, 5)))
    with pytest.raises(ag.ShapeError, match=r"matmul.*\[2, 3\].*\[4, 5\]"):
        a @ b
    with pytest.raises(ag.ShapeError, match="add"):
        a + b
    with pytest.raises(ag.ShapeError, match="reshape"):
        a.reshape(4, 2)
    with pytest.raises(ag.ShapeError, match="axis"):
        a.sum(axis=3)


def test_item_needs_one_element(backend):
    with pytest.raises(ag.ShapeError):
        backend.tensor([1.0, 2.0]).item()
    assert math.isclose(float(backend.tensor([[2.5]])), 2.5)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "mul", "tanh", "sin"]),
                          st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=25))
def test_random_dags_match_central_differences(program):
    """Any DAG (shared subexpressions, long chains, many consumers) gets exact gradients."""
    from anygrad.testing import gradcheck

    def run(x, y):
        nodes = [x, y]
        for op, i, j in program:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            nodes.append({"add": lambda: a + b, "mul": lambda: a * b * 0.5,
                          "tanh": lambda: ag.tanh(a), "sin": lambda: ag.sin(b)}[op]())
        return nodes[-1] + nodes[len(nodes) // 2]

    gradcheck(run, ag.Tensor([0.3, -0.7]), ag.Tensor([[0.5], [0.1]]))


def test_pickle_and_deepcopy_round_trip(backend):
    import copy
    import pickle
    x = backend.tensor([[1.0, 2.0]], dtype=ag.float32, label="w")
    for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x)):
        assert y is not x and y.device == x.device and y.dtype == ag.float32
        assert y.requires_grad and y.label == "w" and y.is_leaf
        np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert f"{backend.tensor(2.0):.2f}" == "2.00"


def test_import_is_light():
    import subprocess
    import sys
    code = ("import sys, anygrad as ag; ag.Tensor([1.0]) * 2; "
            "print(sorted(m for m in ('torch', 'cupy', 'jax', 'dask', 'array_api_strict') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
