"""Reductions over an axis, a tuple of axes, or everything, with ``keepdims``.

Each rule returns the gradient shaped like the kept-dims result; the engine broadcasts it
back over the reduced axes.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

from ..autograd.function import apply_unary, ensure_tensor
from ..autograd.op import Op
from ..errors import ShapeError


def normalize_axes(axis: int | tuple[int, ...] | None, ndim: int, op: str) -> tuple[int, ...] | None:
    """``axis`` as a sorted tuple of non-negative axes (None: all axes)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ShapeError(f"{op}: axis {a} is out of range for a {ndim}-d tensor")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def kept(xp: Any, v: Any, x: Any, axis: tuple[int, ...] | None) -> Any:
    """``v``, a reduction of ``x`` over ``axis``, reshaped as if ``keepdims=True``."""
    shape = tuple(1 if axis is None or i in axis else n for i, n in enumerate(x.shape))
    return v if v.shape == shape else xp.reshape(v, shape)


def _count(x: Any, axis: tuple[int, ...] | None) -> int:
    return math.prod(x.shape) if axis is None else math.prod(x.shape[i] for i in axis)


def _extremum(xp: Any, g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    """The gradient goes to the elements equal to the extremum, shared among ties."""
    mask = xp.astype(x == kept(xp, out, x, axis), g.dtype)
    return mask * kept(xp, g, x, axis) / xp.sum(mask, axis=axis, keepdims=True)


RULES = {
    "sum": lambda xp, g, out, x, *, axis, keepdims: kept(xp, g, x, axis),
    "mean": lambda xp, g, out, x, *, axis, keepdims: kept(xp, g, x, axis) / _count(x, axis),
    "max": _extremum,
    "min": _extremum,
}


def _reduction(name: str) -> Op:
    def forward(xp: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
        return getattr(xp, name)(x, axis=axis, keepdims=keepdims)
    return Op(name, forward, (RULES[name],))


_OPS = {name: _reduction(name) for name in RULES}


def _reduce(name: str, x: Any, axis: Any, keepdims: bool) -> Any:
    x = ensure_tensor(x)
    return apply_unary(_OPS[name], x, {"axis": normalize_axes(axis, x.ndim, name),
                                       "keepdims": bool(keepdims)})


def sum(x: Any, /, *, axis: int | tuple[int, ...] | None = None, dtype: Any = None,
        keepdims: bool = False) -> Any:
    """Sum of the elements over ``axis`` (all axes by default)."""
    if dtype is not None:
        from .shape import astype
        x = astype(x, dtype)
    return _reduce("sum", x, axis, keepdims)


def mean(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over ``axis`` (all axes by default)."""
    return _reduce("mean", x, axis, keepdims)


def max(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Largest element over ``axis``; ties share the gradient."""
    return _reduce("max", x, axis, keepdims)


def min(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Smallest element over ``axis``; ties share the gradient."""
    return _reduce("min", x, axis, keepdims)
