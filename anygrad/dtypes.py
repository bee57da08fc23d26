"""The Array API dtypes as backend-independent values.

``anygrad.float32`` compares equal to every backend's float32 (``numpy.float32``,
``torch.float32``, ``"float32"``, ...); backends translate it to their own dtype.
"""

from __future__ import annotations

from typing import Any


class DType:
    """A dtype of the Array API standard, named as the standard names it.

    Attributes:
        name: The standard's name (``"float32"``).
        kind: ``"b"`` bool, ``"i"`` signed, ``"u"`` unsigned integer, ``"f"`` real float,
            ``"c"`` complex.
        itemsize: Bytes per element.
    """

    __slots__ = ("name", "kind", "itemsize")

    def __init__(self, name: str, kind: str, itemsize: int):
        self.name = name
        self.kind = kind  # "b" bool, "i" signed, "u" unsigned, "f" real float, "c" complex
        self.itemsize = itemsize

    @property
    def dtype(self) -> Any:
        """NumPy's form of this dtype.

        NumPy reads a ``.dtype`` attribute, so ``numpy.dtype(anygrad.float32)``,
        ``numpy.zeros(3, dtype=anygrad.float32)`` and ``numpy.dtype("float32") ==
        anygrad.float32`` work (asked of the backends: this module imports no array library).
        """
        from .backends import numpy_dtype
        return numpy_dtype(self.name)

    def __repr__(self) -> str:
        return f"anygrad.{self.name}"

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return other is self
        found = as_dtype(other, strict=False)
        return found is self if found is not None else NotImplemented

    def __reduce__(self):
        return as_dtype, (self.name,)


bool_ = DType("bool", "b", 1)
int8 = DType("int8", "i", 1)
int16 = DType("int16", "i", 2)
int32 = DType("int32", "i", 4)
int64 = DType("int64", "i", 8)
uint8 = DType("uint8", "u", 1)
uint16 = DType("uint16", "u", 2)
uint32 = DType("uint32", "u", 4)
uint64 = DType("uint64", "u", 8)
float16 = DType("float16", "f", 2)
float32 = DType("float32", "f", 4)
float64 = DType("float64", "f", 8)
complex64 = DType("complex64", "c", 8)
complex128 = DType("complex128", "c", 16)

#: bfloat16 (PyTorch's, JAX's): not in the Array API, and NumPy has none, so it is outside
#: ``ALL``; backends whose library has it (torch, JAX) add it to their dtype tables.
bfloat16 = DType("bfloat16", "f", 2)

ALL: tuple[DType, ...] = (bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
                          float16, float32, float64, complex64, complex128)
EXTRA: tuple[DType, ...] = (bfloat16,)
_BY_NAME = {d.name: d for d in (*ALL, *EXTRA)} | {
    "bool_": bool_, "float": float64, "int": int64, "complex": complex128, "double": float64,
    "half": float16}
_STANDARD = {d.name: d for d in (*ALL, *EXTRA)} | {"bool_": bool_}
_PY_TYPES = {bool: bool_, int: int64, float: float64, complex: complex128}
#: the modules whose qualified dtype names (``"torch.float32"``, ``numpy.float32``'s module)
#: are accepted; any other prefix is refused rather than ignored
_MODULES = frozenset({"anygrad", "numpy", "torch", "cupy", "jax", "jax.numpy", "jnp",
                      "array_api_strict", "dask.array", "ml_dtypes"})


def _lookup(name: str) -> DType | None:
    """The dtype named ``name``: one of ours, or qualified by a known module only."""
    found = _BY_NAME.get(name)
    if found is None:
        module, dot, short = name.rpartition(".")
        if dot and module in _MODULES:  # (standard names only: torch.float is float32)
            found = _STANDARD.get(short)
    return found


def _module_known(obj: object) -> bool:
    root = (getattr(obj, "__module__", None) or "").partition(".")[0]
    return root in _MODULES


def as_dtype(obj: object, strict: bool = True) -> DType | None:
    """Return the anygrad dtype for a dtype given in any form.

    Args:
        obj: A ``DType``, one of its names (``"float32"``), a Python type, or a dtype object
            or scalar type of an array library (NumPy, torch, CuPy, JAX, array-api-strict).
            Unknown names and prefixes are refused (``"foo.float32"``).
        strict: Raise for an unknown dtype (True) or return None (False).

    Returns:
        The ``DType``, or None for an unknown dtype when ``strict`` is False.

    Raises:
        TypeError: For an unknown dtype when ``strict`` is True.
    """
    if isinstance(obj, DType):
        return obj
    if isinstance(obj, str):
        found = _lookup(obj)
    elif isinstance(obj, type):  # Python's types, NumPy's scalar types (numpy.float32)
        found = _PY_TYPES.get(obj)  # type: ignore[call-overload]
        if found is None and _module_known(obj):
            found = _lookup(obj.__name__)
    else:  # a library's dtype object: numpy.dtype, torch.float32, array_api_strict.float32
        name = getattr(obj, "name", None)
        found = _lookup(name) if isinstance(name, str) else None
        if found is None and _module_known(type(obj)):
            found = _lookup(str(obj))
    if found is None and strict:
        raise TypeError(f"{obj!r} is not a dtype anygrad knows; use one of "
                        f"{', '.join(d.name for d in (*ALL, *EXTRA))}")
    return found


def is_floating(dtype: DType) -> bool:
    """Tell whether a dtype is a real or complex floating-point type.

    Args:
        dtype: An anygrad ``DType``.

    Returns:
        True for float16, bfloat16, float32, float64, complex64 and complex128.
    """
    return dtype.kind in "fc"
