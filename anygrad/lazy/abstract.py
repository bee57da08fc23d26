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


def probe_dtype(op: Op, backend: Any, avals: list, params: dict, ones: bool | int = False) -> Any:
    """The dtype ``op`` gives on these input dtypes, asked of the backend on tiny arrays.

    Dummies are 0-d, or shaped ``(n,) * ndim`` with ``ones=n`` (``True``: 1), for ops taking
    axes; the probe also checks the parameters against the inputs' ranks.
    """
    pkey, keyed = freeze(params)
    key = (op, backend, tuple(a.dtype if type(a) is Aval else (type(a), a) for a in avals),
           tuple(len(a.shape) for a in avals if type(a) is Aval) if ones else None, int(ones),
           pkey)
    found = _dtypes.get(key) if keyed else None
    if found is not None:
        return found
    args = [backend.ones((int(ones),) * len(a.shape), a.dtype) if type(a) is Aval else a
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
    """Rule of elementwise ops (``where`` and ``astype`` too): the inputs' broadcast shape.

    Raises:
        ValueError: The input shapes do not broadcast.
    """
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
    """Rule of reductions: ``axis`` (None: all) removed, or kept as 1 with ``keepdims``.

    Raises:
        ValueError: An axis is out of range.
    """
    (x,) = avals
    axes = _axes(params.get("axis"), len(x.shape))
    if params.get("keepdims", False):
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    else:
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return shape, probe_dtype(op, backend, avals, params, ones=True)


def reshape(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``reshape``: ``shape``, with its one ``-1`` inferred.

    Raises:
        ValueError: The shape has more than one ``-1`` or a size below ``-1``, or its size is
            not the input's.
    """
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
    """Rule of ``permute_dims``: the input's axes in the order ``axes``.

    Raises:
        ValueError: ``axes`` is not a permutation of the input's axes.
    """
    (x,), axes = avals, params["axes"]
    if sorted(axes) != list(range(len(x.shape))):
        raise ValueError(f"bad axes {axes}")
    return tuple(x.shape[a] for a in axes), x.dtype


def broadcast_to(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``broadcast_to``: ``shape``.

    Raises:
        ValueError: The input does not broadcast to ``shape``.
    """
    (x,), shape = avals, tuple(params["shape"])
    if len(shape) < len(x.shape) or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast {x.shape} to {shape}")
    return shape, x.dtype


def concat(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``concat``: the inputs joined along ``axis`` (None: flattened first).

    Raises:
        ValueError: An input is not an array, or the shapes differ off the axis.
    """
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
    """Rule of ``stack``: a new axis ``axis`` of the inputs' count.

    Raises:
        ValueError: An input is not an array, or the shapes differ.
    """
    arrays, axis = _arrays(avals), params["axis"]
    if len(arrays) != len(avals) or any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError("stack: shapes differ")
    first = arrays[0].shape
    dtype = probe_dtype(op, backend, avals, params, ones=True)
    return first[:axis] + (len(arrays),) + first[axis:], dtype


def matmul(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``matmul``: the Array API's, one-dimensional operands included.

    Raises:
        ValueError: An operand is not an array of at least one dimension, the inner sizes
            differ, or the batch shapes do not broadcast.
    """
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


def same_shape(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """The first input's shape (flip, roll, sort, argsort, tril, triu, copy, isin)."""
    return avals[0].shape, probe_dtype(op, backend, avals, params, ones=True)


def cumulative(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``cumulative_sum`` and ``cumulative_prod``: the input's shape, one longer
    along ``axis`` with ``include_initial``."""
    (x,), axis = avals, params["axis"]
    shape = list(x.shape)
    shape[axis] += bool(params["include_initial"])
    return tuple(shape), probe_dtype(op, backend, avals, params, ones=True)


def diagonal(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``diagonal``: the batch shape, then the length of the diagonal ``offset``.

    Raises:
        ValueError: The input has fewer than two dimensions.
    """
    (x,), k = avals, params["offset"]
    if len(x.shape) < 2:
        raise ValueError("diagonal of fewer than two dimensions")
    rows, cols = x.shape[-2:]
    n = min(rows, cols - k) if k >= 0 else min(rows + k, cols)
    return x.shape[:-2] + (max(n, 0),), x.dtype


def repeat(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``repeat`` with one int of repeats: ``axis`` (None: the flattened input)
    made ``repeats`` times longer.

    Raises:
        TypeError: ``repeats`` is not a non-negative int (per-element repeats make the
            result's length depend on values).
        ValueError: ``axis`` is out of range.
    """
    (x,), r, axis = avals, params["repeats"], params["axis"]
    if type(r) is not int or r < 0:
        raise TypeError("repeats given per element: the result's length depends on values")
    if axis is None:
        return (math.prod(x.shape) * r,), x.dtype
    axis = _axes(axis, len(x.shape))[0]
    return x.shape[:axis] + (x.shape[axis] * r,) + x.shape[axis + 1:], x.dtype


def _index_dtype(backend: Any, idx: Aval) -> None:
    if backend.dtype_of(idx.dtype).kind not in "iu":
        raise TypeError("indices must be integers")


def take(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``take``: ``axis`` replaced by the indices' shape.

    Raises:
        TypeError: The indices are not integers.
        ValueError: ``axis`` is out of range.
    """
    (x, idx), axis = avals, params["axis"]
    _index_dtype(backend, idx)
    axis = _axes(axis, len(x.shape))[0]
    return x.shape[:axis] + idx.shape + x.shape[axis + 1:], x.dtype


def take_along_axis(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``take_along_axis``: the indices' length along ``axis``, the other axes
    broadcast.

    Raises:
        TypeError: The indices are not integers.
        ValueError: The indices and the input differ in rank, ``axis`` is out of range, or
            the other axes do not broadcast.
    """
    (x, idx), axis = avals, params["axis"]
    _index_dtype(backend, idx)
    if len(idx.shape) != len(x.shape):
        raise ValueError("take_along_axis: indices and x differ in rank")
    axis = _axes(axis, len(x.shape))[0]
    others = broadcast_shapes(x.shape[:axis] + x.shape[axis + 1:],
                              idx.shape[:axis] + idx.shape[axis + 1:])
    return others[:axis] + (idx.shape[axis],) + others[axis:], x.dtype


def searchsorted(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """Rule of ``searchsorted``: the shape of the values searched for (``x2``).

    Raises:
        ValueError: The sorted array ``x1`` is not one-dimensional.
    """
    x1, x2 = avals
    if len(x1.shape) != 1:
        raise ValueError("searchsorted: x1 must be one-dimensional")
    return x2.shape, probe_dtype(op, backend, avals, params, ones=True)


def _fft_shape(op: Op, x: Aval, s: Any, axes: tuple) -> tuple:
    shape = list(x.shape)
    for i, a in enumerate(axes):
        shape[a] = x.shape[a] if s is None else s[i]
    last = axes[-1]
    if op.name == "rfftn":
        shape[last] = shape[last] // 2 + 1
    elif op.name == "irfftn" and s is None:
        shape[last] = 2 * (x.shape[last] - 1)
    if any(shape[a] < 1 for a in axes):
        raise ValueError("fft: an axis of no points")
    return tuple(shape)


def fft(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    """fftn, ifftn, rfftn, irfftn over ``axes``, each resized to ``s``."""
    (x,) = avals
    shape = _fft_shape(op, x, params["s"], params["axes"])
    return shape, probe_dtype(op, backend, avals, params, ones=2)


# -- linear algebra: the batch axes come first, the matrix is the last two ------------------
def _matrix(x: Aval, square: bool = False) -> tuple[int, int]:
    if len(x.shape) < 2 or (square and x.shape[-1] != x.shape[-2]):
        raise ValueError(f"{'a square matrix' if square else 'a matrix'} needed, not {x.shape}")
    return x.shape[-2], x.shape[-1]


def _linalg(shape: Callable[..., tuple]) -> Rule:
    """A rule from ``shape(x, **params)``; the dtype is probed on a one-by-one matrix."""
    def rule(op: Op, backend: Any, avals: list, params: dict) -> tuple:
        return shape(*avals, **params), probe_dtype(op, backend, avals, params, ones=True)
    return rule


def _square(x: Aval, **params: Any) -> tuple:
    _matrix(x, square=True)
    return x.shape


def _batch(x: Aval, square: bool = True) -> tuple:
    _matrix(x, square)
    return x.shape[:-2]


def _solve(a: Aval, b: Aval) -> tuple:
    n, _ = _matrix(a, square=True)
    if len(b.shape) == 1:
        if b.shape[0] != n:
            raise ValueError(f"solve: {a.shape} and {b.shape}")
        return a.shape[:-1]
    if b.shape[-2] != n:
        raise ValueError(f"solve: {a.shape} and {b.shape}")
    return broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]


def _pinv(x: Aval, **params: Any) -> tuple:
    m, n = _matrix(x)
    return x.shape[:-2] + (n, m)


def qr_q(x: Aval, mode: str) -> tuple:
    """The shape of ``Q`` of ``qr`` in ``mode``.

    Raises:
        ValueError: ``x`` is not a matrix (fewer than two dimensions).
    """
    m, n = _matrix(x)
    return x.shape[:-2] + (m, m if mode == "complete" else min(m, n))


def qr_r(x: Aval, mode: str) -> tuple:
    """The shape of ``R`` of ``qr`` in ``mode``.

    Raises:
        ValueError: ``x`` is not a matrix (fewer than two dimensions).
    """
    m, n = _matrix(x)
    return x.shape[:-2] + (m if mode == "complete" else min(m, n), n)


def svd_u(x: Aval, full: bool) -> tuple:
    """The shape of ``U`` of ``svd`` (``full``: full matrices).

    Raises:
        ValueError: ``x`` is not a matrix (fewer than two dimensions).
    """
    m, n = _matrix(x)
    return x.shape[:-2] + (m, m if full else min(m, n))


def svd_s(x: Aval, full: bool) -> tuple:
    """The shape of the singular values of ``svd``.

    Raises:
        ValueError: ``x`` is not a matrix (fewer than two dimensions).
    """
    m, n = _matrix(x)
    return x.shape[:-2] + (min(m, n),)


def svd_vh(x: Aval, full: bool) -> tuple:
    """The shape of ``Vh`` of ``svd`` (``full``: full matrices).

    Raises:
        ValueError: ``x`` is not a matrix (fewer than two dimensions).
    """
    m, n = _matrix(x)
    return x.shape[:-2] + (n if full else min(m, n), n)


def eigenvalues(x: Aval, **params: Any) -> tuple:
    """The shape of the eigenvalues of a (batch of) square matrix.

    Raises:
        ValueError: ``x`` is not a square matrix.
    """
    return _batch(x) + (x.shape[-1],)


LINALG = {  # shape rules of the factorisations, one per output (see ``ops.decompositions``)
    "qr_q": _linalg(qr_q), "qr_r": _linalg(qr_r), "svd_u": _linalg(svd_u),
    "svd_s": _linalg(svd_s), "svd_vh": _linalg(svd_vh), "eigenvalues": _linalg(eigenvalues),
    "eigenvectors": _linalg(_square),
}
REDUCTIONS = ("sum", "mean", "max", "min", "prod", "std", "var", "all", "any", "argmax", "argmin",
              "logsumexp", "count_nonzero", "vector_norm")
RULES: dict[str, Rule] = {
    **dict.fromkeys(REDUCTIONS, reduction),
    "where": elementwise, "astype": elementwise,
    "reshape": reshape, "permute_dims": permute_dims, "broadcast_to": broadcast_to,
    "concat": concat, "stack": stack, "matmul": matmul, "getitem": getitem,
    **dict.fromkeys(("flip", "roll", "sort", "argsort", "tril", "triu", "copy"), same_shape),
    "cumulative_sum": cumulative, "cumulative_prod": cumulative, "diagonal": diagonal,
    "repeat": repeat, "take": take, "take_along_axis": take_along_axis,
    "searchsorted": searchsorted, "isin": same_shape,
    **dict.fromkeys(("fftn", "ifftn", "rfftn", "irfftn"), fft),
    "inv": _linalg(_square), "cholesky": _linalg(_square), "det": _linalg(_batch),
    "slogdet": _linalg(_batch), "solve": _linalg(_solve), "pinv": _linalg(_pinv),
    "matrix_rank": _linalg(lambda x, **p: _batch(x, square=False)),
}
# ``setitem`` (a write) runs at once in lazy mode; ``to`` defers itself (``ops.transfer``).


def rule_for(op: Op) -> Rule | None:
    """The shape-and-dtype rule of ``op``; None when lazy mode must run it eagerly."""
    if op.abstract is not None:
        return op.abstract
    if op.elementwise:
        return elementwise
    return RULES.get(op.name)
