"""Inputs anygrad must refuse, with typed errors that say what was wrong (issue 11, items 4,
5, 8, 12; issue 12, item 2): axes out of range, non-integer axes and shapes, garbage dtype
and device names, singular matrices, integer powers below zero, torch's bfloat16."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import anygrad as ag
from anygrad import backends
from anygrad.ops import nn as ops_nn

# -- axes -------------------------------------------------------------------------------------
# (name, call on a 2-d tensor with a bad axis): every op that takes an axis
BAD_AXIS = {
    "fft": lambda m, a: ag.fft.fft(m, axis=a),
    "ifft": lambda m, a: ag.fft.ifft(m, axis=a),
    "rfft": lambda m, a: ag.fft.rfft(m, axis=a),
    "irfft": lambda m, a: ag.fft.irfft(m, axis=a),
    "fftn": lambda m, a: ag.fft.fftn(m, axes=(0, a)),
    "rfftn": lambda m, a: ag.fft.rfftn(m, axes=(a,)),
    "fftshift": lambda m, a: ag.fft.fftshift(m, axes=a),
    "moveaxis": lambda m, a: ag.moveaxis(m, a, 0),
    "moveaxis ": lambda m, a: ag.moveaxis(m, 0, a),  # (the destination)
    "sum": lambda m, a: ag.sum(m, axis=a),
    "mean": lambda m, a: ag.mean(m, axis=(0, a)),
    "max": lambda m, a: ag.max(m, axis=a),
    "prod": lambda m, a: ag.prod(m, axis=a),
    "var": lambda m, a: ag.var(m, axis=a),
    "logsumexp": lambda m, a: ag.logsumexp(m, axis=a),
    "cumulative_sum": lambda m, a: ag.cumulative_sum(m, axis=a),
    "diff": lambda m, a: ag.diff(m, axis=a),
    "sort": lambda m, a: ag.sort(m, axis=a),
    "argmax": lambda m, a: ag.argmax(m, axis=a),
    "count_nonzero": lambda m, a: ag.count_nonzero(m, axis=a),
    "permute_dims": lambda m, a: ag.permute_dims(m, (a, 0)),
    "concat": lambda m, a: ag.concat([m, m], axis=a),
    "stack": lambda m, a: ag.stack([m[0], m[0]], axis=a),  # (ndim of the result: 2)
    "unstack": lambda m, a: ag.unstack(m, axis=a),
    "expand_dims": lambda m, a: ag.expand_dims(m[0], axis=a),
    "squeeze": lambda m, a: ag.squeeze(m, axis=a),
    "flip": lambda m, a: ag.flip(m, axis=a),
    "roll": lambda m, a: ag.roll(m, 1, axis=a),
    "repeat": lambda m, a: ag.repeat(m, 2, axis=a),
    "vector_norm": lambda m, a: ag.linalg.vector_norm(m, axis=a),
    "norm": lambda m, a: ag.linalg.norm(m, axis=(0, a)),
    "cross": lambda m, a: ag.linalg.cross(m, m, axis=a),
    "tensordot": lambda m, a: ag.tensordot(m, m, axes=((a,), (0,))),
    "softmax": lambda m, a: ops_nn.softmax(m, axis=a),
    "log_softmax": lambda m, a: ops_nn.log_softmax(m, axis=a),
    "swapaxes": lambda m, a: ag.swapaxes(m, 0, a),
    "split": lambda m, a: ag.split(m, 2, axis=a),
    "transpose": lambda m, a: m.transpose(a, 0),
}


@pytest.mark.parametrize("name", sorted(BAD_AXIS))
@pytest.mark.parametrize("axis", [2, 3, -3, 7])
def test_out_of_range_axis_is_an_axis_error_naming_op_axis_and_ndim(backend, name, axis):
    m = backend.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ag.AxisError) as info:
        BAD_AXIS[name](m, axis)
    msg = str(info.value)
    assert msg.startswith(name.strip() + ":") or f"{name.strip()}:" in msg, msg
    assert str(axis) in msg and "2-d" in msg
    # NumPy's own AxisError is a ValueError and an IndexError: so is ours (and a ShapeError)
    assert isinstance(info.value, IndexError) and isinstance(info.value, ValueError)
    assert isinstance(info.value, ag.ShapeError)


def test_fft_along_a_missing_axis_no_longer_wraps(backend):
    """The bug: ``fft(m, axis=3)`` on a 2-d tensor computed along axis 1."""
    m = backend.tensor(np.arange(6.0).reshape(2, 3) + 0j)
    with pytest.raises(ag.AxisError, match=r"fft: axis 3 is out of range for a 2-d tensor"):
        ag.fft.fft(m, axis=3)
    np.testing.assert_allclose(ag.fft.fft(m, axis=-2).numpy(), np.fft.fft(m.numpy(), axis=0))


@pytest.mark.parametrize("axis", [1.5, "1", True, [0.5], (0, "a")])
def test_non_integer_axis_is_a_type_error_naming_the_op(backend, axis):
    m = backend.tensor(np.ones((2, 3)))
    for name, call in (("sum", lambda: ag.sum(m, axis=axis)),
                       ("fft", lambda: ag.fft.fft(m, axis=axis)),
                       ("moveaxis", lambda: ag.moveaxis(m, axis, 0)),
                       ("flip", lambda: ag.flip(m, axis=axis))):
        with pytest.raises(TypeError, match=f"^{name}: .*integer"):
            call()


def test_numpy_integer_axes_are_integers(backend):
    m = backend.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(ag.sum(m, axis=np.int64(1)).numpy(), [3.0, 12.0])
    assert ag.moveaxis(m, np.int32(0), -1).shape == (3, 2)


# -- shapes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2.5,), 3.0, "6", (2, "3"), (True,), (None,)])
def test_non_integer_shapes_are_refused(backend, shape):
    for name, call in (("zeros", lambda: ag.zeros(shape)), ("ones", lambda: ag.ones(shape)),
                       ("full", lambda: ag.full(shape, 1.0)),
                       ("reshape", lambda: ag.reshape(ag.arange(6.0), shape))):
        with pytest.raises(TypeError, match=f"^{name}: a shape is an integer"):
            call()


def test_integer_shapes_still_work(backend):
    assert ag.zeros(3).shape == (3,)
    assert ag.zeros((2, np.int64(3))).shape == (2, 3)
    assert ag.reshape(ag.arange(6.0), [3, -1]).shape == (3, 2)
    assert ag.arange(6.0).reshape(2, 3).shape == (2, 3)


def test_fft_lengths_are_integers(backend):
    v = backend.tensor(np.ones(4))
    with pytest.raises(TypeError, match="^fft: "):
        ag.fft.fft(v, n=2.5)


# -- dtypes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["foo.float32", "xfloat32", "float32 ", "f4", "torch.float",
                                  "np.float99", ""])
def test_dtype_names_are_strict(name):
    with pytest.raises(TypeError, match="not a dtype anygrad knows"):
        ag.dtypes.as_dtype(name)
    with pytest.raises(TypeError):
        ag.zeros(2, dtype=name)


def test_dtype_spellings_that_work():
    as_dtype = ag.dtypes.as_dtype
    assert as_dtype("float32") is as_dtype(np.float32) is as_dtype(np.dtype("float32"))
    assert as_dtype("numpy.float32") is ag.float32  # a known module's qualified name
    assert as_dtype(float) is ag.float64 and as_dtype(bool) is ag.bool
    assert as_dtype("double") is ag.float64
    if importlib.util.find_spec("torch"):
        import torch
        assert as_dtype(torch.float32) is ag.float32 and as_dtype(torch.int64) is ag.int64
    if importlib.util.find_spec("array_api_strict"):
        import array_api_strict as xp
        assert as_dtype(xp.float64) is ag.float64


# -- devices ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gpu", "CPU", "cuda:x", "Cuda", " cpu", "cpu:1", "cuda:",
                                  "tpu", "cuda:-1", ":0"])
def test_device_names_are_strict(name):
    with pytest.raises(ag.DeviceError) as info:
        ag.device(name)
    assert isinstance(info.value, ValueError)  # ValueError-compatible
    msg = str(info.value)
    assert repr(name) in msg and "'cpu'" in msg and "'cuda:N'" in msg
    assert "torch" in msg and "array_api_strict" in msg  # the registered kinds
    before = ag.get_default_device()
    with pytest.raises(ValueError):
        ag.set_default_device(name)
    with pytest.raises(ValueError), ag.default_device(name):
        pass
    with pytest.raises(ag.DeviceError):
        ag.Tensor([1.0], device=name)
    assert ag.get_default_device() == before


def test_gpu_says_cuda():
    with pytest.raises(ValueError, match="'cuda' or 'cuda:N'"):
        ag.Tensor([1.0], device="gpu")
    with pytest.raises(ValueError, match="lower case"):
        ag.device("CPU")


def test_valid_device_names_still_parse():
    assert ag.device("cpu") is ag.device("cpu:0")
    assert ag.device("cuda") is ag.device("cuda:0")
    assert ag.device("cuda:12").index == 12
    assert str(ag.device("torch:cpu")) == "torch:cpu"
    assert str(ag.device("array_api_strict:device1")) == "array_api_strict:device1"
    assert ag.device("cpu") == "cpu" and ag.device("cpu") != "CPU"


def test_registered_kinds_parse():
    class Mine(backends.Backend):
        name = "mine"

    with backends.registered({"minekind": lambda dev: Mine(np, dev, "cpu")}):
        assert str(ag.device("minekind:3")) == "minekind:3"


# -- linear algebra -----------------------------------------------------------------------------
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


@pytest.mark.parametrize("call", [
    lambda a: ag.linalg.inv(a),
    lambda a: ag.linalg.solve(a, ag.ones(2, device=a.device)),
    lambda a: ag.linalg.matrix_power(a, -2),
], ids=["inv", "solve", "matrix_power"])
def test_singular_matrix_is_a_linalg_error(backend, call):
    if backend.name == "cupy":
        pytest.skip("CuPy returns non-finite values for singular matrices instead of raising")
    a = backend.tensor(SINGULAR)
    with pytest.raises(ag.LinAlgError) as info:
        call(a).numpy()  # (lazy mode: the error comes when computed)
    assert not isinstance(info.value, ag.ShapeError)
    assert isinstance(info.value, ValueError)
    assert "[2, 2]" in str(info.value)


def test_linalg_error_has_numpys_name():
    assert ag.LinAlgError.__name__ == np.linalg.LinAlgError.__name__
    assert issubclass(ag.LinAlgError, ag.AnygradError) and issubclass(ag.LinAlgError, ValueError)


def test_cholesky_of_a_matrix_not_positive_definite(backend):
    if backend.name == "cupy":
        pytest.skip("CuPy returns NaN for a matrix that is not positive-definite")
    a = backend.tensor(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ag.LinAlgError, match="^cholesky: "):
        ag.linalg.cholesky(a).numpy()
    good = backend.tensor(np.array([[4.0, 2.0], [2.0, 3.0]]))
    np.testing.assert_allclose(ag.linalg.cholesky(good).numpy(),
                               np.linalg.cholesky(good.numpy()))


# -- integer powers -----------------------------------------------------------------------------
def test_integer_to_a_negative_integer_power_is_a_domain_error(backend):
    x = backend.tensor(np.array([1, 2, 3]))
    for call in (lambda: x ** -1, lambda: ag.pow(x, backend.tensor(np.array([1, -1, 2]))),
                 lambda: 2 ** backend.tensor(np.array([-1]))):
        with pytest.raises(ag.DomainError, match="^pow: .*negative integer power") as info:
            call().numpy()
        assert isinstance(info.value, ValueError)
    np.testing.assert_array_equal((x ** 2).numpy(), [1, 4, 9])
    np.testing.assert_allclose((backend.tensor(np.array([2.0])) ** -1).numpy(), [0.5])


# -- graph drawing ------------------------------------------------------------------------------
@pytest.mark.parametrize("obj", [5, None, np.ones(2)])
def test_graph_takes_a_tensor(obj):
    with pytest.raises(TypeError, match="graph\\(\\) takes a Tensor"):
        ag.graph(obj)


# -- bfloat16 -----------------------------------------------------------------------------------
def test_bfloat16_is_a_dtype_anygrad_knows():
    assert ag.bfloat16.kind == "f" and ag.bfloat16.itemsize == 2
    assert ag.dtypes.as_dtype("bfloat16") is ag.bfloat16
    assert ag.result_type(ag.bfloat16, ag.float16) is ag.float32
    assert ag.result_type(ag.bfloat16, ag.float32) is ag.float32


def test_numpy_says_it_has_no_bfloat16():
    with pytest.raises(TypeError, match="bfloat16"):
        ag.zeros(2, dtype=ag.bfloat16, device="cpu")
    with pytest.raises(TypeError, match="NumPy has no dtype bfloat16"):
        np.dtype(ag.bfloat16)


def test_torch_bfloat16_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    t = ag.Tensor(torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16))
    assert t.dtype is ag.bfloat16 and t.data.dtype is torch.bfloat16
    loss = ag.sum(t * t)
    loss.backward()
    assert t.grad.dtype is ag.bfloat16
    np.testing.assert_allclose(t.grad.numpy(), [2.0, 4.0, 6.0])
    assert t.numpy().dtype == np.float32  # NumPy has none: float32 holds it exactly
    assert ag.astype(t, ag.float32).dtype is ag.float32
    assert ag.astype(ag.Tensor(torch.ones(2)), "bfloat16").data.dtype is torch.bfloat16
