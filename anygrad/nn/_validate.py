"""Argument checks shared by layers, losses and optimizers: one place that refuses garbage.

Every check names its owner (the layer, loss or optimizer) and the argument, raises
``TypeError`` for a value of the wrong type and ``ValueError`` for one out of range (nan and
infinities included), and returns the value normalised (a float, an int, a tuple of ints).
They run at construction (and on the Python arguments of functional calls): never per
element, never on the device.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..autograd.function import apply
from ..autograd.op import Op
from ..dtypes import as_dtype
from ..errors import DTypeError, ShapeError

Check = Callable[[str, str, Any], Any]  # (owner, argument name, value) -> normalised value


def _type_name(value: Any) -> str:
    return type(value).__name__


def real(owner: str, name: str, value: Any, *, low: float | None = None,
         high: float | None = None, low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number (not a bool, not a string) within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, not {_type_name(value)} "
                        f"{value!r}")
    v = float(value)
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if not math.isfinite(v) or not (lo_ok and hi_ok):
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        raise ValueError(f"{owner}: {name} must be finite{' and ' + bounds if bounds else ''}, "
                         f"not {value!r}")
    return v


def integer(owner: str, name: str, value: Any, *, low: int | None = None,
            high: int | None = None) -> int:
    """An int (not a bool, not a float) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, not {_type_name(value)} {value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        bounds = " and ".join(b for b in (None if low is None else f">= {low}",
                                          None if high is None else f"<= {high}") if b)
        raise ValueError(f"{owner}: {name} must be {bounds}, not {v}")
    return v


def flag(owner: str, name: str, value: Any) -> bool:
    """A bool."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be a bool, not {_type_name(value)} {value!r}")
    return value


def choice(owner: str, name: str, value: Any, options: tuple[Any, ...]) -> Any:
    """One of ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, options))}, "
                         f"not {value!r}")
    return value


def ints(owner: str, name: str, value: Any, n: int = 2, *, low: int = 0) -> tuple[int, ...]:
    """An int (repeated ``n`` times) or a sequence of ``n`` ints, each >= ``low``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        items: tuple = (value,) * n
    elif isinstance(value, tuple | list):
        items = tuple(value)
    else:
        raise TypeError(f"{owner}: {name} must be an int or a tuple of {n} ints, not "
                        f"{_type_name(value)} {value!r}")
    if len(items) != n:
        raise ValueError(f"{owner}: {name} must be an int or a tuple of {n} ints, not {value!r}")
    return tuple(integer(owner, name, v, low=low) for v in items)


def probability(owner: str, name: str, value: Any) -> float:
    """A real number in [0, 1]."""
    return real(owner, name, value, low=0.0, high=1.0)


# -- labels: one reduction on the device ----------------------------------------------------
def check_labels(owner: str, target: Tensor, n: int, what: str = "label", of: str = "C",
                 ignore_index: int | None = None) -> None:
    """Raise IndexError naming a value of ``target`` outside ``[0, n)`` (``ignore_index``,
    when given, is allowed too). One min and one max reduction on the labels' own device,
    then one transfer of those two scalars to the host: the single sync this check costs,
    and the only way to refuse a label before it silently drops out of a result."""
    if target.size == 0:
        return
    backend = target.backend
    xp, t = backend.xp, target.data
    with backend.context or contextlib.nullcontext():
        if ignore_index is not None and not 0 <= ignore_index < n:
            info = xp.iinfo(t.dtype)
            if info.min <= ignore_index <= info.max:  # ignored labels count as label 0
                t = xp.where(t == ignore_index, xp.zeros_like(t), t)
        bounds = xp.stack([xp.min(t), xp.max(t)])
    _in_range(owner, *backend.to_numpy(bounds).tolist(), n, what, of, ignore_index)


def _in_range(owner: str, lo: int, hi: int, n: int, what: str = "label", of: str = "C",
              ignore_index: int | None = None) -> None:
    """Raise :func:`check_labels`' IndexError unless ``[lo, hi]`` lies in ``[0, n)``."""
    if lo >= 0 and hi < n:
        return
    bad = lo if lo < 0 else hi
    extra = "" if ignore_index is None else f" or equal ignore_index ({ignore_index})"
    raise IndexError(f"{owner}: {what} {bad} is out of range for {of}={n}: each {what} must "
                     f"be in [0, {n}){extra}")


def _checked(xp: Any, t: Any, *, owner: str, n: int) -> Any:
    """A copy of the labels ``t`` once :func:`_in_range`: the check as a graph node."""
    if math.prod(t.shape):
        _in_range(owner, *(int(b) for b in xp.stack([xp.min(t), xp.max(t)])), n)
    return xp.asarray(t, copy=True)


CHECKED_LABELS = Op("checked_labels", _checked,
                    abstract=lambda op, backend, avals, params: (avals[0].shape, avals[0].dtype))


def checked_labels(target: Tensor, n: int, owner: str) -> Tensor:
    """``target``'s labels, refused as :func:`check_labels` refuses them, but when the graph
    runs rather than now: how ``anygrad.compile`` traces the check (each replay runs it)."""
    return apply(CHECKED_LABELS, (target,), {"owner": owner, "n": n})


# -- state dicts: convert everything before assigning anything -------------------------------
_LOSSLESS = {"b": "b", "u": "bu", "i": "bui", "f": "buif", "c": "buifc"}


def _source_kind(value: Any) -> str | None:
    if isinstance(value, Tensor):
        return value.dtype.kind
    for py, kind in ((bool, "b"), (numbers.Integral, "i"), (numbers.Real, "f"),
                     (numbers.Complex, "c")):
        if isinstance(value, py):
            return kind
    dtype = getattr(value, "dtype", None)
    found = None if dtype is None else as_dtype(dtype, strict=False)
    return None if found is None else found.kind


def convert_like(owner: str, key: str, value: Any, like: Tensor,
                 shape: tuple[int, ...] | None = None, holder: str = "module") -> Any:
    """``value`` (a Tensor or any library's array) as an array on ``like``'s device in its
    dtype, checked to have ``shape`` (default: ``like``'s) and a dtype that converts without
    loss of kind (no float into an integer buffer, no complex into a real parameter)."""
    kind = _source_kind(value)
    if kind is not None and kind not in _LOSSLESS[like.dtype.kind]:
        raise DTypeError(f"{owner}: {key} holds {getattr(value, 'dtype', _type_name(value))} "
                         f"values, which do not convert to {like.dtype.name} without loss")
    try:
        converted = Tensor(value, device=like.device, dtype=like.dtype, requires_grad=False)
    except (TypeError, ValueError) as e:
        raise DTypeError(f"{owner}: {key} ({_type_name(value)}) does not convert to a "
                         f"{like.dtype.name} tensor on {like.device}: {e}") from e
    want = like.shape if shape is None else shape
    if converted.shape != want:
        raise ShapeError(f"{owner}: {key} has shape {converted.shape} in the state dict, "
                         f"{want} in the {holder}")
    return converted.data
