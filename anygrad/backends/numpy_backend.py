"""NumPy on the host: the ``cpu`` device."""

from __future__ import annotations

import os
from typing import Any

import array_api_compat.numpy as xp
import numpy as np

from .aliasing import exclusive_by_base
from .base import Backend, sharing
from .device import Device
from .host_memory import steady_heap


class NumpyBackend(Backend):
    """NumPy arrays in host memory, the ``cpu`` device: views, in-place writes and ``out=``."""

    name = "numpy"
    supports_out = True
    recycle_from = 1 << 12  # a few hundred values: a new array costs less than ``out=``

    def __init__(self, device: Device):
        super().__init__(xp, device, "cpu")
        steady_heap()  # freed buffers stay for the next step (see host_memory)

    def _native_dtype(self, name: str) -> Any:
        return np.dtype(name)

    def owns(self, array: Any) -> bool:
        """Whether ``array`` is a NumPy array."""
        return isinstance(array, np.ndarray)

    def asarray(self, obj: Any, dtype: Any = None, copy: bool | None = None) -> Any:
        """``numpy.array(obj, dtype, copy)`` (see :meth:`Backend.asarray`).

        Raises:
            TypeError: If the result's dtype is not numeric (strings, objects), or ``dtype``
                is unknown.
        """
        nat = None if dtype is None else self.native_dtype(dtype)
        out = np.array(obj, dtype=nat, copy=sharing(obj, copy))
        if out.dtype.kind not in "biufc":
            raise TypeError(f"cannot make a Tensor from data of NumPy dtype {out.dtype}")
        return out

    def ones(self, shape: tuple, dtype: Any) -> Any:
        """``numpy.ones(shape, dtype)``, made as ``empty`` and ``fill`` (``numpy.ones`` is
        Python code costing twice that: this is every ``backward()``'s seed)."""
        out = np.empty(shape, dtype)
        out.fill(1)
        return out

    def index_add(self: Any, z: Any, pos: Any, g: Any) -> Any:  # needs no instance
        """``numpy.add.at(z, pos, g)``, in place; returns ``z``."""
        np.add.at(z, pos, g)
        return z

    def fuser(self) -> Any:
        """The CPU fuser ``ANYGRAD_CPU_FUSER`` names: ``numpy`` (the default: blockwise NumPy
        ufuncs, the values eager mode computes), ``numexpr`` (when installed) or ``none``."""
        choice = os.environ.get("ANYGRAD_CPU_FUSER", "numpy")
        if choice == "numexpr":
            from .fusion_numexpr import fuser
            return fuser()  # None without numexpr
        if choice == "none":
            return None
        from .fusion_blocked import fuser
        return fuser()

    def to_numpy(self, array: Any) -> np.ndarray:
        """A copy of ``array``."""
        return np.array(array, copy=True)

    views = True

    def shares(self, view: Any, base: Any) -> bool:
        """Whether ``view`` and ``base`` have one owner of their memory (NumPy's ``base``)."""
        return _owner(view) is _owner(base)

    def exclusive(self, arrays: list) -> bool:
        """By reference counts of ``arrays`` and their ``base`` (see ``aliasing``); never for
        read-only arrays (a 0-d result is a NumPy scalar: a write copies it first)."""
        return all(a.flags.writeable for a in arrays) and exclusive_by_base(arrays, _base)

    def contiguous(self, array: Any) -> bool:
        """``array.flags.c_contiguous``."""
        return array.flags.c_contiguous

    def ghost(self, array: Any) -> Any:
        """A zero-strided array over one shared block of zeros (never written)."""
        return np.ndarray(array.shape, array.dtype, _ZEROS, strides=(0,) * array.ndim)


_ZEROS = bytes(32)  # the memory of every ghost: one element of any dtype, never written


def _base(a: Any) -> Any:
    return a.base


def _owner(a: Any) -> Any:
    """The array that owns ``a``'s memory (NumPy's ``base`` names the owner, not a view)."""
    return a if a.base is None else a.base
