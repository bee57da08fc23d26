"""Shape and layout: reshape, permute, broadcast, concatenate, stack, select, cast.

Rules: ``rule(xp, g, out, *inputs, **params)``; variadic ops (``concat``, ``stack``) take
the input's position first.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.function import apply, apply_unary, ensure_tensor
from ..autograd.op import Op, Variadic
from ..dtypes import as_dtype
from ..errors import ShapeError
from .reductions import normalize_axes


def _inverse(axes: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


def _concat_part(i: int, xp: Any, g: Any, out: Any, *xs: Any, axis: int | None) -> Any:
    """The slice of ``g`` that came from input ``i``."""
    if axis is None:
        start = sum(math.prod(x.shape) for x in xs[:i])
        return xp.reshape(g[start:start + math.prod(xs[i].shape)], xs[i].shape)
    start = sum(x.shape[axis] for x in xs[:i])
    return g[(slice(None),) * axis + (slice(start, start + xs[i].shape[axis]), ...)]


def _stack_part(i: int, xp: Any, g: Any, out: Any, *xs: Any, axis: int) -> Any:
    return g[(slice(None),) * axis + (i, ...)]


RESHAPE = Op("reshape", lambda xp, x, *, shape: xp.reshape(x, shape),
             (lambda xp, g, out, x, *, shape: xp.reshape(g, x.shape),))
PERMUTE_DIMS = Op("permute_dims", lambda xp, x, *, axes: xp.permute_dims(x, axes),
                  (lambda xp, g, out, x, *, axes: xp.permute_dims(g, _inverse(axes)),))
BROADCAST_TO = Op("broadcast_to", lambda xp, x, *, shape: xp.broadcast_to(x, shape),
                  (lambda xp, g, out, x, *, shape: g,))
ASTYPE = Op("astype", lambda xp, x, *, dtype: xp.astype(x, dtype),
            (lambda xp, g, out, x, *, dtype: g,))  # the engine casts g back to x's dtype
ASTYPE_CONSTANT = Op("astype", lambda xp, x, *, dtype: xp.astype(x, dtype))
CONCAT = Op("concat", lambda xp, *xs, axis: xp.concat(list(xs), axis=axis), Variadic(_concat_part))
STACK = Op("stack", lambda xp, *xs, axis: xp.stack(list(xs), axis=axis), Variadic(_stack_part))
WHERE = Op("where", lambda xp, c, x, y: xp.where(c, x, y),
           (None,
            lambda xp, g, out, c, x, y: xp.where(c, g, 0.0),
            lambda xp, g, out, c, x, y: xp.where(c, 0.0, g)))


def reshape(x: Any, /, shape: tuple[int, ...], *, copy: bool | None = None) -> Any:
    """``x`` with a new shape of the same size (one entry may be -1)."""
    shape = (shape,) if isinstance(shape, int) else tuple(int(n) for n in shape)
    return apply_unary(RESHAPE, x, {"shape": shape})


def permute_dims(x: Any, /, axes: tuple[int, ...]) -> Any:
    """``x`` with its axes reordered: axis ``i`` of the result is axis ``axes[i]`` of x."""
    x = ensure_tensor(x)
    norm = normalize_axes(axes, x.ndim, "permute_dims")
    if norm is None or len(norm) != x.ndim or len(tuple(axes)) != x.ndim:
        raise ShapeError(f"permute_dims: axes {axes} is not a permutation of {x.ndim} axes")
    return apply_unary(PERMUTE_DIMS, x, {"axes": tuple(a % x.ndim for a in axes)})


def broadcast_to(x: Any, /, shape: tuple[int, ...]) -> Any:
    """``x`` broadcast to ``shape``; the gradient is summed back."""
    return apply_unary(BROADCAST_TO, x, {"shape": tuple(shape)})


def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    """``x`` cast to ``dtype``; differentiable into float dtypes, a constant otherwise."""
    x = ensure_tensor(x)
    if device is not None:
        x = x.to(device)
    target = as_dtype(dtype)
    if target == x.dtype and not copy:
        return x
    op = ASTYPE if target.kind in "fc" else ASTYPE_CONSTANT
    return apply_unary(op, x, {"dtype": x._backend.native_dtype(target)})


def concat(arrays: Any, /, *, axis: int | None = 0) -> Any:
    """Join tensors along an existing axis (``axis=None``: flatten first)."""
    arrays = tuple(arrays)
    if not arrays:
        raise ShapeError("concat: needs at least one tensor")
    first = ensure_tensor(arrays[0])
    if axis is not None:
        axis = normalize_axes(axis, first.ndim, "concat")[0]
    return apply(CONCAT, (first, *arrays[1:]), {"axis": axis})


def stack(arrays: Any, /, *, axis: int = 0) -> Any:
    """Join tensors of one shape along a new axis."""
    arrays = tuple(arrays)
    if not arrays:
        raise ShapeError("stack: needs at least one tensor")
    first = ensure_tensor(arrays[0])
    axis = normalize_axes(axis, first.ndim + 1, "stack")[0]
    return apply(STACK, (first, *arrays[1:]), {"axis": axis})


def where(condition: Any, x1: Any, x2: Any, /) -> Any:
    """``x1`` where ``condition`` holds, else ``x2`` (broadcasting all three)."""
    return apply(WHERE, (condition, x1, x2))


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    x = ensure_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"matrix_transpose: needs at least 2 dimensions, got shape {x.shape}")
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return apply_unary(PERMUTE_DIMS, x, {"axes": axes})
