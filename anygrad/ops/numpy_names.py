"""MyGrad's and NumPy's names: ``tensor``/``astensor``/``constant``, NumPy's aliases of the Array
API functions (``concatenate``, ``arccos``, ``amax``, ...), and the ndarray methods NumPy and
MyGrad users call on a Tensor (``t.copy()``, ``t.flatten()``, ``t.transpose(1, 0)``, ...).

Each is a thin wrapper adapting a signature to an existing anygrad function: no new derivative
rules, so every one is differentiable exactly where the function it calls is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .. import backends
from .._tensor import Tensor, _wrap
from ..autograd.function import ensure_tensor
from ..dtypes import as_dtype
from ..errors import ShapeError
from . import elementwise as _ew
from . import linalg as _la
from . import reductions as _red
from . import shape as _sh
from . import sorting as _so
from ._define import wants_grad
from .creation import asarray as _asarray
from .creation import eye as _eye
from .creation import geomspace, logspace
from .indexing import inplace as _inplace
from .indexing import take as _take

__all__ = [
    "tensor", "astensor", "constant", "array", "identity", "geomspace", "logspace",
    "concatenate", "transpose", "reshape", "swapaxes", "ravel",
    "atleast_1d", "atleast_2d", "atleast_3d",
    "vstack", "hstack", "dstack", "split",
    "power", "true_divide", "mod", "absolute", "fabs", "rint", "fix", "around", "conjugate",
    "arccos", "arcsin", "arctan", "arctan2", "arccosh", "arcsinh", "arctanh", "exp2",
    "deg2rad", "rad2deg", "degrees", "radians", "invert", "left_shift", "right_shift",
    "cbrt", "fmod", "logaddexp2", "sinc", "sec", "csc", "cot", "arcsec", "arccsc", "arccot",
    "sech", "csch", "coth", "arccoth", "arccsch",
    "amax", "amin", "cumsum", "cumprod",
    "dot", "inner", "outer", "vdot", "diagonal", "trace",
]


# -- MyGrad's and PyTorch's creation functions --------------------------------------------------
def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool | None = None,
           constant: bool | None = None, copy: bool = True, label: str | None = None) -> Tensor:
    """A new leaf tensor of ``data`` (``torch.tensor``, ``mygrad.tensor``).

    Float tensors require grad unless ``requires_grad=False`` or ``constant=True``; integer
    and bool tensors never do. A tensor given as ``data`` is copied out of its graph.

    Args:
        data: Python data, an array of any library, or a tensor.
        dtype: The data type (default: inferred from ``data``, float64 for Python floats).
        device: Where it lives (default: ``data``'s device, or the default device).
        requires_grad: PyTorch's switch (default: True for float and complex data).
        constant: MyGrad's switch, the opposite of ``requires_grad``.
        copy: False shares ``data``'s memory where it can.
        label: A name for graph drawings and error messages.

    Returns:
        The new leaf tensor.

    Raises:
        TypeError: When ``requires_grad`` and ``constant`` contradict each other.
        DTypeError: When grad is asked for with integer or bool data.
    """
    return Tensor(data, dtype=dtype, device=device, copy=copy, label=label,
                  requires_grad=wants_grad(requires_grad, constant, "tensor"))


def astensor(t: Any, dtype: Any = None, *, constant: bool | None = None, device: Any = None
             ) -> Tensor:
    """``t`` as a tensor (MyGrad's ``astensor``).

    A tensor already of ``dtype``, constant-ness and ``device`` is returned itself, its graph
    and gradient kept. Otherwise the result is a new leaf sharing ``t``'s memory where it can
    (a cast or a move copies; so does a non-constant made of a constant, as in MyGrad).
    ``constant`` defaults to ``t``'s for tensors, and for other data to "float data tracks
    gradients".
    """
    if isinstance(t, Tensor):
        target = None if dtype is None else as_dtype(dtype)
        if ((constant is None or bool(constant) is t.constant)
                and (target is None or target == t.dtype)
                and (device is None or backends.parse(device) == t.device)):
            return t
        kind = (target or t.dtype).kind
        if constant is None:
            constant = t.constant or kind not in "fc"
        return Tensor(t.detach(), dtype=dtype, device=device, requires_grad=not constant,
                      copy=t.constant and not constant)
    return Tensor(t, dtype=dtype, device=device, copy=False,
                  requires_grad=wants_grad(None, constant, "astensor"))


def constant(x: Any, *, dtype: Any = None, device: Any = None, copy: bool = False) -> Tensor:
    """``x`` as a tensor that never requires grad (a tensor given is detached); shares
    memory where it can unless ``copy=True``."""
    if isinstance(x, Tensor):
        x = x.detach()
    return Tensor(x, dtype=dtype, device=device, copy=copy, requires_grad=False)


def array(obj: Any, dtype: Any = None, *, copy: bool = True, device: Any = None) -> Tensor:
    """NumPy's ``array``: ``asarray`` copying by default (a tensor stays in its graph)."""
    return _asarray(obj, dtype=dtype, device=device, copy=copy)


def identity(n: int, dtype: Any = None, *, device: Any = None) -> Tensor:
    """The ``n`` x ``n`` identity matrix (NumPy's ``identity``)."""
    return _eye(n, dtype=dtype, device=device)


# -- shape: NumPy's signatures --------------------------------------------------------------
def concatenate(arrays: Any, axis: int | None = 0, *, dtype: Any = None) -> Any:
    """NumPy's ``concatenate``: ``concat`` (``axis=None`` flattens first)."""
    arrays = [ensure_tensor(a) for a in arrays]
    if dtype is not None:
        arrays = [_sh.astype(a, dtype, copy=False) for a in arrays]
    return _sh.concat(arrays, axis=axis)


def transpose(a: Any, *args: Any, axes: Any = None) -> Any:
    """``a`` with its axes permuted by ``axes`` (reversed when None), as NumPy's
    ``transpose(a, axes)``: a sequence of ints, one int for a 1-d ``a``, or None; MyGrad's
    ``transpose(a, 1, 0)`` too.

    Raises:
        TypeError: When axes are given both positionally and as ``axes=``.
        AxisError: When ``axes`` is not a permutation of ``a``'s axes.
    """
    a = ensure_tensor(a)
    if args:
        if axes is not None:
            raise TypeError("transpose: axes given both positionally and as axes=")
        axes = args[0] if len(args) == 1 else args
    if axes is None:
        return _sh.permute_dims(a, tuple(range(a.ndim - 1, -1, -1)))
    return _sh.permute(a, axes, "transpose")


def reshape(a: Any, /, shape: Any = None, *, newshape: Any = None, copy: bool | None = None
            ) -> Any:
    """The Array API's ``reshape(x, shape)``, also taking NumPy's and MyGrad's ``newshape=``.

    Raises:
        TypeError: When the shape is given twice, or not at all.
        ShapeError: When the sizes differ.
    """
    if (shape is None) == (newshape is None):
        raise TypeError("reshape: give the new shape once, as shape (or newshape=)")
    return _sh.reshape(a, newshape if shape is None else shape, copy=copy)


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """``a`` with axes ``axis1`` and ``axis2`` interchanged."""
    a = ensure_tensor(a)
    i, j = _red.check_axis(axis1, a.ndim, "swapaxes"), _red.check_axis(axis2, a.ndim, "swapaxes")
    order = list(range(a.ndim))
    order[i], order[j] = order[j], order[i]
    return _sh.permute_dims(a, tuple(order))


def ravel(a: Any) -> Any:
    """``a`` as a 1-d tensor."""
    return _sh.reshape(a, (-1,))


def _at_least(n: int, arrays: tuple) -> Any:
    out = []
    for a in arrays:
        a = ensure_tensor(a)
        if a.ndim < n:  # () -> (1, ...); (N,) -> (1, N[, 1]); (M, N) -> (M, N, 1)
            shape = ((1,) * n if a.ndim == 0 else (1, a.shape[0], 1)[:n] if a.ndim == 1
                     else a.shape + (1,))
            a = _sh.reshape(a, shape)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arrays: Any) -> Any:
    """Each input with at least 1 axis (one tensor for one input, else a tuple)."""
    return _at_least(1, arrays)


def atleast_2d(*arrays: Any) -> Any:
    """Each input with at least 2 axes (a 1-d ``(N,)`` becomes ``(1, N)``)."""
    return _at_least(2, arrays)


def atleast_3d(*arrays: Any) -> Any:
    """Each input with at least 3 axes (``(N,)`` becomes ``(1, N, 1)``, ``(M, N)``
    ``(M, N, 1)``)."""
    return _at_least(3, arrays)


def vstack(arrays: Any) -> Any:
    """Stack along the first axis (1-d inputs become rows)."""
    return _sh.concat([atleast_2d(a) for a in arrays], axis=0)


def hstack(arrays: Any) -> Any:
    """Stack along the second axis (along the first for 1-d inputs)."""
    arrays = [atleast_1d(a) for a in arrays]
    return _sh.concat(arrays, axis=0 if arrays and arrays[0].ndim == 1 else 1)


def dstack(arrays: Any) -> Any:
    """Stack along the third axis."""
    return _sh.concat([atleast_3d(a) for a in arrays], axis=2)


def split(a: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """``a`` split along ``axis`` into equal sections (an int) or at the given indices
    (NumPy's ``split``).

    Returns:
        A list of tensors (views of ``a`` where the backend has views).

    Raises:
        ShapeError: When ``a`` does not split into that many equal sections.
        AxisError: When ``axis`` is out of range.
    """
    a = ensure_tensor(a)
    axis = _red.check_axis(axis, a.ndim, "split")
    n = a.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ShapeError(f"split: {n} elements along axis {axis} do not split into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        cuts = list(range(step, n, step))[:indices_or_sections - 1]
    else:
        cuts = [int(i) for i in indices_or_sections]
    bounds = zip([0, *cuts], [*cuts, n], strict=True)
    return [a[(slice(None),) * axis + (slice(lo, hi),)] for lo, hi in bounds]


# -- elementwise: NumPy's names of the Array API functions ----------------------------------
power = _ew.pow
true_divide = _ew.divide
mod = _ew.remainder
absolute = _ew.abs
arccos = _ew.acos
arcsin = _ew.asin
arctan = _ew.atan
arctan2 = _ew.atan2
arccosh = _ew.acosh
arcsinh = _ew.asinh
arctanh = _ew.atanh
rint = _ew.round  # (both round half to even)
cbrt, fmod, logaddexp2, sinc = _ew.cbrt, _ew.fmod, _ew.logaddexp2, _ew.sinc
sec, csc, cot, sech, csch, coth = _ew.sec, _ew.csc, _ew.cot, _ew.sech, _ew.csch, _ew.coth
arcsec, arccsc, arccot, arccoth, arccsch = (_ew.arcsec, _ew.arccsc, _ew.arccot, _ew.arccoth,
                                            _ew.arccsch)
fix = _ew.trunc
conjugate = _ew.conj
invert = _ew.bitwise_invert
left_shift = _ew.bitwise_left_shift
right_shift = _ew.bitwise_right_shift


def fabs(x: Any, /) -> Any:
    """Absolute values of real ``x`` (NumPy's ``fabs``).

    Raises:
        TypeError: When ``x`` is complex.
    """
    x = ensure_tensor(x)
    if x.dtype.kind == "c":
        raise TypeError("fabs: complex input; use absolute (abs)")
    return _ew.abs(x)


def around(a: Any, decimals: int = 0) -> Any:
    """``a`` rounded to ``decimals`` decimals, half to even (NumPy's ``round``/``around``)."""
    if not decimals:
        return _ew.round(a)
    scale = 10.0 ** decimals
    return _ew.divide(_ew.round(_ew.multiply(a, scale)), scale)


def exp2(x: Any, /) -> Any:
    """``2 ** x``."""
    return _ew.pow(2.0, x)


def deg2rad(x: Any, /) -> Any:
    """Degrees to radians."""
    return _ew.multiply(x, math.pi / 180.0)


def rad2deg(x: Any, /) -> Any:
    """Radians to degrees."""
    return _ew.multiply(x, 180.0 / math.pi)


radians, degrees = deg2rad, rad2deg


# -- reductions, NumPy's signatures ----------------------------------------------------------
def amax(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Largest element over ``axis`` (NumPy's ``amax``); ties share the gradient."""
    return _red.max(a, axis=axis, keepdims=keepdims)


def amin(a: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    """Smallest element over ``axis`` (NumPy's ``amin``); ties share the gradient."""
    return _red.min(a, axis=axis, keepdims=keepdims)


def cumsum(a: Any, axis: int | None = None, dtype: Any = None) -> Any:
    """Running sums along ``axis`` (of the flattened ``a`` when None), as NumPy's."""
    a = ensure_tensor(a)
    return _red.cumulative_sum(ravel(a) if axis is None else a, axis=0 if axis is None else axis,
                               dtype=dtype)


def cumprod(a: Any, axis: int | None = None, dtype: Any = None) -> Any:
    """Running products along ``axis`` (of the flattened ``a`` when None), as NumPy's."""
    a = ensure_tensor(a)
    return _red.cumulative_prod(ravel(a) if axis is None else a,
                                axis=0 if axis is None else axis, dtype=dtype)


# -- products ------------------------------------------------------------------------------
def dot(a: Any, b: Any) -> Any:
    """NumPy's ``dot``: a product for 0-d inputs; else the sum over ``a``'s last axis and
    ``b``'s second-to-last (its only one when 1-d)."""
    a, b = ensure_tensor(a), ensure_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return _ew.multiply(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return _la.matmul(a, b)
    return _la.tensordot(a, b, axes=((a.ndim - 1,), (max(b.ndim - 2, 0),)))


def inner(a: Any, b: Any) -> Any:
    """The sum of products over the last axes of ``a`` and ``b`` (no conjugation)."""
    a, b = ensure_tensor(a), ensure_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return _ew.multiply(a, b)
    return _la.tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 1,)))


def outer(a: Any, b: Any) -> Any:
    """The outer product of the flattened ``a`` and ``b``."""
    return _la.outer(ravel(a), ravel(b))


def vdot(a: Any, b: Any) -> Any:
    """The dot product of the flattened ``a`` (conjugated) and ``b``."""
    return _la.vecdot(ravel(a), ravel(b))


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal ``offset`` of the plane ``axis1``, ``axis2``, as the last axis (NumPy's).

    Raises:
        ShapeError: When ``a`` has fewer than two axes.
    """
    a = ensure_tensor(a)
    if a.ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dimensions, got shape {a.shape}")
    return _la.diagonal(_sh.moveaxis(a, (axis1, axis2), (-2, -1)), offset=offset)


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None) -> Any:
    """The sum of the diagonal ``offset`` of the plane ``axis1``, ``axis2`` (NumPy's)."""
    return _red.sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# -- Tensor methods NumPy arrays and MyGrad tensors have -------------------------------------
def _axes_arg(axes: tuple) -> Any:
    """``t.f(1, 0)`` or ``t.f((1, 0))``: the axes; ``t.f()``: None."""
    if not axes:
        return None
    if len(axes) == 1 and not isinstance(axes[0], int):
        return axes[0]  # (None, a sequence; anything else: permute_dims says what is wrong)
    return axes


def _copy(self: Tensor, *, constant: bool | None = None) -> Tensor:
    """A copy of the data (and of the gradient) as a new leaf, out of any graph (MyGrad's
    ``Tensor.copy``); a constant when ``constant`` (default: this tensor's)."""
    backend = self._backend
    out = _wrap(backend.xp.asarray(self.data, copy=True), backend)
    if not (self.constant if constant is None else constant):
        out.requires_grad = True
    if self.grad is not None:
        out.grad = _wrap(backend.xp.asarray(self.grad.data, copy=True), backend)
    return out


def _flatten(self: Tensor) -> Any:
    """A 1-d copy of the tensor (differentiable)."""
    return _asarray(ravel(self), copy=True)


def _transpose(self: Tensor, *axes: Any) -> Any:
    """``t.transpose()`` (reversed axes), ``t.transpose(1, 0)`` or ``t.transpose((1, 0))``."""
    return transpose(self, _axes_arg(axes))


def _squeeze(self: Tensor, axis: int | tuple[int, ...] | None = None) -> Any:
    """``t`` without the size-1 axes ``axis`` (all of them when None)."""
    return _sh.squeeze(self, axis)


def _moveaxis(self: Tensor, source: int | tuple[int, ...], destination: int | tuple[int, ...]
              ) -> Any:
    """``t`` with axes ``source`` moved to ``destination`` (a view)."""
    return _sh.moveaxis(self, source, destination)


def _contains(self: Tensor, value: Any) -> bool:
    """``value in t``: whether some element equals ``value`` (NumPy's ``(t == value).any()``)."""
    return bool(_red.any(_ew.equal(self, value)))


def _clip(self: Tensor, min: Any = None, max: Any = None) -> Any:
    """``t`` limited to ``[min, max]``."""
    return _ew.clip(self, min, max)


def _any(self: Tensor, axis: Any = None, keepdims: bool = False) -> Any:
    """Whether some element over ``axis`` is true (``t.any(0)`` as NumPy's)."""
    return _red.any(self, axis=axis, keepdims=keepdims)


def _all(self: Tensor, axis: Any = None, keepdims: bool = False) -> Any:
    """Whether every element over ``axis`` is true (``t.all(0)`` as NumPy's)."""
    return _red.all(self, axis=axis, keepdims=keepdims)


def _round(self: Tensor, decimals: int = 0) -> Any:
    """``t`` rounded to ``decimals`` decimals, half to even (a constant)."""
    return around(self, decimals)


def _argsort(self: Tensor, axis: int | None = -1, kind: str | None = None) -> Any:
    """The indices that sort ``t`` along ``axis`` (of the flattened ``t`` when None)."""
    return _so.argsort(ravel(self), axis=0) if axis is None else _so.argsort(self, axis=axis)


_sort_in_place = _inplace(lambda x, axis: _so.sort(x, axis=axis), "sort")


def _sort(self: Tensor, axis: int = -1, kind: str | None = None) -> None:
    """Sort ``t`` in place along ``axis``, as NumPy's ``ndarray.sort`` (differentiable;
    ``anygrad.sort`` returns a sorted copy)."""
    _sort_in_place(self, axis)


def _take_method(self: Tensor, indices: Any, axis: int | None = None) -> Any:
    """Elements at ``indices`` along ``axis`` (of the flattened ``t`` when None)."""
    return _take(ravel(self), indices, axis=0) if axis is None else _take(self, indices, axis=axis)


def _repeat(self: Tensor, repeats: Any, axis: int | None = None) -> Any:
    """Each element repeated ``repeats`` times along ``axis`` (flattened when None)."""
    return _sh.repeat(self, repeats, axis=axis)


def _searchsorted(self: Tensor, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """Where ``v``'s elements would go in this sorted 1-d tensor (a constant)."""
    return _so.searchsorted(self, v, side=side, sorter=sorter)


def _iter(self: Tensor) -> Iterator[Any]:
    """The sub-tensors ``t[0]``, ``t[1]``, ... along the first axis."""
    if not self.ndim:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(self.shape[0]))


def _reduction(fn: Any, ddof: bool = False, dtype: bool = False) -> Any:
    """``fn`` as a method with NumPy's signature: ``t.sum(0)``, ``t.std(axis, ddof=1)``,
    ``out=`` (written into in place)."""
    def method(self: Tensor, axis: Any = None, *args: Any, out: Any = None,
               keepdims: bool = False, **kwargs: Any) -> Any:
        if args:  # NumPy's positional order after axis: (dtype, out) or (out,)
            names = (("dtype",) if dtype else ()) + ("out",)
            extra = dict(zip(names, args, strict=False))
            out = extra.pop("out", out)
            kwargs.update(extra)
        if ddof and "ddof" in kwargs:
            kwargs["correction"] = kwargs.pop("ddof")
        if kwargs.get("dtype", 0) is None:
            del kwargs["dtype"]
        if not dtype and "dtype" in kwargs:
            self = self.astype(kwargs.pop("dtype"))
        axis = tuple(axis) if isinstance(axis, list) else axis
        result = fn(self, axis=axis, keepdims=keepdims, **kwargs)
        if out is None:
            return result
        out[...] = result
        return out
    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


METHODS: dict[str, Any] = {
    "sum": _reduction(_red.sum, dtype=True), "prod": _reduction(_red.prod, dtype=True),
    "mean": _reduction(_red.mean), "max": _reduction(_red.max), "min": _reduction(_red.min),
    "std": _reduction(_red.std, ddof=True), "var": _reduction(_red.var, ddof=True),
    "argmax": _reduction(_so.argmax), "argmin": _reduction(_so.argmin),
    "copy": _copy, "flatten": _flatten, "ravel": ravel, "transpose": _transpose,
    "swapaxes": swapaxes, "clip": _clip, "squeeze": _squeeze, "any": _any, "all": _all,
    "cumsum": cumsum, "cumprod": cumprod, "dot": dot, "round": _round, "argsort": _argsort,
    "sort": _sort, "take": _take_method, "repeat": _repeat, "nonzero": _so.nonzero,
    "searchsorted": _searchsorted, "diagonal": diagonal, "trace": trace,
    "conj": _ew.conj, "conjugate": _ew.conj,
    "real": property(_ew.real, doc="The real part (differentiable)."),
    "imag": property(_ew.imag, doc="The imaginary part (differentiable)."),
    "__iter__": _iter, "__contains__": _contains, "moveaxis": _moveaxis,
}
for _name, _fn in METHODS.items():
    setattr(Tensor, _name, _fn)
