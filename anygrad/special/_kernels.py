"""Forward kernels: ``scipy.special.<name>`` on the arrays of any namespace.

A kernel takes SciPy's arguments (arrays of one namespace, and Python ints such as
``polygamma``'s order) and tries, in order: the backend's own special library, an exact
Array-API formula, SciPy on a host copy. Integer and bool arrays become float64 first; the
result has the arguments' float dtype (float32 stays float32, though SciPy's ``polygamma``
alone would give float64).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..backends import special as libraries
from ..errors import DTypeError
from ._formulas import FORMULAS


def _floats(xp: Any, name: str, args: tuple) -> tuple:
    """``args`` with integer and bool arrays made float64; DTypeError for complex ones."""
    common = (xp.float64, xp.float32)
    if all(a.dtype in common for a in args if hasattr(a, "dtype")):  # (isdtype is slow)
        return args
    out = []
    for a in args:
        if hasattr(a, "dtype"):
            if xp.isdtype(a.dtype, "complex floating"):
                raise DTypeError(f"{name}: real arguments only, not {a.dtype}")
            if not xp.isdtype(a.dtype, "real floating"):
                a = xp.astype(a, xp.float64)
        out.append(a)
    return tuple(out)


@functools.cache
def kernel(name: str) -> Callable[..., Any]:
    """``forward(xp, *args)``: ``scipy.special.<name>(*args)`` for arrays of ``xp``."""
    formula = FORMULAS.get(name)

    def forward(xp: Any, *args: Any) -> Any:
        args = _floats(xp, name, args)
        fn = libraries.native(xp, name)
        if fn is not None:
            out = fn(*args)
        elif formula is not None:
            out = formula(xp, *args)
        else:
            out = libraries.on_host(name, *args)
        arrays = [a for a in args if hasattr(a, "dtype")]
        dtype = arrays[0].dtype if len(arrays) == 1 else xp.result_type(*arrays)
        return out if out.dtype == dtype else xp.astype(out, dtype)

    forward.__name__ = name
    return forward


class _Kernels:
    """The kernels bound to one namespace, by name: what the derivative rules call on plain
    arrays (``lib(xp).digamma(x)``)."""

    def __init__(self, xp: Any):
        self._xp = xp

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return functools.partial(kernel(name), self._xp)


@functools.cache
def _bound(xp: Any) -> _Kernels:
    return _Kernels(xp)


def lib(xp: Any) -> Any:
    """The special functions for ``xp``: ``anygrad.special`` itself when ``xp`` is anygrad (a
    rule recording, for higher derivatives), else the kernels on ``xp``'s arrays."""
    if getattr(xp, "__name__", None) == "anygrad":
        from .. import special
        return special
    return _bound(xp)
