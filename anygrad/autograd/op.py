"""Ops and graph nodes.

An :class:`Op` is a primitive: a forward function ``forward(xp, *arrays, **params)`` and one
derivative rule per input, ``rule(xp, g, out, *arrays, **params) -> gradient``, written in
Array-API terms. Broadcasting, dtype and accumulation are the engine's business, not the
rules'. A Tensor that an op computed records the op, its inputs and parameters: the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import copy
from functools import partial
from typing import Any

Rule = Callable[..., Any]


def passes(xp: Any, g: Any, out: Any, *args: Any, **params: Any) -> Any:
    """The rule of an input whose gradient is the incoming one, unchanged (``add``, views'
    bases): the engine passes ``g`` on without calling it."""
    return g


class Variadic:
    """The rules of an op with any number of inputs: ``rule(i, xp, g, out, *arrays)``."""

    __slots__ = ("rule",)

    def __init__(self, rule: Rule):
        self.rule = rule

    def __getitem__(self, i: int) -> Rule:
        return partial(self.rule, i)


class Op:
    """A primitive op: its forward, its derivative rules, and (for lazy mode) its shape rule.

    ``vjps`` is None for ops whose output is a constant (comparisons, argmax, ...); an entry
    is None for an input the op is not differentiable in (``where``'s condition).
    """

    __slots__ = ("name", "forward", "vjps", "abstract", "elementwise", "same_shape",
                 "same_dtype", "checks", "exact", "xp_name", "complex_exact", "reads_out")

    def __init__(self, name: str, forward: Callable[..., Any],
                 vjps: Sequence[Rule | None] | Variadic | None = None, *,
                 abstract: Callable[..., Any] | None = None, elementwise: bool = False,
                 same_shape: bool = False, same_dtype: bool = False,
                 xp_name: str | None = None,
                 complex_exact: bool = False, reads_out: bool = True):
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps) if isinstance(vjps, list | tuple) else vjps
        self.abstract = abstract
        self.elementwise = elementwise
        #: every rule returns a gradient shaped like its input (the engine need not check)
        self.same_shape = same_shape
        #: the result and every rule's gradient have the inputs' dtype (the engine need not
        #: cast, and knows an input is real when the result is)
        self.same_dtype = same_dtype
        #: what the engine checks of each rule's result: 2 shape and dtype, 1 dtype, 0 nothing
        self.checks = 0 if same_shape and same_dtype else 1 if same_shape else 2
        #: this op for inputs of one shape and dtype (the engine checks nothing), which
        #: ``binary_fn`` records when it sees them: facts known at forward time (or None)
        self.exact: Op | None = None
        #: the forward is exactly ``getattr(xp, xp_name)(*arrays)`` (lets the hot path skip
        #: a Python frame)
        self.xp_name = xp_name
        #: the rules already give complex gradients in PyTorch's convention (conj, FFTs);
        #: for the others, written as for real numbers (g * f'(z)), the engine conjugates
        #: around them on complex outputs: conj(rule(conj(g))) = g * conj(f'(z))
        self.complex_exact = complex_exact
        #: a rule may read the op's output ``out`` (False: an in-place write into the result
        #: need not keep its old value for backward; see ``autograd.views``)
        self.reads_out = reads_out

    def exact_variant(self) -> Op:
        """The same op, marked for inputs of the result's shape and dtype (see ``exact``)."""
        variant = copy(self)
        variant.same_shape = variant.same_dtype = True
        variant.checks = 0
        variant.exact = variant
        return variant

    def __repr__(self) -> str:
        return f"<op {self.name}>"
