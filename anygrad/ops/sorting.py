"""Sorting, searching and sets. ``sort`` is differentiable in its values (the gradient goes
back through the inverse permutation); indices, counts and masks are constants."""

from __future__ import annotations

from typing import Any, NamedTuple

from .._tensor import Tensor, _wrap
from ..autograd.function import apply, apply_unary, ensure_tensor
from ..autograd.op import Op
from .reductions import normalize_axes


def _argsort(xp: Any, x: Any, *, axis: int, descending: bool, stable: bool) -> Any:
    return xp.argsort(x, axis=axis, descending=descending, stable=stable)


def _unsort(xp: Any, g: Any, out: Any, x: Any, *, axis: int, descending: bool,
            stable: bool) -> Any:
    """``g`` put back in ``x``'s order: gathered by the inverse of the sorting permutation."""
    order = _argsort(xp, x, axis=axis, descending=descending, stable=True)
    return xp.take_along_axis(g, xp.argsort(order, axis=axis, stable=True), axis=axis)


SORT = Op("sort", lambda xp, x, *, axis, descending, stable: xp.sort(
    x, axis=axis, descending=descending, stable=stable), (_unsort,))
ARGSORT = Op("argsort", _argsort)
ARGMAX = Op("argmax", lambda xp, x, *, axis, keepdims: xp.argmax(x, axis=axis, keepdims=keepdims))
ARGMIN = Op("argmin", lambda xp, x, *, axis, keepdims: xp.argmin(x, axis=axis, keepdims=keepdims))
COUNT_NONZERO = Op("count_nonzero", lambda xp, x, *, axis, keepdims: xp.count_nonzero(
    x, axis=axis, keepdims=keepdims))
ISIN = Op("isin", lambda xp, x1, x2, *, invert: xp.isin(x1, x2, invert=invert))
SEARCHSORTED = Op("searchsorted", lambda xp, x1, x2, *, side, sorter: xp.searchsorted(
    x1, x2, side=side, sorter=sorter))


def _axis(x: Tensor, axis: int, name: str) -> int:
    return normalize_axes(axis, x.ndim, name)[0]


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    """``x`` sorted along ``axis`` (Array API ``sort``); differentiable (ties keep their
    order).

    Args:
        x: The tensor.
        axis: The axis to sort along.
        descending: Largest first.
        stable: Keep equal elements in their order (always kept for the gradient).

    Returns:
        The sorted tensor.

    Raises:
        AxisError: When ``axis`` is out of range.
    """
    x = ensure_tensor(x)
    return apply_unary(SORT, x, {"axis": _axis(x, axis, "sort"), "descending": descending,
                                 "stable": stable})


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    """The indices that sort ``x`` along ``axis`` (a constant; Array API ``argsort``);
    arguments and errors as ``sort``."""
    x = ensure_tensor(x)
    return apply_unary(ARGSORT, x, {"axis": _axis(x, axis, "argsort"),
                                    "descending": descending, "stable": stable})


def argmax(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Any:
    """The index of the largest element (over the flattened ``x`` when ``axis`` is None)."""
    x = ensure_tensor(x)
    axis = None if axis is None else _axis(x, axis, "argmax")
    return apply_unary(ARGMAX, x, {"axis": axis, "keepdims": keepdims})


def argmin(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Any:
    """The index of the smallest element (over the flattened ``x`` when ``axis`` is None)."""
    x = ensure_tensor(x)
    axis = None if axis is None else _axis(x, axis, "argmin")
    return apply_unary(ARGMIN, x, {"axis": axis, "keepdims": keepdims})


def count_nonzero(x: Any, /, *, axis: int | tuple[int, ...] | None = None,
                  keepdims: bool = False) -> Any:
    """How many elements over ``axis`` are not zero (a constant)."""
    x = ensure_tensor(x)
    return apply_unary(COUNT_NONZERO, x, {"axis": normalize_axes(axis, x.ndim, "count_nonzero"),
                                          "keepdims": keepdims})


def searchsorted(x1: Any, x2: Any, /, *, side: str = "left", sorter: Any = None) -> Any:
    """Where ``x2``'s elements would go in the sorted 1-d ``x1`` (a constant)."""
    if isinstance(sorter, Tensor):
        sorter = sorter.data
    return apply(SEARCHSORTED, (x1, x2), {"side": side, "sorter": sorter})


def isin(x1: Any, x2: Any, /, *, invert: bool = False) -> Any:
    """Whether each element of ``x1`` is in ``x2`` (a constant; 2025.12)."""
    return apply(ISIN, (x1, x2), {"invert": invert})


def _wrap_all(x: Tensor, arrays: Any) -> tuple:
    return tuple(_wrap(a, x._backend) for a in arrays)


def nonzero(x: Any, /) -> tuple:
    """The indices of the non-zero elements, one index tensor per axis (constants)."""
    x = ensure_tensor(x)
    return _wrap_all(x, x._backend.xp.nonzero(x.data))


class UniqueAllResult(NamedTuple):
    """What ``unique_all`` returns (the Array API's named tuple)."""

    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class UniqueCountsResult(NamedTuple):
    """What ``unique_counts`` returns: ``(values, counts)``."""

    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    """What ``unique_inverse`` returns: ``(values, inverse_indices)``."""

    values: Any
    inverse_indices: Any


def unique_all(x: Any, /) -> UniqueAllResult:
    """The distinct values, first indices, inverse indices and counts (constants)."""
    x = ensure_tensor(x)
    return UniqueAllResult(*_wrap_all(x, x._backend.xp.unique_all(x.data)))


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """The distinct values of ``x`` and how often each occurs (constants).

    Returns:
        ``(values, counts)``: the distinct values (1-d) and their counts.
    """
    x = ensure_tensor(x)
    return UniqueCountsResult(*_wrap_all(x, x._backend.xp.unique_counts(x.data)))


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """The distinct values of ``x`` and where each element of ``x`` is among them (constants).

    Returns:
        ``(values, inverse_indices)``: the distinct values (1-d) and, with ``x``'s
        shape, the index into ``values`` of each element (``values[inverse_indices]`` is
        ``x``).
    """
    x = ensure_tensor(x)
    return UniqueInverseResult(*_wrap_all(x, x._backend.xp.unique_inverse(x.data)))


def unique_values(x: Any, /) -> Any:
    """The distinct values of ``x``, 1-d (a constant)."""
    x = ensure_tensor(x)
    return _wrap(x._backend.xp.unique_values(x.data), x._backend)
