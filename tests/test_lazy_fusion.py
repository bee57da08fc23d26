"""Fusion of elementwise chains: blockwise NumPy or numexpr on the CPU, CUDA source for CuPy
(compile-checked)."""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import shutil
import subprocess

import numpy as np
import pytest

import anygrad as ag
from anygrad import backends
from anygrad.backends import fusion_blocked, fusion_cupy
from anygrad.lazy import pending
from anygrad.lazy.fusion import Program
from anygrad.lazy.plan import build
from anygrad.lazy.schedule import trace

N = 1 << 15  # above the fusers' minimum sizes (the NumPy fuser's lowered by ``cpu_fuser``)


def plan_of(t):
    nodes, signature, _ = trace([t._args], t.backend)
    return build(signature, nodes, t.backend)


def gelu_sin(x):
    return 0.5 * x * (1 + ag.tanh(0.7978845608 * (x + 0.044715 * x ** 3))) + ag.sin(x)


@pytest.fixture(params=["numpy", "numexpr"])
def cpu_fuser(request, monkeypatch):
    """Each CPU fuser in turn (``ANYGRAD_CPU_FUSER``), fusing arrays of ``N`` elements."""
    if request.param == "numexpr":
        pytest.importorskip("numexpr", reason="numexpr (an optional CPU fuser) is not installed")
    monkeypatch.setenv("ANYGRAD_CPU_FUSER", request.param)
    monkeypatch.setattr(fusion_blocked.BlockedFuser, "min_size", N // 2)
    fuser = backends.get("cpu").fuser()
    assert type(fuser).__module__.endswith(request.param if request.param == "numexpr"
                                           else "blocked")
    ag.lazy.clear_cache()  # plans hold their fuser's kernels
    yield fuser
    ag.lazy.clear_cache()


@pytest.fixture
def no_fuser(monkeypatch):
    def off():
        monkeypatch.setenv("ANYGRAD_CPU_FUSER", "none")
        ag.lazy.clear_cache()
    yield off
    ag.lazy.clear_cache()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_and_unfused_agree_and_keep_the_dtype(dtype, cpu_fuser, no_fuser):
    x = ag.Tensor(np.linspace(-3, 3, N), dtype=dtype)
    eager = gelu_sin(x).numpy()
    with ag.lazy(), ag.no_grad():
        y = gelu_sin(x)
        plan = plan_of(y)
        assert plan.fused == 1 and len(plan.steps) == 1  # ten ops, one kernel
        fused = y.numpy()
    no_fuser()
    with ag.lazy(), ag.no_grad():
        y = gelu_sin(x)
        assert plan_of(y).fused == 0
        unfused = y.numpy()
    assert fused.dtype == unfused.dtype == eager.dtype == dtype
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(fused, eager, rtol=tol, atol=tol)
    np.testing.assert_allclose(unfused, eager, rtol=tol, atol=tol)  # in place: other SIMD paths


def test_fusion_stops_at_tensors_users_hold_and_at_saved_values(cpu_fuser):
    x = ag.Tensor(np.linspace(0.1, 1, N))
    with ag.lazy(), ag.no_grad():
        a = ag.exp(x) * 2
        b = ag.sqrt(a + 1) * 3
        plan = plan_of(b)
        if getattr(cpu_fuser, "regions", False):  # a is held: one pass writes a and b
            assert plan.fused == 1 and len(plan.steps[0].outs) == 2
        else:  # a is held: (exp, *) and (+, sqrt, *) are two kernels
            assert plan.fused == 2
        b.realize()
    np.testing.assert_allclose(a.numpy(), np.exp(x.numpy()) * 2)
    np.testing.assert_allclose(b.numpy(), np.sqrt(a.numpy() + 1) * 3)
    w = ag.Tensor(np.linspace(0.1, 1, N))
    with ag.lazy():
        loss = (ag.exp(w) * 2 + 1).sum()  # backward needs exp(w): nothing fuses
        assert plan_of(loss).fused == 0
        loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.exp(w.numpy()))


BINARY = {"add", "subtract", "multiply", "divide", "pow", "atan2", "maximum", "minimum",
          "logaddexp", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal"}


def test_every_fused_op_agrees_with_eager(cpu_fuser):
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.uniform(0.2, 0.8, N).astype(np.float32))
    y = ag.Tensor(rng.uniform(1.1, 1.9, N).astype(np.float32))
    for name in sorted(cpu_fuser.ops):
        fn = getattr(ag, name)
        args = (x > 0.5, x, y) if name == "where" else (
            (x, y) if name in BINARY else (y if name == "acosh" else x,))
        cmp = fn(*args).dtype == ag.bool
        eager = ag.where(fn(*args), x, y) if cmp else fn(*args) * 2
        with ag.lazy(), ag.no_grad():
            out = ag.where(fn(*args), x, y) if cmp else fn(*args) * 2
            assert plan_of(out).fused == 1, name
            got = out.numpy()
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got, eager.numpy(), rtol=2e-6, atol=1e-6, err_msg=name)


def test_the_numpy_fuser_computes_eager_values_blockwise(monkeypatch):
    """Blocks of the flattened arrays, or whole arrays where inputs broadcast: the same
    ufuncs in the same order, so the very values eager mode gives."""
    monkeypatch.setenv("ANYGRAD_CPU_FUSER", "numpy")
    monkeypatch.setattr(fusion_blocked, "BLOCK", 1000)  # several blocks and a ragged last one
    monkeypatch.setattr(fusion_blocked.BlockedFuser, "min_size", 16)
    ag.lazy.clear_cache()
    x = ag.Tensor(np.linspace(-2, 2, 4500).reshape(90, 50), dtype="float32")
    bias = ag.Tensor(np.linspace(0, 1, 50), dtype="float32")
    for f in (gelu_sin, lambda t: ag.where(t > 0, ag.tanh(t) * t ** 3, t * 0.5) + bias,
              lambda t: ag.maximum(ag.exp(t) - 1, 0.0) ** 2):
        want = f(x).numpy()
        with ag.lazy(), ag.no_grad():
            y = f(x)
            assert plan_of(y).fused >= 1
        np.testing.assert_array_equal(y.numpy(), want)


def test_without_a_fuser_lazy_mode_runs_op_by_op(no_fuser):
    no_fuser()
    assert backends.get("cpu").fuser() is None
    x = ag.Tensor(np.linspace(-1, 1, N))
    with ag.lazy(), ag.no_grad():
        y = gelu_sin(x)
        assert plan_of(y).fused == 0
    np.testing.assert_allclose(y.numpy(), gelu_sin(x).numpy(), rtol=1e-14, atol=1e-15)


# -- CUDA source -----------------------------------------------------------------------------
PROGRAMS = [
    Program((("array", "float32"), ("scalar", "float32"), ("array", "float32")),
            (("multiply", (("in", 0), ("in", 1)), "float32"),
             ("tanh", (("tmp", 0),), "float32"),
             ("greater", (("tmp", 1), ("in", 2)), "bool"),
             ("maximum", (("tmp", 1), ("in", 2)), "float32"),
             ("where", (("tmp", 2), ("tmp", 3), ("in", 1)), "float32")), "float32"),
    Program((("array", "float64"), ("array", "bool")),
            (("exp", (("in", 0),), "float64"), ("pow", (("tmp", 0), ("in", 0)), "float64"),
             ("where", (("in", 1), ("tmp", 1), ("in", 0)), "float64"),
             ("atan2", (("tmp", 2), ("in", 0)), "float64"), ("abs", (("tmp", 3),), "float64")),
            "float64"),
]


def test_generated_cuda_kernel_parts():
    in_params, out_params, operation, name = fusion_cupy.kernel_parts(PROGRAMS[0])
    assert in_params == "float32 i0, float32 i1, float32 i2" and out_params == "float32 y"
    assert operation.splitlines()[0] == "const float t0 = i0 * i1;"
    assert operation.splitlines()[-1].startswith("y = (float)(t2 ? t3 : i1)")
    assert name.startswith("anygrad_fused_")


def _compile_with_nvcc(source: str, tmp_path) -> tuple[bool, str]:
    src = tmp_path / "kernel.cu"
    src.write_text(source)
    proc = subprocess.run(["nvcc", "--ptx", str(src), "-o", str(tmp_path / "kernel.ptx")],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode == 0, proc.stderr


def _nvrtc() -> ctypes.CDLL | None:
    names = [ctypes.util.find_library("nvrtc")]
    try:
        import nvidia.cuda_nvrtc
        names += glob.glob(os.path.join(list(nvidia.cuda_nvrtc.__path__)[0], "lib", "libnvrtc.so*"))
    except ImportError:
        pass
    names += glob.glob("/usr/local/cuda*/lib64/libnvrtc.so*")
    for name in filter(None, names):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _compile_with_nvrtc(lib: ctypes.CDLL, source: str) -> tuple[bool, str]:
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"k.cu", 0, None,
                                  None) == 0
    result = lib.nvrtcCompileProgram(prog, 0, None)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    return result == 0, log.value.decode(errors="replace")


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
def test_generated_cuda_source_compiles(index, tmp_path):
    source = fusion_cupy.check_source(PROGRAMS[index])
    if shutil.which("nvcc"):
        ok, log = _compile_with_nvcc(source, tmp_path)
    else:
        lib = _nvrtc()
        if lib is None:
            pytest.skip("neither nvcc nor NVRTC (pip install nvidia-cuda-nvrtc-cu12) is here")
        ok, log = _compile_with_nvrtc(lib, source)
    assert ok, f"{log}\n{source}"


def test_cuda_source_for_a_real_graph_compiles(tmp_path, monkeypatch):
    """The program the planner builds for the GELU chain, as CUDA, compiles."""
    seen = []
    monkeypatch.setattr(fusion_blocked.BlockedFuser, "min_size", N // 2)
    fuser = backends.get("cpu").fuser()
    real = type(fuser).compile
    monkeypatch.setattr(type(fuser), "compile", lambda self, p: seen.append(p) or real(self, p))
    x = ag.Tensor(np.linspace(-1, 1, N), dtype="float32")
    with ag.lazy(), ag.no_grad():
        y = gelu_sin(x)
        plan_of(y)
    assert seen and pending(y)
    source = fusion_cupy.check_source(seen[-1])
    if not shutil.which("nvcc") and _nvrtc() is None:
        pytest.skip("neither nvcc nor NVRTC is here")
    ok, log = (_compile_with_nvcc(source, tmp_path) if shutil.which("nvcc")
               else _compile_with_nvrtc(_nvrtc(), source))
    assert ok, f"{log}\n{source}"


def test_fused_kernels_on_a_gpu(backend):
    if backend.name != "cupy":
        pytest.skip("needs the CuPy backend")
    x = backend.tensor(np.linspace(-3, 3, 1000), dtype="float32")
    eager = gelu_sin(x).numpy()
    with ag.lazy(), ag.no_grad():
        y = gelu_sin(x)
        assert plan_of(y).fused == 1
    np.testing.assert_allclose(y.numpy(), eager, rtol=1e-5, atol=1e-6)
