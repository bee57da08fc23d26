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
from ..autograd.op import Op
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


COPY = Op("copy", lambda xp, x: xp.asarray(x, copy=True), (lambda xp, g, out, x: g,))


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None
            ) -> Tensor:
    """``obj`` (a tensor, an array of any library, Python data) as a tensor.

    A tensor stays in its graph: moving or casting it is differentiable. Anything else
    becomes a constant.
    """
    if isinstance(obj, Tensor):
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
    return _make("zeros", device, dtype, (requires_grad, constant), _shape(shape, "zeros"))


def ones(shape: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    return _make("ones", device, dtype, (requires_grad, constant), _shape(shape, "ones"))


def empty(shape: Any, *, dtype: Any = None, device: Any = None,
          requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    return _make("empty", device, dtype, (requires_grad, constant), _shape(shape, "empty"))


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _make("full", device, dtype or _fill_dtype(fill_value), (requires_grad, constant),
                 _shape(shape, "full"), fill_value)


def eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None,
        device: Any = None, requires_grad: bool | None = None,
        constant: bool | None = None) -> Tensor:
    n_rows, k = _shape(n_rows, "eye")[0], as_shape(k, "eye")[0]
    n_cols = None if n_cols is None else _shape(n_cols, "eye")[0]
    return _make("eye", device, dtype, (requires_grad, constant), n_rows, n_cols, k=k)


def arange(start: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool | None = None,
           constant: bool | None = None) -> Tensor:
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, stop, step) if v is not None)
        dtype = _d.int64 if ints else _d.float64
    if isinstance(step, int | float) and not (step != 0 and math.isfinite(step)):
        raise DomainError(f"arange: step must be finite and non-zero, got {step!r}")
    return _make("arange", device, dtype, (requires_grad, constant), start, stop, step)


def linspace(start: Any, stop: Any, /, num: int, *, dtype: Any = None, device: Any = None,
             endpoint: bool = True, requires_grad: bool | None = None,
             constant: bool | None = None) -> Tensor:
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


def _like(x: Any, dtype: Any, device: Any) -> tuple[Any, Any]:
    x = ensure_tensor(x)
    return (x.dtype if dtype is None else dtype), (x.device if device is None else device)


def zeros_like(x: Any, /, *, dtype: Any = None, device: Any = None,
               requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return zeros(x.shape, dtype=dtype, device=device, requires_grad=requires_grad,
                 constant=constant)


def ones_like(x: Any, /, *, dtype: Any = None, device: Any = None,
              requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return ones(x.shape, dtype=dtype, device=device, requires_grad=requires_grad,
                constant=constant)


def empty_like(x: Any, /, *, dtype: Any = None, device: Any = None,
               requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return empty(x.shape, dtype=dtype, device=device, requires_grad=requires_grad,
                 constant=constant)


def full_like(x: Any, /, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return full(x.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad,
                constant=constant)


def meshgrid(*arrays: Any, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-d tensors; differentiable (each grid is a broadcast)."""
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
