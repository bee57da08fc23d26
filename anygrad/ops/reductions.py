"""Reductions over an axis, a tuple of axes, or everything, with ``keepdims``.

Each rule returns the gradient shaped like the kept-dims result; the engine broadcasts it
back over the reduced axes.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from ..autograd.function import apply_unary, ensure_tensor
from ..autograd.op import Op
from ..errors import AxisError, ShapeError


def check_axis(axis: Any, ndim: int, op: str) -> int:
    """The one validation of an axis: ``axis`` (an integer in ``[-ndim, ndim)``) as a
    non-negative axis; a TypeError naming ``op`` for a non-integer, an AxisError naming
    ``op``, the axis and ``ndim`` out of range (a 0-d tensor takes axis 0, as before)."""
    if type(axis) is not int:  # the common case costs this one check
        if isinstance(axis, bool) or not hasattr(type(axis), "__index__"):
            raise TypeError(f"{op}: an axis is an integer, not {axis!r} "
                            f"({type(axis).__name__})")
        axis = operator.index(axis)  # NumPy's integer scalars
    if -ndim <= axis < ndim:
        return axis % ndim
    if ndim == 0 and axis == 0:
        return 0
    raise AxisError(f"{op}: axis {axis} is out of range for a {ndim}-d tensor"
                    + (f" (valid: {-ndim} to {ndim - 1})" if ndim else ""))


def axes_list(axis: Any, ndim: int, op: str) -> list[int]:
    """``axis`` (an integer or a sequence of them), each checked by :func:`check_axis`, in
    the order given (repeats kept)."""
    if type(axis) is int:
        return [check_axis(axis, ndim, op)]
    if isinstance(axis, str | bytes) or not hasattr(axis, "__iter__"):
        if hasattr(type(axis), "__index__") and not isinstance(axis, bool):
            return [check_axis(axis, ndim, op)]
        raise TypeError(f"{op}: axis is an integer or a tuple of integers, not {axis!r} "
                        f"({type(axis).__name__})")
    return [check_axis(a, ndim, op) for a in axis]


def normalize_axes(axis: int | tuple[int, ...] | None, ndim: int,
                   op: str) -> tuple[int, ...] | None:
    """``axis`` as a sorted tuple of non-negative axes (None: all axes); each axis checked
    by :func:`check_axis`, repeats refused."""
    if axis is None:
        return None
    if type(axis) is int:
        return (check_axis(axis, ndim, op),)
    out = axes_list(axis, ndim, op)
    if len(set(out)) != len(out):
        raise AxisError(f"{op}: repeated axis in {axis}")
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
    "sum": lambda xp, g, out, x, *, axis, keepdims, dtype=None: kept(xp, g, x, axis),
    "mean": lambda xp, g, out, x, *, axis, keepdims: kept(xp, g, x, axis) / _count(x, axis),
    "max": _extremum,
    "min": _extremum,
}


def _reduction(name: str) -> Op:
    def forward(xp: Any, x: Any, *, axis: Any, keepdims: bool, **dtype: Any) -> Any:
        return getattr(xp, name)(x, axis=axis, keepdims=keepdims, **dtype)
    return Op(name, forward, (RULES[name],))


_OPS = {name: _reduction(name) for name in RULES}


def _reduce(name: str, x: Any, axis: Any, keepdims: bool) -> Any:
    x = ensure_tensor(x)
    return apply_unary(_OPS[name], x, {"axis": normalize_axes(axis, x.ndim, name),
                                       "keepdims": bool(keepdims)})


def _accumulate_in(x: Any, dtype: Any) -> tuple[Any, dict[str, Any]]:
    """``x`` cast to ``dtype`` (differentiably), and the ``dtype=`` keyword that keeps the
    library from widening it again (NumPy sums small integers in int64): none when None."""
    x = ensure_tensor(x)
    if dtype is None:
        return x, {}
    from .shape import astype
    x = astype(x, dtype)
    return x, {"dtype": x.backend.native_dtype(dtype)}


def sum(x: Any, /, *, axis: int | tuple[int, ...] | None = None, dtype: Any = None,
        keepdims: bool = False) -> Any:
    """Sum of the elements over ``axis`` (all axes by default), in ``dtype`` when given
    (else small integers are summed in the default integer dtype, as the standard says).

    Args:
        x: The tensor.
        axis: An axis, a tuple of axes, or None for all of them.
        dtype: The dtype to sum in (``x`` is cast to it, differentiably).
        keepdims: Keep the reduced axes, with length 1.

    Returns:
        The sums.

    Raises:
        TypeError: When an axis is not an integer.
        AxisError: When an axis is out of range or repeated.
    """
    x, kw = _accumulate_in(x, dtype)
    return apply_unary(_OPS["sum"], x, {"axis": normalize_axes(axis, x.ndim, "sum"),
                                        "keepdims": bool(keepdims), **kw})


def mean(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over ``axis`` (all axes by default)."""
    return _reduce("mean", x, axis, keepdims)


def max(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Largest element over ``axis``; ties share the gradient."""
    return _reduce("max", x, axis, keepdims)


def min(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Smallest element over ``axis``; ties share the gradient."""
    return _reduce("min", x, axis, keepdims)


# -- statistics and products ---------------------------------------------------------------
def _mean_kept(xp: Any, x: Any, axis: Any) -> Any:
    return xp.mean(x, axis=axis, keepdims=True)


def _prod_others(xp: Any, g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool,
                 dtype: Any = None) -> Any:
    """The derivative d prod / d x_i = the product of the other elements (exact with zeros
    too): exclusive products from the left times those from the right, over the reduced axes
    flattened."""
    red = tuple(range(x.ndim)) if axis is None else axis
    rest = tuple(i for i in range(x.ndim) if i not in red)
    order = rest + red
    y = xp.reshape(xp.permute_dims(x, order), tuple(x.shape[i] for i in rest) + (-1,))
    left = xp.cumulative_prod(y, axis=-1, include_initial=True)[..., :-1]
    right = xp.flip(xp.cumulative_prod(xp.flip(y, axis=-1), axis=-1, include_initial=True)
                    [..., :-1], axis=-1)
    others = xp.reshape(left * right, tuple(x.shape[i] for i in order))
    inverse = tuple(order.index(i) for i in range(x.ndim))
    return xp.permute_dims(others, inverse) * kept(xp, g, x, axis)


PROD = Op("prod", lambda xp, x, *, axis, keepdims, **dtype: xp.prod(
    x, axis=axis, keepdims=keepdims, **dtype), (_prod_others,))
VAR = Op("var", lambda xp, x, *, axis, correction, keepdims: xp.var(
    x, axis=axis, correction=correction, keepdims=keepdims),
    (lambda xp, g, out, x, *, axis, correction, keepdims:
     kept(xp, g, x, axis) * 2 * (x - _mean_kept(xp, x, axis)) / (_count(x, axis) - correction),))
STD = Op("std", lambda xp, x, *, axis, correction, keepdims: xp.std(
    x, axis=axis, correction=correction, keepdims=keepdims),
    (lambda xp, g, out, x, *, axis, correction, keepdims:
     kept(xp, g, x, axis) * (x - _mean_kept(xp, x, axis))
     / ((_count(x, axis) - correction) * kept(xp, out, x, axis)),))


def _logsumexp(xp: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    s = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else xp.reshape(s, tuple(n for i, n in enumerate(x.shape)
                                                  if axis is not None and i not in axis))


LOGSUMEXP = Op("logsumexp", _logsumexp, (
    lambda xp, g, out, x, *, axis, keepdims: kept(xp, g, x, axis)
    * xp.exp(x - kept(xp, out, x, axis)),))


def _reverse_cumsum(xp: Any, g: Any, axis: int) -> Any:
    return xp.flip(xp.cumulative_sum(xp.flip(g, axis=axis), axis=axis), axis=axis)


def _drop_initial(g: Any, axis: int, include_initial: bool) -> Any:
    return g[(slice(None),) * axis + (slice(1, None), ...)] if include_initial else g


CUMULATIVE_SUM = Op("cumulative_sum", lambda xp, x, *, axis, include_initial, **dtype:
                    xp.cumulative_sum(x, axis=axis, include_initial=include_initial, **dtype),
    (lambda xp, g, out, x, *, axis, include_initial, dtype=None:
     _reverse_cumsum(xp, _drop_initial(g, axis, include_initial), axis),))
# exact for inputs without zeros
CUMULATIVE_PROD = Op("cumulative_prod", lambda xp, x, *, axis, include_initial, **dtype:
                     xp.cumulative_prod(x, axis=axis, include_initial=include_initial, **dtype),
                     (lambda xp, g, out, x, *, axis, include_initial, dtype=None: _reverse_cumsum(
                         xp, _drop_initial(g * out, axis, include_initial), axis) / x,))
ALL = Op("all", lambda xp, x, *, axis, keepdims: xp.all(x, axis=axis, keepdims=keepdims))
ANY = Op("any", lambda xp, x, *, axis, keepdims: xp.any(x, axis=axis, keepdims=keepdims))


def prod(x: Any, /, *, axis: int | tuple[int, ...] | None = None, dtype: Any = None,
         keepdims: bool = False) -> Any:
    """Product of the elements over ``axis`` (in ``dtype`` when given); its gradient is
    exact where elements are 0."""
    x, kw = _accumulate_in(x, dtype)
    return apply_unary(PROD, x, {"axis": normalize_axes(axis, x.ndim, "prod"),
                                 "keepdims": bool(keepdims), **kw})


def _moments(op: Op, x: Any, axis: Any, correction: float, keepdims: bool) -> Any:
    x = ensure_tensor(x)
    return apply_unary(op, x, {"axis": normalize_axes(axis, x.ndim, op.name),
                               "correction": correction, "keepdims": bool(keepdims)})


def var(x: Any, /, *, axis: int | tuple[int, ...] | None = None, correction: float = 0.0,
        keepdims: bool = False) -> Any:
    """Variance over ``axis``, dividing by ``N - correction``."""
    return _moments(VAR, x, axis, correction, keepdims)


def std(x: Any, /, *, axis: int | tuple[int, ...] | None = None, correction: float = 0.0,
        keepdims: bool = False) -> Any:
    """Standard deviation over ``axis``, dividing by ``N - correction``."""
    return _moments(STD, x, axis, correction, keepdims)


def logsumexp(x: Any, /, *, axis: int | tuple[int, ...] | None = None,
              keepdims: bool = False) -> Any:
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow (not in the standard)."""
    x = ensure_tensor(x)
    return apply_unary(LOGSUMEXP, x, {"axis": normalize_axes(axis, x.ndim, "logsumexp"),
                                      "keepdims": bool(keepdims)})


def _cumulative(op: Op, x: Any, axis: int | None, dtype: Any, include_initial: bool) -> Any:
    x, kw = _accumulate_in(x, dtype)
    if axis is None:
        if x.ndim != 1:
            raise ShapeError(f"{op.name}: axis is required for a {x.ndim}-d tensor")
        axis = 0
    axis = check_axis(axis, x.ndim, op.name)
    return apply_unary(op, x, {"axis": axis, "include_initial": bool(include_initial), **kw})


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False) -> Any:
    """Running sums along ``axis`` (Array API ``cumulative_sum``).

    Args:
        x: The tensor.
        axis: The axis; may be None only for a 1-d ``x``.
        dtype: The dtype to sum in (``x`` is cast to it, differentiably).
        include_initial: Start with the empty sum, 0 (the result is one longer).

    Returns:
        The running sums, ``x``'s shape along the other axes.

    Raises:
        ShapeError: When ``axis`` is None and ``x`` is not 1-d.
        AxisError: When ``axis`` is out of range.
    """
    return _cumulative(CUMULATIVE_SUM, x, axis, dtype, include_initial)


def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                    include_initial: bool = False) -> Any:
    """Running products along ``axis`` (the gradient assumes no zeros); arguments and errors
    as ``cumulative_sum`` (``include_initial`` starts with 1)."""
    return _cumulative(CUMULATIVE_PROD, x, axis, dtype, include_initial)


def all(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Whether every element over ``axis`` is true (a constant)."""
    x = ensure_tensor(x)
    return apply_unary(ALL, x, {"axis": normalize_axes(axis, x.ndim, "all"),
                                "keepdims": bool(keepdims)})


def any(x: Any, /, *, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Whether some element over ``axis`` is true (a constant)."""
    x = ensure_tensor(x)
    return apply_unary(ANY, x, {"axis": normalize_axes(axis, x.ndim, "any"),
                                "keepdims": bool(keepdims)})


def diff(x: Any, /, *, axis: int = -1, n: int = 1, prepend: Any = None, append: Any = None
         ) -> Any:
    """The ``n``-th forward difference along ``axis`` (composed of slices and subtraction).

    Args:
        x: The tensor.
        axis: The axis.
        n: How many times to take differences.
        prepend: Values put before ``x`` along ``axis`` first (same shape elsewhere).
        append: Values put after ``x`` along ``axis`` first.

    Returns:
        The differences, ``n`` shorter along ``axis`` (than ``x`` with its additions).
    """
    from .elementwise import subtract
    from .shape import concat
    x = ensure_tensor(x)
    axis = check_axis(axis, x.ndim, "diff")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = concat(parts, axis=axis)
    head = (slice(None),) * axis
    for _ in range(n):
        x = subtract(x[head + (slice(1, None), ...)], x[head + (slice(None, -1), ...)])
    return x
