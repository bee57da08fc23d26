"""Hashable keys for op parameters (slices, nested tuples, dtypes; arrays by shape only)."""

from __future__ import annotations

from typing import Any

_SIMPLE = (type(None), bool, int, float, complex, str, bytes, type(Ellipsis))


class Unkeyed(tuple):
    """The key of parameters holding arrays: it describes their structure (shape, dtype), so
    plans can be shared, but says nothing of their values, so such nodes are never merged."""

    __slots__ = ()


def _is_array(v: Any) -> bool:
    return (hasattr(v, "__array_namespace__") or hasattr(v, "__array__")
            or hasattr(v, "__cuda_array_interface__") or hasattr(v, "__dlpack__"))


_EXACT = frozenset(_SIMPLE)


def _freeze(v: Any, arrays: list) -> Any:
    t = type(v)
    if t in _EXACT:  # the common cases first: an axis, a flag, a tuple of sizes
        return (t, v)
    if t is tuple:
        if all(type(x) is int for x in v):  # sizes, axes, strides: no 1 / 1.0 / True to part
            return ("ints", v)
        return (t, *[_freeze(x, arrays) for x in v])
    if isinstance(v, _SIMPLE):
        return (type(v), v)  # 1, 1.0 and True stay apart
    if isinstance(v, slice):
        return (slice, _freeze(v.start, arrays), _freeze(v.stop, arrays), _freeze(v.step, arrays))
    if isinstance(v, tuple | list):
        return (type(v), *(_freeze(x, arrays) for x in v))
    if isinstance(v, dict):
        return (dict, *((k, _freeze(x, arrays)) for k, x in sorted(v.items())))
    if _is_array(v):
        arrays.append(v)
        return ("array", tuple(getattr(v, "shape", ())), str(getattr(v, "dtype", "")))
    try:
        hash(v)
    except TypeError:
        arrays.append(v)
        return ("object", type(v).__name__)
    return v  # dtypes, backends, ...: hashable by their own rules


def freeze(params: dict[str, Any]) -> tuple[Any, bool]:
    """``(key, keyed)``: a hashable key of ``params``; ``keyed`` is False when it holds arrays
    (or other unhashable values), whose equality the key does not capture."""
    if not params:
        return (), True
    arrays: list = []
    key = tuple([(k, _freeze(v, arrays)) for k, v in params.items()])
    return (Unkeyed(key), False) if arrays else (key, True)
