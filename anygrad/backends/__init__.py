"""The backend registry: device -> backend, and arrays -> their backend.

Built-ins: ``numpy`` for ``cpu``; ``cupy`` for ``cuda``/``cuda:N`` (imported only when used);
``dask`` for ``dask`` (lazy Dask arrays, chunked by :func:`dask_chunks`; see ``dask_backend``);
and a generic backend for every namespace ``array_api_compat.array_namespace`` accepts
(torch, JAX, Dask, array-api-strict). This package is the only part of anygrad that imports an
array library.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from .. import modes
from ..errors import AnygradError, BackendUnavailableError, DeviceError
from .base import Backend
from .dask_backend import dask_chunks, get_dask_chunks
from .dask_backend import factory as _dask
from .device import Device, add_kind, parse
from .generic import GenericBackend, factory, library_name

__all__ = ["Backend", "Device", "GenericBackend", "register", "get", "available", "registered",
           "parse", "of_array", "from_data", "Availability", "BackendUnavailableError",
           "available_devices", "cuda_is_available", "dask_chunks", "get_dask_chunks"]

Factory = Callable[[Device], Backend]

_factories: dict[str, Factory] = {}   # device kind -> factory
_fixed: dict[Device, Backend] = {}    # devices registered with a backend instance
_cache: dict[Device, Backend] = {}    # everything resolved so far
_by_name: dict[str, Backend] = {}     # the same, by the strings users wrote


def numpy_dtype(name: str) -> np.dtype:
    """NumPy's dtype of the Array API dtype ``name`` (what ``anygrad.float32.dtype`` returns,
    so that ``numpy.dtype(anygrad.float32)`` works)."""
    try:
        if name == "bfloat16":  # (ml_dtypes, which JAX imports, teaches NumPy one: not ours)
            raise TypeError(name)
        return np.dtype(name)
    except TypeError:
        raise TypeError(f"NumPy has no dtype {name} (bfloat16 exists on torch and JAX "
                        f"tensors only)") from None


def format_array(host: np.ndarray, prefix: str) -> str:
    """NumPy's text for ``host``, indented to follow ``prefix``."""
    return np.array2string(host, separator=", ", prefix=prefix)


def _numpy(device: Device) -> Backend:
    from .numpy_backend import NumpyBackend
    if device.index is not None:
        raise DeviceError(f"the cpu device has no index: {device}")
    return NumpyBackend(device)


def _cupy(device: Device) -> Backend:
    from .cupy_backend import CupyBackend
    if not isinstance(device.index, int):
        raise DeviceError(f"a cuda device is 'cuda' or 'cuda:N', not '{device}'")
    return CupyBackend(device)


def register(name: str, backend: Backend | Factory) -> None:
    """Register a backend.

    ``register("cuda:1", backend)`` serves one device with a Backend instance;
    ``register("mylib", factory)`` serves every device of kind ``mylib`` (``mylib``,
    ``mylib:0``, ...) with ``factory(device)``, called once per device.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register() takes a device name or kind, not {name!r}")
    if isinstance(backend, Backend):
        add_kind(name.partition(":")[0])
        dev = parse(name)
        _fixed[dev] = backend
        _cache.pop(dev, None)
        _by_name.clear()
    elif callable(backend):
        kind = name.lower()
        if ":" in kind:
            raise DeviceError(f"a factory serves a device kind such as 'cuda', not '{name}'")
        add_kind(kind)
        _factories[kind] = backend
        for dev in [d for d in _cache if d.kind == kind]:
            del _cache[dev]
        _by_name.clear()
    else:
        raise TypeError(f"register() takes a Backend or a factory, not {backend!r}")


def get(device: str | Device | None = None) -> Backend:
    """The backend serving ``device`` (default: the current default device)."""
    if device is None:
        device = modes.default_device_name()
    if type(device) is str:
        backend = _by_name.get(device)
        if backend is not None:
            return backend
    dev = parse(device)
    backend = _cache.get(dev)
    if backend is not None:
        return backend
    backend = _fixed.get(dev)
    if backend is None:
        make = _factories.get(dev.kind)
        if make is None:
            raise DeviceError(f"no backend serves device '{dev}'; known kinds: "
                              f"{', '.join(sorted(_factories))} (see anygrad.backends.register)")
        backend = make(dev)
    _cache[dev] = backend
    if type(device) is str:
        _by_name[device] = backend
    return backend


@contextlib.contextmanager
def registered(mapping: Mapping[str, Backend | Factory]) -> Iterator[None]:
    """Register backends for the duration of a ``with`` block, then restore the registry."""
    saved = dict(_factories), dict(_fixed), dict(_cache)
    _by_name.clear()
    try:
        for name, backend in mapping.items():
            register(name, backend)
        yield
    finally:
        for live, old in zip((_factories, _fixed, _cache), saved, strict=True):
            live.clear()
            live.update(old)  # type: ignore[arg-type]
        _by_name.clear()


class Availability(NamedTuple):
    """Whether a backend can run here (truthy when it can) and, when not, why."""

    available: bool
    reason: str

    def __bool__(self) -> bool:
        return self.available


def available() -> dict[str, Availability]:
    """Each built-in backend's name, whether it can run here, and why not when it cannot."""
    from .cupy_backend import probe

    out = {"numpy": Availability(True, "")}
    ok, reason = probe(0)
    out["cupy"] = Availability(ok, reason)
    for lib in ("torch", "jax", "dask", "array_api_strict"):
        found = importlib.util.find_spec(lib) is not None
        out[lib] = Availability(found, "" if found else f"{lib} is not installed")
    return out


def _cpu_name() -> str:
    """The processor's name: ``/proc/cpuinfo``'s model name on Linux, else what ``platform``
    knows (``platform.processor()``, then the machine type)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _cuda_count() -> int:
    """How many CUDA devices the runtime sees (0 without CuPy or without a driver)."""
    try:
        import cupy
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # ImportError, a broken CUDA install, no driver: no GPU to list
        return 0


def available_devices() -> dict[str, str]:
    """Every device anygrad can compute on here, in order, with a description:
    ``{"cpu": "<processor> (N logical cores)", "cuda:0": "<GPU name> (80.0 GiB)", ...}``.

    ``cpu`` is always there; a ``cuda:N`` entry only for a GPU that CuPy proves usable by
    allocating on it (``backends.available()["cupy"].reason`` says why there is none).
    """
    from .cupy_backend import device_properties, probe

    cores = os.cpu_count()
    out = {"cpu": _cpu_name() + (f" ({cores} logical cores)" if cores else "")}
    for index in range(_cuda_count()):
        if probe(index)[0]:
            name, memory = device_properties(index)
            out[f"cuda:{index}"] = f"{name} ({memory / 2**30:.1f} GiB)"
    return out


def cuda_is_available() -> bool:
    """Whether at least one CUDA device can allocate with CuPy (never raises; the reason
    when not: ``backends.available()["cupy"].reason``)."""
    from .cupy_backend import probe

    return any(probe(index)[0] for index in range(_cuda_count()))


_HOST_TYPES = (np.ndarray, np.generic, int, float, complex, list, tuple)


def of_array(obj: Any) -> Backend | None:
    """The backend that holds ``obj``; None for host data (Python values, NumPy arrays)."""
    if isinstance(obj, _HOST_TYPES):
        return None
    try:
        xp = array_api_compat.array_namespace(obj)
    except TypeError:
        return None
    native = array_api_compat.device(obj)
    if library_name(xp) == "cupy":
        return get(f"cuda:{native.id}")
    if library_name(xp) == "dask":  # one device, whichever scheduler runs the chunks
        return get("dask")
    for backend in (*_fixed.values(), *_cache.values()):
        if backend.xp is xp and backend.native == native:
            return backend
    add_kind(library_name(xp))  # (its tensors' devices: "jax:TFRT_CPU_0")
    backend = GenericBackend(xp, native)
    _cache[backend.device] = backend
    return backend


def from_data(obj: Any, device: str | Device | None = None, dtype: Any = None,
              copy: bool | None = None, src: Backend | None = None) -> tuple[Any, Backend]:
    """``obj`` as an array of the backend serving ``device``, and that backend.

    Host data goes to ``device`` or the default device; a backend array (of ``src``, found
    from the array when not given) stays where it is unless ``device`` names another device,
    which copies it there.
    """
    if src is None:
        src = of_array(obj)
    dst = src if device is None and src is not None else get(device)
    if src is None:
        if dtype is not None:
            dst.native_dtype(dtype)
        try:
            return dst.asarray(obj, dtype, copy), dst
        except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
            if isinstance(exc, AnygradError) or str(exc).startswith("cannot make a Tensor"):
                raise
            kind = ValueError if isinstance(exc, ValueError | OverflowError) else TypeError
            raise kind(f"cannot make a Tensor from this {type(obj).__name__}: {exc}") from None
    if src is not dst:
        obj, copy = dst.accept(obj, src), False
    if dtype is not None:
        nat = dst.native_dtype(dtype)
        if obj.dtype != nat:
            obj, copy = dst.xp.astype(obj, nat), False
    if copy:
        obj = dst.xp.asarray(obj, copy=True)
    return obj, dst


register("cpu", _numpy)
register("cuda", _cupy)
register("torch", factory("torch"))
register("dask", _dask)
register("array_api_strict", factory("array_api_strict"))


def index_add(z: Any, pos: Any, g: Any) -> Any:
    """``z`` (1-d) with ``g`` added at positions ``pos``, repeats accumulating (scatter-add),
    by the library that holds ``z``."""
    if isinstance(z, np.ndarray):  # host arrays have no backend of their own (of_array)
        from .numpy_backend import NumpyBackend
        return NumpyBackend.index_add(None, z, pos, g)
    backend = of_array(z)
    if backend is None:
        raise TypeError(f"index_add: no backend holds a {type(z).__name__}")
    return backend.index_add(z, pos, g)


_PY_SCALARS = (bool, int, float, complex)


def as_operand(value: Any, backend: Backend, op: str) -> Any:
    """A non-Tensor operand of ``op`` for ``backend``: a Python scalar stays a scalar (NumPy
    scalars become Python ones, so they promote weakly); a list, or an array already on
    ``backend``, becomes an array. Anything elsewhere is refused: nothing is copied across
    devices behind the user's back."""
    if isinstance(value, np.generic):  # before Python scalars: np.float64 is a float
        return value.item()
    if isinstance(value, _PY_SCALARS):
        return value
    if isinstance(value, list | tuple):
        return backend.asarray(value)
    if isinstance(value, np.ndarray):
        if backend.name == "numpy":
            return value
        raise DeviceError(f"{op}: cannot combine a NumPy array (host memory) with a tensor on "
                          f"{backend.device} ({backend.name}); move it there first with "
                          f"anygrad.Tensor(array, device='{backend.device}')")
    src = of_array(value)
    if src is backend:
        return value
    if src is None:
        raise TypeError(f"{op}: unsupported operand of type {type(value).__name__}")
    raise DeviceError(f"{op}: cannot combine an array on {src.device} ({src.name}) with a "
                      f"tensor on {backend.device} ({backend.name}); move one with .to()")
