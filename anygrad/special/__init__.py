"""``anygrad.special``: SciPy's special functions, differentiable, on every backend.

Names and signatures are ``scipy.special``'s. Each function is an op whose forward runs the
backend's own library (SciPy on NumPy, ``cupyx.scipy.special`` on CuPy, ``torch.special``,
``jax.scipy.special``), else an exact Array-API formula, else SciPy on a host copy with the
result put back on the input's device (see ``docs/special.md``). Its derivative rules (in
``_rules``) are written in Array-API terms, so higher derivatives work too. With
``SCIPY_ARRAY_API=1``, ``scipy.special.erf(t)`` on a Tensor dispatches here.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import anygrad as _ops

from .._tensor import Tensor
from ..autograd.function import apply, apply_unary, ensure_tensor, unary_fn
from ..autograd.op import Op
from ..errors import DomainError, DTypeError
from ..ops import nn as _nn
from ..ops._define import _public
from ._kernels import kernel
from ._rules import RULES

__all__ = [
    "erf", "erfc", "erfcx", "erfinv", "erfcinv", "expit", "logit", "log_expit", "ndtr",
    "ndtri", "log_ndtr", "gammaln", "gamma", "digamma", "psi", "polygamma", "multigammaln",
    "betaln", "beta", "i0", "i0e", "i1", "i1e", "xlogy", "xlog1py", "entr", "rel_entr",
    "kl_div", "huber", "pseudo_huber", "sinc", "expm1", "log1p", "exp2", "cbrt", "softplus",
    "logsumexp", "softmax", "log_softmax",
]


def _unary(name: str, doc: str) -> Any:
    op = Op(name, kernel(name), RULES[name], elementwise=True, same_shape=True)
    return _public(unary_fn(op), op, doc)


def _operand(name: str, v: Any, like: Tensor | None) -> Tensor:
    """``v`` as a Tensor: a Python number takes ``like``'s float dtype and device."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, bool | int | float):
        if like is None:
            return ensure_tensor(float(v))
        dtype = like.dtype if _ops.isdtype(like.dtype, "real floating") else _ops.float64
        return _ops.asarray(v, dtype=dtype, device=like.device)
    if isinstance(v, str | bytes | complex) or v is None:
        raise DTypeError(f"{name}: takes real numbers or tensors, not {type(v).__name__}")
    return ensure_tensor(v)


def _binary(name: str, doc: str) -> Any:
    op = Op(name, kernel(name), RULES[name], elementwise=True)

    def fn(x: Any, y: Any, /) -> Tensor:
        first = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
        x = _operand(name, x, first)
        return apply(op, (x, _operand(name, y, x)))

    return _public(fn, op, doc)


# -- error functions and the normal distribution ---------------------------------------------
erf = _unary("erf", "The error function, ``2/sqrt(pi) * integral(exp(-t**2), 0, x)``.")
erfc = _unary("erfc", "``1 - erf(x)``, accurate where erf(x) is near 1.")
erfcx = _unary("erfcx", "The scaled complementary error function, ``exp(x**2) * erfc(x)``.")
erfinv = _unary("erfinv", "The inverse of ``erf`` on (-1, 1) (+-inf at +-1, NaN outside).")
erfcinv = _unary("erfcinv", "The inverse of ``erfc`` on (0, 2), accurate near 0.")
ndtr = _unary("ndtr", "The standard normal distribution function, ``(1 + erf(x/sqrt 2)) / 2``.")
ndtri = _unary("ndtri", "The inverse of ``ndtr`` (the normal quantile function).")
log_ndtr = _unary("log_ndtr", "``log(ndtr(x))``, accurate far into the lower tail.")

# -- the logistic function --------------------------------------------------------------------
expit = _unary("expit", "The logistic sigmoid, ``1 / (1 + exp(-x))``, without overflow.")
logit = _unary("logit", "The inverse of ``expit``: ``log(p / (1 - p))`` (-inf at 0, inf at 1).")
log_expit = _unary("log_expit", "``log(expit(x))``, accurate for large negative ``x``.")

# -- gamma and beta functions -----------------------------------------------------------------
gammaln = _unary("gammaln", "``log(abs(gamma(x)))``.")
gamma = _unary("gamma", "The gamma function (inf at 0 and NaN at negative integers).")
digamma = _unary("digamma", "The digamma function, the derivative of ``gammaln``.")
psi = digamma  # SciPy's other name for it (and the one SciPy's dispatch asks for)
_POLYGAMMA = Op("polygamma", lambda xp, x, *, n: kernel("polygamma")(xp, n, x),
                RULES["polygamma"], elementwise=True, same_shape=True)


def polygamma(n: int, x: Any) -> Tensor:
    """The ``n``-th derivative of ``digamma`` (``n`` a non-negative Python integer, or a 0-d
    integer tensor); differentiable in ``x``.

    Args:
        n: The order of the derivative (0: ``digamma`` itself).
        x: The points.

    Returns:
        ``polygamma(n, x)``, elementwise.

    Raises:
        DTypeError: ``n`` is not an integer.
        DomainError: ``n`` is negative.
    """
    n = _order("polygamma", n, "n")
    return apply_unary(_POLYGAMMA, ensure_tensor(x), {"n": n})


def multigammaln(a: Any, d: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``d`` (a positive integer):
    ``d(d-1)/4 log(pi) + sum_j gammaln(a - j/2)``. NaN where ``a <= (d - 1) / 2`` (SciPy
    raises there: a check of values that lazy mode and devices cannot make for free).

    Args:
        a: The points.
        d: The dimension (a positive Python integer, or a 0-d integer tensor).

    Returns:
        ``multigammaln(a, d)``, elementwise.

    Raises:
        DTypeError: ``d`` is not an integer.
        DomainError: ``d`` is below 1.
    """
    d = _order("multigammaln", d, "d")
    if d < 1:
        raise DomainError(f"multigammaln: d is a positive integer, not {d}")
    a = ensure_tensor(a)
    total = gammaln(a)
    for j in range(1, d):
        total = total + gammaln(a - j / 2)
    total = total + d * (d - 1) / 4 * math.log(math.pi)
    return _ops.where(a > (d - 1) / 2, total, math.nan)


def _order(name: str, n: Any, what: str) -> int:
    """``n`` as a non-negative Python int (a 0-d integer tensor is read)."""
    if isinstance(n, Tensor) and n.ndim == 0 and _ops.isdtype(n.dtype, "integral"):
        n = int(n.item())
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):
        raise DTypeError(f"{name}: {what} is an integer, not {n!r} ({type(n).__name__})")
    n = operator.index(n)
    if n < 0:
        raise DomainError(f"{name}: {what} is non-negative, not {n}")
    return n


betaln = _binary("betaln", "``log(abs(beta(a, b)))``; differentiable in both.")
beta = _binary("beta", "The beta function, ``gamma(a) gamma(b) / gamma(a + b)``.")

# -- modified Bessel functions ----------------------------------------------------------------
i0 = _unary("i0", "The modified Bessel function of the first kind, order 0.")
i0e = _unary("i0e", "``exp(-abs(x)) * i0(x)``, without overflow.")
i1 = _unary("i1", "The modified Bessel function of the first kind, order 1.")
i1e = _unary("i1e", "``exp(-abs(x)) * i1(x)``, without overflow.")

# -- information theory -----------------------------------------------------------------------
xlogy = _binary("xlogy", "``x * log(y)``, 0 where ``x == 0`` (unless y is NaN).")
xlog1py = _binary("xlog1py", "``x * log1p(y)``, 0 where ``x == 0`` (unless y is NaN).")
entr = _unary("entr", "``-x log(x)`` for x > 0, 0 at 0, -inf below.")
rel_entr = _binary("rel_entr", "``x log(x / y)`` for x, y > 0; 0 at x = 0 <= y; inf elsewhere.")
kl_div = _binary("kl_div", "``x log(x / y) - x + y`` for x, y > 0; ``y`` at x = 0 <= y; inf "
                           "elsewhere.")

# -- robust losses ----------------------------------------------------------------------------
huber = _binary("huber", "Huber's loss of the residual ``r``: ``r**2 / 2`` where ``|r| <= "
                         "delta``, else ``delta (|r| - delta / 2)``; inf for delta < 0.")
pseudo_huber = _binary("pseudo_huber", "``delta**2 (sqrt(1 + (r / delta)**2) - 1)``; inf for "
                                       "delta < 0.")

# -- elementary functions SciPy also exports (anygrad's own ops) ------------------------------
sinc, expm1, log1p, exp2, cbrt = _ops.sinc, _ops.expm1, _ops.log1p, _ops.exp2, _ops.cbrt
softplus = _nn.softplus


# -- reductions along axes --------------------------------------------------------------------
def logsumexp(a: Any, axis: int | tuple[int, ...] | None = None, b: Any = None,
              keepdims: bool = False, return_sign: bool = False) -> Any:
    """``log(sum(b * exp(a)))`` over ``axis`` without overflow (``b``: weights, broadcast
    against ``a``). With ``return_sign``: ``(log(abs(s)), sign(s))``; else NaN where the
    weighted sum ``s`` is negative.

    Args:
        a: The values.
        axis: The axes reduced (None: all).
        b: The weights; None: ones.
        keepdims: Whether the reduced axes stay, as size 1.
        return_sign: Whether to return the sign of the weighted sum too.

    Returns:
        The log of the (absolute) weighted sum; with ``return_sign``, the tuple of it and
        the sum's sign.
    """
    a = ensure_tensor(a)
    if b is None and not return_sign:
        return _ops.logsumexp(a, axis=axis, keepdims=keepdims)
    if b is None:
        b = _ops.ones_like(a)
    b = _operand("logsumexp", b, a)
    a, b = _ops.broadcast_arrays(a, b)
    m = _ops.max(_ops.where(b != 0, a.detach(), -math.inf), axis=axis, keepdims=True)
    m = _ops.where(_ops.isfinite(m), m, 0.0)  # (a shift that cancels: no gradient)
    s = _ops.sum(b * _ops.exp(a - m), axis=axis, keepdims=True)
    out = _ops.log(_ops.abs(s)) + m
    if not keepdims:
        out, s = _squeezed(out, axis), _squeezed(s, axis)
    if return_sign:
        return out, _ops.sign(s)
    return _ops.where(s < 0, math.nan, out)


def _squeezed(x: Tensor, axis: Any) -> Tensor:
    axes = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else axis
    return _ops.squeeze(x, axis=tuple(axes)) if axes else x


def softmax(x: Any, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` over ``axis`` (None: all elements), without overflow.

    Args:
        x: The values.
        axis: The axis (or axes) normalised over; None: all elements.

    Returns:
        The softmax, shaped like ``x``.
    """
    x = ensure_tensor(x)
    if isinstance(axis, int) and x.ndim:
        return _nn.softmax(x, axis=axis)
    return _ops.exp(log_softmax(x, axis=axis))


def log_softmax(x: Any, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """``log(softmax(x, axis))``, computed stably.

    Args:
        x: The values.
        axis: The axis (or axes) normalised over; None: all elements.

    Returns:
        The log-softmax, shaped like ``x``.
    """
    x = ensure_tensor(x)
    if isinstance(axis, int) and x.ndim:
        return _nn.log_softmax(x, axis=axis)
    return x - _ops.logsumexp(x, axis=axis, keepdims=True)
