"""Matrix functions and decompositions of ``anygrad.linalg``, with the standard derivative
rules (real matrices; batched over leading axes).

A decomposition with several outputs (``qr``, ``svd``, ``eigh``, ``slogdet``) is one op per
output, each recomputing the factorisation: the rules are linear in the outputs' gradients,
so the engine's sum of the per-output rules is the joint rule.
References: Giles (2008) "Extended collection of matrix derivative results"; Murray (2016)
for Cholesky; Townsend (2016) for the SVD; Liao et al. (2019) for QR.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..autograd.function import apply, apply_unary, describe, ensure_tensor
from ..autograd.op import Op
from ..errors import GraphError, LinAlgError, ShapeError
from ..lazy.abstract import LINALG


def _mT(xp: Any, a: Any) -> Any:
    return xp.matrix_transpose(a)


def _mm(xp: Any, *ms: Any) -> Any:
    out = ms[0]
    for m in ms[1:]:
        out = xp.matmul(out, m)
    return out


def _sym(xp: Any, a: Any) -> Any:
    return (a + _mT(xp, a)) / 2


def _gap_inverse(xp: Any, w: Any) -> Any:
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (and for equal values)."""
    d = w[..., None, :] - w[..., :, None]
    return 1 / xp.where(d == 0, xp.inf, d)


def _mat(v: Any) -> Any:
    return v[..., None, None]


# -- rules -----------------------------------------------------------------------------------
def _cholesky_grad(xp: Any, g: Any, out: Any, x: Any, *, upper: bool) -> Any:
    """A = L L^T: dA = sym(L^-T Phi(L^T gL) L^-1), Phi = lower triangle, diagonal halved."""
    L, gL = (_mT(xp, out), _mT(xp, g)) if upper else (out, g)
    p = _mm(xp, _mT(xp, L), gL)
    phi = (xp.tril(p) + xp.tril(p, k=-1)) / 2
    inv = xp.linalg.inv(L)
    return _sym(xp, _mm(xp, _mT(xp, inv), phi, inv))


def _qr_grad(xp: Any, x: Any, gQ: Any, gR: Any, mode: str) -> Any:
    """A = QR (m >= n, reduced): dA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q."""
    m, n = x.shape[-2:]
    if m < n or (mode == "complete" and m != n):
        raise GraphError(f"qr: the gradient needs a reduced QR of a tall or square matrix, "
                         f"not mode={mode!r} of shape {tuple(x.shape)}")
    Q, R = xp.linalg.qr(x)
    M = -_mm(xp, _mT(xp, gQ), Q) if gR is None else _mm(xp, R, _mT(xp, gR))
    base = xp.zeros_like(Q) if gQ is None else gQ
    tri = xp.tril(M) + _mT(xp, xp.tril(M, k=-1))
    return _mm(xp, base + _mm(xp, Q, tri), _mT(xp, xp.linalg.inv(R)))


def _eigh_grad(xp: Any, x: Any, gw: Any, gV: Any) -> Any:
    """A = V diag(w) V^T: dA = sym(V (diag(gw) + F * (V^T gV)) V^T), F = 1/(w_j - w_i)."""
    w, V = xp.linalg.eigh(x)
    if gw is not None:
        inner = xp.eye(w.shape[-1], dtype=w.dtype, device=w.device) * gw[..., None, :]
    else:
        inner = _gap_inverse(xp, w) * _mm(xp, _mT(xp, V), gV)
    return _sym(xp, _mm(xp, V, inner, _mT(xp, V)))


def _svd_grad(xp: Any, x: Any, gU: Any, gS: Any, gVh: Any, full: bool) -> Any:
    """Townsend (2016), one output's gradient at a time (the others' taken as zero)."""
    m, n = x.shape[-2:]
    if full and m != n and gS is None:
        raise GraphError(f"svd: gradients through U or Vh need full_matrices=False for a "
                         f"non-square matrix (shape {tuple(x.shape)})")
    U, s, Vh = xp.linalg.svd(x, full_matrices=False)
    if gS is not None:
        return _mm(xp, U * gS[..., None, :], Vh)
    V = _mT(xp, Vh)
    F = _gap_inverse(xp, s * s)
    if gU is not None:
        k = s.shape[-1]
        gU = gU[..., :, :k]
        J = _mm(xp, _mT(xp, U), gU)
        inner = _mm(xp, U, F * (J - _mT(xp, J)) * s[..., None, :], Vh)
        return inner + _mm(xp, (gU - _mm(xp, U, J)) / s[..., None, :], Vh)
    gV = _mT(xp, gVh[..., :s.shape[-1], :])
    K = _mm(xp, Vh, gV)
    inner = _mm(xp, U, s[..., :, None] * (F * (K - _mT(xp, K))), Vh)
    return inner + _mm(xp, U / s[..., None, :], _mT(xp, gV) - _mm(xp, _mT(xp, gV), V, Vh))


def _pinv_grad(xp: Any, g: Any, out: Any, x: Any, *, rtol: Any) -> Any:
    """Golub & Pereyra: dA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""
    P, Pt, Gt = out, _mT(xp, out), _mT(xp, g)
    left = _mm(xp, Gt, P, Pt)
    right = _mm(xp, Pt, P, Gt)
    return (-_mm(xp, Pt, g, Pt) + left - _mm(xp, x, P, left) + right - _mm(xp, right, P, x))


def _solve_x1(xp: Any, g: Any, out: Any, a: Any, b: Any) -> Any:
    gb = _solve_x2(xp, g, out, a, b)
    if b.ndim == 1:
        return -gb[..., :, None] * out[..., None, :]
    return -_mm(xp, gb, _mT(xp, out))


def _solve_x2(xp: Any, g: Any, out: Any, a: Any, b: Any) -> Any:
    if b.ndim == 1:
        return xp.linalg.solve(_mT(xp, a), g[..., None])[..., 0]
    return xp.linalg.solve(_mT(xp, a), g)


def _linalg(name: str) -> Any:
    def forward(xp: Any, *arrays: Any, **params: Any) -> Any:
        return getattr(xp.linalg, name)(*arrays, **params)
    return forward


INV = Op("inv", _linalg("inv"), (lambda xp, g, out, x: -_mm(xp, _mT(xp, out), g, _mT(xp, out)),))
DET = Op("det", _linalg("det"),
         (lambda xp, g, out, x: _mat(g * out) * _mT(xp, xp.linalg.inv(x)),))
LOGABSDET = Op("slogdet", lambda xp, x: xp.linalg.slogdet(x)[1],
               (lambda xp, g, out, x: _mat(g) * _mT(xp, xp.linalg.inv(x)),))
SIGNDET = Op("slogdet", lambda xp, x: xp.linalg.slogdet(x)[0])
SOLVE = Op("solve", _linalg("solve"), (_solve_x1, _solve_x2))
CHOLESKY = Op("cholesky", _linalg("cholesky"), (_cholesky_grad,))
PINV = Op("pinv", _linalg("pinv"), (_pinv_grad,))
MATRIX_RANK = Op("matrix_rank", _linalg("matrix_rank"))
QR_Q = Op("qr", lambda xp, x, *, mode: xp.linalg.qr(x, mode=mode)[0],
          (lambda xp, g, out, x, *, mode: _qr_grad(xp, x, g, None, mode),), abstract=LINALG["qr_q"])
QR_R = Op("qr", lambda xp, x, *, mode: xp.linalg.qr(x, mode=mode)[1],
          (lambda xp, g, out, x, *, mode: _qr_grad(xp, x, None, g, mode),), abstract=LINALG["qr_r"])
EIGH_W = Op("eigh", lambda xp, x: xp.linalg.eigh(x)[0],
            (lambda xp, g, out, x: _eigh_grad(xp, x, g, None),), abstract=LINALG["eigenvalues"])
EIGH_V = Op("eigh", lambda xp, x: xp.linalg.eigh(x)[1],
            (lambda xp, g, out, x: _eigh_grad(xp, x, None, g),), abstract=LINALG["eigenvectors"])
SVD_U = Op("svd", lambda xp, x, *, full: xp.linalg.svd(x, full_matrices=full)[0],
           (lambda xp, g, out, x, *, full: _svd_grad(xp, x, g, None, None, full),),
           abstract=LINALG["svd_u"])
SVD_S = Op("svd", lambda xp, x, *, full: xp.linalg.svdvals(x),
           (lambda xp, g, out, x, *, full: _svd_grad(xp, x, None, g, None, full),),
           abstract=LINALG["svd_s"])
SVD_VH = Op("svd", lambda xp, x, *, full: xp.linalg.svd(x, full_matrices=full)[2],
            (lambda xp, g, out, x, *, full: _svd_grad(xp, x, None, None, g, full),),
            abstract=LINALG["svd_vh"])


EIG_W = Op("eig", lambda xp, x: xp.linalg.eigvals(x), abstract=LINALG["eigenvalues"])
EIG_V = Op("eig", lambda xp, x: xp.linalg.eig(x)[1], abstract=LINALG["eigenvectors"])


# -- the libraries' linear-algebra failures as our LinAlgError --------------------------------
# NumPy (and array-api-strict, CuPy's raising paths) raise ``numpy.linalg.LinAlgError``,
# torch its ``torch._C._LinAlgError`` (a RuntimeError): each op's forward and rules
# translate them, named by class so that no array library is imported here; eager and lazy
# mode (which runs forwards later) both see the translated error.
_LINALG_ERROR_NAMES = frozenset({"LinAlgError", "_LinAlgError"})


def _guarded(name: str, fn: Any) -> Any:
    def run(xp: Any, *args: Any, **params: Any) -> Any:
        try:
            return fn(xp, *args, **params)
        except Exception as exc:
            if not any(c.__name__ in _LINALG_ERROR_NAMES for c in type(exc).__mro__):
                raise
            arrays = ", ".join(describe(a) for a in args if hasattr(a, "shape"))
            raise LinAlgError(f"{name}: {exc} (operands: {arrays})") from exc
    run.__name__ = getattr(fn, "__name__", name)
    return run


for _op in (INV, DET, LOGABSDET, SIGNDET, SOLVE, CHOLESKY, PINV, MATRIX_RANK, QR_Q, QR_R,
            EIGH_W, EIGH_V, SVD_U, SVD_S, SVD_VH, EIG_W, EIG_V):
    _op.forward = _guarded(_op.name, _op.forward)
    if _op.vjps is not None:
        _op.vjps = tuple(None if r is None else _guarded(_op.name, r) for r in _op.vjps)


class EigResult(NamedTuple):
    """What ``eig`` returns: ``(eigenvalues, eigenvectors)``."""

    eigenvalues: Any
    eigenvectors: Any


class SlogdetResult(NamedTuple):
    """What ``slogdet`` returns: ``(sign, logabsdet)``."""

    sign: Any
    logabsdet: Any


class QRResult(NamedTuple):
    """What ``qr`` returns: ``(Q, R)``."""

    Q: Any
    R: Any


class EighResult(NamedTuple):
    """What ``eigh`` returns: ``(eigenvalues, eigenvectors)``."""

    eigenvalues: Any
    eigenvectors: Any


class SVDResult(NamedTuple):
    """What ``svd`` returns: ``(U, S, Vh)``."""

    U: Any
    S: Any
    Vh: Any


def _square(x: Any, name: str) -> Any:
    x = ensure_tensor(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"{name}: needs square matrices in the last two axes, got shape "
                         f"{x.shape}")
    return x


def inv(x: Any, /) -> Any:
    """The inverse of each square matrix (Array API ``linalg.inv``).

    Raises:
        ShapeError: When the last two axes are not a square matrix.
        LinAlgError: When the backend finds a matrix singular.
    """
    return apply_unary(INV, _square(x, "inv"))


def det(x: Any, /) -> Any:
    """The determinant of each square matrix (Array API ``linalg.det``).

    Raises:
        ShapeError: When the last two axes are not a square matrix.
    """
    return apply_unary(DET, _square(x, "det"))


def slogdet(x: Any, /) -> SlogdetResult:
    """The sign (a constant) and the log of the absolute value of the determinant of each
    square matrix (Array API ``linalg.slogdet``).

    Returns:
        ``(sign, logabsdet)``.

    Raises:
        ShapeError: When the last two axes are not a square matrix.
    """
    x = _square(x, "slogdet")
    return SlogdetResult(apply_unary(SIGNDET, x), apply_unary(LOGABSDET, x))


def solve(x1: Any, x2: Any, /) -> Any:
    """The solution ``X`` of ``x1 @ X = x2`` (``x2`` a vector when 1-d; Array API
    ``linalg.solve``).

    Raises:
        LinAlgError: When the backend finds ``x1`` singular.
    """
    return apply(SOLVE, (x1, x2))


def cholesky(x: Any, /, *, upper: bool = False) -> Any:
    """The Cholesky factor of each symmetric positive-definite matrix (Array API
    ``linalg.cholesky``).

    Args:
        x: The matrices (the last two axes).
        upper: Return the upper factor ``U`` (``x = U^T U``) instead of the lower ``L``
            (``x = L L^T``).

    Raises:
        ShapeError: When the last two axes are not a square matrix.
        LinAlgError: When the backend finds a matrix not positive definite.
    """
    return apply_unary(CHOLESKY, _square(x, "cholesky"), {"upper": bool(upper)})


def qr(x: Any, /, *, mode: str = "reduced") -> QRResult:
    """The QR factorisation (Array API ``linalg.qr``); differentiable for tall or square
    matrices.

    Args:
        x: The matrices (the last two axes).
        mode: ``"reduced"`` (``Q`` has ``min(M, N)`` columns) or ``"complete"``.

    Returns:
        ``(Q, R)`` with ``x = Q @ R``.
    """
    x = ensure_tensor(x)
    return QRResult(apply_unary(QR_Q, x, {"mode": mode}), apply_unary(QR_R, x, {"mode": mode}))


def eigh(x: Any, /) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix (Array API
    ``linalg.eigh``); the gradient assumes distinct eigenvalues and a symmetric input.

    Returns:
        ``(eigenvalues, eigenvectors)``, the eigenvectors as columns.

    Raises:
        ShapeError: When the last two axes are not a square matrix.
    """
    x = _square(x, "eigh")
    return EighResult(apply_unary(EIGH_W, x), apply_unary(EIGH_V, x))


def eigvalsh(x: Any, /) -> Any:
    """The eigenvalues (ascending) of each symmetric matrix (Array API ``linalg.eigvalsh``).

    Raises:
        ShapeError: When the last two axes are not a square matrix.
    """
    return apply_unary(EIGH_W, _square(x, "eigvalsh"))


def eig(x: Any, /) -> EigResult:
    """Eigenvalues and eigenvectors of a general matrix, complex (2025.12; constants: no
    gradient).

    Returns:
        ``(eigenvalues, eigenvectors)``, the eigenvectors as columns.

    Raises:
        ShapeError: When the last two axes are not a square matrix.
    """
    x = _square(x, "eig")
    return EigResult(apply_unary(EIG_W, x), apply_unary(EIG_V, x))


def eigvals(x: Any, /) -> Any:
    """Eigenvalues of a general matrix, complex (2025.12; a constant).

    Raises:
        ShapeError: When the last two axes are not a square matrix.
    """
    return apply_unary(EIG_W, _square(x, "eigvals"))


def svd(x: Any, /, *, full_matrices: bool = True) -> SVDResult:
    """``U, S, Vh`` with ``x = U diag(S) Vh`` (Array API ``linalg.svd``); gradients through
    ``U``/``Vh`` assume distinct non-zero singular values (and ``full_matrices=False`` for
    non-square ``x``).

    Args:
        x: The matrices (the last two axes).
        full_matrices: Square ``U`` and ``Vh``; False keeps ``min(M, N)`` columns of ``U``
            and rows of ``Vh``.

    Returns:
        ``(U, S, Vh)``, ``S`` descending.
    """
    x = ensure_tensor(x)
    p = {"full": bool(full_matrices)}
    return SVDResult(apply_unary(SVD_U, x, p), apply_unary(SVD_S, x, p),
                     apply_unary(SVD_VH, x, p))


def svdvals(x: Any, /) -> Any:
    """The singular values of each matrix, descending (Array API ``linalg.svdvals``)."""
    return apply_unary(SVD_S, x, {"full": False})


def pinv(x: Any, /, *, rtol: Any = None) -> Any:
    """The Moore-Penrose pseudo-inverse of each matrix (Array API ``linalg.pinv``); the
    gradient assumes constant rank.

    Args:
        x: The matrices (the last two axes).
        rtol: Singular values below ``rtol`` times the largest count as zero (default: the
            backend's, from the dtype's epsilon and the matrix size).
    """
    return apply_unary(PINV, x, {"rtol": rtol})


def matrix_rank(x: Any, /, *, rtol: Any = None) -> Any:
    """The rank of each matrix (a constant; Array API ``linalg.matrix_rank``).

    Args:
        x: The matrices (the last two axes).
        rtol: Singular values below ``rtol`` times the largest count as zero (default: the
            backend's, from the dtype's epsilon and the matrix size).
    """
    return apply_unary(MATRIX_RANK, x, {"rtol": rtol})
