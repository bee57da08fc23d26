"""The rest of the Array API (2024.12) namespace: functions beyond the core ops, constants,
and the array object's remaining methods and operators on Tensor.

``anygrad`` itself is the namespace: ``t.__array_namespace__()`` returns the module.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from .._tensor import Tensor
from ..modes import MODE
from . import elementwise as _ew
from ._define import reflected
from .creation import (
    arange,
    asarray,
    empty,
    empty_like,
    eye,
    from_dlpack,
    full,
    full_like,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tril,
    triu,
    zeros,
    zeros_like,
)
from .data_types import __array_namespace_info__, can_cast, finfo, iinfo, isdtype, result_type
from .einsum import einsum
from .elementwise import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clip,
    conj,
    copysign,
    cosh,
    expm1,
    floor,
    floor_divide,
    hypot,
    imag,
    isfinite,
    isinf,
    isnan,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    nextafter,
    real,
    reciprocal,
    remainder,
    round,
    sign,
    signbit,
    sinh,
    square,
    tan,
    trunc,
)
from .indexing import inplace, setitem, take, take_along_axis
from .linalg import matmul, tensordot, vecdot
from .reductions import all, any, cumulative_prod, cumulative_sum, diff, logsumexp, prod, std, var
from .shape import (
    broadcast_arrays,
    broadcast_shapes,
    expand_dims,
    flip,
    moveaxis,
    repeat,
    roll,
    squeeze,
    tile,
    unstack,
)
from .sorting import (
    argmax,
    argmin,
    argsort,
    count_nonzero,
    isin,
    nonzero,
    searchsorted,
    sort,
    unique_all,
    unique_counts,
    unique_inverse,
    unique_values,
)

__array_api_version__ = "2024.12"
e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

__all__ = [
    "__array_api_version__", "__array_namespace_info__", "e", "pi", "inf", "nan", "newaxis",
    "arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like",
    "linspace", "meshgrid", "ones", "ones_like", "tril", "triu", "zeros", "zeros_like",
    "can_cast", "finfo", "iinfo", "isdtype", "result_type", "einsum",
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and", "bitwise_invert",
    "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "ceil", "clip",
    "conj", "copysign", "cosh", "expm1", "floor", "floor_divide", "hypot", "imag", "isfinite",
    "isinf", "isnan", "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not",
    "logical_or", "logical_xor", "nextafter", "real", "reciprocal", "remainder", "round", "sign",
    "signbit", "sinh", "square", "tan", "trunc",
    "take", "take_along_axis", "tensordot", "vecdot",
    "all", "any", "cumulative_prod", "cumulative_sum", "diff", "logsumexp", "prod", "std", "var",
    "broadcast_arrays", "broadcast_shapes", "expand_dims", "flip", "moveaxis", "repeat", "roll",
    "squeeze", "tile", "unstack",
    "argmax", "argmin", "argsort", "count_nonzero", "nonzero", "searchsorted", "sort",
    "unique_all", "unique_counts", "unique_inverse", "unique_values", "isin",
]

_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")


def _array_namespace(self: Tensor, /, *, api_version: str | None = None) -> Any:
    """The ``anygrad`` module: the Array-API namespace of Tensors.

    Raises:
        ValueError: When ``api_version`` is not a version anygrad implements.
    """
    if api_version is not None and api_version not in _VERSIONS:
        raise ValueError(f"anygrad implements the Array API {', '.join(_VERSIONS)}, not "
                         f"{api_version!r}")
    return sys.modules["anygrad"]


def _to_device(self: Tensor, device: Any, /, *, stream: Any = None) -> Tensor:
    """This tensor on ``device`` (differentiable)."""
    return self.to(device)


def _dlpack(self: Tensor, /, *, stream: Any = None, max_version: tuple[int, int] | None = None,
            dl_device: tuple[Any, int] | None = None, copy: bool | None = None) -> Any:
    """The DLPack capsule of this tensor's array (the standard's keywords; those left at None
    are not passed on, so libraries with an older ``__dlpack__`` still export)."""
    given = {k: v for k, v in (("stream", stream), ("max_version", max_version),
                               ("dl_device", dl_device), ("copy", copy)) if v is not None}
    if self._rg and MODE.get().grad:  # another library takes the values: a graph cut
        from ..graph_cut import cut
        cut(self, "from_dlpack(t)")
    return self.data.__dlpack__(**given)


def _dlpack_device(self: Tensor, /) -> tuple[Any, int]:
    """``(device type, device id)`` of this tensor's array, as DLPack numbers them."""
    return self.data.__dlpack_device__()


def _complex(self: Tensor) -> complex:
    return complex(self._scalar("complex"))  # reports a graph cut as complex(t)


_BINARY = {"add": _ew.add, "sub": _ew.subtract, "mul": _ew.multiply, "truediv": _ew.divide,
           "floordiv": floor_divide, "mod": remainder, "pow": _ew.pow, "matmul": matmul,
           "and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor,
           "lshift": bitwise_left_shift, "rshift": bitwise_right_shift}

METHODS: dict[str, Any] = {
    **{f"__{name}__": fn for name, fn in _BINARY.items()},
    **{f"__r{name}__": reflected(fn) for name, fn in _BINARY.items()},
    **{f"__i{name}__": inplace(fn, f"__i{name}__") for name, fn in _BINARY.items()},
    "__array_namespace__": _array_namespace,
    "__invert__": bitwise_invert,
    "__setitem__": setitem,
    "__complex__": _complex,
    "__dlpack__": _dlpack,
    "__dlpack_device__": _dlpack_device,
    "to_device": _to_device,
    "prod": prod, "var": var, "std": std, "argmax": argmax, "argmin": argmin,
}

