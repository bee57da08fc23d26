"""NumPy's own functions on Tensors: ``__array_ufunc__`` (NEP 13) and ``__array_function__``
(NEP 18) dispatch them to anygrad's differentiable functions, on the tensors' own devices.

``np.exp(t)``, ``np_array + t``, ``np.add.reduce(t, axis=0)``, ``np.sum(t, axis=0)``,
``np.linalg.inv(t)``, ``np.fft.fft(t)`` return Tensors with gradients, on CuPy or torch as on
NumPy. NumPy's callables are recognised by their ``__name__`` (and ``__module__``): nothing
here imports NumPy. A NumPy function anygrad has no equivalent for raises TypeError when a
Tensor argument requires a gradient (a graph is never cut silently); on constants it runs in
NumPy on host data for tensors in host memory, and raises TypeError for tensors elsewhere.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable
from typing import Any

from . import backends, dtypes
from . import ops as ag  # the namespace's functions (anygrad itself is still importing)
from ._tensor import Tensor, _wrap
from .backends import numpy_fallback as _host
from .errors import DeviceError
from .modes import MODE, no_grad
from .ops import numpy_names as _names


class _OnUse:
    """A module imported on first attribute access (anygrad.linalg and .fft load on use)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


linalg = _OnUse("anygrad.linalg")
_fft = _OnUse("anygrad.fft")

_NO: Any = type("NoValue", (), {"__repr__": lambda self: "<no value>"})()  # argument not given


class _Unsupported(Exception):
    """Raised by an adapter for arguments anygrad cannot honour: the dispatcher falls back."""


# -- helpers ---------------------------------------------------------------------------------
def _tensors(obj: Any, found: list[Tensor]) -> list[Tensor]:
    """The Tensors in ``obj`` (through tuples, lists and dict values)."""
    if isinstance(obj, Tensor):
        found.append(obj)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _tensors(v, found)
    elif isinstance(obj, dict):
        for v in obj.values():
            _tensors(v, found)
    return found


def _map_tensors(obj: Any, fn: Callable[[Tensor], Any]) -> Any:
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, list):
        return [_map_tensors(v, fn) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_map_tensors(v, fn) for v in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _host_array(t: Tensor) -> Any:
    return _host.host_array(t.data, t._backend)


def _fallback(what: str, name: str, call: Callable[..., Any], args: tuple, kwargs: dict,
              also: tuple = ()) -> Any:
    """``call`` (NumPy's ``name``) on host arrays of the Tensors in ``args``/``kwargs``, its
    array results wrapped back as constants on their backend (that of ``also`` too, Tensors
    the result goes into); the refusals of the module docstring."""
    tensors = _tensors((args, kwargs, also), [])
    if MODE.get().grad and any(t._rg for t in tensors):
        raise TypeError(f"{what} has no differentiable anygrad equivalent, and a Tensor "
                        f"argument requires a gradient; use anygrad's functions, or pass "
                        f"t.detach() to compute a constant")
    if not tensors:
        return call(*args, **kwargs)
    backend = tensors[0]._backend
    for t in tensors:
        if t._backend is not backend:
            raise DeviceError(f"{what}: Tensor arguments on different devices ({backend.device} "
                              f"and {t.device})")
    if not _host.on_host(backend):
        raise TypeError(f"{what} has no anygrad equivalent, and NumPy can only run it on host "
                        f"data: a Tensor is on {backend.device} ({backend.name}); copy it with "
                        f"t.numpy() first")
    if name in _MUTATING and args and isinstance(args[0], Tensor):
        raise TypeError(f"{what} writes into its first argument; Tensors take writes as "
                        f"t[key] = value")
    result = call(*_map_tensors(args, _host_array), **_map_tensors(kwargs, _host_array))
    return _host.wrap_results(result, lambda arr: _wrap(backend.asarray(arr), backend))


_MUTATING = frozenset({"put", "place", "putmask", "fill_diagonal", "put_along_axis", "copyto"})


def _store(result: Any, out: Any) -> Any:
    """NumPy's ``out=``: ``result`` written into ``out`` (a Tensor, or a 1-tuple), which is
    returned; None: ``result`` itself."""
    if out is None:
        return result
    if isinstance(out, tuple):
        if len(out) != 1:
            raise TypeError(f"out= takes one array here, not {len(out)}")
        out = out[0]
    if isinstance(out, Tensor):
        out[...] = result
        return out
    # a host array (``np_array += t``): only a constant, already in host memory, goes there
    if isinstance(result, Tensor):
        if result._rg:
            raise TypeError("out=: cannot write a result that requires a gradient into a "
                            f"{type(out).__name__}; use a Tensor for out")
        if result._backend.name != "numpy":
            raise DeviceError(f"out=: cannot write a result on {result.device} into a "
                              f"{type(out).__name__} (host memory)")
        result = result.data
    out[...] = result
    return out


def _cast(x: Any, dtype: Any) -> Any:
    """``x`` in ``dtype``: Tensors and arrays are cast; Python scalars stay weak."""
    if dtype is None or isinstance(x, bool | int | float | complex):
        return x
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else ag.astype(x, dtype)
    return x.astype(dtype) if hasattr(x, "astype") else x


def _ravel(x: Any) -> Any:
    return ag.reshape(x, (-1,))


def _operand(v: Any, like: Tensor, what: str) -> Tensor:
    """``v`` as a Tensor beside ``like``: Python data goes to ``like``'s device; an array
    elsewhere is refused (as anygrad's functions refuse it)."""
    if isinstance(v, Tensor):
        return v
    backend = like._backend
    arr = backends.as_operand(v, backend, what)
    return _wrap(backend.asarray(arr) if isinstance(arr, bool | int | float | complex) else arr,
                 backend)


# -- ufuncs: NumPy's name -> anygrad's ---------------------------------------------------------
_UFUNC_NAMES = {  # where anygrad's name differs (anygrad's namespace resolves the rest)
    "absolute": "abs", "fabs": "abs", "arccos": "acos", "arcsin": "asin", "arctan": "atan",
    "arctan2": "atan2", "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh",
    "power": "pow", "invert": "bitwise_invert", "left_shift": "bitwise_left_shift",
    "right_shift": "bitwise_right_shift", "conjugate": "conj", "rint": "round",
    "true_divide": "divide", "mod": "remainder",
}
_COMPOSITES: dict[str, Callable[..., Any]] = {
    "deg2rad": lambda x: ag.multiply(x, math.pi / 180),
    "radians": lambda x: ag.multiply(x, math.pi / 180),
    "rad2deg": lambda x: ag.multiply(x, 180 / math.pi),
    "degrees": lambda x: ag.multiply(x, 180 / math.pi),
}
_BOOL_OUT = frozenset({"less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
                       "logical_and", "logical_or", "logical_xor", "logical_not", "isnan",
                       "isinf", "isfinite", "signbit"})
_UFUNCS: dict[Any, Any] = {}  # ufunc -> anygrad function (None: none), filled on first use


def _resolve_ufunc(ufunc: Any) -> Any:
    name = ufunc.__name__
    fn = _COMPOSITES.get(name)
    if fn is None:
        fn = getattr(sys.modules["anygrad"], _UFUNC_NAMES.get(name, name), None)
        if not callable(fn) or isinstance(fn, type):
            fn = None
    _UFUNCS[ufunc] = fn
    return fn


def array_ufunc(self: Tensor, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """NEP 13: NumPy's ufuncs on Tensors run anygrad's differentiable functions
    (``Tensor.__array_ufunc__``).

    Args:
        self: The Tensor NumPy dispatched on.
        ufunc: The NumPy ufunc.
        method: ``"__call__"``, ``"reduce"``, ``"accumulate"``, ``"outer"``, ...
        *inputs: Its operands.
        **kwargs: Its keywords (``out=``, ``where=``, ``dtype=``, ``axis=``, ...).

    Returns:
        The anygrad function's result (written into ``out`` when given); without an anygrad
        equivalent, NumPy's own on host data, as constants (see the module's docstring).

    Raises:
        TypeError: The ufunc (or this use of it) has no anygrad equivalent and a Tensor
            operand requires a gradient, or a Tensor is not in host memory, or the method is
            ``at`` (an in-place write), or a NumPy ``out=`` is given a result that requires
            a gradient (or several arrays where one is taken).
        DeviceError: Tensor operands on different devices, or a NumPy ``out=`` given a
            result off the host.
    """
    if method == "__call__" and not kwargs:
        fn = _UFUNCS.get(ufunc)
        if fn is not None:
            return fn(*inputs)
    fn = _UFUNCS.get(ufunc, _NO)
    if fn is _NO:
        fn = _resolve_ufunc(ufunc)
    name = ufunc.__name__
    if fn is not None:
        try:
            if method == "__call__":
                return _ufunc_call(fn, name, inputs, kwargs)
            if method in _METHODS:
                return _METHODS[method](fn, name, *inputs, **kwargs)
        except _Unsupported as exc:
            return _ufunc_fallback(ufunc, method, inputs, kwargs, f" ({exc})")
    return _ufunc_fallback(ufunc, method, inputs, kwargs, "")


def _ufunc_fallback(ufunc: Any, method: str, inputs: tuple, kwargs: dict, why: str) -> Any:
    name = ufunc.__name__
    what = f"numpy.{name}" + ("" if method == "__call__" else f".{method}") + why
    if method == "at":
        raise TypeError(f"{what}: writes in place, which Tensors take as t[key] = value")
    out = kwargs.pop("out", None)
    if out is None:
        return _fallback(what, name, getattr(ufunc, method), inputs, kwargs)
    # NumPy writes into host copies of the Tensors in ``out``; they go back with setitem
    outs = out if isinstance(out, tuple) else (out,)
    tensors = tuple(o for o in outs if isinstance(o, Tensor))
    kwargs["out"] = tuple(o.numpy() if isinstance(o, Tensor) else o for o in outs)
    result = _fallback(what, name, getattr(ufunc, method), inputs, kwargs, tensors)
    results = result if isinstance(result, tuple) else (result,)
    for o, r in zip(outs, results, strict=True):
        if isinstance(o, Tensor):
            o[...] = r
    return outs[0] if len(outs) == 1 else outs


def _ufunc_call(fn: Callable[..., Any], name: str, inputs: tuple, kwargs: dict) -> Any:
    out = kwargs.pop("out", None)
    where = kwargs.pop("where", True)
    dtype = kwargs.pop("dtype", None)
    for ignored in ("casting", "order", "subok"):
        kwargs.pop(ignored, None)
    if "signature" in kwargs:
        raise _Unsupported("signature=")
    if dtype is not None and name not in _BOOL_OUT:
        inputs = tuple(_cast(x, dtype) for x in inputs)
    result = fn(*inputs, **kwargs)
    if dtype is not None and name in _BOOL_OUT:
        result = _cast(result, dtype)
    if where is not True:
        o = out[0] if isinstance(out, tuple) else out
        base = o if isinstance(o, Tensor) else ag.zeros_like(result)
        if where is False:
            result = base
        else:
            if not isinstance(where, Tensor):
                where = _operand(where, result, f"numpy.{name}")
            result = ag.where(where, result, base)
    return _store(result, out)


# -- ufunc methods: reduce, accumulate, outer ------------------------------------------------
_IDENTITY = {"add": 0, "multiply": 1, "logical_and": True, "logical_or": False}


def _reduce_core(name: str, x: Any, axis: Any, dtype: Any, keepdims: bool, initial: Any,
                 where: Any) -> Any:
    reduce = _REDUCTIONS[name]
    x = _cast(x if isinstance(x, Tensor) else ag.asarray(x), dtype)
    if where is not True:
        fill = _IDENTITY.get(name, initial)
        if fill is _NO:
            raise _Unsupported("where= needs initial= for this reduction")
        x = ag.where(_operand(where, x, f"numpy.{name}.reduce"), x, fill)
    if name in ("logical_and", "logical_or") and x.dtype != dtypes.bool_:
        x = ag.astype(x, dtypes.bool_)
    result = reduce(x, axis=axis, keepdims=keepdims)
    if initial is not _NO:
        result = _ELEMENTWISE[name](result, initial)
    return result


def _ufunc_reduce(fn: Any, name: str, array: Any, axis: Any = 0, dtype: Any = None,
                  out: Any = None, keepdims: bool = False, initial: Any = _NO,
                  where: Any = True) -> Any:
    if name not in _REDUCTIONS:
        raise _Unsupported("no anygrad reduction")
    return _store(_reduce_core(name, array, axis, dtype, keepdims, initial, where), out)


def _ufunc_accumulate(fn: Any, name: str, array: Any, axis: int = 0, dtype: Any = None,
                      out: Any = None) -> Any:
    acc = {"add": ag.cumulative_sum, "multiply": ag.cumulative_prod}.get(name)
    if acc is None:
        raise _Unsupported("no anygrad running reduction")
    return _store(acc(array, axis=axis, dtype=dtype), out)


def _ufunc_outer(fn: Any, name: str, a: Any, b: Any, **kwargs: Any) -> Any:
    a = a if isinstance(a, Tensor) else _operand(a, b, f"numpy.{name}.outer")
    b = b if isinstance(b, Tensor) else _operand(b, a, f"numpy.{name}.outer")
    return _ufunc_call(fn, name, (ag.reshape(a, a.shape + (1,) * b.ndim), b), kwargs)


_METHODS = {"reduce": _ufunc_reduce, "accumulate": _ufunc_accumulate, "outer": _ufunc_outer}
_REDUCTIONS = {"add": ag.sum, "multiply": ag.prod, "maximum": ag.max, "minimum": ag.min,
               "logical_and": ag.all, "logical_or": ag.any}
_ELEMENTWISE = {"add": ag.add, "multiply": ag.multiply, "maximum": ag.maximum,
                "minimum": ag.minimum, "logical_and": ag.logical_and,
                "logical_or": ag.logical_or}


# -- NumPy functions: adapters with NumPy's signatures -----------------------------------------
def _no(**given: Any) -> None:
    """Refuse (into the fallback) arguments anygrad does not take: any value but their
    defaults (not given, None, or ``where=True``)."""
    for key, value in given.items():
        if value is not _NO and value is not None and value is not True:
            raise _Unsupported(f"{key}=")


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO, where=True):
    return _store(_reduce_core("add", a, axis, dtype, keepdims, initial, where), out)


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO, where=True):
    return _store(_reduce_core("multiply", a, axis, dtype, keepdims, initial, where), out)


def _max(a, axis=None, out=None, keepdims=False, initial=_NO, where=True):
    return _store(_reduce_core("maximum", a, axis, None, keepdims, initial, where), out)


def _min(a, axis=None, out=None, keepdims=False, initial=_NO, where=True):
    return _store(_reduce_core("minimum", a, axis, None, keepdims, initial, where), out)


def _all(a, axis=None, out=None, keepdims=False, *, where=True):
    return _store(_reduce_core("logical_and", a, axis, None, keepdims, _NO, where), out)


def _any(a, axis=None, out=None, keepdims=False, *, where=True):
    return _store(_reduce_core("logical_or", a, axis, None, keepdims, _NO, where), out)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    _no(where=where)
    return _store(ag.mean(_cast(a, dtype), axis=axis, keepdims=keepdims), out)


def _moment(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
                mean=_NO, correction=_NO):
        _no(where=where, mean=mean)
        c = ddof if correction is _NO else correction
        return _store(fn(_cast(a, dtype), axis=axis, correction=c, keepdims=keepdims), out)
    return adapter


def _arg(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(a, axis=None, out=None, *, keepdims=False):
        return _store(fn(a, axis=axis, keepdims=keepdims), out)
    return adapter


def _cum(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(a, axis=None, dtype=None, out=None):
        return _store(fn(_ravel(a), axis=0, dtype=dtype) if axis is None
                      else fn(a, axis=axis, dtype=dtype), out)
    return adapter


def _cumulative(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        return _store(fn(x, axis=axis, dtype=dtype, include_initial=include_initial), out)
    return adapter


def _edge(v: Any, x: Tensor, axis: int) -> Any:
    """``diff``'s ``prepend``/``append``: a scalar becomes a slab of ``x``'s shape."""
    if isinstance(v, bool | int | float | complex):
        shape = tuple(1 if i == axis % x.ndim else n for i, n in enumerate(x.shape))
        return ag.full(shape, v, dtype=x.dtype, device=x.device)
    return v


def _diff(a, n=1, axis=-1, prepend=_NO, append=_NO):
    a = ag.asarray(a)
    return ag.diff(a, axis=axis, n=n,
                   prepend=None if prepend is _NO else _edge(prepend, a, axis),
                   append=None if append is _NO else _edge(append, a, axis))


def _count_nonzero(a, axis=None, *, keepdims=False):
    return ag.count_nonzero(a, axis=axis, keepdims=keepdims)


# shapes
def _transpose(a, axes=None):
    return _names.transpose(a, axes)


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise _Unsupported(f"order={order!r}")
    return ag.reshape(a, newshape if shape is None else shape, copy=copy)


def _ravel_np(a, order="C"):
    if order not in ("C", "K", "A"):
        raise _Unsupported(f"order={order!r}")
    return _ravel(a)


def _squeeze(a, axis=None):
    return ag.squeeze(a, axis=axis)


def _swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return ag.permute_dims(a, tuple(axes))


def _broadcast_to(array, shape, subok=False):
    return ag.broadcast_to(array, (shape,) if isinstance(shape, int) else tuple(shape))


def _flip(m, axis=None):
    return ag.flip(m, axis=axis)


def _join(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
        arrays = [_cast(x, dtype) for x in arrays]
        if axis is None and fn is ag.stack:
            raise _Unsupported("axis=None")
        return _store(fn(arrays, axis=axis), out)
    return adapter


_AT_LEAST = {1: lambda s: s or (1,), 2: lambda s: (1, *s) if len(s) == 1 else s or (1, 1),
             3: lambda s: {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}.get(len(s), s)}


def _at_least(n: int) -> Callable[..., Any]:
    def adapter(*arys):
        out = tuple(x if len(x.shape) >= n else ag.reshape(x, _AT_LEAST[n](tuple(x.shape)))
                    for x in (ag.asarray(a) for a in arys))
        return out[0] if len(out) == 1 else out
    return adapter


def _vstack(tup, *, dtype=None, casting="same_kind"):
    return ag.concat([_cast(_at_least(2)(x), dtype) for x in tup], axis=0)


def _hstack(tup, *, dtype=None, casting="same_kind"):
    arrs = [_cast(_at_least(1)(x), dtype) for x in tup]
    return ag.concat(arrs, axis=0 if arrs and arrs[0].ndim == 1 else 1)


def _tile(A, reps):
    return ag.tile(A, (reps,) if isinstance(reps, int) else tuple(reps))


def _repeat(a, repeats, axis=None):
    return ag.repeat(a, repeats, axis=axis)


def _roll(a, shift, axis=None):
    return ag.roll(a, shift, axis=axis)


def _take(a, indices, axis=None, out=None, mode="raise"):
    if mode != "raise":
        raise _Unsupported(f"mode={mode!r}")
    a = ag.asarray(a)
    if axis is None:
        a, axis = _ravel(a), 0
    idx = _operand(indices, a, "numpy.take")
    axis %= a.ndim
    shape = (*a.shape[:axis], *(() if isinstance(indices, int) else idx.shape),
             *a.shape[axis + 1:])
    return _store(ag.reshape(ag.take(a, _ravel(idx), axis=axis), shape), out)


def _take_along_axis(arr, indices, axis=-1):
    if axis is None:
        return ag.take_along_axis(_ravel(arr), _ravel(indices), axis=0)
    return ag.take_along_axis(arr, indices, axis=axis)


def _tri(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(m, k=0):
        return fn(m, k=k)
    return adapter


def _meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if sparse:
        raise _Unsupported("sparse=True")
    return tuple(ag.meshgrid(*xi, indexing=indexing))


def _broadcast_arrays(*args, subok=False):
    return tuple(ag.broadcast_arrays(*args))


def _diagonal(a, offset=0, axis1=0, axis2=1):
    return linalg.diagonal(ag.moveaxis(a, (axis1, axis2), (-2, -1)), offset=offset)


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return _store(linalg.trace(ag.moveaxis(a, (axis1, axis2), (-2, -1)), offset=offset,
                                  dtype=dtype), out)


# elementwise functions
def _where(condition, x=_NO, y=_NO):
    if x is _NO and y is _NO:
        return ag.nonzero(condition)
    if x is _NO or y is _NO:
        raise ValueError("numpy.where: either both or neither of x and y should be given")
    return ag.where(condition, x, y)


def _clip(a, a_min=_NO, a_max=_NO, out=None, *, min=_NO, max=_NO, **kwargs):
    if kwargs:
        raise _Unsupported(", ".join(f"{k}=" for k in kwargs))
    lo = min if a_min is _NO else a_min
    hi = max if a_max is _NO else a_max
    return _store(ag.clip(a, None if lo is _NO else lo, None if hi is _NO else hi), out)


def _round(a, decimals=0, out=None):
    a = ag.asarray(a)
    if decimals == 0:
        r = ag.round(a)
    elif a.dtype.kind in "iub" and decimals > 0:
        r = a
    elif decimals > 0:
        f = 10.0 ** decimals
        r = ag.divide(ag.round(ag.multiply(a, f)), f)
    else:
        f = 10.0 ** -decimals
        r = ag.multiply(ag.round(ag.divide(a, f)), f)
    return _store(r, out)


def _real(val):
    return ag.real(val) if val.dtype.kind == "c" else val


def _imag(val):
    return ag.imag(val) if val.dtype.kind == "c" else ag.zeros_like(val)


def _copy(a, order="K", subok=False):
    return ag.asarray(a, copy=True)


def _like(fn: Callable[..., Any], make: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
        return _full_like(a, _NO, dtype, shape=shape, device=device, fn=fn, make=make)
    return adapter


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None,
               fn=ag.full_like, make=ag.full):
    fill = () if fill_value is _NO else (fill_value,)
    if shape is not None:
        a = ag.asarray(a)
        return make((shape,) if isinstance(shape, int) else tuple(shape), *fill,
                    dtype=a.dtype if dtype is None else dtype,
                    device=a.device if device is None else device)
    return fn(a, *fill, dtype=dtype, device=device)


def _copyto(dst, src, casting="same_kind", where=True):
    if not isinstance(dst, Tensor):
        raise _Unsupported("dst is not a Tensor")
    dst[...] = src if where is True else ag.where(_operand(where, dst, "numpy.copyto"), src, dst)


# products
def _dot(a, b, out=None):
    if not hasattr(a, "shape") or not hasattr(b, "shape"):  # a Python scalar stays weak
        return _store(ag.multiply(a, b), out)
    a, b = ag.asarray(a), b if isinstance(b, Tensor) else _operand(b, a, "numpy.dot")
    if a.ndim == 0 or b.ndim == 0:
        r = ag.multiply(a, b)
    elif b.ndim == 1:
        r = ag.tensordot(a, b, axes=((a.ndim - 1,), (0,)))
    else:
        r = ag.tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 2,)))
    return _store(r, out)


def _vdot(a, b):
    return ag.vecdot(_ravel(a), _ravel(b))


def _inner(a, b):
    if not hasattr(a, "shape") or not hasattr(b, "shape"):
        return ag.multiply(a, b)
    a, b = ag.asarray(a), b if isinstance(b, Tensor) else _operand(b, a, "numpy.inner")
    if a.ndim == 0 or b.ndim == 0:
        return ag.multiply(a, b)
    return ag.tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 1,)))


def _outer(a, b, out=None):
    return _store(linalg.outer(_ravel(a), _ravel(b)), out)


def _tensordot(a, b, axes=2):
    if not isinstance(axes, int):
        axes = tuple((ax,) if isinstance(ax, int) else tuple(ax) for ax in axes)
    return ag.tensordot(a, b, axes=axes)


def _einsum(*operands, out=None, dtype=None, order="K", casting="safe", optimize=False):
    if not operands or not isinstance(operands[0], str):
        raise _Unsupported("the sublist form")
    return _store(ag.einsum(operands[0], *(_cast(x, dtype) for x in operands[1:])), out)


def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a = ag.moveaxis(ag.asarray(a), axisa, -1)
    b = ag.moveaxis(b if isinstance(b, Tensor) else _operand(b, a, "numpy.cross"), axisb, -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise _Unsupported("vectors of 2 components")
    return ag.moveaxis(linalg.cross(a, b, axis=-1), -1, axisc)


# sorting and sets
def _sorter(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(a, axis=-1, kind=None, order=None, *, stable=None):
        _no(order=order)
        if axis is None:
            a, axis = _ravel(a), 0
        return fn(a, axis=axis, stable=True)
    return adapter


def _unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
            equal_nan=True, sorted=True):
    if return_index or return_inverse or axis is not None:
        raise _Unsupported("return_index=, return_inverse= or axis=")
    x = _ravel(ar)
    if not return_counts:
        return ag.sort(ag.unique_values(x))
    values, counts = ag.unique_counts(x)
    order = ag.argsort(values)
    return ag.take(values, order), ag.take(counts, order)


def _searchsorted(a, v, side="left", sorter=None):
    return ag.searchsorted(a, v, side=side, sorter=sorter)


def _isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    return ag.isin(element, test_elements, invert=invert)


def _isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    with no_grad():
        a = ag.asarray(a)
        b = b if isinstance(b, Tensor) else _operand(b, a, "numpy.isclose")
        a, b = (x if x.dtype.kind in "fc" else ag.astype(x, dtypes.float64) for x in (a, b))
        finite = ag.logical_and(ag.isfinite(a), ag.isfinite(b))
        near = ag.less_equal(ag.abs(ag.subtract(a, b)), ag.add(atol, ag.multiply(rtol, ag.abs(b))))
        close = ag.where(finite, near, ag.equal(a, b))
        if equal_nan:
            close = ag.logical_or(close, ag.logical_and(ag.isnan(a), ag.isnan(b)))
        return close


def _allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(ag.all(_isclose(a, b, rtol, atol, equal_nan)))


def _array_equal(a1, a2, equal_nan=False):
    a1 = ag.asarray(a1)
    a2 = a2 if isinstance(a2, Tensor) else _operand(a2, a1, "numpy.array_equal")
    if a1.shape != a2.shape:
        return False
    same = ag.equal(a1, a2)
    if equal_nan:
        same = ag.logical_or(same, ag.logical_and(ag.isnan(a1), ag.isnan(a2)))
    return bool(ag.all(same))


# properties
def _array_of(x: Any) -> tuple[Any, Any]:
    return (x.data, x._backend) if isinstance(x, Tensor) else (x, backends.of_array(x))


def _memory(exact: bool) -> Callable[..., bool]:
    def adapter(a, b, max_work=None):
        return _host.shares_memory(*_array_of(a), *_array_of(b), exact)
    return adapter


def _size(a, axis=None):
    return math.prod(a.shape) if axis is None else a.shape[axis]


def _result_type(*arrays_and_dtypes):
    return _host.result_type(*(x.dtype.name if isinstance(x, Tensor | dtypes.DType) else x
                               for x in arrays_and_dtypes))


# linalg
def _eigh(fn: Callable[..., Any]) -> Callable[..., Any]:
    def adapter(a, UPLO="L"):
        if UPLO.upper() == "U":  # the lower triangle of a's (conjugate) transpose
            a = linalg.matrix_transpose(a)
            a = ag.conj(a) if a.dtype.kind == "c" else a
        return fn(a)
    return adapter


def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    return linalg.svd(a, full_matrices=full_matrices) if compute_uv else linalg.svdvals(a)


def _qr(a, mode="reduced"):
    if mode == "r":
        return linalg.qr(a).R
    if mode not in ("reduced", "complete"):
        raise _Unsupported(f"mode={mode!r}")
    return linalg.qr(a, mode=mode)


def _pinv(a, rcond=None, hermitian=False, *, rtol=_NO):
    return linalg.pinv(a, rtol=rcond if rtol is _NO else rtol)


def _matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    _no(tol=tol)
    return linalg.matrix_rank(A, rtol=rtol)


def _multi_dot(arrays, *, out=None):
    result = arrays[0]
    for x in arrays[1:]:
        result = ag.matmul(result, x)
    return _store(result, out)


def _linalg_pass(name: str) -> Callable[..., Any]:
    fn = getattr(linalg, name)

    def adapter(*args, **kwargs):
        return fn(*args, **kwargs)
    return adapter


# fft
_COMPLEX_IN = frozenset({"fft", "ifft", "fftn", "ifftn", "hfft", "irfft", "irfftn"})


def _complex(a: Any, name: str) -> Any:
    """NumPy's transforms of complex input take real input too; the Array API's do not."""
    a = ag.asarray(a)
    if name in _COMPLEX_IN and a.dtype.kind != "c":
        return ag.astype(a, dtypes.complex64 if a.dtype == dtypes.float32 else dtypes.complex128)
    return a


def _fft1(name: str) -> Callable[..., Any]:
    fn = getattr(_fft, name)

    def adapter(a, n=None, axis=-1, norm=None, out=None):
        return _store(fn(_complex(a, name), n=n, axis=axis, norm=norm or "backward"), out)
    return adapter


def _fftn(name: str, axes_default: Any = None) -> Callable[..., Any]:
    fn = getattr(_fft, name)

    def adapter(a, s=None, axes=axes_default, norm=None, out=None):
        return _store(fn(_complex(a, name), s=s, axes=axes, norm=norm or "backward"), out)
    return adapter


def _shift(name: str) -> Callable[..., Any]:
    fn = getattr(_fft, name)

    def adapter(x, axes=None):
        return fn(x, axes=axes)
    return adapter


_NUMPY: dict[str, Callable[..., Any]] = {
    "sum": _sum, "prod": _prod, "max": _max, "amax": _max, "min": _min, "amin": _min,
    "all": _all, "any": _any, "mean": _mean, "std": _moment(ag.std), "var": _moment(ag.var),
    "argmax": _arg(ag.argmax), "argmin": _arg(ag.argmin),
    "cumsum": _cum(ag.cumulative_sum), "cumprod": _cum(ag.cumulative_prod),
    "cumulative_sum": _cumulative(ag.cumulative_sum),
    "cumulative_prod": _cumulative(ag.cumulative_prod),
    "diff": _diff, "count_nonzero": _count_nonzero,
    "transpose": _transpose, "permute_dims": _transpose, "reshape": _reshape,
    "ravel": _ravel_np, "squeeze": _squeeze,
    "expand_dims": lambda a, axis: ag.expand_dims(a, axis=axis),
    "moveaxis": lambda a, source, destination: ag.moveaxis(a, source, destination),
    "swapaxes": _swapaxes, "broadcast_to": _broadcast_to, "flip": _flip,
    "concatenate": _join(ag.concat), "concat": _join(ag.concat), "stack": _join(ag.stack),
    "vstack": _vstack, "hstack": _hstack,
    "atleast_1d": _at_least(1), "atleast_2d": _at_least(2), "atleast_3d": _at_least(3),
    "tile": _tile, "repeat": _repeat, "roll": _roll, "take": _take,
    "take_along_axis": _take_along_axis, "tril": _tri(ag.tril), "triu": _tri(ag.triu),
    "meshgrid": _meshgrid, "broadcast_arrays": _broadcast_arrays,
    "diagonal": _diagonal, "trace": _trace,
    "where": _where, "clip": _clip, "round": _round, "around": _round, "sinc": _names.sinc,
    "real": _real, "imag": _imag, "copy": _copy, "copyto": _copyto,
    "zeros_like": _like(ag.zeros_like, ag.zeros), "ones_like": _like(ag.ones_like, ag.ones),
    "empty_like": _like(ag.empty_like, ag.empty), "full_like": _full_like,
    "dot": _dot, "vdot": _vdot, "inner": _inner, "outer": _outer, "tensordot": _tensordot,
    "einsum": _einsum, "cross": _cross,
    "sort": _sorter(ag.sort), "argsort": _sorter(ag.argsort), "nonzero": ag.nonzero,
    "unique": _unique, "searchsorted": _searchsorted, "isin": _isin,
    "isclose": _isclose, "allclose": _allclose, "array_equal": _array_equal,
    "shares_memory": _memory(True), "may_share_memory": _memory(False),
    "ndim": lambda a: len(a.shape), "shape": lambda a: tuple(a.shape), "size": _size,
    "result_type": _result_type,
}
_LINALG: dict[str, Callable[..., Any]] = {
    **{name: _linalg_pass(name) for name in (
        "inv", "det", "slogdet", "solve", "cholesky", "eig", "eigvals", "svdvals",
        "matrix_power", "norm", "matrix_norm", "vector_norm", "matrix_transpose", "matmul",
        "tensordot", "vecdot", "outer", "cross", "diagonal", "trace")},
    "eigh": _eigh(linalg.eigh), "eigvalsh": _eigh(linalg.eigvalsh), "svd": _svd,
    "qr": _qr, "pinv": _pinv, "matrix_rank": _matrix_rank, "multi_dot": _multi_dot,
}
_FFT: dict[str, Callable[..., Any]] = {
    **{name: _fft1(name) for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")},
    **{name: _fftn(name) for name in ("fftn", "ifftn", "rfftn", "irfftn")},
    **{name + "2": _fftn(name + "n", (-2, -1)) for name in ("fft", "ifft", "rfft", "irfft")},
    "fftshift": _shift("fftshift"), "ifftshift": _shift("ifftshift"),
}
_TABLES = {"numpy": _NUMPY, "numpy.linalg": _LINALG, "numpy.fft": _FFT}
_FUNCS: dict[Any, Any] = {}  # NumPy function -> adapter (None: none), filled on first use


# -- metadata: NumPy's functions that read only dtypes and shapes cut no graph ----------------
def _np_dtype(t: Tensor) -> Any:
    """``t``'s dtype, as NumPy's."""
    return t.dtype.dtype


def _stand_in(t: Tensor) -> Any:
    """A NumPy value of ``t``'s dtype and ndim holding none of its data: a scalar for a 0-d
    ``t``, else an array of size 0."""
    zero = t.dtype.dtype.type(0)
    return zero if not t.ndim else zero.reshape((1,) * t.ndim)[:0]


def _value_if_0d(t: Tensor) -> Any:
    """``min_scalar_type`` reads the value of a 0-d array (as a NumPy scalar), only the dtype
    of any other."""
    return t.dtype.dtype.type(t.item()) if not t.ndim else _stand_in(t)


# NumPy's name -> what a Tensor argument becomes; NumPy itself then answers, on any device
_METADATA: dict[str, Callable[[Tensor], Any]] = {
    "can_cast": _np_dtype, "min_scalar_type": _value_if_0d, "iscomplexobj": _stand_in,
    "isrealobj": _stand_in, "common_type": _stand_in,
}


def _metadata(func: Any, replace: Callable[[Tensor], Any]) -> Callable[..., Any]:
    def adapter(*args: Any, **kwargs: Any) -> Any:
        return func(*_map_tensors(args, replace), **_map_tensors(kwargs, replace))
    return adapter


def _resolve_function(func: Any) -> Any:
    module, name = getattr(func, "__module__", None) or "", getattr(func, "__name__", "")
    table = _TABLES.get(module)
    adapter = None if table is None else table.get(name)
    if adapter is None and module == "numpy" and name in _METADATA:
        adapter = _metadata(func, _METADATA[name])
    _FUNCS[func] = adapter
    return adapter


def array_function(self: Tensor, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    """NEP 18: NumPy's functions on Tensors run anygrad's differentiable functions
    (``Tensor.__array_function__``).

    Args:
        self: The Tensor NumPy dispatched on.
        func: The NumPy function.
        types: The array types among its arguments.
        args: Its positional arguments.
        kwargs: Its keyword arguments.

    Returns:
        The anygrad function's result; without an anygrad equivalent, NumPy's own on host
        data, as constants (see the module's docstring); NotImplemented when another array
        type than Tensors and NumPy's takes part.

    Raises:
        TypeError: The function (or this use of it) has no anygrad equivalent and a Tensor
            argument requires a gradient, or a Tensor is not in host memory, or the function
            writes into a Tensor argument, or a NumPy ``out=`` is given a result that
            requires a gradient.
        DeviceError: Tensor arguments on different devices, or a NumPy ``out=`` given a
            result off the host.
    """
    for t in types:  # Tensors, NumPy's arrays: ours; other array types: theirs
        if not issubclass(t, Tensor) and t.__module__ != "numpy":
            return NotImplemented
    adapter = _FUNCS.get(func, _NO)
    if adapter is _NO:
        adapter = _resolve_function(func)
    why = ""
    if adapter is not None:
        try:
            return adapter(*args, **kwargs)
        except _Unsupported as exc:
            why = f" ({exc})"
    return _fallback(f"{func.__module__}.{func.__name__}{why}", func.__name__, func, args,
                     kwargs)


array_ufunc.__name__ = "__array_ufunc__"
array_function.__name__ = "__array_function__"
for _name, _fn in (("__array_ufunc__", array_ufunc), ("__array_function__", array_function)):
    setattr(Tensor, _name, _fn)
