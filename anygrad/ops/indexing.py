"""Indexing: ``x[key]`` with basic keys (integers, slices, ``None``, ``...``)."""

from __future__ import annotations

from typing import Any

from ..autograd.function import apply_unary, ensure_tensor
from ..autograd.op import Op
from ..errors import DeviceError


def _scatter(xp: Any, g: Any, out: Any, x: Any, *, key: Any) -> Any:
    """The gradient of ``x[key]``: ``g`` placed where the elements came from."""
    z = xp.zeros_like(x, dtype=g.dtype)
    if any(k is None for k in key):  # new axes: size 1 in g, not allowed in setitem
        key = tuple(k for k in key if k is not None)
        g = xp.reshape(g, x[key].shape)
    z[key] = g
    return z


GETITEM = Op("getitem", lambda xp, x, *, key: x[key], (_scatter,))


def _native_key(key: Any, backend: Any) -> Any:
    from ..tensor import Tensor
    if isinstance(key, tuple):
        return tuple(_native_key(k, backend) for k in key)
    if isinstance(key, Tensor):
        if key._backend is not backend:
            raise DeviceError(f"getitem: the index is on {key.device}, the tensor on "
                              f"{backend.device}")
        return key.data
    if isinstance(key, list):
        return backend.asarray(key)
    return key


def getitem(x: Any, key: Any) -> Any:
    """``x[key]``; the gradient flows back to the selected elements."""
    x = ensure_tensor(x)
    key = _native_key(key if isinstance(key, tuple) else (key,), x._backend)
    if not any(k is Ellipsis for k in key):
        key = (*key, ...)  # NumPy's implicit trailing axes, spelled out for the Array API
    return apply_unary(GETITEM, x, {"key": key})
