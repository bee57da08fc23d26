"""Matrix products. ``matmul`` follows the Array API: 1-d operands are promoted to matrices
for the product and the added axis is dropped from the result."""

from __future__ import annotations

from typing import Any

from ..autograd.function import binary_fn
from ..autograd.op import Op


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
matmul.__doc__ = "Matrix product with broadcasting over leading (batch) axes; ``x1 @ x2``."
