"""The op families, and the Tensor methods and operators that call them."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from . import api as _api  # the rest of the Array API namespace
from .api import *  # noqa: F403
from .elementwise import (
    abs,
    add,
    cos,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    positive,
    pow,
    sin,
    sqrt,
    subtract,
    tanh,
)
from .indexing import getitem
from .linalg import matmul
from .reductions import max, mean, min, sum
from .shape import (
    astype,
    broadcast_to,
    concat,
    matrix_transpose,
    permute_dims,
    reshape,
    stack,
    where,
)
from .transfer import to

__all__ = ["abs", "add", "cos", "divide", "equal", "exp", "greater", "greater_equal", "less",
           "less_equal", "log", "maximum", "minimum", "multiply", "negative", "not_equal",
           "positive", "pow", "sin", "sqrt", "subtract", "tanh", "getitem", "matmul", "max",
           "mean", "min", "sum", "astype", "broadcast_to", "concat", "matrix_transpose",
           "permute_dims", "reshape", "stack", "where", "to"]
__all__ += _api.__all__


def _reshape_method(self: Tensor, *shape: Any) -> Any:
    """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
    return reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)


def _permute_method(self: Tensor, *axes: Any) -> Any:
    """The tensor with its axes reordered: ``t.permute(1, 0)`` or ``t.permute((1, 0))``
    (``permute_dims``)."""
    return permute_dims(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes)


def _reverse_axes(self: Tensor) -> Any:
    """The tensor with its axes reversed (Array API ``x.T``; ``x.mT`` swaps the last two)."""
    return permute_dims(self, tuple(range(self.ndim - 1, -1, -1)))


_METHODS = {  # the binary operators (+ reflected, in-place) are in api.METHODS
    "__neg__": negative, "__pos__": positive, "__abs__": abs,
    "__lt__": less, "__le__": less_equal, "__gt__": greater, "__ge__": greater_equal,
    "__eq__": equal, "__ne__": not_equal,
    "__getitem__": getitem,
    "sum": sum, "mean": mean, "max": max, "min": min,
    "exp": exp, "log": log, "sqrt": sqrt, "tanh": tanh, "sin": sin, "cos": cos,
    "reshape": _reshape_method, "permute_dims": _permute_method, "permute": _permute_method,
    "astype": astype, "broadcast_to": broadcast_to,
    "T": property(_reverse_axes, doc="The tensor with its axes reversed."),
    "mT": property(matrix_transpose, doc="The tensor with its last two axes swapped."),
}
for _name, _fn in {**_METHODS, **_api.METHODS}.items():
    setattr(Tensor, _name, _fn)
