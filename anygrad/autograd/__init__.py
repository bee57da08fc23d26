"""The autograd engine: ops and graph nodes (``op``), applying them (``function``), the backward
walk (``engine``), views and in-place writes (``views``), and ``grad``/``create_graph``
(``gradients``)."""

from __future__ import annotations

from typing import Any

__all__ = ["grad"]


def __getattr__(name: str) -> Any:  # loaded on first use: the Tensor module imports the engine
    if name == "grad":
        from .gradients import grad
        return grad
    raise AttributeError(f"module 'anygrad.autograd' has no attribute {name!r}")
