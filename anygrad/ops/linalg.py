"""Matrix products. ``matmul`` follows the Array API: 1-d operands are promoted to matrices
for the product and the added axis is dropped from the result."""

from __future__ import annotations

import builtins
import math
from typing import Any

from ..autograd.function import apply_unary, binary_fn, ensure_tensor
from ..autograd.op import Op
from ..errors import AxisError, ShapeError
from . import elementwise as ew
from . import reductions as red
from . import shape as sh
from .indexing import gathered
from .reductions import axes_list, check_axis, kept, normalize_axes
from .shape import as_shape


def _mT(xp: Any, a: Any) -> Any:
    return xp.matrix_transpose(a)


def _matmul_x(xp: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    if y.ndim == 1:  # g: (..., n) -> outer product with y
        return g[..., None] * y
    if x.ndim == 1:  # g: (..., m); y: (..., k, m)
        return xp.matmul(y, g[..., None])[..., 0]
    return xp.matmul(g, _mT(xp, y))


def _matmul_y(xp: Any, g: Any, out: Any, x: Any, y: Any) -> Any:
    if x.ndim == 1 and y.ndim == 1:  # a dot product: g is 0-d
        return g * x
    if x.ndim == 1:  # g: (..., m) -> outer product with x
        return x[:, None] * g[..., None, :]
    if y.ndim == 1:  # g: (..., n); x: (..., n, k)
        return xp.matmul(_mT(xp, x), g[..., None])[..., 0]
    return xp.matmul(_mT(xp, x), g)


MATMUL = Op("matmul", lambda xp, x, y: xp.matmul(x, y), (_matmul_x, _matmul_y))


matmul = binary_fn(MATMUL)
matmul.__name__ = matmul.__qualname__ = "matmul"
matmul.__doc__ = """Matrix product with broadcasting over leading (batch) axes; ``x @ y``
(Array API ``matmul``).

A 1-d ``x`` is a row vector and a 1-d ``y`` a column vector for the product; the added axis
is dropped from the result.

Args:
    x: A tensor of at least one dimension.
    y: A tensor of at least one dimension, on the same device.
    out: A tensor to write the result into, in place (NumPy's and MyGrad's ``out=``).

Returns:
    The product, or ``out``.

Raises:
    ShapeError: When an operand is 0-d or the inner dimensions differ.
    DeviceError: When ``x`` and ``y`` are on different devices.
"""


# -- products and norms, composed of differentiable ops --------------------------------------
def _is_complex(x: Any) -> bool:
    return x.dtype.kind == "c"


def tensordot(x1: Any, x2: Any, /, *, axes: int | tuple = 2) -> Any:
    """Sum of products over ``axes`` (the last ``axes`` of ``x1`` with the first of ``x2``,
    or two sequences of axes), as one matrix product (Array API ``tensordot``).

    Args:
        x1: The first tensor.
        x2: The second tensor.
        axes: How many axes to contract, or ``(axes of x1, axes of x2)``.

    Returns:
        The free axes of ``x1``, then those of ``x2``.

    Raises:
        AxisError: When ``axes`` is more than a tensor has, or an axis is out of range.
        TypeError: When ``axes`` is neither an integer nor two sequences.
        ShapeError: When the contracted axes differ in number or length.
    """
    x1, x2 = ensure_tensor(x1), ensure_tensor(x2)
    if type(axes) is int or hasattr(type(axes), "__index__") and not isinstance(axes, bool):
        axes = as_shape(axes, "tensordot")[0]
        if not 0 <= axes <= min(x1.ndim, x2.ndim):
            raise AxisError(f"tensordot: cannot contract {axes} axes of {x1.ndim}-d and "
                            f"{x2.ndim}-d tensors")
        a1 = tuple(range(x1.ndim - axes, x1.ndim))
        a2 = tuple(range(axes))
    else:
        if isinstance(axes, str) or len(axes) != 2:
            raise TypeError(f"tensordot: axes is an integer or two sequences of axes, "
                            f"not {axes!r}")
        a1 = tuple(axes_list(axes[0], x1.ndim, "tensordot"))
        a2 = tuple(axes_list(axes[1], x2.ndim, "tensordot"))
        if len(a1) != len(a2):
            raise ShapeError(f"tensordot: {len(a1)} and {len(a2)} axes to contract differ")
    f1 = tuple(i for i in range(x1.ndim) if i not in a1)
    f2 = tuple(i for i in range(x2.ndim) if i not in a2)
    for i, j in zip(a1, a2, strict=True):
        if x1.shape[i] != x2.shape[j]:
            raise ShapeError(f"tensordot: axis {i} of x1 {x1.shape} and axis {j} of x2 "
                             f"{x2.shape} differ in length")
    k = math.prod(x1.shape[i] for i in a1)
    free1, free2 = tuple(x1.shape[i] for i in f1), tuple(x2.shape[i] for i in f2)
    # explicit sizes, not -1: a -1 next to a 0 is ambiguous (empty tensors)
    m = sh.reshape(sh.permute_dims(x1, f1 + a1), (math.prod(free1), k))
    n = sh.reshape(sh.permute_dims(x2, a2 + f2), (k, math.prod(free2)))
    return sh.reshape(matmul(m, n), free1 + free2)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``sum(conj(x1) * x2, axis=axis)``, broadcasting the other axes; the vectors along
    ``axis`` (of the broadcast shape) must have one length, and the result keeps the
    promoted dtype of ``x1`` and ``x2`` (small integers are not widened; Array API
    ``vecdot``).

    Raises:
        ShapeError: When a tensor is 0-d, or the vectors differ in length.
        AxisError: When ``axis`` is out of range.
    """
    x1, x2 = ensure_tensor(x1), ensure_tensor(x2)
    ndim = builtins.max(x1.ndim, x2.ndim)
    if builtins.min(x1.ndim, x2.ndim) == 0:
        raise ShapeError(f"vecdot: needs tensors of at least one dimension, not shapes "
                         f"{x1.shape} and {x2.shape}")
    a = check_axis(axis, ndim, "vecdot")
    s1 = (1,) * (ndim - x1.ndim) + x1.shape
    s2 = (1,) * (ndim - x2.ndim) + x2.shape
    if s1[a] != s2[a]:
        raise ShapeError(f"vecdot: vectors of length {s1[a]} and {s2[a]} along axis {axis} "
                         f"(shapes {x1.shape} and {x2.shape})")
    if _is_complex(x1):
        x1 = ew.conj(x1)
    prod = ew.multiply(x1, x2)
    return red.sum(prod, axis=a - ndim, dtype=prod.dtype if prod.dtype.kind in "iu" else None)


def outer(x1: Any, x2: Any, /) -> Any:
    """The outer product of two 1-d tensors (Array API ``linalg.outer``): ``x1[i] * x2[j]``
    at ``[i, j]``."""
    return ew.multiply(sh.reshape(x1, (-1, 1)), sh.reshape(x2, (1, -1)))


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The cross product of 3-vectors along ``axis`` (Array API ``linalg.cross``),
    broadcasting the other axes."""
    x1, x2 = sh.broadcast_arrays(ensure_tensor(x1), ensure_tensor(x2))
    axis = check_axis(axis, x1.ndim, "cross")
    a = [x1[(slice(None),) * axis + (i, ...)] for i in range(3)]
    b = [x2[(slice(None),) * axis + (i, ...)] for i in range(3)]
    parts = [ew.subtract(ew.multiply(a[(i + 1) % 3], b[(i + 2) % 3]),
                         ew.multiply(a[(i + 2) % 3], b[(i + 1) % 3])) for i in range(3)]
    return sh.stack(parts, axis=axis)


def _diagonal(xp: Any, x: Any, *, offset: int) -> Any:
    return xp.linalg.diagonal(x, offset=offset)


DIAGONAL = Op("diagonal", _diagonal, (gathered(_diagonal),))


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The diagonal ``offset`` of the last two axes (Array API ``linalg.diagonal``: 0 the
    main one, positive above it, negative below)."""
    return apply_unary(DIAGONAL, x, {"offset": int(offset)})


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """The sum of the diagonal ``offset`` of the last two axes (Array API ``linalg.trace``),
    in ``dtype`` when given."""
    return red.sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


VECTOR_NORM = Op("vector_norm", lambda xp, x, *, axis, keepdims: xp.linalg.vector_norm(
    x, axis=axis, keepdims=keepdims), (lambda xp, g, out, x, *, axis, keepdims: _norm_grad(
        xp, g, out, x, axis),))


def _norm_grad(xp: Any, g: Any, out: Any, x: Any, axis: Any) -> Any:
    """d|x|/dx = x / |x|, taken as 0 at x = 0 (as PyTorch does)."""
    n = kept(xp, out, x, axis)
    return kept(xp, g, x, axis) * xp.where(n == 0, 0.0, x / xp.where(n == 0, 1.0, n))


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """The ``ord``-norm of vectors along ``axis`` (all elements when None; Array API
    ``linalg.vector_norm``).

    Args:
        x: The tensor.
        axis: An axis, a tuple of axes, or None for all of them.
        keepdims: Keep the reduced axes, with length 1.
        ord: 2 (Euclidean, the default), 1, 0 (the count of non-zero elements), inf,
            -inf, or any other p for ``sum(|x| ** p) ** (1 / p)``.

    Returns:
        The norms, real.
    """
    x = ensure_tensor(x)
    axes = normalize_axes(axis, x.ndim, "vector_norm")
    if ord == 2:
        return apply_unary(VECTOR_NORM, x, {"axis": axes, "keepdims": bool(keepdims)})
    a = ew.abs(x)
    if ord == math.inf:
        return red.max(a, axis=axes, keepdims=keepdims)
    if ord == -math.inf:
        return red.min(a, axis=axes, keepdims=keepdims)
    if ord == 0:
        return red.sum(sh.astype(ew.not_equal(x, 0), a.dtype), axis=axes, keepdims=keepdims)
    if ord == 1:
        return red.sum(a, axis=axes, keepdims=keepdims)
    return ew.pow(red.sum(ew.pow(a, ord), axis=axes, keepdims=keepdims), 1.0 / ord)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """The ``ord``-norm of the matrices in the last two axes: ``'fro'``, ``'nuc'``, 1, -1, 2,
    -2, inf, -inf (Array API ``linalg.matrix_norm``).

    Raises:
        ValueError: When ``ord`` is none of these.
    """
    from . import decompositions as dec
    if ord == "fro":
        return vector_norm(x, axis=(-2, -1), keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        s = dec.svdvals(x)
        out = red.sum(s, axis=-1) if ord == "nuc" else (
            red.max(s, axis=-1) if ord == 2 else red.min(s, axis=-1))
    elif ord in (1, -1, math.inf, -math.inf):
        sums = red.sum(ew.abs(x), axis=-2 if ord in (1, -1) else -1)
        out = red.max(sums, axis=-1) if ord in (1, math.inf) else red.min(sums, axis=-1)
    else:
        raise ValueError(f"matrix_norm: unsupported ord {ord!r}")
    return sh.expand_dims(sh.expand_dims(out, axis=-1), axis=-1) if keepdims else out


def norm(x: Any, /, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """NumPy's ``linalg.norm``: a vector norm, or a matrix norm over two axes.

    Args:
        x: The tensor.
        ord: The norm's order (default: 2 for vectors, ``'fro'`` for matrices).
        axis: One axis (vector norms), two (matrix norms), or None: without ``ord`` the
            vector norm of every element; with it, the matrix norm of a 2-d ``x`` and the
            vector norm of every element otherwise.
        keepdims: Keep the reduced axes, with length 1.
    """
    x = ensure_tensor(x)
    if axis is None and ord is None:
        return vector_norm(x, keepdims=keepdims)
    if axis is None:
        axis = tuple(range(x.ndim)) if x.ndim <= 2 else None
    if isinstance(axis, tuple) and len(axis) == 2:
        a = tuple(axes_list(axis, x.ndim, "norm"))
        moved = sh.moveaxis(x, a, (-2, -1))
        out = matrix_norm(moved, keepdims=False, ord="fro" if ord is None else ord)
        if keepdims:
            for i in sorted(a):
                out = sh.expand_dims(out, axis=i)
        return out
    return vector_norm(x, axis=axis, keepdims=keepdims, ord=2 if ord is None else ord)


def matrix_power(x: Any, n: int, /) -> Any:
    """``x`` to the integer power ``n`` (negative: of its inverse), by repeated squaring
    (Array API ``linalg.matrix_power``); the identity for ``n = 0``."""
    from . import decompositions as dec
    from .creation import eye
    x = ensure_tensor(x)
    if n < 0:
        x, n = dec.inv(x), -n
    result = None
    while n:
        if n & 1:
            result = x if result is None else matmul(result, x)
        n >>= 1
        if n:
            x = matmul(x, x)
    if result is None:
        e = eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return sh.broadcast_to(e, x.shape)
    return result
