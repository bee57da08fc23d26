"""Shape and layout: reshape, permute, broadcast, concatenate, stack, select, cast.

Rules: ``rule(xp, g, out, *inputs, **params)``; variadic ops (``concat``, ``stack``) take
the input's position first.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from ..autograd.function import apply, apply_unary, ensure_tensor
from ..autograd.op import Op, Variadic
from ..autograd.views import view
from ..dtypes import as_dtype
from ..errors import AxisError, DTypeError, ShapeError
from .indexing import gathered
from .reductions import axes_list, check_axis, normalize_axes


def as_shape(shape: Any, op: str) -> tuple[int, ...]:
    """``shape`` (an integer or a sequence of integers) as a tuple of ints; a TypeError
    naming ``op`` for anything else (``2.5``, ``"6"``, ``True``): sizes are integers."""
    if type(shape) is tuple and all(type(n) is int for n in shape):
        return shape  # the common case: one pass
    if isinstance(shape, str | bytes) or not hasattr(shape, "__iter__"):
        return (_size(shape, shape, op),)
    return tuple(_size(n, shape, op) for n in shape)


def _size(n: Any, shape: Any, op: str) -> int:
    if type(n) is int:
        return n
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):
        raise TypeError(f"{op}: a shape is an integer or a tuple of integers, not {shape!r} "
                        f"({type(n).__name__} {n!r} is not an integer)")
    return operator.index(n)  # NumPy's integer scalars


def _inverse(axes: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


def _concat_part(i: int, xp: Any, g: Any, out: Any, *xs: Any, axis: int | None) -> Any:
    """The slice of ``g`` that came from input ``i``."""
    if axis is None:
        start = sum(math.prod(x.shape) for x in xs[:i])
        return xp.reshape(g[start:start + math.prod(xs[i].shape)], xs[i].shape)
    start = sum(x.shape[axis] for x in xs[:i])
    return g[(slice(None),) * axis + (slice(start, start + xs[i].shape[axis]), ...)]


def _stack_part(i: int, xp: Any, g: Any, out: Any, *xs: Any, axis: int) -> Any:
    return g[(slice(None),) * axis + (i, ...)]


# The view ops (see ``autograd.views``): their rules read only the input's shape.
RESHAPE = Op("reshape", lambda xp, x, *, shape: xp.reshape(x, shape),
             (lambda xp, g, out, x, *, shape: xp.reshape(g, x.shape),), reads_out=False)
PERMUTE_DIMS = Op("permute_dims", lambda xp, x, *, axes: xp.permute_dims(x, axes),
                  (lambda xp, g, out, x, *, axes: xp.permute_dims(g, _inverse(axes)),),
                  reads_out=False)
BROADCAST_TO = Op("broadcast_to", lambda xp, x, *, shape: xp.broadcast_to(x, shape),
                  (lambda xp, g, out, x, *, shape: g,), reads_out=False)
ASTYPE = Op("astype", lambda xp, x, *, dtype: xp.astype(x, dtype),
            (lambda xp, g, out, x, *, dtype: _real_part(xp, g, x),))  # the engine casts g
ASTYPE_CONSTANT = Op("astype", lambda xp, x, *, dtype: xp.astype(x, dtype))
CONCAT = Op("concat", lambda xp, *xs, axis: xp.concat(list(xs), axis=axis), Variadic(_concat_part))
STACK = Op("stack", lambda xp, *xs, axis: xp.stack(list(xs), axis=axis), Variadic(_stack_part))
WHERE = Op("where", lambda xp, c, x, y: xp.where(c, x, y),
           (None,
            lambda xp, g, out, c, x, y: xp.where(c, g, 0.0),
            lambda xp, g, out, c, x, y: xp.where(c, 0.0, g)))


def _real_part(xp: Any, g: Any, x: Any) -> Any:
    """``g``, or its real part when ``x`` is real and ``g`` complex (a real-to-complex cast)."""
    if xp.isdtype(g.dtype, "complex floating") and not xp.isdtype(x.dtype, "complex floating"):
        return xp.real(g)
    return g


def reshape(x: Any, /, shape: tuple[int, ...], *, copy: bool | None = None) -> Any:
    """``x`` with a new shape of the same size (Array API ``reshape``); a view of ``x``.

    Args:
        x: The tensor.
        shape: The new shape; one entry may be -1, inferred from the size.
        copy: True for a copy instead of a view.

    Returns:
        The reshaped tensor.

    Raises:
        TypeError: When ``shape`` is not integers.
        ShapeError: When the sizes differ.
    """
    shape = as_shape(shape, "reshape")
    x = ensure_tensor(x)
    if copy:
        return apply_unary(RESHAPE, x, {"shape": shape})
    return view(RESHAPE, x, {"shape": shape}, layout=True)


def permute_dims(x: Any, /, axes: tuple[int, ...]) -> Any:
    """``x`` with its axes reordered: axis ``i`` of the result is axis ``axes[i]`` of x
    (Array API ``permute_dims``); a view of ``x``.

    Raises:
        AxisError: When ``axes`` is not a permutation of ``x``'s axes.
    """
    return permute(x, axes, "permute_dims")


def permute(x: Any, axes: Any, op: str) -> Any:
    """``permute_dims`` for ``op`` (``transpose``, ``moveaxis``, ...): errors name ``op``."""
    x = ensure_tensor(x)
    order = tuple(axes_list(axes, x.ndim, op))
    if sorted(order) != list(range(x.ndim)):
        raise AxisError(f"{op}: axes {axes} is not a permutation of {x.ndim} axes")
    return view(PERMUTE_DIMS, x, {"axes": order})


def broadcast_to(x: Any, /, shape: tuple[int, ...]) -> Any:
    """``x`` broadcast to ``shape`` (Array API ``broadcast_to``); a view of ``x``, whose
    gradient is summed back.

    Raises:
        TypeError: When ``shape`` is not integers.
        ShapeError: When a dimension is negative or ``x`` does not broadcast to ``shape``.
    """
    shape = as_shape(shape, "broadcast_to")
    if any(n < 0 for n in shape):
        raise ShapeError(f"broadcast_to: negative dimensions are not allowed, got {shape}")
    return view(BROADCAST_TO, ensure_tensor(x), {"shape": shape})


_KIND_RANK = {"b": 0, "u": 1, "i": 2, "f": 3, "c": 4}


def _castable(a: Any, b: Any, casting: str) -> bool:
    """Whether NumPy's rule ``casting`` allows casting dtype ``a`` to ``b``."""
    if casting == "unsafe" or a == b:
        return True
    if casting in ("no", "equiv"):
        return False
    if casting not in ("safe", "same_kind"):
        raise ValueError(f"astype: casting must be 'no', 'equiv', 'safe', 'same_kind' or "
                         f"'unsafe', not {casting!r}")
    ka, kb = a.kind, b.kind
    if casting == "same_kind" and _KIND_RANK[ka] <= _KIND_RANK[kb]:
        return True
    size_b = b.itemsize // 2 if kb == "c" else b.itemsize  # (of a complex: its parts)
    if ka == "b" or ka == kb:
        return ka == "b" or b.itemsize >= a.itemsize
    if ka in "iu" and kb in "fc":  # every integer fits a float of twice its size (int64: float64)
        return size_b >= min(2 * a.itemsize, 8)
    if ka == "u" and kb == "i":
        return b.itemsize > a.itemsize
    return ka == "f" and kb == "c" and size_b >= a.itemsize


def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None,
           constant: bool | None = None, casting: str = "unsafe") -> Any:
    """``x`` cast to ``dtype``; differentiable into float dtypes, a constant otherwise.

    MyGrad's ``constant=True`` gives a constant (cut from the graph); ``constant=False`` a
    tensor that requires grad (a new leaf when ``x`` does not), float dtypes only. NumPy's
    ``casting`` (``"no"``, ``"equiv"``, ``"safe"``, ``"same_kind"``, default ``"unsafe"``)
    refuses the casts its rule does not allow with a TypeError.

    Args:
        x: The tensor.
        dtype: The target dtype.
        copy: False returns ``x`` itself when it already has ``dtype``.
        device: Move the result there too.
        constant: MyGrad's: True for a constant, False for a tensor that requires grad.
        casting: NumPy's rule for which casts are allowed.

    Returns:
        The cast tensor (or ``x``).

    Raises:
        TypeError: When ``casting`` does not allow the cast.
        ValueError: When ``casting`` is not one of the five rules.
        DTypeError: When ``constant=False`` asks for grad with an integer or bool dtype.
    """
    x = ensure_tensor(x)
    target = as_dtype(dtype)
    if not _castable(x.dtype, target, casting):
        raise TypeError(f"astype: cannot cast {x.dtype.name} to {target.name} according to "
                        f"the rule {casting!r}")
    if constant is False and target.kind not in "fc":
        raise DTypeError(f"astype: only float and complex tensors can require gradients "
                         f"(constant=False), not {target.name}")
    if device is not None:
        x = x.to(device)
    if target == x.dtype and not copy and (constant is None or constant is not x._rg):
        return x
    op = ASTYPE if target.kind in "fc" and not constant else ASTYPE_CONSTANT
    out = apply_unary(op, x, {"dtype": x._backend.native_dtype(target)})
    if constant is False and not out._rg:
        out = out.realize()  # (a deferred constant becomes an ordinary leaf)
        out.requires_grad = True
    return out


def concat(arrays: Any, /, *, axis: int | None = 0) -> Any:
    """Join tensors along an existing axis (Array API ``concat``; ``axis=None``: flatten
    first).

    Raises:
        ShapeError: When no tensor is given, or the shapes differ off ``axis``.
        AxisError: When ``axis`` is out of range.
    """
    arrays = tuple(arrays)
    if not arrays:
        raise ShapeError("concat: needs at least one tensor")
    first = ensure_tensor(arrays[0])
    if axis is not None:
        axis = check_axis(axis, first.ndim, "concat")
    return apply(CONCAT, (first, *arrays[1:]), {"axis": axis})


def stack(arrays: Any, /, *, axis: int = 0) -> Any:
    """Join tensors of one shape along a new axis (Array API ``stack``).

    Raises:
        ShapeError: When no tensor is given, or the shapes differ.
        AxisError: When ``axis`` is out of range.
    """
    arrays = tuple(arrays)
    if not arrays:
        raise ShapeError("stack: needs at least one tensor")
    first = ensure_tensor(arrays[0])
    axis = check_axis(axis, first.ndim + 1, "stack")
    return apply(STACK, (first, *arrays[1:]), {"axis": axis})


def where(condition: Any, x1: Any, x2: Any, /) -> Any:
    """``x1`` where ``condition`` holds, else ``x2`` (broadcasting all three; Array API
    ``where``); differentiable in ``x1`` and ``x2``.

    Raises:
        ShapeError: When the three do not broadcast together.
    """
    return apply(WHERE, (condition, x1, x2))


def matrix_transpose(x: Any, /) -> Any:
    """``x`` with its last two axes swapped (Array API ``matrix_transpose``); a view of ``x``.

    Raises:
        ShapeError: When ``x`` has fewer than two axes.
    """
    x = ensure_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"matrix_transpose: needs at least 2 dimensions, got shape {x.shape}")
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return view(PERMUTE_DIMS, x, {"axes": axes})


# -- more manipulation: composites of the ops above, and flip, roll, repeat -----------------
FLIP = Op("flip", lambda xp, x, *, axis: xp.flip(x, axis=axis),
          (lambda xp, g, out, x, *, axis: xp.flip(g, axis=axis),), reads_out=False)
ROLL = Op("roll", lambda xp, x, *, shift, axis: xp.roll(x, shift, axis=axis),
          (lambda xp, g, out, x, *, shift, axis: xp.roll(
              g, tuple(-s for s in shift) if isinstance(shift, tuple) else -shift, axis=axis),))


def _repeat(xp: Any, x: Any, *, repeats: Any, axis: int | None) -> Any:
    return xp.repeat(x, repeats, axis=axis)


REPEAT = Op("repeat", _repeat, (gathered(_repeat),))


def expand_dims(x: Any, /, axis: int | tuple[int, ...] = 0) -> Any:
    """``x`` with new axes of size 1 at ``axis`` (positions in the result)."""
    x = ensure_tensor(x)
    n = 1 if not hasattr(axis, "__iter__") or isinstance(axis, str) else len(tuple(axis))
    axes = normalize_axes(axis, x.ndim + n, "expand_dims")
    shape, it = [], iter(x.shape)
    for i in range(x.ndim + len(axes)):
        shape.append(1 if i in axes else next(it))
    return reshape(x, tuple(shape))


def squeeze(x: Any, /, axis: int | tuple[int, ...] | None = None) -> Any:
    """``x`` without the size-1 axes ``axis`` (every size-1 axis when None, as NumPy's).

    Raises:
        ShapeError: When an axis named is not of size 1.
        AxisError: When an axis is out of range or repeated.
    """
    x = ensure_tensor(x)
    if axis is None:
        axis = tuple(i for i, n in enumerate(x.shape) if n == 1)
    axes = normalize_axes(axis, x.ndim, "squeeze")
    if x.ndim == 0:
        return reshape(x, ())
    if any(x.shape[a] != 1 for a in axes):
        raise ShapeError(f"squeeze: axis {axis} of shape {x.shape} is not of size 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def flip(x: Any, /, *, axis: int | tuple[int, ...] | None = None) -> Any:
    """``x`` with the order of elements reversed along ``axis`` (all axes by default)."""
    x = ensure_tensor(x)
    return view(FLIP, x, {"axis": normalize_axes(axis, x.ndim, "flip")})


def roll(x: Any, /, shift: int | tuple[int, ...], *, axis: int | tuple[int, ...] | None = None
         ) -> Any:
    """``x`` with elements shifted cyclically along ``axis`` (flattened when None; Array API
    ``roll``).

    Args:
        x: The tensor.
        shift: The shift, or one per axis (one shift is applied to every axis).
        axis: An axis, a tuple of axes, or None.

    Raises:
        ShapeError: When the shifts and the axes differ in number.
    """
    x = ensure_tensor(x)
    shift = as_shape(shift, "roll")  # (integers, as a shape's)
    if axis is None:
        if len(shift) != 1:
            raise ShapeError(f"roll: {len(shift)} shifts need as many axes, not axis=None")
        return apply_unary(ROLL, x, {"shift": shift[0], "axis": None})
    axes = tuple(axes_list(axis, x.ndim, "roll"))
    if len(shift) == 1 and len(axes) > 1:
        shift = shift * len(axes)
    if len(shift) != len(axes):
        raise ShapeError(f"roll: {len(shift)} shifts and {len(axes)} axes differ in number")
    if type(axis) is int or len(axes) == 1 and not hasattr(axis, "__iter__"):
        return apply_unary(ROLL, x, {"shift": shift[0], "axis": axes[0]})
    return apply_unary(ROLL, x, {"shift": shift, "axis": axes})


def moveaxis(x: Any, source: int | tuple[int, ...], destination: int | tuple[int, ...], /) -> Any:
    """``x`` with axes ``source`` moved to ``destination`` (Array API ``moveaxis``); the
    other axes keep their order.

    Raises:
        ShapeError: When ``source`` and ``destination`` differ in length.
        AxisError: When an axis is out of range or repeated.
    """
    x = ensure_tensor(x)
    src = axes_list(source, x.ndim, "moveaxis")
    dst = axes_list(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ShapeError(f"moveaxis: {len(src)} source and {len(dst)} destination axes")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise AxisError(f"moveaxis: repeated axis in source {source} or destination "
                        f"{destination}")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return permute_dims(x, tuple(order))


def tile(x: Any, repetitions: tuple[int, ...], /) -> Any:
    """``x`` repeated ``repetitions[i]`` times along each axis."""
    x = ensure_tensor(x)
    reps = as_shape(repetitions, "tile")
    n = max(len(reps), x.ndim)
    reps = (1,) * (n - len(reps)) + reps
    shape = (1,) * (n - x.ndim) + x.shape
    inter = tuple(v for r, s in zip(reps, shape, strict=True) for v in (1, s))
    full = tuple(v for r, s in zip(reps, shape, strict=True) for v in (r, s))
    return reshape(broadcast_to(reshape(x, inter), full),
                   tuple(r * s for r, s in zip(reps, shape, strict=True)))


def repeat(x: Any, repeats: Any, /, *, axis: int | None = None) -> Any:
    """Each element of ``x`` repeated ``repeats`` times (an int, or one count per element)
    along ``axis`` (of the flattened ``x`` when None)."""
    from .._tensor import Tensor
    x = ensure_tensor(x)
    if isinstance(repeats, Tensor):
        repeats = repeats.data
    elif not isinstance(repeats, int):
        repeats = x._backend.asarray(list(as_shape(repeats, "repeat")))
    if axis is not None:
        axis = check_axis(axis, x.ndim, "repeat")
    return apply_unary(REPEAT, x, {"repeats": repeats, "axis": axis})


def unstack(x: Any, /, *, axis: int = 0) -> tuple:
    """The slices of ``x`` along ``axis``, as a tuple."""
    x = ensure_tensor(x)
    axis = check_axis(axis, x.ndim, "unstack")
    return tuple(x[(slice(None),) * axis + (i, ...)] for i in range(x.shape[axis]))


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to (Array API ``broadcast_shapes``).

    Raises:
        ShapeError: When the shapes do not broadcast together.
    """
    n = max((len(s) for s in shapes), default=0)
    out = [1] * n
    for s in shapes:
        for i, d in enumerate(s, n - len(s)):
            if d != 1 and out[i] not in (1, d):
                raise ShapeError(f"broadcast: shapes {', '.join(map(str, shapes))} do not "
                                 f"broadcast together")
            out[i] = d if d != 1 else out[i]
    return tuple(out)


def broadcast_arrays(*arrays: Any) -> list:
    """The tensors broadcast to one shape."""
    arrays = [ensure_tensor(a) for a in arrays]
    shape = broadcast_shapes(*(a.shape for a in arrays))
    return [a if a.shape == shape else broadcast_to(a, shape) for a in arrays]
