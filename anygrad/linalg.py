"""``anygrad.linalg``: the Array API's linear-algebra extension, differentiable.

Decompositions follow the standard derivative rules (real matrices): see
``anygrad/ops/decompositions.py`` for the formulas and their assumptions (distinct eigen- and
singular values for ``eigh``/``svd`` vectors, tall or square matrices for ``qr``).
``eig``/``eigvals`` (2025.12) and ``matrix_rank`` return constants.
"""

from __future__ import annotations

from .ops.decompositions import (
    cholesky,
    det,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    inv,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
)
from .ops.linalg import (
    cross,
    diagonal,
    matmul,
    matrix_norm,
    matrix_power,
    norm,
    outer,
    tensordot,
    trace,
    vecdot,
    vector_norm,
)
from .ops.shape import matrix_transpose

__all__ = ["cholesky", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv",
           "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "norm",
           "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace",
           "vecdot", "vector_norm"]
