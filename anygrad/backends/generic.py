"""Any namespace that array-api-compat recognises: torch, JAX, array-api-strict, ... (Dask has
its own backend, ``dask_backend``)."""

from __future__ import annotations

import importlib
from typing import Any

import array_api_compat
import numpy as np

from .. import dtypes
from .aliasing import exclusive_by_base, exclusive_objects
from .base import Backend, sharing
from .device import Device, parse

# How to name a library's host device, for copies to NumPy.
_HOST = {
    "torch": lambda xp: "cpu",
    "array_api_strict": lambda xp: xp.Device("CPU_DEVICE"),
}


def native_name(native: Any) -> str:
    """A library's device object as a short name: ``cpu``, ``cuda:0``, ``device1``."""
    name = getattr(native, "_device", None)  # array-api-strict keeps its name here
    return name if isinstance(name, str) else str(native)


def library_name(xp: Any) -> str:
    """``array_api_compat.torch`` -> ``torch``; ``array_api_strict`` -> itself."""
    name = xp.__name__
    return name.removeprefix("array_api_compat.").split(".")[0]


class GenericBackend(Backend):
    """A backend for any Array-API namespace, with ``native`` its device object."""

    def __init__(self, xp: Any, native: Any, device: Device | None = None):
        self.name = library_name(xp)
        super().__init__(xp, device or parse(f"{self.name}:{native_name(native)}"), native)
        for d in dtypes.EXTRA:  # bfloat16, where the library has it (torch, JAX)
            nat = self._native_dtype(d.name)
            if nat is not None:
                self._to_dtype[d] = nat
                self._from_dtype[nat] = d
        self._kinds()

    def owns(self, array: Any) -> bool:
        """Whether ``array`` is of this backend's library and on its device."""
        try:
            return (array_api_compat.array_namespace(array) is self.xp
                    and array_api_compat.device(array) == self.native)
        except TypeError:
            return False

    def asarray(self, obj: Any, dtype: Any = None, copy: bool | None = None) -> Any:
        """``obj`` as an array on this device; Python data and NumPy arrays keep NumPy's dtypes
        (float64, int64) where the library has them (see ``Backend.asarray``)."""
        nat = None if dtype is None else self.native_dtype(dtype)
        copy = sharing(obj, copy)
        if isinstance(obj, list | tuple | int | float | complex):  # NumPy's dtypes everywhere
            obj = np.asarray(obj, dtype=None if dtype is None else dtypes.as_dtype(dtype).name)
        if isinstance(obj, np.ndarray | np.generic):
            obj = np.asarray(obj)
            if obj.dtype.kind not in "biufc":
                raise TypeError(f"cannot make a Tensor from a NumPy array of dtype {obj.dtype}")
            if nat is None:
                nat = self.native_dtype(obj.dtype.name)
            elif obj.dtype != dtypes.as_dtype(dtype).name:  # cast on the host: torch cannot
                obj = obj.astype(dtypes.as_dtype(dtype).name)  # cast a 0-d NumPy array
        return self.xp.asarray(obj, dtype=nat, device=self.native, copy=copy)

    def index_add(self, z: Any, pos: Any, g: Any) -> Any:
        """Scatter-add by the library's own means (torch's ``index_add``, JAX's ``.at[].add``)."""
        if self.name == "torch":
            return z.index_add(0, pos, g)
        if self.name == "jax":
            return z.at[pos].add(g)
        return super().index_add(z, pos, g)

    def set_at(self, z: Any, key: Any, v: Any) -> Any:
        """``z[key] = v``: in place, or a new array on JAX (immutable arrays)."""
        if self.name == "jax":  # immutable: a new array
            return z.at[key].set(v)
        return super().set_at(z, key, v)

    def add_at(self, z: Any, key: Any, v: Any) -> Any:
        """``z[key] += v``: in place, or a new array on JAX (immutable arrays)."""
        if self.name == "jax":
            return z.at[key].add(v)
        return super().add_at(z, key, v)

    def to_numpy(self, array: Any) -> np.ndarray:
        """A host NumPy copy of ``array`` (torch's bfloat16 comes back as float32, exactly)."""
        host = _HOST.get(self.name)
        if host is not None:
            array = array_api_compat.to_device(array, host(self.xp))
        if self.name == "torch":
            array = array.detach()
            if array.dtype is _torch_bfloat16():  # NumPy has no bfloat16: float32 holds each
                array = array.float()               # bfloat16 value exactly
            return array.numpy().copy()
        return np.array(array, copy=True)

    # -- views and in-place writes: torch and array-api-strict have both ----------------------
    @property
    def views(self) -> bool:  # type: ignore[override]
        """Whether basic indexing and reshapes share memory (torch, array-api-strict)."""
        return self.name in _VIEWS

    @property
    def view_ops(self) -> frozenset:  # type: ignore[override]
        """The ops whose results are views here (torch's ``flip`` copies)."""
        return Backend.view_ops - {"flip"} if self.name == "torch" else Backend.view_ops

    def shares(self, view: Any, base: Any) -> bool:
        """Whether ``view`` and ``base`` share memory (one torch storage; one NumPy owner)."""
        if self.name == "torch":
            return view.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
        if self.name == "array_api_strict":
            return _np_owner(view._array) is _np_owner(base._array)
        return False

    def exclusive(self, arrays: list) -> bool:
        """Whether nothing but ``arrays`` holds their memory (torch's storage use count;
        reference counts inside array-api-strict), so a write may happen in place."""
        if self.name == "torch":  # every tensor of a storage holds it once (+1: the query's)
            use_count = getattr(importlib.import_module("torch")._C, "_storage_Use_Count", None)
            return (use_count is not None
                    and exclusive_objects(arrays, 1 if len(arrays) > 1 else 0)
                    and use_count(arrays[0].untyped_storage()._cdata) == len(arrays) + 1)
        if self.name == "array_api_strict":  # NumPy arrays inside
            return exclusive_objects(arrays) and exclusive_by_base(
                [a._array for a in arrays], _np_base)
        return False

    def contiguous(self, array: Any) -> bool:
        """Whether ``array`` is C-contiguous (False where the library cannot say)."""
        if self.name == "torch":
            return array.is_contiguous()
        if self.name == "array_api_strict":
            return array._array.flags.c_contiguous
        return False

    def accept(self, array: Any, source: Backend) -> Any:
        """``array`` of ``source`` on this device: moved by the library itself when it is the
        same library, else through the host."""
        if source.xp is self.xp:  # same library: let it move the array itself
            return array_api_compat.to_device(array, self.native)
        return super().accept(array, source)


_VIEWS = frozenset({"torch", "array_api_strict"})


def _torch_bfloat16() -> Any:
    return importlib.import_module("torch").bfloat16


def _np_base(a: Any) -> Any:
    return a.base


def _np_owner(a: Any) -> Any:
    return a if a.base is None else a.base


# Device kinds served by a generic backend: kind -> (namespace module, default device name,
# how to make the library's device object from a name).
KINDS = {
    "torch": ("array_api_compat.torch", "cpu",
              lambda xp, name: importlib.import_module("torch").device(name)),
    "array_api_strict": ("array_api_strict", "CPU_DEVICE", lambda xp, name: xp.Device(name)),
}


def factory(kind: str):
    """A registry factory for ``kind``: device ``kind:NAME`` -> the library's device ``NAME``."""
    module, default, make_native = KINDS[kind]

    def make(device: Device) -> GenericBackend:
        xp = importlib.import_module(module)
        name = default if device.index is None else str(device.index)
        return GenericBackend(xp, make_native(xp, name), device)

    return make
