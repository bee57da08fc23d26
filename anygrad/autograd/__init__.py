"""The autograd engine: ops and graph nodes (``op``), applying them (``function``), the backward
walk (``engine``), views and in-place writes (``views``), ``grad``/``create_graph``
(``gradients``), custom differentiable ops (``custom``: ``Function``) and anomaly detection
(``anomaly``)."""

from __future__ import annotations

from typing import Any

__all__ = ["grad", "Function", "FunctionCtx", "detect_anomaly"]


def __getattr__(name: str) -> Any:  # loaded on first use: the Tensor module imports the engine
    if name == "grad":
        from .gradients import grad
        return grad
    if name in ("Function", "FunctionCtx"):
        from . import custom
        return getattr(custom, name)
    if name == "detect_anomaly":
        from .anomaly import detect_anomaly
        return detect_anomaly
    raise AttributeError(f"module 'anygrad.autograd' has no attribute {name!r}")
