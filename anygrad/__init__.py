"""anygrad: automatic differentiation for any Array-API array library.

The same code runs on NumPy (``cpu``), CuPy (``cuda:N``) and every namespace
array-api-compat recognises; ``Tensor(x, device="cuda")`` moves an experiment to a GPU.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import backends, dtypes
from . import numpy_protocols as numpy_protocols  # NumPy's functions on Tensors (NEP 13, 18)
from ._tensor import Tensor
from .autograd.anomaly import detect_anomaly
from .backends import Device, available_devices, cuda_is_available
from .dtypes import (
    bfloat16,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .dtypes import bool_ as bool
from .errors import (
    AnomalyError,
    AnygradError,
    AxisError,
    BackendUnavailableError,
    CheckpointError,
    DeviceError,
    DomainError,
    DTypeError,
    GraphError,
    LinAlgError,
    ShapeError,
)
from .modes import (
    default_device,
    eager,
    enable_grad,
    get_default_device,
    is_grad_enabled,
    is_lazy,
    mode,
    no_grad,
    set_default_device,
    set_grad_enabled,
    set_mode,
)
from .ops import *  # noqa: F403
from .ops import __all__ as _ops_all
from .ops.numpy_names import *  # noqa: F403  (also attaches the NumPy/MyGrad Tensor methods)
from .ops.numpy_names import __all__ as _numpy_names_all

__version__ = "0.1.0"


#: Names loaded on first use (module, attribute; None: the module itself), so importing
#: anygrad stays light: lazy mode, nn, optim and the rarer families load when first named.
_ON_USE = {
    **{name: (f"anygrad.{name}", None)
       for name in ("fft", "func", "lazy", "linalg", "nn", "optim", "random")},
    "realize": ("anygrad.lazy", "realize"),
    "graph": ("anygrad.drawing", "graph"),
    "graph_group": ("anygrad.drawing", "graph_group"),
    "compound_op": ("anygrad.drawing", "compound_op"),
    "save": ("anygrad.serialization", "save"),
    "load": ("anygrad.serialization", "load"),
    "special": ("anygrad.special", None),
    "compile": ("anygrad.compiler", "compile"),
    "compute": ("anygrad.distributed", "compute"),
    "GraphCutWarning": ("anygrad.graph_cut", "GraphCutWarning"),
    "GraphCutError": ("anygrad.graph_cut", "GraphCutError"),
    "set_graph_cut": ("anygrad.graph_cut", "set_graph_cut"),
    "get_graph_cut": ("anygrad.graph_cut", "get_graph_cut"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _ON_USE[name]
    except KeyError:
        raise AttributeError(f"module 'anygrad' has no attribute {name!r}") from None
    try:
        value = importlib.import_module(module)
    except ModuleNotFoundError as exc:  # (hasattr() answers False, as for any other name)
        raise AttributeError(f"module 'anygrad' has no attribute {name!r} ({exc})") from exc
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ON_USE})


def device(name: str | Device) -> Device:
    """The canonical device for ``name`` (``"cpu"``, ``"cuda:1"``, ...)."""
    return backends.parse(name)


__all__ = ["Tensor", "detect_anomaly", "AnomalyError", "Device", "device", "backends", "dtypes",
           "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "default_device",
           "set_default_device", "get_default_device", "AnygradError", "BackendUnavailableError",
           "DeviceError", "DTypeError", "GraphError", "ShapeError", "bool", "int8", "int16",
           "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
           "float64", "complex64", "complex128", "eager", "mode", "set_mode", "is_lazy",
           "CheckpointError", "available_devices", "cuda_is_available", "AxisError",
           "LinAlgError", "DomainError", "bfloat16", *_ops_all, *_numpy_names_all,
           *(name for name in _ON_USE if name != "compile")]  # (not the builtin's name)
