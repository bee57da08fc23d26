"""Abstract evaluation: an op's result shape and dtype, without computing it.

One shape rule per op family, in Python; the dtype comes from the backend itself: the op runs
once on one-element arrays of the input dtypes (with the same Python scalars and parameters),
and the answer is cached per op, input dtypes and parameters. That way every backend's own
promotion rules (NumPy's weak Python scalars, torch's default float) hold in lazy mode exactly
as in eager mode. An op may bring its own rule as ``Op(..., abstract=rule)`` with
``rule(op, backend, avals, params) -> (shape, native dtype)``. Ops with no rule run eagerly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

from ..autograd.op import Op
from .keys import freeze


class Aval(NamedTuple):
    """An abstract array: its shape and native dtype."""

    shape: tuple
    dtype: Any


Rule = Callable[[Op, Any, list, dict], tuple]
_dtypes: dict[tuple, Any] = {}


def probe_dtype(op: Op, backend: Any, avals: list, params: dict, ones: bool = False) -> Any:
    """The dtype ``op`` gives on these input dtypes, asked of the backend on tiny arrays.

    Dummies are 0-d, or shaped ``(1,) * ndim`` with ``ones=True`` (for ops taking axes).
    """
    pkey, keyed = freeze(params)
    key = (op, backend, tuple(a.dtype if type(a) is Aval else (type(a), a) for a in avals),
           tuple(len(a.shape) for a in avals if type(a) is Aval) if ones else None, pkey)
    found = _dtypes.get(key) if keyed else None
    if found is not None:
        return found
    args = [backend.ones((1,) * len(a.shape) if ones else (), a.dtype) if type(a) is Aval else a
            for a in avals]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1/0 on a dummy is no concern of the user's
        if backend.context is not None:
            with backend.context:
                dtype = op.forward(backend.xp, *args, **params).dtype
        else:
            dtype = op.forward(backend.xp, *args, **params).dtype
    if keyed:
        if len(_dtypes) > 4096:
            _dtypes.clear()
        _dtypes[key] = dtype
    return dtype


# -- shape rules ----------------------------------------------------------------------------
def broadcast_shapes(*shapes: tuple) -> tuple:
    """The Array API broadcast of ``shapes``; ValueError when they do not broadcast."""
    first = shapes[0] if shapes else ()
    if all(s == first for s in shapes):
        return first
    ndim = max(len(s) for s in shapes)
    out = []
    for i in range(-ndim, 0):
        n = 1
        for s in shapes:
            m = s[i] if -i <= len(s) else 1
            if m != 1:
                if n not in (1, m):
                    raise ValueError(f"shapes {', '.join(map(str, shapes))} do not broadcast")
                n = m
        out.append(n)
    return tuple(out)


def _arrays(avals: list) -> list:
    return [a for a in avals if type(a) is Aval]


def elementwise(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    shape = broadcast_shapes(*(a.shape for a in _arrays(avals)))
    return shape, probe_dtype(op, backend, avals, params)


def _axes(axis: Any, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} out of range")
    return tuple(a % ndim if ndim else 0 for a in axes)


def reduction(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,) = avals
    axes = _axes(params.get("axis"), len(x.shape))
    if params.get("keepdims", False):
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    else:
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return shape, probe_dtype(op, backend, avals, params, ones=True)


def reshape(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,), shape = avals, tuple(params["shape"])
    size = math.prod(x.shape)
    if shape.count(-1) > 1 or any(n < -1 for n in shape):
        raise ValueError(f"bad shape {shape}")
    if -1 in shape:
        rest = math.prod(n for n in shape if n != -1)
        if rest == 0 or size % rest:
            raise ValueError(f"cannot reshape {x.shape} into {shape}")
        shape = tuple(size // rest if n == -1 else n for n in shape)
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape {x.shape} into {shape}")
    return shape, x.dtype


def permute_dims(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,), axes = avals, params["axes"]
    if sorted(axes) != list(range(len(x.shape))):
        raise ValueError(f"bad axes {axes}")
    return tuple(x.shape[a] for a in axes), x.dtype


def broadcast_to(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,), shape = avals, tuple(params["shape"])
    if len(shape) < len(x.shape) or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast {x.shape} to {shape}")
    return shape, x.dtype


def concat(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    arrays, axis = _arrays(avals), params["axis"]
    if len(arrays) != len(avals):
        raise ValueError("concat of non-arrays")
    dtype = probe_dtype(op, backend, avals, params, ones=True)
    if axis is None:
        return (sum(math.prod(a.shape) for a in arrays),), dtype
    first = arrays[0].shape
    for a in arrays:
        if len(a.shape) != len(first) or any(
                m != n for i, (m, n) in enumerate(zip(a.shape, first, strict=True)) if i != axis):
            raise ValueError("concat: shapes differ off the axis")
    return first[:axis] + (sum(a.shape[axis] for a in arrays),) + first[axis + 1:], dtype


def stack(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    arrays, axis = _arrays(avals), params["axis"]
    if len(arrays) != len(avals) or any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError("stack: shapes differ")
    first = arrays[0].shape
    dtype = probe_dtype(op, backend, avals, params, ones=True)
    return first[:axis] + (len(arrays),) + first[axis:], dtype


def matmul(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    x, y = avals
    if type(x) is not Aval or type(y) is not Aval or not x.shape or not y.shape:
        raise ValueError("matmul needs arrays of at least one dimension")
    a = (1,) + x.shape if len(x.shape) == 1 else x.shape
    b = y.shape + (1,) if len(y.shape) == 1 else y.shape
    if a[-1] != b[-2]:
        raise ValueError(f"matmul: {x.shape} @ {y.shape}")
    shape = broadcast_shapes(a[:-2], b[:-2]) + (a[-2], b[-1])
    if len(x.shape) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(y.shape) == 1:
        shape = shape[:-1]
    return shape, probe_dtype(op, backend, avals, params, ones=True)


def getitem(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Index a zero-strided dummy of the input's shape: a view, so nothing is computed."""
    (x,) = avals
    xp = backend.xp
    if backend.context is not None:
        with backend.context:
            out = xp.broadcast_to(backend.ones((), x.dtype), x.shape)[params["key"]]
    else:
        out = xp.broadcast_to(backend.ones((), x.dtype), x.shape)[params["key"]]
    return tuple(out.shape), out.dtype


REDUCTIONS = ("sum", "mean", "max", "min", "prod", "std", "var", "all", "any", "argmax", "argmin",
              "logsumexp")
RULES: dict[str, Rule] = {
    **dict.fromkeys(REDUCTIONS, reduction),
    "where": elementwise, "astype": elementwise,
    "reshape": reshape, "permute_dims": permute_dims, "broadcast_to": broadcast_to,
    "concat": concat, "stack": stack, "matmul": matmul, "getitem": getitem,
}


def rule_for(op: Op) -> Rule | None:
    """The shape-and-dtype rule of ``op``; None when lazy mode must run it eagerly."""
    if op.abstract is not None:
        return op.abstract
    if op.elementwise:
        return elementwise
    return RULES.get(op.name)
