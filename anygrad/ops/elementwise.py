"""Elementwise math: one derivative rule per input, ``rule(xp, g, out, *inputs)``.

``g`` is the incoming gradient, ``out`` the op's result. Rules may return a gradient shaped
like the broadcast result: the engine sums it back to each input's shape and dtype.
"""

from __future__ import annotations

import math

from ._define import binary, unary

# -- unary ---------------------------------------------------------------------------------
negative = unary("negative", lambda xp, g, out, x: -g)
positive = unary("positive", lambda xp, g, out, x: g)
abs = unary("abs", lambda xp, g, out, x: g * xp.sign(x))
exp = unary("exp", lambda xp, g, out, x: g * out)
log = unary("log", lambda xp, g, out, x: g / x)
sqrt = unary("sqrt", lambda xp, g, out, x: g / (out * 2))
tanh = unary("tanh", lambda xp, g, out, x: g * (1 - out * out))
sin = unary("sin", lambda xp, g, out, x: g * xp.cos(x))
cos = unary("cos", lambda xp, g, out, x: -g * xp.sin(x))

# -- binary --------------------------------------------------------------------------------
add = binary("add", lambda xp, g, out, x, y: g,
                    lambda xp, g, out, x, y: g)
subtract = binary("subtract", lambda xp, g, out, x, y: g,
                              lambda xp, g, out, x, y: -g)
multiply = binary("multiply", lambda xp, g, out, x, y: g * y,
                              lambda xp, g, out, x, y: g * x)
divide = binary("divide", lambda xp, g, out, x, y: g / y,
                          lambda xp, g, out, x, y: -g * out / y)


def _pow_exponent(xp, g, out, x, y):
    """d(x**y)/dy = x**y log x, taken as 0 where x == 0 (as PyTorch does)."""
    if isinstance(x, int | float):
        return g * out * (math.log(x) if x > 0 else math.nan if x < 0 else 0.0)
    return g * xp.where(x == 0, 0.0, out * xp.log(x))


pow = binary("pow", lambda xp, g, out, x, y: g * y * x ** (y - 1), _pow_exponent)
# Ties share the gradient equally, as in PyTorch.
maximum = binary("maximum",
                 lambda xp, g, out, x, y: xp.where(x == y, g / 2, xp.where(x > y, g, 0.0)),
                 lambda xp, g, out, x, y: xp.where(x == y, g / 2, xp.where(x < y, g, 0.0)))
minimum = binary("minimum",
                 lambda xp, g, out, x, y: xp.where(x == y, g / 2, xp.where(x < y, g, 0.0)),
                 lambda xp, g, out, x, y: xp.where(x == y, g / 2, xp.where(x > y, g, 0.0)))

# -- comparisons: bool constants -----------------------------------------------------------
less = binary("less", None)
less_equal = binary("less_equal", None)
greater = binary("greater", None)
greater_equal = binary("greater_equal", None)
equal = binary("equal", None)
not_equal = binary("not_equal", None)
