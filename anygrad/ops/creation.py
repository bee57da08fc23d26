"""Creation functions. Each honours ``device=`` (default: the default device) on every backend,
and returns a constant (a tensor that does not require grad), as ``torch.zeros`` does, unless
``requires_grad=True`` (PyTorch's name) or ``constant=False`` (MyGrad's) asks for a leaf that
requires grad (float and complex dtypes only).

Default dtypes are the same everywhere: float64 for real numbers, int64 for integers.
``tril``/``triu`` and ``meshgrid`` transform tensors and are differentiable.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backends
from .. import dtypes as _d
from .._tensor import Tensor, _wrap
from ..autograd import engine
from ..autograd.function import apply_unary, ensure_tensor
from ..autograd.op import Op, passes
from ..errors import DomainError, ShapeError
from ._define import wants_grad
from .shape import as_shape, broadcast_to, reshape


def _where(device: Any) -> Any:
    return backends.get(device)


def _shape(shape: Any, op: str) -> tuple[int, ...]:
    out = as_shape(shape, op)
    if any(n < 0 for n in out):
        raise ShapeError(f"{op}: negative dimensions are not allowed, got {shape!r}")
    return out


def _fill_dtype(value: Any) -> _d.DType:
    if isinstance(value, bool):
        return _d.bool_
    if isinstance(value, int):
        return _d.int64
    return _d.complex128 if isinstance(value, complex) else _d.float64


def _make(fn: str, device: Any, dtype: Any, grad: tuple, *args: Any, **kw: Any) -> Tensor:
    """``xp.<fn>(*args, **kw)`` on ``device``; a leaf requiring grad when ``grad``
    (``(requires_grad, constant)``) asks for one, a constant otherwise."""
    b = _where(device)
    nat = b.native_dtype(_d.float64 if dtype is None else dtype)
    out = _wrap(getattr(b.xp, fn)(*args, dtype=nat, device=b.native, **kw), b)
    out._seq = next(engine.sequence)  # when it was made (drawings place it in its group)
    if grad != (None, None) and wants_grad(*grad, fn):
        out.requires_grad = True  # (a DTypeError for integer and bool dtypes)
    return out


COPY = Op("copy", lambda xp, x: xp.asarray(x, copy=True), (passes,))


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None
            ) -> Tensor:
    """``obj`` (a tensor, an array of any library, Python data) as a tensor.

    A tensor stays in its graph: moving or casting it is differentiable. Anything else
    becomes a constant.

    Args:
        obj: A tensor, an array of any library, a Python scalar or (nested) sequence.
        dtype: The data type (default: ``obj``'s).
        device: Where it lives (default: ``obj``'s device, or the default device).
        copy: True always copies; False shares memory; None copies only when needed.

    Returns:
        The tensor (``obj`` itself when it is a tensor needing no move, cast or copy).

    Raises:
        ValueError: When ``copy=False`` and the result cannot share ``obj``'s memory (a
            cast, a move to another device, data that must be converted).
    """
    if isinstance(obj, Tensor):
        moves = device is not None and backends.get(device) is not obj._backend
        casts = dtype is not None and _d.as_dtype(dtype) != obj.dtype
        if copy is False and (moves or casts):
            what = f"a move to {device}" if moves else f"a cast to {_d.as_dtype(dtype).name}"
            raise ValueError(f"asarray: copy=False, but {what} needs a copy of this "
                             f"{obj.dtype.name} tensor on {obj.device}")
        out = obj if device is None else obj.to(device)
        if dtype is not None and _d.as_dtype(dtype) != out.dtype:
            from .shape import astype
            return astype(out, dtype)
        return apply_unary(COPY, out) if copy else out
    arr, backend = backends.from_data(obj, device, dtype, copy)
    return _wrap(arr, backend)


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A tensor sharing (or copying, with ``copy=True`` or a new ``device``) ``x``'s memory."""
    return asarray(x, device=device, copy=copy)


def zeros(shape: Any, *, dtype: Any = None, device: Any = None,
          requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """A tensor of zeros (Array API ``zeros``).

    Args:
        shape: An integer or a tuple of integers.
        dtype: The data type (default float64).
        device: Where it lives (default: the default device).
        requires_grad: True for a leaf that requires grad (PyTorch's name).
        constant: False for a leaf that requires grad (MyGrad's name).

    Returns:
        The tensor: a constant unless ``requires_grad``/``constant`` asks otherwise.

    Raises:
        TypeError: When ``shape`` is not integers, or ``requires_grad`` and ``constant``
            contradict each other.
        ShapeError: When a dimension is negative.
        DTypeError: When a leaf requiring grad is asked for with an integer or bool dtype.
    """
    return _make("zeros", device, dtype, (requires_grad, constant), _shape(shape, "zeros"))


def ones(shape: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """A tensor of ones (Array API ``ones``); arguments, result and errors as ``zeros``."""
    return _make("ones", device, dtype, (requires_grad, constant), _shape(shape, "ones"))


def empty(shape: Any, *, dtype: Any = None, device: Any = None,
          requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """An uninitialized tensor (Array API ``empty``: its values are whatever the memory held);
    arguments, result and errors as ``zeros``."""
    return _make("empty", device, dtype, (requires_grad, constant), _shape(shape, "empty"))


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """A tensor with every element ``fill_value`` (Array API ``full``).

    Args:
        shape: An integer or a tuple of integers.
        fill_value: A Python scalar, or a one-element tensor (its value is read).
        dtype: The data type (default: bool, int64, complex128 or float64, from the type of
            ``fill_value``).
        device: Where it lives (default: the default device).
        requires_grad: True for a leaf that requires grad (PyTorch's name).
        constant: False for a leaf that requires grad (MyGrad's name).

    Returns:
        The tensor: a constant unless ``requires_grad``/``constant`` asks otherwise.

    Raises:
        TypeError: When ``shape`` is not integers, or ``requires_grad`` and ``constant``
            contradict each other.
        ShapeError: When a dimension is negative.
        DTypeError: When a leaf requiring grad is asked for with an integer or bool dtype.
    """
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _make("full", device, dtype or _fill_dtype(fill_value), (requires_grad, constant),
                 _shape(shape, "full"), fill_value)


def eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None,
        device: Any = None, requires_grad: bool | None = None,
        constant: bool | None = None) -> Tensor:
    """A 2-d tensor with ones on diagonal ``k`` and zeros elsewhere (Array API ``eye``).

    Args:
        n_rows: The number of rows.
        n_cols: The number of columns (default ``n_rows``).
        k: The diagonal: 0 the main one, positive above it, negative below.
        dtype: The data type (default float64).
        device: Where it lives (default: the default device).
        requires_grad: True for a leaf that requires grad (PyTorch's name).
        constant: False for a leaf that requires grad (MyGrad's name).

    Returns:
        The ``(n_rows, n_cols)`` tensor: a constant unless ``requires_grad``/``constant``
        asks otherwise.

    Raises:
        TypeError: When a size or ``k`` is not an integer, or ``requires_grad`` and
            ``constant`` contradict each other.
        ShapeError: When a size is negative.
        DTypeError: When a leaf requiring grad is asked for with an integer or bool dtype.
    """
    n_rows, k = _shape(n_rows, "eye")[0], as_shape(k, "eye")[0]
    n_cols = None if n_cols is None else _shape(n_cols, "eye")[0]
    return _make("eye", device, dtype, (requires_grad, constant), n_rows, n_cols, k=k)


def arange(start: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool | None = None,
           constant: bool | None = None) -> Tensor:
    """Evenly spaced values in the half-open interval ``[start, stop)`` (Array API
    ``arange``); ``arange(n)`` is ``0, 1, ..., n - 1``.

    Args:
        start: The first value, or the end when ``stop`` is None (starting from 0).
        stop: The end, not included.
        step: The spacing.
        dtype: The data type (default int64 when every bound and the step are integers,
            float64 otherwise).
        device: Where it lives (default: the default device).
        requires_grad: True for a leaf that requires grad (PyTorch's name).
        constant: False for a leaf that requires grad (MyGrad's name).

    Returns:
        The 1-d tensor: a constant unless ``requires_grad``/``constant`` asks otherwise.

    Raises:
        DomainError: When ``step`` is zero, infinite or NaN.
        TypeError: When ``requires_grad`` and ``constant`` contradict each other.
        DTypeError: When a leaf requiring grad is asked for with an integer or bool dtype.
    """
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, stop, step) if v is not None)
        dtype = _d.int64 if ints else _d.float64
    if isinstance(step, int | float) and not (step != 0 and math.isfinite(step)):
        raise DomainError(f"arange: step must be finite and non-zero, got {step!r}")
    return _make("arange", device, dtype, (requires_grad, constant), start, stop, step)


def linspace(start: Any, stop: Any, /, num: int, *, dtype: Any = None, device: Any = None,
             endpoint: bool = True, requires_grad: bool | None = None,
             constant: bool | None = None) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (Array API ``linspace``).

    Args:
        start: The first value.
        stop: The last value (included when ``endpoint``).
        num: How many values.
        dtype: The data type (default complex128 when ``start`` or ``stop`` is complex,
            float64 otherwise).
        device: Where it lives (default: the default device).
        endpoint: Whether ``stop`` is the last value (else the interval is half-open).
        requires_grad: True for a leaf that requires grad (PyTorch's name).
        constant: False for a leaf that requires grad (MyGrad's name).

    Returns:
        The 1-d tensor: a constant unless ``requires_grad``/``constant`` asks otherwise.

    Raises:
        TypeError: When ``num`` is not an integer, or ``requires_grad`` and ``constant``
            contradict each other.
        ShapeError: When ``num`` is negative.
        DTypeError: When a leaf requiring grad is asked for with an integer or bool dtype.
    """
    if dtype is None and (isinstance(start, complex) or isinstance(stop, complex)):
        dtype = _d.complex128
    num = _shape(num, "linspace")[0]
    return _make("linspace", device, dtype, (requires_grad, constant), start, stop, num,
                 endpoint=endpoint)


def _spaced(name: str, b: Any, values: Any, dtype: Any, grad: tuple) -> Tensor:
    """float64 ``values`` on backend ``b`` as a tensor of ``dtype`` (default float64), a leaf
    requiring grad when ``grad`` asks for one (as ``_make``)."""
    if dtype is not None and _d.as_dtype(dtype) != _d.float64:
        values = b.xp.astype(values, b.native_dtype(dtype))
    out = _wrap(values, b)
    if grad != (None, None) and wants_grad(*grad, name):
        out.requires_grad = True
    return out


def logspace(start: Any, stop: Any, /, num: int = 50, *, endpoint: bool = True,
             base: float = 10.0, dtype: Any = None, device: Any = None,
             requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """``base ** linspace(start, stop, num)`` (NumPy's ``logspace``; real ``start``/``stop``)."""
    b = _where(device)
    exponents = b.xp.linspace(float(start), float(stop), num, dtype=b.native_dtype(_d.float64),
                              device=b.native, endpoint=endpoint)
    return _spaced("logspace", b, b.xp.pow(float(base), exponents), dtype,
                   (requires_grad, constant))


def geomspace(start: Any, stop: Any, /, num: int = 50, *, endpoint: bool = True,
              dtype: Any = None, device: Any = None, requires_grad: bool | None = None,
              constant: bool | None = None) -> Tensor:
    """``num`` numbers from ``start`` to ``stop`` in a geometric progression, the ends exact
    (NumPy's ``geomspace``; real, non-zero ``start``/``stop``)."""
    start, stop = float(start), float(stop)
    if start == 0 or stop == 0:
        raise ValueError("geomspace: a geometric sequence cannot include zero")
    b = _where(device)
    xp = b.xp
    sign = -1.0 if start < 0 and stop < 0 else 1.0  # mixed signs: NaN between the ends, as NumPy
    logs = [math.log10(v * sign) if v * sign > 0 else math.nan for v in (start, stop)]
    values = sign * xp.pow(10.0, xp.linspace(*logs, num, dtype=b.native_dtype(_d.float64),
                                             device=b.native, endpoint=endpoint))
    if num > 0:
        index = xp.arange(num, device=b.native)
        values = xp.where(index == 0, start, values)
        if endpoint and num > 1:
            values = xp.where(index == num - 1, stop, values)
    return _spaced("geomspace", b, values, dtype, (requires_grad, constant))


def _like(x: Any, dtype: Any, device: Any) -> tuple[tuple, Any, Any]:
    """The shape, and the dtype and device unless given, of ``x`` (any array-like)."""
    x = ensure_tensor(x)
    return x.shape, (x.dtype if dtype is None else dtype), (x.device if device is None else device)


def zeros_like(x: Any, /, *, dtype: Any = None, device: Any = None,
               requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """A tensor of zeros with ``x``'s shape, and its dtype and device unless given
    (Array API ``zeros_like``); arguments, result and errors as ``zeros``."""
    shape, dtype, device = _like(x, dtype, device)
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad,
                 constant=constant)


def ones_like(x: Any, /, *, dtype: Any = None, device: Any = None,
              requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """A tensor of ones with ``x``'s shape, and its dtype and device unless given
    (Array API ``ones_like``); arguments, result and errors as ``ones``."""
    shape, dtype, device = _like(x, dtype, device)
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad,
                constant=constant)


def empty_like(x: Any, /, *, dtype: Any = None, device: Any = None,
               requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """An uninitialized tensor with ``x``'s shape, and its dtype and device unless given
    (Array API ``empty_like``); arguments, result and errors as ``empty``."""
    shape, dtype, device = _like(x, dtype, device)
    return empty(shape, dtype=dtype, device=device, requires_grad=requires_grad,
                 constant=constant)


def full_like(x: Any, /, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """A tensor of ``fill_value`` with ``x``'s shape, and its dtype and device unless given
    (Array API ``full_like``); arguments, result and errors as ``full``."""
    shape, dtype, device = _like(x, dtype, device)
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad,
                constant=constant)


def meshgrid(*arrays: Any, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-d tensors; differentiable (each grid is a broadcast).

    Args:
        *arrays: The coordinates along each axis (1-d tensors or arrays).
        indexing: ``"xy"`` (Cartesian: the first two axes swapped) or ``"ij"`` (matrix).

    Returns:
        One grid per input, all of the same shape.

    Raises:
        ValueError: When ``indexing`` is neither ``"xy"`` nor ``"ij"``.
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing is 'xy' or 'ij', not {indexing!r}")
    arrays = [ensure_tensor(a) for a in arrays]
    sizes = [math.prod(a.shape) for a in arrays]
    if indexing == "xy" and len(arrays) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, a in enumerate(arrays):
        axis = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and len(arrays) > 1 else i
        shape = [1] * len(arrays)
        shape[axis] = -1
        out.append(broadcast_to(reshape(a, tuple(shape)), tuple(sizes)))
    return out


TRIL = Op("tril", lambda xp, x, *, k: xp.tril(x, k=k),
          (lambda xp, g, out, x, *, k: xp.tril(g, k=k),))
TRIU = Op("triu", lambda xp, x, *, k: xp.triu(x, k=k),
          (lambda xp, g, out, x, *, k: xp.triu(g, k=k),))


def tril(x: Any, /, *, k: int = 0) -> Tensor:
    """The lower triangle of the last two axes (below diagonal ``k``); the rest zero."""
    return apply_unary(TRIL, x, {"k": int(k)})


def triu(x: Any, /, *, k: int = 0) -> Tensor:
    """The upper triangle of the last two axes (above diagonal ``k``); the rest zero."""
    return apply_unary(TRIU, x, {"k": int(k)})
