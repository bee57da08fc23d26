"""Array-API formulas for the special functions that have an exact, stable one.

Each is ``formula(xp, *arrays)`` on float arrays of one namespace, with SciPy's values at the
domain edges. They run where the backend's library lacks the function (array-api-strict has
none; torch has no ``huber``, ``erfcinv``, ...). Functions with no such formula (``erf``,
``gammaln``, the Bessel functions, ...) fall back to SciPy on a host copy (see
``anygrad.backends.special.on_host``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

_INF = math.inf


def _nan_where(xp: Any, out: Any, *args: Any) -> Any:
    """``out``, NaN wherever an argument is NaN."""
    bad = xp.isnan(args[0])
    for a in args[1:]:
        bad = bad | xp.isnan(a)
    return xp.where(bad, math.nan, out)


def _positive(xp: Any, x: Any, mask: Any) -> Any:
    """``x`` where ``mask``, else 1: a safe argument for ``log`` and division."""
    return xp.where(mask, x, 1.0)


def expit(xp: Any, x: Any) -> Any:
    """``1 / (1 + exp(-x))``, through ``exp(-|x|)`` so that nothing overflows."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def logit(xp: Any, x: Any) -> Any:
    """``log(x / (1 - x))``."""
    return xp.log(x / (1 - x))


def log_expit(xp: Any, x: Any) -> Any:
    """``-(log1p(exp(-|x|)) + max(-x, 0))``: ``log(expit(x))`` without overflow."""
    return -(xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, xp.zeros_like(x)))


def _xlog(log: str) -> Callable[..., Any]:
    def formula(xp: Any, x: Any, y: Any) -> Any:
        zero = (x == 0) & ~xp.isnan(y)
        return xp.where(zero, 0.0, x * getattr(xp, log)(y))
    return formula


def entr(xp: Any, x: Any) -> Any:
    """``-x log(x)`` for x > 0, 0 at 0, -inf below (NaN stays NaN)."""
    pos = x > 0
    safe = _positive(xp, x, pos)
    edge = xp.where(x == 0, 0.0, xp.full_like(x, -_INF))
    return _nan_where(xp, xp.where(pos, -safe * xp.log(safe), edge), x)


def _entropy(xp: Any, x: Any, y: Any, kl: bool) -> Any:
    pos = (x > 0) & (y > 0)
    sx, sy = _positive(xp, x, pos), _positive(xp, y, pos)
    inside = sx * xp.log(sx / sy) + ((sy - sx) if kl else 0.0)
    edge = xp.where((x == 0) & (y >= 0), y if kl else 0.0, xp.full_like(y, _INF))
    return _nan_where(xp, xp.where(pos, inside, edge), x, y)


def huber(xp: Any, delta: Any, r: Any) -> Any:
    """``r**2 / 2`` where ``|r| <= delta``, else ``delta (|r| - delta / 2)``; inf for
    delta < 0 (NaN where an argument is NaN)."""
    a = xp.abs(r)
    out = xp.where(a <= delta, r * r / 2, delta * (a - delta / 2))
    return _nan_where(xp, xp.where(delta < 0, _INF, out), delta, r)


def pseudo_huber(xp: Any, delta: Any, r: Any) -> Any:
    """``delta**2 (sqrt(1 + (r/delta)**2) - 1)``, as ``r**2 / (s + 1)`` (no cancellation)."""
    zero = delta == 0
    s = xp.sqrt(1 + (r / xp.where(zero, 1.0, delta)) ** 2)
    out = xp.where(zero | (r == 0), 0.0, r * r / (s + 1))
    return _nan_where(xp, xp.where(delta < 0, _INF, out), delta, r)


def erfcinv(xp: Any, y: Any) -> Any:
    """``-ndtri(y / 2) / sqrt(2)``: accurate for tiny ``y``, where ``erfinv(1 - y)`` is not."""
    from ._kernels import kernel
    return -kernel("ndtri")(xp, y / 2) / math.sqrt(2.0)


FORMULAS: dict[str, Callable[..., Any]] = {
    "expit": expit, "logit": logit, "log_expit": log_expit,
    "xlogy": _xlog("log"), "xlog1py": _xlog("log1p"), "entr": entr,
    "rel_entr": lambda xp, x, y: _entropy(xp, x, y, kl=False),
    "kl_div": lambda xp, x, y: _entropy(xp, x, y, kl=True),
    "huber": huber, "pseudo_huber": pseudo_huber, "erfcinv": erfcinv,
}
