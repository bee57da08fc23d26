"""Typed errors: each names the op and the shapes, dtypes or devices involved."""

from __future__ import annotations


class AnygradError(Exception):
    """Base class of every error anygrad raises on purpose."""


class DeviceError(AnygradError, RuntimeError):
    """Tensors on different devices were combined, or a device string is malformed."""


class BackendUnavailableError(AnygradError, RuntimeError):
    """The backend a device needs cannot run here (library missing, no GPU, ...)."""


class ShapeError(AnygradError, ValueError):
    """Operands whose shapes do not fit the op."""


class DTypeError(AnygradError, TypeError):
    """Operands whose dtypes do not fit the op."""


class GraphError(AnygradError, RuntimeError):
    """Misuse of the autograd graph (freed graph, non-differentiable input, ...)."""
