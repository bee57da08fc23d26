"""Elementwise math: one derivative rule per input, ``rule(xp, g, out, *inputs)``.

``g`` is the incoming gradient, ``out`` the op's result. Rules may return a gradient shaped
like the broadcast result: the engine sums it back to each input's shape and dtype.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.function import apply, binary_fn, unary_fn
from ..autograd.op import Op, Rule, Variadic, passes
from ..errors import DomainError
from ._define import _public, binary, unary

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _zero(xp: Any, g: Any, out: Any, *inputs: Any) -> Any:
    """The derivative of a piecewise-constant function: zero almost everywhere."""
    return xp.zeros_like(g)

# -- unary ---------------------------------------------------------------------------------
negative = unary("negative", lambda xp, g, out, x: -g)
positive = unary("positive", passes)
abs = unary("abs", lambda xp, g, out, x: g * xp.sign(x), keeps_dtype=False)  # complex x
exp = unary("exp", lambda xp, g, out, x: g * out)
log = unary("log", lambda xp, g, out, x: g / x)
sqrt = unary("sqrt", lambda xp, g, out, x: g / (out * 2))
tanh = unary("tanh", lambda xp, g, out, x: g - g * out * out)  # (no Python number: 25% faster)
sin = unary("sin", lambda xp, g, out, x: g * xp.cos(x))
cos = unary("cos", lambda xp, g, out, x: -g * xp.sin(x))
tan = unary("tan", lambda xp, g, out, x: g * (1 + out * out))
asin = unary("asin", lambda xp, g, out, x: g / xp.sqrt(1 - x * x))
acos = unary("acos", lambda xp, g, out, x: -g / xp.sqrt(1 - x * x))
atan = unary("atan", lambda xp, g, out, x: g / (1 + x * x))
sinh = unary("sinh", lambda xp, g, out, x: g * xp.cosh(x))
cosh = unary("cosh", lambda xp, g, out, x: g * xp.sinh(x))
asinh = unary("asinh", lambda xp, g, out, x: g / xp.sqrt(x * x + 1))
acosh = unary("acosh", lambda xp, g, out, x: g / xp.sqrt(x * x - 1))
atanh = unary("atanh", lambda xp, g, out, x: g / (1 - x * x))


_KINDS: dict[str, dict[Any, frozenset]] = {"complex floating": {}, "real floating": {}}


def _of_kind(xp: Any, dtype: Any, kind: str) -> bool:
    """``xp.isdtype(dtype, kind)`` for ``"complex floating"`` or ``"real floating"``, from a
    set of the namespace's dtypes made once (``isdtype`` costs more than a small op)."""
    sets = _KINDS[kind]
    found = sets.get(xp)
    if found is None:
        names = ("complex64", "complex128") if kind[0] == "c" else ("float16", "float32",
                                                                     "float64")
        natives = [getattr(xp, n) for n in names if hasattr(xp, n)]
        found = sets[xp] = frozenset(natives) | {xp.empty(0, dtype=d).dtype for d in natives}
    return dtype in found


def _expm1(xp: Any, x: Any) -> Any:
    """``exp(x) - 1``, accurate near 0, with the standard's special cases for complex ``x``
    too (NumPy's complex expm1 misses several: ``expm1(-0+0j)``, infinities, NaNs)."""
    if not _of_kind(xp, x.dtype, "complex floating"):
        return xp.expm1(x)
    a, b = xp.real(x), xp.imag(x)
    s = xp.sin(b * 0.5)
    e = xp.exp(a)
    # Re(exp(a) cis(b) - 1) = expm1(a) - 2 exp(a) sin(b/2)^2: no cancellation near 0, and
    # exactly -1 at a = -inf; ``0 - ...`` keeps expm1(-0 + 0j) at +0, as the standard asks
    re = (0.0 - 2 * e * s * s) + xp.expm1(a)
    im = e * xp.sin(b)
    parts = xp.astype(re, x.dtype) + xp.astype(im, x.dtype) * 1j  # exact for finite parts
    parts = xp.where((im == 0) & xp.signbit(im), xp.conj(parts), parts)  # -0 imaginary part
    # infinite or NaN parts: exp(x) - 1, whose special cases agree with the standard's
    return xp.where(xp.isfinite(re) & xp.isfinite(im), parts, xp.exp(x) - 1)


_EXPM1 = Op("expm1", _expm1, (lambda xp, g, out, x: g * (out + 1),), elementwise=True,
            same_shape=True, same_dtype=True)
expm1 = _public(unary_fn(_EXPM1), _EXPM1, "Elementwise ``exp(x) - 1``, accurate near 0.")
log1p = unary("log1p", lambda xp, g, out, x: g / (x + 1))
log2 = unary("log2", lambda xp, g, out, x: g / (x * _LN2))
log10 = unary("log10", lambda xp, g, out, x: g / (x * _LN10))
square = unary("square", lambda xp, g, out, x: g * (x + x))
reciprocal = unary("reciprocal", lambda xp, g, out, x: -g * out * out)
sign = unary("sign", _zero)
# complex parts, with PyTorch's convention: a gradient is dL/dRe + i dL/dIm
real = unary("real", passes, keeps_dtype=False)  # the engine casts g to x's complex dtype
imag = unary("imag", lambda xp, g, out, x: xp.astype(g, x.dtype) * 1j
             if xp.isdtype(x.dtype, "complex floating") else xp.zeros_like(g), keeps_dtype=False)
conj = unary("conj", lambda xp, g, out, x: xp.conj(g))
conj.op.complex_exact = True

# -- unary, piecewise constant or boolean: constants -----------------------------------------
floor = unary("floor", None)
ceil = unary("ceil", None)
round = unary("round", None)
trunc = unary("trunc", None)
isnan = unary("isnan", None)
isinf = unary("isinf", None)
isfinite = unary("isfinite", None)
signbit = unary("signbit", None)
logical_not = unary("logical_not", None)
bitwise_invert = unary("bitwise_invert", None)

# -- binary --------------------------------------------------------------------------------
add = binary("add", passes, passes)
subtract = binary("subtract", passes, lambda xp, g, out, x, y: -g)
multiply = binary("multiply", lambda xp, g, out, x, y: g * y,
                              lambda xp, g, out, x, y: g * x)
divide = binary("divide", lambda xp, g, out, x, y: g / y,
                          lambda xp, g, out, x, y: -g * out / y)


def _pow_exponent(xp, g, out, x, y):
    """d(x**y)/dy = x**y log x, taken as 0 where x == 0 (as PyTorch does)."""
    if isinstance(x, int | float):
        return g * out * (math.log(x) if x > 0 else math.nan if x < 0 else 0.0)
    return g * xp.where(x == 0, 0.0, out * xp.log(x))


def _pow(xp, x, y):
    """``xp.pow``, with a cube multiplied out: NumPy's pow takes ten times as long as two
    products, which round at most an ulp apart from it."""
    ty = type(y)
    if ty is int or ty is float:
        if y == 3 and hasattr(x, "dtype") and x.dtype != xp.bool:
            return x * x * x
        if ty is int and y < 0 and hasattr(x, "dtype") and xp.isdtype(x.dtype, "integral"):
            _negative_power(x, y)
    elif (hasattr(y, "dtype") and xp.isdtype(y.dtype, "signed integer")
          and (type(x) is int or hasattr(x, "dtype") and xp.isdtype(x.dtype, "integral"))
          and bool(xp.any(y < 0))):
        _negative_power(x, y)
    return xp.pow(x, y)


def _negative_power(x: Any, y: Any) -> None:
    what = f"{x.dtype}{list(x.shape)}" if hasattr(x, "dtype") else repr(x)
    power = repr(y) if type(y) is int else "a negative element of an integer exponent"
    raise DomainError(f"pow: an integer ({what}) to a negative integer power ({power}) is not "
                      f"an integer; cast to a float dtype first")


pow = binary("pow", lambda xp, g, out, x, y: g * y * x ** (y - 1), _pow_exponent,
             forward=_pow)
# Ties share the gradient equally, as in PyTorch: (sign(x - y) + 1) / 2 is 1 where x wins,
# 0 where it loses, 1/2 at a tie (3x faster than nested wheres; ReLU as maximum(x, 0) is hot).
maximum = binary("maximum",
                 lambda xp, g, out, x, y: g * ((xp.sign(x - y) + 1) * 0.5),
                 lambda xp, g, out, x, y: g * ((1 - xp.sign(x - y)) * 0.5))
minimum = binary("minimum",
                 lambda xp, g, out, x, y: g * ((1 - xp.sign(x - y)) * 0.5),
                 lambda xp, g, out, x, y: g * ((xp.sign(x - y) + 1) * 0.5))

atan2 = binary("atan2", lambda xp, g, out, x, y: g * y / (x * x + y * y),
                       lambda xp, g, out, x, y: -g * x / (x * x + y * y))
hypot = binary("hypot", lambda xp, g, out, x, y: g * x / out,
                        lambda xp, g, out, x, y: g * y / out)
logaddexp = binary("logaddexp", lambda xp, g, out, x, y: g * xp.exp(x - out),
                                lambda xp, g, out, x, y: g * xp.exp(y - out))
copysign = binary("copysign", lambda xp, g, out, x, y: g * xp.sign(x) * xp.sign(out), _zero)


def _floor_divide(xp: Any, x: Any, y: Any) -> Any:
    """``xp.floor_divide`` with the standard's infinities: an infinite by a finite number is
    infinite and a finite by an infinite number is a signed zero, both ``x / y`` (NumPy,
    going through ``fmod``, gives NaN and -1)."""
    out = xp.floor_divide(x, y)
    if not _of_kind(xp, out.dtype, "real floating"):
        return out
    inf_x = xp.isinf(x) if hasattr(x, "dtype") else math.isinf(x)  # (or a Python number)
    inf_y = xp.isinf(y) if hasattr(y, "dtype") else math.isinf(y)
    return xp.where(inf_x != inf_y, x / y, out)


floor_divide = binary("floor_divide", _zero, _zero, forward=_floor_divide)
remainder = binary("remainder", passes,
                                lambda xp, g, out, x, y: -g * xp.round((x - out) / y))


def _clip_part(i: int, xp: Any, g: Any, out: Any, x: Any, *bounds: Any, which: tuple) -> Any:
    """The gradient of input ``i``: x gets g where it was not clipped (ties with a bound
    included); a bound gets g where it strictly won. Mask arithmetic, not ``where`` (which
    branches per element on NumPy)."""
    if i == 0:
        return g * xp.astype(out == x, g.dtype)
    bound = bounds[i - 1]
    won = (x < bound) if which[i - 1] == "min" else (x > bound)
    return g * xp.astype(won, g.dtype)


CLIP = Op("clip", lambda xp, x, *bounds, which: xp.clip(x, **dict(zip(which, bounds, strict=True))),
          Variadic(_clip_part), elementwise=True)


def clip(x: Any, /, min: Any = None, max: Any = None) -> Any:
    """``x`` limited to ``[min, max]`` (either may be None, a number, or a tensor)."""
    given = tuple((k, v) for k, v in (("min", min), ("max", max)) if v is not None)
    return apply(CLIP, (x, *(v for _, v in given)), {"which": tuple(k for k, _ in given)})


# -- binary, constants ---------------------------------------------------------------------
nextafter = binary("nextafter", None)
logical_and = binary("logical_and", None)
logical_or = binary("logical_or", None)
logical_xor = binary("logical_xor", None)
bitwise_and = binary("bitwise_and", None)
bitwise_or = binary("bitwise_or", None)
bitwise_xor = binary("bitwise_xor", None)
bitwise_left_shift = binary("bitwise_left_shift", None)
bitwise_right_shift = binary("bitwise_right_shift", None)

# -- comparisons: bool constants -----------------------------------------------------------
less = binary("less", None)
less_equal = binary("less_equal", None)
greater = binary("greater", None)
greater_equal = binary("greater_equal", None)
equal = binary("equal", None)
not_equal = binary("not_equal", None)


# -- NumPy's and MyGrad's functions beyond the Array API -------------------------------------
# The standard has no ``xp.cbrt``, ``xp.fmod``, ...: each forward uses the namespace's own
# function where it has one (NumPy, CuPy, torch), else an exact composition of standard ones.
def _float(xp: Any, x: Any) -> Any:
    """``x``, cast to float64 when integer or bool (as NumPy's float ufuncs do)."""
    return x if xp.isdtype(x.dtype, ("real floating", "complex floating")) \
        else xp.astype(x, xp.float64)


def _arrays(xp: Any, x: Any, y: Any) -> tuple[Any, Any]:
    """Both operands as arrays: a Python scalar becomes one like the other operand, of its
    dtype (float64 for a float with integers)."""
    def like(s: Any, a: Any) -> Any:
        dtype = a.dtype
        if isinstance(s, float) and not xp.isdtype(dtype, ("real floating", "complex floating")):
            dtype = xp.float64
        return xp.full_like(a, s, dtype=dtype)
    if not hasattr(x, "dtype"):
        x = like(x, y)
    elif not hasattr(y, "dtype"):
        y = like(y, x)
    return x, y


def _native(name: str, fallback: Any, cast: bool = True) -> Any:
    """``forward(xp, *arrays)``: ``xp.<name>`` where the namespace has it, else ``fallback``
    (inputs made floats first when ``cast``)."""
    def forward(xp: Any, *args: Any) -> Any:
        if len(args) == 2:
            args = _arrays(xp, *args)
        if cast:
            args = tuple(_float(xp, a) for a in args)
        fn = getattr(xp, name, None)
        return fn(*args) if fn is not None else fallback(xp, *args)
    return forward


def _formula(name: str, forward: Any, *rules: Rule, doc: str) -> Any:
    """The public function of an elementwise op computed by ``forward(xp, *arrays)``."""
    op = Op(name, forward, rules, elementwise=True, same_shape=len(rules) == 1)
    return _public((unary_fn if len(rules) == 1 else binary_fn)(op), op, doc)


def _cbrt(xp: Any, x: Any) -> Any:
    r = xp.abs(x) ** (1 / 3)
    return xp.where(x < 0, -r, r)


def _fmod(xp: Any, x: Any, y: Any) -> Any:
    r = xp.remainder(xp.abs(x), xp.abs(y))
    return xp.copysign(r, x) if xp.isdtype(r.dtype, "real floating") else xp.where(x < 0, -r, r)


def _sinc(xp: Any, x: Any) -> Any:
    px = math.pi * xp.where(x == 0, 1.0, x)
    return xp.where(x == 0, 1.0, xp.sin(px) / px)


def _sinc_rule(xp: Any, g: Any, out: Any, x: Any) -> Any:
    """The derivative of sinc: (cos(pi x) - sinc(x)) / x, and 0 at x = 0."""
    safe = xp.where(x == 0, 1.0, x)
    return g * xp.where(x == 0, 0.0, (xp.cos(math.pi * safe) - out) / safe)


cbrt = _formula("cbrt", _native("cbrt", _cbrt), lambda xp, g, out, x: g / (3 * out * out),
                doc="The cube root, real for negative ``x``.")
sinc = _formula("sinc", _native("sinc", _sinc), _sinc_rule,
                doc="NumPy's normalized sinc: ``sin(pi x) / (pi x)``, 1 at 0.")
fmod = _formula("fmod", _native("fmod", _fmod, cast=False), passes,
                lambda xp, g, out, x, y: -g * xp.round((x - out) / y),
                doc="The C remainder of ``x / y``: the sign of ``x`` (``remainder``: of ``y``).")
logaddexp2 = _formula(
    "logaddexp2",
    _native("logaddexp2", lambda xp, x, y: xp.logaddexp(x * _LN2, y * _LN2) / _LN2),
    lambda xp, g, out, x, y: g * xp.exp((x - out) * _LN2),
    lambda xp, g, out, x, y: g * xp.exp((y - out) * _LN2),
    doc="``log2(2**x + 2**y)``, without overflow.")

# MyGrad's reciprocal trigonometric and hyperbolic functions; the inverses are those of 1/x
sec = _formula("sec", lambda xp, x: 1 / xp.cos(_float(xp, x)),
               lambda xp, g, out, x: g * out * xp.tan(x), doc="The secant, ``1 / cos(x)``.")
csc = _formula("csc", lambda xp, x: 1 / xp.sin(_float(xp, x)),
               lambda xp, g, out, x: -g * out / xp.tan(x), doc="The cosecant, ``1 / sin(x)``.")
cot = _formula("cot", lambda xp, x: 1 / xp.tan(_float(xp, x)),
               lambda xp, g, out, x: -g * (1 + out * out), doc="The cotangent, ``1 / tan(x)``.")
arcsec = _formula("arcsec", lambda xp, x: xp.acos(1 / _float(xp, x)),
                  lambda xp, g, out, x: g / (xp.abs(x) * xp.sqrt(x * x - 1)),
                  doc="The inverse secant, ``arccos(1 / x)``.")
arccsc = _formula("arccsc", lambda xp, x: xp.asin(1 / _float(xp, x)),
                  lambda xp, g, out, x: -g / (xp.abs(x) * xp.sqrt(x * x - 1)),
                  doc="The inverse cosecant, ``arcsin(1 / x)``.")
arccot = _formula("arccot", lambda xp, x: xp.atan(1 / _float(xp, x)),
                  lambda xp, g, out, x: -g / (1 + x * x),
                  doc="The inverse cotangent, ``arctan(1 / x)`` (in (-pi/2, pi/2]).")
sech = _formula("sech", lambda xp, x: 1 / xp.cosh(_float(xp, x)),
                lambda xp, g, out, x: -g * out * xp.tanh(x),
                doc="The hyperbolic secant, ``1 / cosh(x)``.")
csch = _formula("csch", lambda xp, x: 1 / xp.sinh(_float(xp, x)),
                lambda xp, g, out, x: -g * out / xp.tanh(x),
                doc="The hyperbolic cosecant, ``1 / sinh(x)``.")
coth = _formula("coth", lambda xp, x: 1 / xp.tanh(_float(xp, x)),
                lambda xp, g, out, x: g * (1 - out * out),
                doc="The hyperbolic cotangent, ``1 / tanh(x)``.")
arccoth = _formula("arccoth", lambda xp, x: xp.atanh(1 / _float(xp, x)),
                   lambda xp, g, out, x: g / (1 - x * x),
                   doc="The inverse hyperbolic cotangent, ``arctanh(1 / x)``.")
arccsch = _formula("arccsch", lambda xp, x: xp.asinh(1 / _float(xp, x)),
                   lambda xp, g, out, x: -g / (xp.abs(x) * xp.sqrt(1 + x * x)),
                   doc="The inverse hyperbolic cosecant, ``arcsinh(1 / x)``.")
