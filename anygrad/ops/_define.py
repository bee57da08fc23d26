"""Turning rule tables into ops and public functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.function import binary_fn, unary_fn
from ..autograd.op import Op, Rule

# What each generated function computes: the summary line of its docstring (unless the
# definition gives its own ``doc``).
_SUMMARIES = {
    "negative": "``-x``", "positive": "``+x``", "abs": "The absolute value ``|x|``",
    "exp": "The exponential ``e ** x``", "log": "The natural logarithm",
    "log1p": "``log(1 + x)``, accurate for small ``x``", "log2": "The base-2 logarithm",
    "log10": "The base-10 logarithm", "sqrt": "The square root", "square": "``x * x``",
    "reciprocal": "``1 / x``",
    "sin": "The sine (of radians)", "cos": "The cosine (of radians)",
    "tan": "The tangent (of radians)", "asin": "The inverse sine, in radians",
    "acos": "The inverse cosine, in radians", "atan": "The inverse tangent, in radians",
    "sinh": "The hyperbolic sine", "cosh": "The hyperbolic cosine",
    "tanh": "The hyperbolic tangent", "asinh": "The inverse hyperbolic sine",
    "acosh": "The inverse hyperbolic cosine", "atanh": "The inverse hyperbolic tangent",
    "sign": "The sign: -1, 0 or 1 (``x / |x|`` for complex ``x``)",
    "real": "The real part", "imag": "The imaginary part", "conj": "The complex conjugate",
    "floor": "``x`` rounded down to an integer", "ceil": "``x`` rounded up to an integer",
    "round": "``x`` rounded to the nearest integer (halves to even)",
    "trunc": "``x`` rounded towards zero", "isnan": "Whether ``x`` is NaN",
    "isinf": "Whether ``x`` is infinite",
    "isfinite": "Whether ``x`` is finite (neither infinite nor NaN)",
    "signbit": "Whether the sign bit of ``x`` is set (also for -0.0)",
    "logical_not": "Logical ``not x``", "bitwise_invert": "Bitwise NOT, ``~x``",
    "add": "``x + y``", "subtract": "``x - y``", "multiply": "``x * y``",
    "divide": "``x / y`` (true division)", "pow": "``x ** y``",
    "maximum": "The larger of ``x`` and ``y``", "minimum": "The smaller of ``x`` and ``y``",
    "atan2": "The angle of the point ``(y, x)`` in radians (``atan(x / y)``, in its quadrant)",
    "hypot": "``sqrt(x ** 2 + y ** 2)``, without overflow",
    "logaddexp": "``log(exp(x) + exp(y))``, without overflow",
    "copysign": "``|x|`` with the sign of ``y``", "floor_divide": "``x // y``",
    "remainder": "``x % y`` (with the sign of ``y``, as Python's ``%``)",
    "nextafter": "The next floating-point number after ``x`` towards ``y``",
    "logical_and": "Logical ``x and y``", "logical_or": "Logical ``x or y``",
    "logical_xor": "Logical exclusive or of ``x`` and ``y``",
    "bitwise_and": "Bitwise ``x & y``", "bitwise_or": "Bitwise ``x | y``",
    "bitwise_xor": "Bitwise ``x ^ y``", "bitwise_left_shift": "``x << y``",
    "bitwise_right_shift": "``x >> y``",
    "less": "``x < y``", "less_equal": "``x <= y``", "greater": "``x > y``",
    "greater_equal": "``x >= y``", "equal": "``x == y``", "not_equal": "``x != y``",
}


def _default_doc(name: str, arity: int, differentiable: bool) -> str:
    """The docstring of a generated function that was given none."""
    summary = _SUMMARIES.get(name, f"``{name}``")
    where = f" (Array API ``{name}``)" if name in _SUMMARIES else ""
    both = ", broadcasting both" if arity == 2 else ""
    grad = ("differentiable" if differentiable else
            "a constant (no gradient flows through it)")
    args = "    x: A tensor, an array or a Python number.\n"
    raises = ""
    if arity == 2:
        args += "    y: The same (a tensor on the same device as ``x``, if both are tensors).\n"
        raises = ("\nRaises:\n"
                  "    DeviceError: When ``x`` and ``y`` are tensors on different devices.\n")
    return (f"{summary}, element by element{both}{where}; {grad}.\n\n"
            f"Args:\n{args}"
            "    out: A tensor to write the result into, in place (NumPy's and MyGrad's\n"
            "        ``out=``).\n\n"
            "Returns:\n"
            f"    A new tensor, or ``out``.\n{raises}")


def _named(name: str, arity: int) -> Callable[..., Any]:
    """``forward(xp, *arrays)`` calling ``xp.<name>``."""
    if arity == 1:
        def forward(xp: Any, x: Any) -> Any:
            return getattr(xp, name)(x)
    else:
        def forward(xp: Any, x: Any, y: Any) -> Any:
            return getattr(xp, name)(x, y)
    return forward


def unary(name: str, rule: Rule | None, doc: str = "", keeps_dtype: bool = True
          ) -> Callable[[Any], Any]:
    """The public function of the elementwise op ``xp.<name>`` with derivative ``rule``
    (``keeps_dtype``: the result, and the rule's gradient, have the input's dtype; not so
    for ``abs``, ``real``, ``imag`` of complex numbers)."""
    op = Op(name, _named(name, 1), None if rule is None else (rule,), elementwise=True,
            same_shape=True, same_dtype=keeps_dtype, xp_name=name)
    return _public(unary_fn(op), op, doc or _default_doc(name, 1, rule is not None))


def binary(name: str, rule_x: Rule | None, rule_y: Rule | None = None, doc: str = "",
           forward: Callable[..., Any] | None = None) -> Callable[[Any, Any], Any]:
    """The public function of the elementwise op ``xp.<name>`` (or of ``forward(xp, x, y)``,
    which computes the same) with one rule per input."""
    vjps = None if rule_x is None else (rule_x, rule_y)
    op = Op(name, forward or _named(name, 2), vjps, elementwise=True,
            xp_name=None if forward else name)
    if vjps is not None:  # operands of the result's shape and dtype: rules keep both
        op.exact = op.exact_variant()
    return _public(binary_fn(op), op, doc or _default_doc(name, 2, rule_x is not None))


def _public(fn: Any, op: Op, doc: str) -> Any:
    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    fn.op = op
    return fn


def reflected(fn: Any) -> Any:
    """The reflected operator method of ``fn``: ``other <op> self``."""
    def method(self: Any, other: Any) -> Any:
        return fn(other, self)
    method.__name__ = f"__r{fn.__name__}__"
    return method


def wants_grad(requires_grad: bool | None, constant: bool | None, where: str) -> bool | None:
    """One answer from PyTorch's ``requires_grad=`` and MyGrad's ``constant=`` (its opposite).

    Args:
        requires_grad: PyTorch's argument, or None when not given.
        constant: MyGrad's argument, or None when not given.
        where: The function's name, for the error message.

    Returns:
        Whether a gradient is wanted, or None when neither is given.

    Raises:
        TypeError: When both are given and they contradict each other.
    """
    if constant is None:
        return None if requires_grad is None else bool(requires_grad)
    if requires_grad is not None and bool(requires_grad) == bool(constant):
        raise TypeError(f"{where}: requires_grad={requires_grad} contradicts "
                        f"constant={constant} (constant=True means requires_grad=False)")
    return not constant
