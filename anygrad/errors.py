"""Typed errors: each names the op and the shapes, dtypes or devices involved."""

from __future__ import annotations


class AnygradError(Exception):
    """Base class of every error anygrad raises on purpose."""


class DeviceError(AnygradError, RuntimeError, ValueError):
    """Tensors on different devices were combined, or a device name is unknown.

    Also a ValueError: a bad device name is a bad value. The message names both devices, or
    lists the device names that exist.
    """


class BackendUnavailableError(AnygradError, RuntimeError):
    """The backend a device needs cannot run here (library missing, no GPU, ...)."""


class ShapeError(AnygradError, ValueError):
    """Operands whose shapes do not fit the op."""


class AxisError(ShapeError, IndexError):
    """An axis out of range for the tensor (a ValueError and an IndexError, as NumPy's)."""


class LinAlgError(AnygradError, ValueError):
    """A linear-algebra op failed on its input (named as ``numpy.linalg.LinAlgError``).

    For instance a singular matrix, a matrix that is not positive-definite, or no convergence.
    """


class DomainError(AnygradError, ValueError):
    """An argument outside the op's domain, such as an integer to a negative integer power."""


class DTypeError(AnygradError, TypeError):
    """Operands whose dtypes do not fit the op."""


class GraphError(AnygradError, RuntimeError):
    """Misuse of the autograd graph (freed graph, non-differentiable input, ...)."""


class CheckpointError(AnygradError, ValueError):
    """A file that is not a readable anygrad checkpoint, or an object that cannot be saved."""


class AnomalyError(GraphError):
    """Backward produced a NaN or Inf under ``anygrad.detect_anomaly()``.

    The message names the forward op whose derivative rule produced it and where that op was
    called.
    """
