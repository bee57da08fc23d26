"""Fuzzing the public API (issue 11, item 14): random, often bad, arguments to constructors,
ops, axes, dtypes, devices, shape ops, indexing, layers, losses, optimizers and checkpoints.

Every failure must be a typed error (an ``AnygradError``, or the ``TypeError``/``ValueError``/
``IndexError`` that tests/test_validation.py and tests/test_nn_validation.py document) whose
message names the op; no internal error (``AttributeError``, ``KeyError``, ...) and no NumPy
exception may leak; and no call may return a result for an input it should refuse: each family
has an oracle (NumPy where NumPy is the reference) that says when a call must raise, and what
shape and dtype a call that succeeds returns.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import anygrad as ag
from anygrad import nn, optim
from anygrad.nn import functional as F

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])
TYPED = (ag.AnygradError, TypeError, ValueError, IndexError)
INTERNAL = (AttributeError, KeyError, ZeroDivisionError, RecursionError, AssertionError,
            NotImplementedError, UnboundLocalError, NameError)


def _realize(out):
    if isinstance(out, ag.Tensor):
        out.numpy()  # (lazy mode: an error may come only when computed)
    elif isinstance(out, list | tuple):
        for o in out:
            _realize(o)
    return out


def attempt(names, call):
    """``(result, None)`` or ``(None, error)``; an error must be typed and name one of
    ``names`` (the op, layer, optimizer or function) as a word in its message."""
    names = (names,) if isinstance(names, str) else names
    try:
        return _realize(call()), None
    except TYPED as exc:
        assert not isinstance(exc, INTERNAL), f"internal error {exc!r}"
        assert not type(exc).__module__.startswith(("numpy", "torch", "array_api")), \
            f"a backend's own exception leaked: {type(exc).__module__}.{exc!r}"
        msg = str(exc)
        assert any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", msg) for n in names), \
            f"{type(exc).__name__} does not name {names}: {msg}"
        return None, exc


def refuses(names, call, error=TYPED):
    out, exc = attempt(names, call)
    assert exc is not None, f"{names} accepted a bad input and returned {out!r}"
    assert isinstance(exc, error), f"{names}: {type(exc).__name__} is not {error}: {exc}"
    return exc


def accepts(names, call):
    out, exc = attempt(names, call)
    assert exc is None, f"{names} refused a good input: {type(exc).__name__}: {exc}"
    return out


def numpy_says(call):
    """NumPy's result of ``call``, or None where NumPy raises."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(call())
    except (ValueError, TypeError, IndexError, ZeroDivisionError):
        return None


def same_as(out, want, dtype=True):
    assert out.shape == want.shape, (out.shape, want.shape)
    if dtype:
        assert np.dtype(out.dtype) == want.dtype, (out.dtype, want.dtype)


# -- strategies -------------------------------------------------------------------------------
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
float_dtypes = st.sampled_from(["float32", "float64"])
int_axes = st.integers(-5, 5)
not_integers = st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.booleans(),
                         st.just([0.5]), st.just((0, "a")), st.just(1j))
axes = st.one_of(st.none(), int_axes, st.tuples(int_axes), st.tuples(int_axes, int_axes),
                 not_integers)
bad_reals = st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf),
                      st.floats(-10, -1e-6), st.text(max_size=3), st.none(), st.booleans(),
                      st.just([0.1]))


def arrays(shape, dtype="float64"):
    rng = np.random.default_rng(sum(shape) + len(shape))
    return rng.uniform(0.1, 2.0, size=shape).astype(dtype)


def is_int(v):
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def is_real(v):
    return isinstance(v, int | float) and not isinstance(v, bool)


# -- constructors -----------------------------------------------------------------------------
DATA = st.one_of(
    st.lists(st.floats(-5, 5), max_size=4),
    st.lists(st.lists(st.integers(-5, 5), min_size=1, max_size=3), min_size=1, max_size=3),
    st.text(max_size=3), st.none(), st.builds(object), st.dictionaries(st.text(max_size=2),
                                                                        st.integers(), max_size=2),
    st.floats(allow_nan=True), st.integers(-2**70, 2**70), st.complex_numbers(max_magnitude=5),
    st.booleans(), st.sets(st.integers(), max_size=2))


@FUZZ
@given(data=DATA)
def test_tensor_constructors(backend, data):
    want = numpy_says(lambda: np.array(data))
    for make in (ag.Tensor, ag.tensor, ag.asarray):
        if want is None or want.dtype.kind not in "biufc" or (
                want.dtype.kind in "iu" and want.dtype.itemsize > 8):
            refuses(("Tensor", "tensor", "asarray", "dtype"), lambda: make(data))
        else:
            out, exc = attempt(("Tensor", "tensor", "asarray", "dtype"), lambda: make(data))
            if exc is None:
                assert out.shape == want.shape


CREATE_SHAPES = st.one_of(shapes, st.integers(-3, 4),
                          st.lists(st.integers(-3, 4), max_size=3).map(tuple), not_integers)


@FUZZ
@given(shape=CREATE_SHAPES, op=st.sampled_from(["zeros", "ones", "empty", "full"]))
def test_creation_shapes(backend, shape, op):
    call = ((lambda: ag.full(shape, 1.5)) if op == "full" else
            lambda: getattr(ag, op)(shape))
    ints = (shape,) if is_int(shape) else shape
    if not isinstance(ints, tuple) or not all(is_int(n) for n in ints):
        refuses(op, call, TypeError)
    elif any(n < 0 for n in ints):
        refuses(op, call, ValueError)
    else:
        assert accepts(op, call).shape == ints


@FUZZ
@given(start=st.one_of(st.integers(-5, 5), st.floats(-5, 5)),
       stop=st.one_of(st.none(), st.integers(-5, 5), st.floats(-5, 5)),
       step=st.one_of(st.integers(-3, 3), st.floats(-3, 3), st.just(math.nan)))
def test_arange(backend, start, stop, step):
    assume(step == 0 or math.isnan(step) or
           abs(((stop if stop is not None else start) - (0 if stop is None else start)) / step)
           < 1000)
    want = numpy_says(lambda: np.arange(start, stop, step))
    if want is None or step == 0 or math.isnan(step):
        refuses("arange", lambda: ag.arange(start, stop, step), ValueError)
    else:
        assert accepts("arange", lambda: ag.arange(start, stop, step)).shape == want.shape


@FUZZ
@given(n=st.one_of(st.integers(-3, 5), not_integers), m=st.one_of(st.none(), st.integers(-3, 5)),
       num=st.one_of(st.integers(-3, 5), not_integers))
def test_eye_and_linspace(backend, n, m, num):
    if not is_int(n):
        refuses("eye", lambda: ag.eye(n, m), TypeError)
    elif n < 0 or (m is not None and m < 0):
        refuses("eye", lambda: ag.eye(n, m), ValueError)
    else:
        assert accepts("eye", lambda: ag.eye(n, m)).shape == (n, n if m is None else m)
    if not is_int(num):
        refuses("linspace", lambda: ag.linspace(0.0, 1.0, num), TypeError)
    elif num < 0:
        refuses("linspace", lambda: ag.linspace(0.0, 1.0, num), ValueError)
    else:
        assert accepts("linspace", lambda: ag.linspace(0.0, 1.0, num)).shape == (num,)


# -- dtypes and devices -----------------------------------------------------------------------
DTYPE_NAMES = ["bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64",
               "complex64", "complex128"]


def _backend_dtypes():
    out = [np.float32, np.int64, np.dtype("float64"), float, int, bool, complex]
    try:
        import torch
        out += [torch.float32, torch.int64]
    except ImportError:
        pass
    try:
        import array_api_strict as xp
        out += [xp.float64, xp.int32]
    except ImportError:
        pass
    return out


GARBAGE_DTYPES = st.one_of(
    st.text(max_size=8).filter(lambda s: s not in ag.dtypes.__dict__ and s not in (
        "float", "int", "double", "half", "single", "long", "short", "complex", "bool_",
        "cfloat", "cdouble", "byte", "ubyte", "intc", "uintc", "longlong", "bfloat16")),
    st.sampled_from([object, str, "float99", "f4", "torch.float", "np.float99", 3, 1.5,
                     np.dtype("U3"), np.dtype("O"), [np.float32]]))


@FUZZ
@given(dtype=st.one_of(st.sampled_from(DTYPE_NAMES), st.sampled_from(_backend_dtypes()),
                       GARBAGE_DTYPES), op=st.sampled_from(["zeros", "ones", "astype", "full"]))
def test_dtypes(backend, dtype, op):
    try:
        known = ag.dtypes.as_dtype(dtype)
    except TypeError as exc:
        assert "not a dtype anygrad knows" in str(exc) or "dtype" in str(exc)
        known = None
    x = backend.tensor(np.ones(3))
    call = {"zeros": lambda: ag.zeros(3, dtype=dtype), "ones": lambda: ag.ones(3, dtype=dtype),
            "full": lambda: ag.full(3, 1, dtype=dtype),
            "astype": lambda: ag.astype(x, dtype)}[op]
    # (a dtype error names the dtype it refuses, as test_validation.py documents)
    names = (op, repr(dtype), str(dtype), getattr(dtype, "__name__", "?"), "dtype")
    if known is None:
        refuses(names, call, TypeError)
    else:
        out, exc = attempt((*names, str(known)), call)
        if exc is None:
            assert out.dtype is known and out.shape == (3,)
        else:  # a backend without that dtype
            assert isinstance(exc, TypeError)


KNOWN_KINDS = ("cpu", "cuda", "torch", "array_api_strict", "numpy", "cupy", "jax", "dask",
               "mlx", "ndonnx", "sparse")


@FUZZ
@given(name=st.one_of(st.text(max_size=10).filter(lambda s: not s.startswith(KNOWN_KINDS)),
                      st.sampled_from(["gpu", "CPU", "cuda:x", "cpu:1", "cuda:-1", ":0",
                                       "cuda:", " cpu", "torch:", "tpu:0"])),
       op=st.sampled_from(["Tensor", "zeros", "to", "device"]))
def test_garbage_device_names(backend, name, op):
    x = backend.tensor(np.ones(2))
    call = {"Tensor": lambda: ag.Tensor([1.0], device=name),
            "zeros": lambda: ag.zeros(2, device=name), "to": lambda: x.to(name),
            "device": lambda: ag.device(name)}[op]
    exc = refuses((repr(name),), call, ag.DeviceError)
    assert isinstance(exc, ValueError)


@FUZZ
@given(name=st.sampled_from(["cpu", "cpu:0", "cuda:0", "cuda:1"]))
def test_valid_device_names(backend, name):
    if ag.device(name) not in [ag.device(d) for d in backend.devices]:
        return  # (no such device here: covered by test_validation.py)
    out = accepts("zeros", lambda: ag.zeros((2, 1), device=name))
    assert out.device == ag.device(name) and out.shape == (2, 1)


# -- elementwise ops and reductions -----------------------------------------------------------
UNARY = ["exp", "sin", "tanh", "sqrt", "abs", "negative", "log1p", "floor", "sign", "square"]
BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "pow", "atan2",
          "hypot"]


@FUZZ
@given(op=st.sampled_from(UNARY), shape=shapes,
       dtype=st.sampled_from(["float32", "float64", "int64", "bool", "complex128"]))
def test_unary_ops(backend, op, shape, dtype):
    if backend.name != "numpy":
        assume(dtype not in ("bool", "complex128"))
    a = arrays(shape, dtype)
    want = numpy_says(lambda: getattr(np, op)(a))
    out, exc = attempt(op, lambda: getattr(ag, op)(backend.tensor(a)))
    if exc is None:
        assert out.shape == want.shape
        if dtype in ("float32", "float64", "complex128"):
            assert np.dtype(out.dtype) == want.dtype


@FUZZ
@given(op=st.sampled_from(BINARY), s1=shapes, s2=shapes, d1=float_dtypes, d2=float_dtypes)
def test_binary_ops_broadcast_as_numpy(backend, op, s1, s2, d1, d2):
    a, b = arrays(s1, d1), arrays(s2, d2)
    want = numpy_says(lambda: getattr(np, {"atan2": "arctan2", "pow": "power"}.get(op, op))(a, b))
    call = lambda: getattr(ag, op)(backend.tensor(a), backend.tensor(b))  # noqa: E731
    if want is None:
        refuses(op, call, ag.ShapeError)
    else:
        same_as(accepts(op, call), want)


REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod,
              "var": np.var, "std": np.std, "any": np.any, "all": np.all,
              "logsumexp": np.sum}
ONE_AXIS = {"argmax": np.argmax, "argmin": np.argmin,
            "cumulative_sum": lambda a, axis: np.cumulative_sum(a, axis=axis),
            "flip": lambda a, axis: np.flip(a, axis=axis),
            "sort": lambda a, axis: np.sort(a, axis=axis)}


def _axis_oracle(ref, a, axis):
    if axis is None or is_int(axis) or (isinstance(axis, tuple) and all(map(is_int, axis))):
        return numpy_says(lambda: ref(a, axis=axis)), False
    return None, True  # not an integer: a TypeError


@FUZZ
@given(op=st.sampled_from(sorted(REDUCTIONS)), shape=shapes, axis=axes,
       keepdims=st.booleans(), dtype=float_dtypes)
def test_reductions_with_random_axes(backend, op, shape, axis, keepdims, dtype):
    a = arrays(shape, dtype)
    want, type_error = _axis_oracle(lambda a, axis: REDUCTIONS[op](a, axis=axis,
                                                                   keepdims=keepdims), a, axis)
    call = lambda: getattr(ag, op)(backend.tensor(a), axis=axis, keepdims=keepdims)  # noqa: E731
    if type_error:
        refuses(op, call, TypeError)
    elif want is None:
        exc = refuses(op, call, ag.ShapeError)
        assert isinstance(exc, ag.AxisError) or "repeated" in str(exc)
    else:
        same_as(accepts(op, call), want)


@FUZZ
@given(op=st.sampled_from(sorted(ONE_AXIS)), shape=shapes.filter(len),
       axis=st.one_of(int_axes, not_integers))
def test_one_axis_ops_with_random_axes(backend, op, shape, axis):
    a = arrays(shape)
    want, type_error = _axis_oracle(ONE_AXIS[op], a, axis)
    call = lambda: getattr(ag, op)(backend.tensor(a), axis=axis)  # noqa: E731
    if type_error:
        refuses(op, call, TypeError)
    elif want is None:
        refuses(op, call, ag.AxisError)
    else:
        same_as(accepts(op, call), want)


# -- shape ops --------------------------------------------------------------------------------
new_shapes = st.lists(st.integers(-2, 7), max_size=4).map(tuple)


@FUZZ
@given(shape=shapes, new=st.one_of(new_shapes, not_integers))
def test_reshape(backend, shape, new):
    a = arrays(shape)
    call = lambda: ag.reshape(backend.tensor(a), new)  # noqa: E731
    if not isinstance(new, tuple) or not all(map(is_int, new)):
        refuses("reshape", call, TypeError)
        return
    want = numpy_says(lambda: np.reshape(a, new))
    if want is None:
        refuses("reshape", call, ag.ShapeError)
    else:
        same_as(accepts("reshape", call), want)


@FUZZ
@given(shape=shapes, perm=st.lists(st.integers(-4, 4), max_size=4).map(tuple))
def test_permute_dims(backend, shape, perm):
    a = arrays(shape)
    want = numpy_says(lambda: np.transpose(a, perm))
    call = lambda: ag.permute_dims(backend.tensor(a), perm)  # noqa: E731
    if want is None:
        refuses("permute_dims", call, ag.AxisError)
    else:
        same_as(accepts("permute_dims", call), want)


@FUZZ
@given(shape=shapes, target=new_shapes)
def test_broadcast_to(backend, shape, target):
    a = arrays(shape)
    want = numpy_says(lambda: np.broadcast_to(a, target))
    call = lambda: ag.broadcast_to(backend.tensor(a), target)  # noqa: E731
    if want is None:
        refuses("broadcast_to", call, ag.ShapeError)
    else:
        same_as(accepts("broadcast_to", call), want)


@FUZZ
@given(shape=shapes, axis=st.one_of(int_axes, st.tuples(int_axes)),
       op=st.sampled_from(["squeeze", "expand_dims"]))
def test_squeeze_and_expand_dims(backend, shape, axis, op):
    a = arrays(shape)
    want = numpy_says(lambda: getattr(np, op)(a, axis=axis))
    call = lambda: getattr(ag, op)(backend.tensor(a), axis=axis)  # noqa: E731
    if want is None:
        refuses(op, call, ag.ShapeError)
    else:
        same_as(accepts(op, call), want)


# -- indexing ---------------------------------------------------------------------------------
index_items = st.one_of(st.integers(-5, 5), st.none(), st.just(Ellipsis),
                        st.builds(slice, st.one_of(st.none(), st.integers(-5, 5)),
                                  st.one_of(st.none(), st.integers(-5, 5)),
                                  st.one_of(st.none(), st.integers(1, 3))))
bad_items = st.one_of(st.floats(), st.text(max_size=2), st.just(1j), st.builds(object),
                      st.just([0.5]))


@FUZZ
@given(shape=shapes, index=st.one_of(index_items, st.lists(index_items, max_size=4).map(tuple),
                                     bad_items, st.tuples(index_items, bad_items)))
def test_getitem(backend, shape, index):
    a = arrays(shape)
    want = numpy_says(lambda: a[index])
    call = lambda: backend.tensor(a)[index]  # noqa: E731
    if want is None:
        refuses("getitem", call, (IndexError, TypeError))
    else:
        out, exc = attempt("getitem", call)
        if exc is None or backend.name == "numpy":  # (strict may refuse what NumPy allows)
            assert exc is None, exc
            same_as(out, want)


# -- layers -----------------------------------------------------------------------------------
sizes = st.one_of(st.integers(-1, 4), st.sampled_from([2.0, "2", None, True]))


@FUZZ
@given(fin=sizes, fout=sizes, shape=shapes)
def test_linear(backend, fin, fout, shape):
    make = lambda: nn.Linear(fin, fout)  # noqa: E731
    if not (is_int(fin) and is_int(fout) and fin >= 1 and fout >= 1):
        refuses("Linear", make)
        return
    layer = accepts("Linear", make).to(backend.device)
    x = backend.tensor(arrays(shape, "float32"))
    if len(shape) >= 1 and shape[-1] == fin:
        assert accepts("Linear", lambda: layer(x)).shape == (*shape[:-1], fout)
    else:
        refuses(("Linear", "linear", "matmul"), lambda: layer(x), ag.ShapeError)


conv_ints = st.one_of(st.integers(-1, 3), st.sampled_from([1.5, "1", (1, 0), (1, 2, 3)]))


@FUZZ
@given(cin=st.integers(0, 3), cout=st.integers(1, 3), k=conv_ints, stride=conv_ints,
       padding=st.one_of(st.integers(-1, 2), st.sampled_from(["same", "valid", "full"])),
       shape=st.lists(st.integers(1, 5), min_size=3, max_size=5).map(tuple))
def test_conv2d(backend, cin, cout, k, stride, padding, shape):
    def pair(v):
        return (v, v) if is_int(v) else v

    ok = (cin >= 1 and all(isinstance(pair(v), tuple) and len(pair(v)) == 2
                           and all(is_int(n) and n >= 1 for n in pair(v)) for v in (k, stride))
          and (padding in ("same", "valid") or (is_int(padding) and padding >= 0))
          and not (padding == "same" and pair(stride) != (1, 1)))
    make = lambda: nn.Conv2d(cin, cout, k, stride=stride, padding=padding)  # noqa: E731
    if not ok:
        refuses("Conv2d", make)
        return
    layer = accepts("Conv2d", make).to(backend.device)
    x = backend.tensor(arrays(shape, "float32"))
    kh, kw = pair(k)
    sh, sw = pair(stride)
    p = {"valid": (0, 0), "same": None}.get(padding, pair(padding))
    if len(shape) != 4 or shape[1] != cin:
        refuses(("Conv2d", "conv2d"), lambda: layer(x), ag.ShapeError)
        return
    n, _, h, w = shape
    if p is None:
        want = (n, cout, h, w)
    else:
        oh, ow = (h + 2 * p[0] - kh) // sh + 1, (w + 2 * p[1] - kw) // sw + 1
        if h + 2 * p[0] < kh or w + 2 * p[1] < kw:
            refuses(("Conv2d", "conv2d"), lambda: layer(x), ag.ShapeError)
            return
        want = (n, cout, oh, ow)
    assert accepts("Conv2d", lambda: layer(x)).shape == want


@FUZZ
@given(num=sizes, dim=sizes, idx=st.lists(st.integers(-3, 6), min_size=1, max_size=4),
       dtype=st.sampled_from(["int64", "int32", "uint8", "float64", "bool"]))
def test_embedding(backend, num, dim, idx, dtype):
    make = lambda: nn.Embedding(num, dim)  # noqa: E731
    if not (is_int(num) and is_int(dim) and num >= 1 and dim >= 1):
        refuses("Embedding", make)
        return
    layer = accepts("Embedding", make).to(backend.device)
    raw = np.array(idx)
    if dtype == "uint8":
        raw = raw[raw >= 0]
        assume(raw.size)
    x = backend.tensor(raw.astype(dtype))
    if dtype in ("float64", "bool"):
        refuses(("Embedding", "embedding"), lambda: layer(x), TypeError)
    elif raw.min() < 0 or raw.max() >= num:
        refuses(("Embedding", "embedding"), lambda: layer(x), IndexError)
    else:
        assert accepts("Embedding", lambda: layer(x)).shape == (raw.size, dim)


@FUZZ
@given(p=st.one_of(st.floats(0, 1), st.floats(1.01, 5), bad_reals), shape=shapes,
       train=st.booleans())
def test_dropout(backend, p, shape, train):
    make = lambda: nn.Dropout(p)  # noqa: E731
    if not (is_real(p) and 0 <= p <= 1):
        refuses("Dropout", make)
        refuses("dropout", lambda: F.dropout(backend.tensor(np.ones(2)), p=p))
        return
    layer = accepts("Dropout", make).train(train)
    x = backend.tensor(arrays(shape))
    out = accepts("Dropout", lambda: layer(x))
    same_as(out, np.asarray(arrays(shape)))
    if not train or p == 0:
        np.testing.assert_array_equal(out.numpy(), arrays(shape))


# -- losses -----------------------------------------------------------------------------------
@FUZZ
@given(n=st.integers(1, 4), c=st.integers(1, 4),
       labels=st.lists(st.one_of(st.integers(-3, 6), st.just(-100)), min_size=1, max_size=5),
       loss=st.sampled_from(["cross_entropy", "nll_loss"]),
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_class_losses_refuse_bad_labels(backend, n, c, labels, loss, reduction):
    x = backend.tensor(np.log(np.full((n, c), 1.0 / c)))
    y = backend.tensor(np.array(labels))
    call = lambda: getattr(F, loss)(x, y, reduction=reduction)  # noqa: E731
    if len(labels) != n:
        refuses(loss, call, ag.ShapeError)
    elif any(v != -100 and not 0 <= v < c for v in labels):
        refuses(loss, call, IndexError)
    else:
        with np.errstate(all="ignore"):
            out = accepts(loss, call)
        assert out.shape == ((n,) if reduction == "none" else ())


@FUZZ
@given(s1=shapes, s2=shapes, loss=st.sampled_from(["mse_loss", "l1_loss", "binary_cross_entropy",
                                                   "binary_cross_entropy_with_logits"]),
       reduction=st.one_of(st.sampled_from(["mean", "sum", "none"]), st.text(max_size=4)))
def test_pointwise_losses_refuse_other_shapes(backend, s1, s2, loss, reduction):
    x, t = backend.tensor(np.full(s1, 0.5)), backend.tensor(np.full(s2, 0.25))
    call = lambda: getattr(F, loss)(x, t, reduction=reduction)  # noqa: E731
    if s1 != s2:
        refuses(loss, call, ag.ShapeError)
    elif reduction not in ("mean", "sum", "none"):
        refuses(loss, call, ValueError)
    else:
        assert accepts(loss, call).shape == (s1 if reduction == "none" else ())


# -- optimizers -------------------------------------------------------------------------------
good_lr = st.one_of(st.floats(0, 1), st.integers(0, 2))


@FUZZ
@given(opt=st.sampled_from(["SGD", "Adam", "AdamW"]), lr=st.one_of(good_lr, bad_reals),
       wd=st.one_of(st.floats(0, 0.1), bad_reals), extra=st.one_of(st.floats(0, 0.99), bad_reals))
def test_optimizer_hyperparameters(backend, opt, lr, wd, extra):
    p = nn.Parameter(backend.tensor(np.array([1.0, -2.0])))
    key = "momentum" if opt == "SGD" else "eps"
    kw = {"lr": lr, "weight_decay": wd, key: extra}
    make = lambda: getattr(optim, opt)([p], **kw)  # noqa: E731
    if not all(is_real(v) and math.isfinite(v) and v >= 0 for v in kw.values()):
        refuses(opt, make)
        np.testing.assert_array_equal(p.numpy(), [1.0, -2.0])
        return
    o = accepts(opt, make)
    (p * p).sum().backward()
    o.step()
    assert np.isfinite(p.numpy()).all()


@FUZZ
@given(betas=st.one_of(st.tuples(st.floats(0, 0.999), st.floats(0, 0.999)),
                       st.tuples(bad_reals, st.floats(0, 0.9)), st.tuples(st.floats(1, 2),
                                                                          st.floats(0, 0.9)),
                       st.floats(0, 0.9), st.just((0.9,)), st.just((0.9, 0.9, 0.9))))
def test_adam_betas(betas):
    p = nn.Parameter(ag.Tensor([1.0]))
    make = lambda: optim.Adam([p], betas=betas)  # noqa: E731
    if (isinstance(betas, tuple) and len(betas) == 2
            and all(is_real(b) and 0 <= b < 1 for b in betas)):
        accepts("Adam", make)
    else:
        refuses("Adam", make)


# -- checkpoints ------------------------------------------------------------------------------
leaves = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(),
                   st.text(max_size=5),
                   st.builds(lambda s: ag.Tensor(arrays(s)), shapes))
bad_leaves = st.one_of(st.builds(lambda s: arrays(s), shapes), st.just(b"xy"),
                       st.just({1, 2}), st.builds(object), st.just(1j))
trees = st.recursive(leaves, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=4), kids, max_size=3),
    st.lists(kids, max_size=2).map(tuple)), max_leaves=8)


def _equal(a, b):
    if isinstance(a, ag.Tensor):
        assert isinstance(b, ag.Tensor) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _equal(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _equal(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b)
    else:
        assert type(a) is type(b) and a == b


@FUZZ
@given(tree=st.dictionaries(st.text(max_size=4), trees, max_size=4),
       bad=st.one_of(st.none(), bad_leaves))
def test_save_load_round_trip(tree, bad):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ckpt.npz"
        if bad is not None:
            refuses("save", lambda: ag.save({**tree, "bad": [bad]}, path), ag.CheckpointError)
            assert not path.exists()
            return
        accepts("save", lambda: ag.save(tree, path))
        _equal(tree, accepts("load", lambda: ag.load(path)))


@FUZZ
@given(blob=st.one_of(st.binary(max_size=200),
                      st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=200).map(lambda b: b"\x93NUMPY\x01\x00" + b)),
       cut=st.integers(0, 400))
def test_load_of_random_bytes(blob, cut):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "junk.npz"
        path.write_bytes(blob)
        refuses("load", lambda: ag.load(path), ag.CheckpointError)
        good = Path(tmp) / "good.npz"
        ag.save({"w": ag.Tensor(np.arange(3.0)), "step": 2}, good)
        data = good.read_bytes()
        path.write_bytes(data[:cut % len(data)])  # a truncated checkpoint
        refuses("load", lambda: ag.load(path), ag.CheckpointError)


@pytest.mark.parametrize("bad", [3, None, 1.5])
def test_load_of_a_non_path(bad):
    refuses("load", lambda: ag.load(bad), TypeError)
