"""CuPy on NVIDIA GPUs: the ``cuda[:N]`` devices.

CuPy is imported only when a ``cuda`` device is first used. Every namespace call runs inside
``cupy.cuda.Device(N)``, so arrays land on GPU N whatever the current device is (the CuPy
compat wrapper ignores ``device=`` in several creation functions; the context makes it moot).
"""

from __future__ import annotations

import ctypes.util
import functools
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, DeviceError
from .aliasing import exclusive_by_base
from .base import Backend, draw
from .device import Device

_INSTALL = "install CuPy with `pip install 'anygrad[cuda12]'` (or `[cuda13]` for CUDA 13)"


def probe(index: int = 0) -> tuple[bool, str]:
    """Whether GPU ``index`` can allocate with CuPy; the reason when it cannot."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return False, f"CuPy is not importable ({exc}); {_INSTALL}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        if ctypes.util.find_library("cuda") is None:  # CUDA then says "driver insufficient"
            return False, "no CUDA driver found (libcuda is not installed); use device='cpu'"
        return False, f"no CUDA device is usable ({exc}); use device='cpu' or fix the driver"
    if index >= count:
        return False, f"cuda:{index} does not exist: this machine has {count} CUDA device(s)"
    try:
        with cupy.cuda.Device(index):
            cupy.zeros(1).sum().item()  # a GPU is proven by allocating, not by importing
    except Exception as exc:
        return False, f"cuda:{index} cannot allocate ({exc})"
    return True, ""


def device_properties(index: int) -> tuple[str, int]:
    """GPU ``index``'s name and total memory in bytes, from the CUDA runtime (through CuPy)."""
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return (name.decode() if isinstance(name, bytes) else str(name)), int(props["totalGlobalMem"])


class _DeviceNamespace:
    """``array_api_compat.cupy`` with every function run inside one GPU's device context."""

    def __init__(self, xp: Any, gpu: Any, index: int):
        self._xp, self._gpu, self._index = xp, gpu, index

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._xp, name)
        if callable(attr) and not isinstance(attr, type):
            attr = self._in_context(attr)
        elif hasattr(attr, "__name__") and type(attr).__name__ == "module":
            attr = _DeviceNamespace(attr, self._gpu, self._index)  # linalg, fft
        setattr(self, name, attr)  # resolve each name once
        return attr

    def _in_context(self, fn: Any) -> Any:
        gpu, index = self._gpu, self._index

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            dev = kwargs.pop("device", None)
            if dev is not None and getattr(dev, "id", index) != index:
                raise DeviceError(f"{fn.__name__}: asked for GPU {dev.id} inside cuda:{index}")
            with gpu:
                return fn(*args, **kwargs)

        return call


class CupyBackend(Backend):
    """CuPy arrays on one NVIDIA GPU, the ``cuda:N`` devices: views, in-place writes, ``out=``,
    cuRAND and fused elementwise kernels.

    Raises:
        BackendUnavailableError: On construction, if CuPy cannot be imported or the GPU
            cannot allocate (the message says why: no driver, no such GPU, ...).
    """

    name = "cupy"
    supports_out = True
    _fuser = None

    def __init__(self, device: Device):
        index = device.index if isinstance(device.index, int) else 0
        ok, reason = probe(index)
        if not ok:
            raise BackendUnavailableError(f"device {device} is unavailable: {reason}")
        import array_api_compat.cupy as cxp
        import cupy

        self.cupy = cupy
        gpu = cupy.cuda.Device(index)
        self.context = gpu  # ops and derivative rules run inside it (operators included)
        super().__init__(_DeviceNamespace(cxp, gpu, index), device, gpu)

    def _native_dtype(self, name: str) -> Any:
        return np.dtype(name)

    def owns(self, array: Any) -> bool:
        """Whether ``array`` is a CuPy array on this GPU."""
        return isinstance(array, self.cupy.ndarray) and array.device.id == self.native.id

    def asarray(self, obj: Any, dtype: Any = None, copy: bool | None = None) -> Any:
        """A CuPy array on this GPU from a CuPy array (copied unless ``copy=False``), Python
        data or a host array (copied to the GPU whatever ``copy`` says).

        Raises:
            TypeError: If the data's dtype is not numeric, or ``dtype`` is unknown.
        """
        nat = None if dtype is None else self.native_dtype(dtype)
        with self.native:
            if isinstance(obj, self.cupy.ndarray):
                return self.cupy.array(obj, dtype=nat, copy=copy is not False)
            host = np.asarray(obj, dtype=nat)
            if host.dtype.kind not in "biufc":
                raise TypeError(f"cannot make a Tensor from data of dtype {host.dtype}")
            return self.cupy.asarray(host)

    def index_add(self, z: Any, pos: Any, g: Any) -> Any:
        """``cupyx.scatter_add`` into ``z``, in place (complex ``z``: on its real and imaginary
        parts); returns ``z``."""
        import cupyx
        with self.native:
            if z.dtype.kind == "c":  # scatter_add takes no complex dtypes: (re, im) rows
                real = z.real.dtype
                pairs = z.view(real).reshape(-1, 2)  # z is a fresh contiguous array
                cupyx.scatter_add(pairs, pos, self.cupy.ascontiguousarray(
                    g.astype(z.dtype, copy=False)).view(real).reshape(-1, 2))
                return z
            cupyx.scatter_add(z, pos, g)
        return z

    def fuser(self) -> Any:
        """The CuPy fuser (elementwise kernels compiled once per chain), made on first use."""
        from .fusion_cupy import CupyFuser
        if self._fuser is None:
            self._fuser = CupyFuser(self.cupy)
        return self._fuser

    def to_numpy(self, array: Any) -> np.ndarray:
        """``cupy.asnumpy(array)``: a host copy."""
        with self.native:
            return self.cupy.asnumpy(array)

    def generator(self, seed: int | None) -> Any:
        """``cupy.random.default_rng(seed)`` on this GPU."""
        with self.native:
            return self.cupy.random.default_rng(seed)

    def random(self, gen: Any, kind: str, shape: tuple, dtype: Any, **params: Any) -> Any:
        """As :meth:`Backend.random`, drawn on the GPU."""
        with self.native:  # drawn on the GPU by cuRAND
            return draw(gen, kind, shape, self.native_dtype(dtype), params)

    views = True

    def shares(self, view: Any, base: Any) -> bool:  # CuPy's ``base`` names the owner
        """Whether ``view`` and ``base`` have one owner of their memory."""
        return (view if view.base is None else view.base) is (
            base if base.base is None else base.base)

    def exclusive(self, arrays: list) -> bool:
        """By reference counts of ``arrays`` and their ``base`` (see ``aliasing``)."""
        return exclusive_by_base(arrays, _base)

    def contiguous(self, array: Any) -> bool:
        """``array.flags.c_contiguous``."""
        return array.flags.c_contiguous

    def accept(self, array: Any, source: Backend) -> Any:
        """``array`` copied onto this GPU: directly from another GPU, else through the host."""
        if isinstance(source, CupyBackend):  # GPU to GPU, peer copy
            with self.native:
                return self.cupy.array(array, copy=True)
        return super().accept(array, source)


def _base(a: Any) -> Any:
    return a.base
