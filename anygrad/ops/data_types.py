"""The standard's data-type functions (``result_type``, ``can_cast``, ``finfo``, ``iinfo``,
``isdtype``) and its inspection object, computed from anygrad's own dtypes: the answers are
the same on every backend."""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

from .. import dtypes as _d
from ..errors import DTypeError

_KINDS = {
    "bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
    "real floating": "f", "complex floating": "c", "numeric": "iufc",
}


def _dtype_of(x: Any) -> _d.DType:
    if isinstance(x, _d.DType):  # (bfloat16's NumPy form, ``.dtype``, does not exist)
        return x
    return _d.as_dtype(getattr(x, "dtype", x))


def isdtype(dtype: Any, kind: Any) -> bool:
    """Whether ``dtype`` is ``kind``: a dtype, a kind name (``"real floating"``...), or a
    tuple of them (Array API ``isdtype``).

    Raises:
        ValueError: When a kind name is not one of the standard's.
    """
    dtype = _d.as_dtype(dtype)
    if isinstance(kind, tuple):
        return builtins.any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"isdtype: unknown kind {kind!r}; one of {', '.join(_KINDS)}")
        return dtype.kind in _KINDS[kind]
    return dtype == _d.as_dtype(kind)


def _promote(a: _d.DType, b: _d.DType) -> _d.DType:
    """The standard's promotion of two array dtypes."""
    if a is b:
        return a
    ka, kb = a.kind, b.kind
    if "b" in (ka, kb):
        raise DTypeError(f"no promotion between {a.name} and {b.name}")
    if ka == kb:
        if a.itemsize == b.itemsize:  # bfloat16 and float16: float32 holds both (as torch)
            return _d.float32
        return a if a.itemsize > b.itemsize else b
    if {ka, kb} == {"i", "u"}:
        i, u = (a, b) if ka == "i" else (b, a)
        size = builtins.max(i.itemsize, 2 * u.itemsize)
        if size > 8:
            raise DTypeError(f"no promotion between {a.name} and {b.name}")
        return _d.as_dtype(f"int{8 * size}")
    if {ka, kb} == {"f", "c"}:
        size = builtins.max(a.itemsize if ka == "f" else a.itemsize // 2,
                            b.itemsize if kb == "f" else b.itemsize // 2)
        return _d.complex64 if size <= 4 else _d.complex128
    raise DTypeError(f"no promotion between {a.name} and {b.name} (mixed kinds are not "
                     f"defined by the Array API)")


_SCALAR_KINDS = {bool: "b", int: "iufc", float: "fc", complex: "c"}


def result_type(*arrays_and_dtypes: Any) -> Any:
    """The dtype the standard's promotion rules give for these tensors, dtypes and Python
    scalars (scalars are weak: they never widen an array dtype).

    Raises:
        DTypeError: When no tensor or dtype is given, when the standard defines no promotion
            (bool with a number, integers with floats), or when a scalar does not fit the
            dtype (a float with integer tensors).
    """
    found = [_dtype_of(x) for x in arrays_and_dtypes
             if not isinstance(x, bool | int | float | complex)]
    scalars = [x for x in arrays_and_dtypes if isinstance(x, bool | int | float | complex)]
    if not found:
        raise DTypeError("result_type: needs at least one array or dtype")
    out = found[0]
    for d in found[1:]:
        out = _promote(out, d)
    for s in scalars:
        if out.kind not in _SCALAR_KINDS[type(s)]:
            if isinstance(s, complex) and out.kind == "f":
                out = _d.complex64 if out.itemsize <= 4 else _d.complex128
            elif isinstance(s, float) and out.kind in "iu":
                raise DTypeError(f"result_type: a float scalar with {out.name} arrays")
            else:
                raise DTypeError(f"result_type: {type(s).__name__} scalar with {out.name}")
    return out


def can_cast(from_: Any, to: Any, /) -> bool:
    """Whether the promotion rules allow casting ``from_`` (a dtype or tensor) to ``to``."""
    a, b = _dtype_of(from_), _d.as_dtype(to)
    try:
        return _promote(a, b) is b
    except DTypeError:
        return False


class finfo_object(NamedTuple):
    """What ``finfo`` returns: a float dtype's bits, epsilon, largest and smallest values,
    smallest normal number, and the real dtype they describe."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: Any


class iinfo_object(NamedTuple):
    """What ``iinfo`` returns: an integer dtype's bits, largest and smallest values, and the
    dtype."""

    bits: int
    max: int
    min: int
    dtype: Any


_FLOATS = {  # bits, eps, max, smallest normal
    2: (16, 2.0 ** -10, 65504.0, 2.0 ** -14),
    4: (32, 2.0 ** -23, (2 - 2.0 ** -23) * 2.0 ** 127, 2.0 ** -126),
    8: (64, 2.0 ** -52, (2 - 2.0 ** -52) * 2.0 ** 1023, 2.0 ** -1022),
}


def finfo(type: Any, /) -> finfo_object:
    """Machine limits of a float or complex dtype (of its real part for complex).

    Args:
        type: A dtype, or a tensor whose dtype is asked about.

    Returns:
        A ``finfo_object``; for complex64 it describes float32.

    Raises:
        DTypeError: When the dtype is not floating or complex.
    """
    dtype = _dtype_of(type)
    if dtype.kind not in "fc":
        raise DTypeError(f"finfo: {dtype.name} is not a floating dtype")
    size = dtype.itemsize if dtype.kind == "f" else dtype.itemsize // 2
    bits, eps, big, tiny = _FLOATS[size]
    # the standard's ``dtype`` is the real dtype whose limits these are (float32 for complex64)
    return finfo_object(bits, eps, big, -big, tiny, _d.as_dtype(f"float{bits}"))


def iinfo(type: Any, /) -> iinfo_object:
    """Limits of an integer dtype (Array API ``iinfo``).

    Args:
        type: A dtype, or a tensor whose dtype is asked about.

    Returns:
        An ``iinfo_object``.

    Raises:
        DTypeError: When the dtype is not an integer dtype.
    """
    dtype = _dtype_of(type)
    if dtype.kind not in "iu":
        raise DTypeError(f"iinfo: {dtype.name} is not an integer dtype")
    bits = 8 * dtype.itemsize
    if dtype.kind == "u":
        return iinfo_object(bits, 2 ** bits - 1, 0, dtype)
    return iinfo_object(bits, 2 ** (bits - 1) - 1, -2 ** (bits - 1), dtype)


_STANDARD_DTYPES = tuple(d for d in _d.ALL if d is not _d.float16)


class Info:
    """What ``anygrad.__array_namespace_info__()`` tells: devices, dtypes, capabilities."""

    def capabilities(self) -> dict[str, Any]:
        """The optional features supported: boolean indexing, data-dependent shapes, and the
        most dimensions a tensor may have."""
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self) -> Any:
        """The device new tensors go to (``get_default_device()``)."""
        from ..modes import get_default_device
        return get_default_device()

    def devices(self) -> list[Any]:
        """The devices: the CPU, and the first CUDA device when CuPy is available."""
        from .. import backends
        out = [backends.parse("cpu")]
        if backends.available()["cupy"].available:
            out.append(backends.parse("cuda:0"))
        return out

    def default_dtypes(self, *, device: Any = None) -> dict[str, Any]:
        """The default dtypes by kind (the same on every device): float64, complex128,
        int64, and int64 for indexing."""
        return {"real floating": _d.float64, "complex floating": _d.complex128,
                "integral": _d.int64, "indexing": _d.int64}

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, Any]:
        """The standard's dtypes (``kind``: a kind name or a tuple of them, as ``isdtype``
        takes), by name. float16 and bfloat16 work where the backend has them but are not
        Array API dtypes, so they are not listed."""
        return {d.name: d for d in _STANDARD_DTYPES if kind is None or isdtype(d, kind)}


def __array_namespace_info__() -> Info:
    """The standard's inspection object."""
    return Info()
