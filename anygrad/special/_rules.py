"""The derivative rules of the special functions: one per input, ``rule(xp, g, out, *inputs)``.

Written in Array-API terms; the special functions a rule needs come from ``lib(xp)``, which
is ``anygrad.special`` itself when the rule records (``create_graph=True``), so second and
higher derivatives use this same table. Conventions at the edges follow ``torch.special``
where torch has the function (``xlogy``: no gradient to ``x`` where ``x == 0`` and ``y <= 0``).
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.op import Rule
from ._kernels import lib

_2_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_PI_2 = math.sqrt(math.pi) / 2
_SQRT_2PI = math.sqrt(2 * math.pi)


def _near_zero(xp: Any, x: Any) -> Any:
    """Where ``|x|`` is below the square root of the dtype's smallest normal number: there
    ``i1(x) / x`` is 1/2 to within rounding, while ``i1(x)`` itself may underflow."""
    return xp.abs(x) < xp.finfo(x.dtype).smallest_normal ** 0.5


def _i1(xp: Any, g: Any, out: Any, x: Any) -> Any:
    """i1' = i0 - i1 / x (1/2 at 0)."""
    zero = _near_zero(xp, x)
    return g * xp.where(zero, 0.5, lib(xp).i0(x) - out / xp.where(zero, 1.0, x))


def _i1e(xp: Any, g: Any, out: Any, x: Any) -> Any:
    """i1e' = i0e - i1e (sign(x) + 1 / x) (1/2 at 0)."""
    zero = _near_zero(xp, x)
    return g * xp.where(zero, 0.5,
                        lib(xp).i0e(x) - out * (xp.sign(x) + 1 / xp.where(zero, 1.0, x)))


def _digamma_diff(xp: Any, a: Any, b: Any) -> Any:
    """The derivative d betaln(a, b) / da = digamma(a) - digamma(a + b)."""
    sp = lib(xp)
    return sp.digamma(a) - sp.digamma(a + b)


def _pseudo_huber_s(xp: Any, delta: Any, r: Any) -> tuple[Any, Any]:
    """``sqrt(1 + (r / delta)**2)`` (1 where delta is 0) and where delta is 0."""
    zero = delta == 0
    t = r / xp.where(zero, 1.0, delta)
    return xp.sqrt(1 + t * t), zero


def _pseudo_huber_delta(xp: Any, g: Any, out: Any, delta: Any, r: Any) -> Any:
    """d/d delta = delta (s - 1)**2 / s, with s - 1 = (s**2 - 1) / (s + 1); |r| at delta 0."""
    s, zero = _pseudo_huber_s(xp, delta, r)
    m = (s * s - 1) / (s + 1)
    return g * xp.where(zero, xp.abs(r), delta * m * m / s)


def _pseudo_huber_r(xp: Any, g: Any, out: Any, delta: Any, r: Any) -> Any:
    s, zero = _pseudo_huber_s(xp, delta, r)
    return g * xp.where(zero, 0.0, r / s)


RULES: dict[str, tuple[Rule, ...]] = {
    # error functions and the normal distribution
    "erf": (lambda xp, g, out, x: g * _2_SQRT_PI * xp.exp(-x * x),),
    "erfc": (lambda xp, g, out, x: -g * _2_SQRT_PI * xp.exp(-x * x),),
    "erfcx": (lambda xp, g, out, x: g * (2 * x * out - _2_SQRT_PI),),
    "erfinv": (lambda xp, g, out, x: g * _SQRT_PI_2 * xp.exp(out * out),),
    "erfcinv": (lambda xp, g, out, x: -g * _SQRT_PI_2 * xp.exp(out * out),),
    "ndtr": (lambda xp, g, out, x: g * xp.exp(-x * x / 2) / _SQRT_2PI,),
    "ndtri": (lambda xp, g, out, x: g * _SQRT_2PI * xp.exp(out * out / 2),),
    "log_ndtr": (lambda xp, g, out, x: g * xp.exp(-x * x / 2 - out) / _SQRT_2PI,),
    # the logistic function
    "expit": (lambda xp, g, out, x: g * out * (1 - out),),
    "logit": (lambda xp, g, out, x: g / (x * (1 - x)),),
    "log_expit": (lambda xp, g, out, x: g * lib(xp).expit(-x),),
    # gamma and beta functions
    "gammaln": (lambda xp, g, out, x: g * lib(xp).digamma(x),),
    "gamma": (lambda xp, g, out, x: g * out * lib(xp).digamma(x),),
    "digamma": (lambda xp, g, out, x: g * lib(xp).polygamma(1, x),),
    "polygamma": (lambda xp, g, out, x, *, n: g * lib(xp).polygamma(n + 1, x),),
    "betaln": (lambda xp, g, out, a, b: g * _digamma_diff(xp, a, b),
               lambda xp, g, out, a, b: g * _digamma_diff(xp, b, a)),
    "beta": (lambda xp, g, out, a, b: g * out * _digamma_diff(xp, a, b),
             lambda xp, g, out, a, b: g * out * _digamma_diff(xp, b, a)),
    # modified Bessel functions (``e``: scaled by exp(-|x|))
    "i0": (lambda xp, g, out, x: g * lib(xp).i1(x),),
    "i0e": (lambda xp, g, out, x: g * (lib(xp).i1e(x) - xp.sign(x) * out),),
    "i1": (_i1,),
    "i1e": (_i1e,),
    # information theory
    "xlogy": (lambda xp, g, out, x, y: xp.where((x == 0) & (y <= 0), 0.0, lib(xp).xlogy(g, y)),
              lambda xp, g, out, x, y: g * x / y),
    "xlog1py": (lambda xp, g, out, x, y:
                xp.where((x == 0) & (y <= -1), 0.0, lib(xp).xlog1py(g, y)),
                lambda xp, g, out, x, y: g * x / (y + 1)),
    "entr": (lambda xp, g, out, x: -g * (1 + xp.log(x)),),
    "rel_entr": (lambda xp, g, out, x, y: g * (xp.log(x / y) + 1),
                 lambda xp, g, out, x, y: -g * x / y),
    "kl_div": (lambda xp, g, out, x, y: g * xp.log(x / y),
               lambda xp, g, out, x, y: g * (1 - x / y)),
    # robust losses: huber(delta, r), pseudo_huber(delta, r)
    "huber": (lambda xp, g, out, d, r: g * xp.where(xp.abs(r) > d, xp.abs(r) - d, 0.0),
              lambda xp, g, out, d, r: g * xp.where(xp.abs(r) <= d, r, d * xp.sign(r))),
    "pseudo_huber": (_pseudo_huber_delta, _pseudo_huber_r),
}
