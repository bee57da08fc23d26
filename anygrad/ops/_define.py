"""Turning rule tables into ops and public functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.function import binary_fn, unary_fn
from ..autograd.op import Op, Rule


def _named(name: str, arity: int) -> Callable[..., Any]:
    """``forward(xp, *arrays)`` calling ``xp.<name>``."""
    if arity == 1:
        def forward(xp: Any, x: Any) -> Any:
            return getattr(xp, name)(x)
    else:
        def forward(xp: Any, x: Any, y: Any) -> Any:
            return getattr(xp, name)(x, y)
    return forward


def unary(name: str, rule: Rule | None, doc: str = "") -> Callable[[Any], Any]:
    """The public function of the elementwise op ``xp.<name>`` with derivative ``rule``."""
    op = Op(name, _named(name, 1), None if rule is None else (rule,), elementwise=True,
            same_shape=True, xp_name=name)
    return _public(unary_fn(op), op, doc or f"Elementwise ``{name}``.")


def binary(name: str, rule_x: Rule | None, rule_y: Rule | None = None, doc: str = "",
           forward: Callable[..., Any] | None = None) -> Callable[[Any, Any], Any]:
    """The public function of the elementwise op ``xp.<name>`` (or of ``forward(xp, x, y)``,
    which computes the same) with one rule per input."""
    vjps = None if rule_x is None else (rule_x, rule_y)
    op = Op(name, forward or _named(name, 2), vjps, elementwise=True,
            xp_name=None if forward else name)
    return _public(binary_fn(op), op, doc or f"Elementwise ``{name}``, broadcasting both.")


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
    """One answer from PyTorch's ``requires_grad=`` and MyGrad's ``constant=`` (its opposite):
    None when neither is given; a TypeError when both are and they contradict."""
    if constant is None:
        return None if requires_grad is None else bool(requires_grad)
    if requires_grad is not None and bool(requires_grad) == bool(constant):
        raise TypeError(f"{where}: requires_grad={requires_grad} contradicts "
                        f"constant={constant} (constant=True means requires_grad=False)")
    return not constant
