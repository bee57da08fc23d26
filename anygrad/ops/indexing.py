"""Indexing: ``x[key]`` (basic keys, boolean masks, integer arrays), ``take``,
``take_along_axis``, and ``x[key] = value``.

Gathers whose indices may repeat (integer arrays) send their gradient back with a scatter-add:
the rule runs the same gather on the flat *positions* of ``x`` and adds ``g`` there, so
repeated indices accumulate. ``x[key] = value`` is functional: ``x`` takes a new array and
becomes the output of a ``setitem`` op, with gradients to both ``x``'s old value and ``value``.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backends
from .._tensor import Tensor, _new
from ..autograd import engine
from ..autograd.function import apply, apply_unary, call, ensure_tensor
from ..autograd.op import Op
from ..autograd.views import view, write
from ..backends.base import set_at
from ..errors import DeviceError, DTypeError, ShapeError
from .reductions import check_axis


def _scatter(xp: Any, g: Any, out: Any, x: Any, *, key: Any) -> Any:
    """The gradient of ``x[key]`` for keys that pick each element at most once (``x`` may be
    a view's ``Meta``: shape, dtype and device are all this reads): ``g`` placed in zeros."""
    return call(xp, PLACE, (g,), {"shape": tuple(x.shape), "key": key})


def _place(xp: Any, v: Any, *, shape: tuple, key: Any) -> Any:
    """Zeros of ``shape`` with ``v`` at ``key`` (a basic key: each element picked once)."""
    z = xp.zeros(shape, dtype=v.dtype, device=_device(v))
    if any(k is None for k in key):  # new axes: size 1 in v, not allowed in setitem
        key = tuple(k for k in key if k is not None)
        v = xp.reshape(v, z[key].shape)
    return set_at(z, key, v)


def _device(x: Any) -> Any:
    """``x``'s device for creating arrays beside it (None where arrays have no ``device``:
    Dask, whose only device is the default)."""
    return getattr(x, "device", None)


def positions(xp: Any, x: Any) -> Any:
    """The flat position of each element of ``x``, shaped like ``x``."""
    return xp.reshape(xp.arange(math.prod(x.shape), device=_device(x)), x.shape)


def scatter_add(xp: Any, x: Any, pos: Any, g: Any) -> Any:
    """Zeros shaped like ``x`` plus ``g`` at flat positions ``pos``, repeats accumulating."""
    return call(xp, SCATTER_ADD, (g, pos), {"shape": tuple(x.shape)})


def _scatter_add(xp: Any, g: Any, pos: Any, *, shape: tuple) -> Any:
    z = xp.zeros((math.prod(shape),), dtype=g.dtype, device=_device(g))
    g = xp.broadcast_to(g, pos.shape)
    flat = backends.index_add(z, xp.reshape(pos, (-1,)), xp.reshape(g, (-1,)))
    return xp.reshape(flat, shape)


def gathered(forward: Any) -> Any:
    """The rule of a gather ``forward(xp, x, *rest, **params)``: ``g`` scattered back to
    where ``forward`` took each element from (the same gather applied to positions)."""
    def rule(xp: Any, g: Any, out: Any, x: Any, *rest: Any, **params: Any) -> Any:
        return scatter_add(xp, x, forward(xp, positions(xp, x), *rest, **params), g)
    return rule


def placed_meta(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Lazy mode's shape rule of gradients placed in zeros: ``params["shape"]``, the values'
    dtype."""
    return params["shape"], avals[0].dtype


# Gradients built by writes into fresh zeros, as ops of their own (``call``): one node each
# in lazy mode's graphs and in recorded gradients. Each is linear in its values; its rule is
# the adjoint, the gather it undoes.
PLACE = Op("place", _place, (lambda xp, g, out, v, *, shape, key: g[key],),
           abstract=placed_meta, same_shape=True, reads_out=False, complex_exact=True)
SCATTER_ADD = Op("scatter_add", _scatter_add, (
    lambda xp, g, out, v, pos, *, shape:
    xp.reshape(xp.take(xp.reshape(g, (-1,)), xp.reshape(pos, (-1,))), pos.shape), None),
    abstract=placed_meta, reads_out=False, complex_exact=True)


def _index(xp: Any, x: Any, *, key: Any) -> Any:
    return x[key]


def _take(xp: Any, x: Any, indices: Any, *, axis: int) -> Any:
    return xp.take(x, indices, axis=axis)


def _take_along(xp: Any, x: Any, indices: Any, *, axis: int) -> Any:
    return xp.take_along_axis(x, indices, axis=axis)


GETITEM = Op("getitem", _index, (_scatter,), reads_out=False, complex_exact=True)
GATHER = Op("getitem", _index, (gathered(_index),))
ELEMENT = Op("getitem", lambda xp, x, *, key: xp.asarray(x[key], copy=True), (_scatter,),
             reads_out=False, complex_exact=True)
TAKE = Op("take", _take, (gathered(_take), None))
TAKE_ALONG_AXIS = Op("take_along_axis", _take_along, (gathered(_take_along), None))


def _zero_at(xp: Any, g: Any, key: Any) -> Any:
    return set_at(xp.asarray(g, copy=True), key, 0)


def _set(xp: Any, x: Any, v: Any, *, key: Any) -> Any:
    z = xp.asarray(x, copy=True)
    if hasattr(v, "dtype") and v.dtype != x.dtype:
        v = xp.astype(v, x.dtype)
    return set_at(z, key, v)


SETITEM = Op("setitem", _set, (lambda xp, g, out, x, v, *, key: _zero_at(xp, g, key),
                               lambda xp, g, out, x, v, *, key: g[key]))


def _native_key(key: Any, backend: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(_native_key(k, backend) for k in key)
    if isinstance(key, Tensor):
        if key._backend is not backend:
            raise DeviceError(f"getitem: the index is on {key.device}, the tensor on "
                              f"{backend.device}")
        return key.data
    if isinstance(key, list):  # (an empty list indexes nothing, as NumPy's int array)
        return backend.asarray(key, "int64") if not key else backends.as_operand(
            key, backend, "getitem")
    return key


def _key(key: Any, backend: Any) -> tuple[tuple, bool]:
    """The native key, and whether it holds integer arrays (so indices may repeat)."""
    key = _native_key(key if isinstance(key, tuple) else (key,), backend)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    arrays = [k for k in key if hasattr(k, "dtype")]
    ints = any(backend.dtype_of(k.dtype).kind in "iu" for k in arrays)
    if not arrays and not any(k is Ellipsis for k in key):
        key = (*key, ...)  # NumPy's implicit trailing axes, spelled out for the Array API
    return key, ints


def _positive_steps(key: tuple, shape: tuple[int, ...]) -> tuple[tuple, tuple[int, ...]]:
    """``key`` with each negative-step slice made positive, and the result axes to flip
    afterwards (not every library takes negative steps: torch does not)."""
    ell = len(shape) - sum(1 for k in key if k is not None and k is not Ellipsis)
    out, flips, i, j = [], [], 0, 0  # i: axis of x, j: axis of the result
    for k in key:
        if k is Ellipsis:
            i, j = i + ell, j + ell
        elif k is None:
            j += 1
        elif isinstance(k, slice):
            if k.step is not None and k.step < 0:
                r = range(*k.indices(shape[i]))
                k = slice(r[-1], r[0] + 1, -r.step) if len(r) else slice(0, 0)
                flips.append(j)
            i, j = i + 1, j + 1
        else:
            i += 1
        out.append(k)
    return tuple(out), tuple(flips)


def getitem(x: Any, key: Any) -> Any:
    """``x[key]``; the gradient flows back to the selected elements (repeats accumulate).

    Basic keys (integers, slices, ``...``, None) give a view of ``x`` where the backend has
    views, except one integer per axis (a 0-d copy, as NumPy's scalar); boolean masks and
    integer arrays give a copy.

    Args:
        x: The tensor.
        key: Anything NumPy takes as an index; tensors are taken as arrays.

    Returns:
        The selected elements.
    """
    x = ensure_tensor(x)
    scalar = _picks_one(key, x.ndim)
    key, ints = _key(key, x._backend)
    if ints:
        return apply_unary(GATHER, x, {"key": key})
    if scalar:  # NumPy gives a scalar, a copy: x[0] of a vector is no view
        return apply_unary(ELEMENT, x, {"key": key})
    if any(isinstance(k, slice) and k.step is not None and k.step < 0 for k in key) and not any(
            hasattr(k, "dtype") for k in key):
        from .shape import flip
        key, flips = _positive_steps(key, x.shape)
        return flip(view(GETITEM, x, {"key": key}), axis=flips)
    if any(hasattr(k, "dtype") for k in key):  # a boolean mask: a copy
        return apply_unary(GETITEM, x, {"key": key})
    return view(GETITEM, x, {"key": key})


def _picks_one(key: Any, ndim: int) -> bool:
    """Whether ``key`` is one integer per axis (or ``()`` on a 0-d array), which NumPy answers
    with a scalar rather than a view."""
    key = key if isinstance(key, tuple) else (key,)
    return len(key) == ndim and all(isinstance(k, int) and not isinstance(k, bool) for k in key)


def take(x: Any, indices: Any, /, *, axis: int | None = None) -> Any:
    """Elements of ``x`` at ``indices`` along ``axis`` (which may be omitted for 1-d ``x``;
    Array API ``take``); repeated indices accumulate their gradients.

    Raises:
        ShapeError: When ``axis`` is None and ``x`` is not 1-d.
        AxisError: When ``axis`` is out of range.
    """
    x = ensure_tensor(x)
    if axis is None:
        if x.ndim != 1:
            raise ShapeError(f"take: axis is required for a {x.ndim}-d tensor")
        axis = 0
    return apply(TAKE, (x, indices), {"axis": check_axis(axis, x.ndim, "take")})


def take_along_axis(x: Any, indices: Any, /, *, axis: int = -1) -> Any:
    """Elements of ``x`` picked along ``axis`` by ``indices`` (same rank as ``x``; Array API
    ``take_along_axis``).

    Raises:
        AxisError: When ``axis`` is out of range.
    """
    x = ensure_tensor(x)
    return apply(TAKE_ALONG_AXIS, (x, indices),
                 {"axis": check_axis(axis, x.ndim, "take_along_axis")})


# -- writing: setitem and in-place operators ------------------------------------------------
def rebind(x: Tensor, new: Tensor) -> Tensor:
    """Backends without views: make ``x`` hold ``new``'s value and take its place in the graph
    (``new`` was computed from ``x``: its link to ``x`` now goes to a node holding ``x``'s
    previous value)."""
    value, _ = new.data, x.data  # (in lazy mode, a write realizes both)
    if new._op is None:  # nothing to record (no_grad, or constants): only the value changes
        x.data = value
        return x
    if x._op is None and x._rg:  # a leaf written keeps its gradient (MyGrad)
        engine.retain(x)
    old = _new(Tensor)  # x's previous version: new's input, and where ops that read x
    old.data, old._backend, old._rg, old._op, old._g = x.data, x._backend, x._rg, x._op, None
    old._seq = -1
    if x._op is not None:  # before this write send their gradients (see engine._version_at)
        old._parents, old._args, old._params, old._seq = (
            x._parents, x._args, x._params, x._seq)
        old._prev = x._prev
    x._prev = old  # for ops that read x before this write (see engine._version_at)
    engine.REBOUND = True
    new._parents = tuple(old if p is x else p for p in new._parents)
    x._parents, x._args, x._params, x._seq = new._parents, new._args, new._params, new._seq
    x.data, x._backend, x._rg, x._op = value, new._backend, new._rg, new._op
    return x


def setitem(x: Tensor, key: Any, value: Any) -> None:
    """``x[key] = value``, in place where the backend has views (visible through every view
    of the same memory), and differentiable in both ``x`` and ``value``.

    Raises:
        DeviceError: When ``value`` is a tensor on another device.
    """
    backend = x._backend
    native, _ = _key(key, backend)
    if isinstance(value, Tensor) and value._backend is not backend:
        raise DeviceError(f"setitem: the value is on {value.device}, the tensor on {x.device}")
    if not backend.views:  # JAX, Dask: x takes a new array
        rebind(x, apply(SETITEM, (x, value), {"key": native}))
        return
    if any(isinstance(k, slice) and k.step is not None and k.step < 0 for k in native) and not any(
            hasattr(k, "dtype") for k in native):  # negative steps: not every library has them
        native, flips = _positive_steps(native, x.shape)
        if flips and not isinstance(value, int | float | complex | bool):
            from .shape import broadcast_to, flip
            value = flip(broadcast_to(ensure_tensor(value) if not isinstance(value, Tensor)
                                      else value, tuple(x.data[native].shape)), axis=flips)
    write(x, native, value, "setitem")


def inplace(fn: Any, name: str) -> Any:
    """The in-place operator ``x op= y`` from the function ``fn``: same shape and dtype.

    The method it returns raises a ShapeError or a DTypeError when ``fn``'s result would
    change the tensor's shape or dtype.
    """
    def method(self: Tensor, other: Any) -> Tensor:
        new = fn(self, other)
        if new.shape != self.shape:
            raise ShapeError(f"{name}: the result's shape {new.shape} differs from the "
                             f"tensor's {self.shape}")
        if new.dtype != self.dtype:
            raise DTypeError(f"{name}: the result's dtype {new.dtype.name} differs from the "
                             f"tensor's {self.dtype.name}")
        if not self._backend.views:
            return rebind(self, new)
        write(self, None, new, name)
        return self
    method.__name__ = name
    return method
