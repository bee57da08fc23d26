"""Fused elementwise kernels on the CPU with numexpr (optional: ``pip install anygrad[lazy]``).

numexpr evaluates a whole expression block by block, in cache-sized chunks and on several
threads, so a chain of elementwise ops reads its inputs once and writes one result, with no
temporaries the size of the arrays. Python scalars go in as NumPy scalars of the kernel's
dtype: numexpr would compute ``float32_array * 2.0`` in float64.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

TEMPLATES = {
    "add": "({0} + {1})", "subtract": "({0} - {1})", "multiply": "({0} * {1})",
    "divide": "({0} / {1})", "pow": "({0} ** {1})", "negative": "(-{0})", "positive": "({0})",
    "square": "({0} * {0})", "abs": "abs({0})",
    "exp": "exp({0})", "expm1": "expm1({0})", "log": "log({0})", "log1p": "log1p({0})",
    "log10": "log10({0})", "sqrt": "sqrt({0})",
    "sin": "sin({0})", "cos": "cos({0})", "tan": "tan({0})", "asin": "arcsin({0})",
    "acos": "arccos({0})", "atan": "arctan({0})", "atan2": "arctan2({0}, {1})",
    "sinh": "sinh({0})", "cosh": "cosh({0})", "tanh": "tanh({0})", "asinh": "arcsinh({0})",
    "acosh": "arccosh({0})", "atanh": "arctanh({0})",
    "less": "({0} < {1})", "less_equal": "({0} <= {1})", "greater": "({0} > {1})",
    "greater_equal": "({0} >= {1})", "equal": "({0} == {1})", "not_equal": "({0} != {1})",
    "where": "where({0}, {1}, {2})",
}


def expression(program: Any) -> str:
    """The numexpr expression of a fused program (inputs named ``i0``, ``i1``, ...)."""
    exprs: list[str] = []
    for name, args, _ in program.body:
        exprs.append(TEMPLATES[name].format(*(f"i{k}" if kind == "in" else exprs[k]
                                              for kind, k in args)))
    return exprs[-1]


class NumexprFuser:
    """Compiles fused programs to numexpr calls; ``compile`` gives None for a program whose
    numexpr result would not have the dtype eager mode gives.

    Args:
        ne: The ``numexpr`` module.
    """

    ops = frozenset(TEMPLATES)
    dtypes = frozenset({"float32", "float64"})
    min_size = 1 << 14  # below this, numexpr's fixed cost is more than the memory it saves

    def __init__(self, ne: Any):
        self.ne = ne
        self._kernels: dict[Any, Callable | None] = {}

    def compile(self, program: Any) -> Callable | None:
        """The kernel of ``program`` (cached per program), or None.

        Args:
            program: A fused program (``anygrad.lazy.fusion.Program``).

        Returns:
            ``kernel(args, out=None)`` on the program's inputs, returning its result (written
            into ``out`` when given); None for a region (several results) or when a trial
            run on one-element inputs fails or gives another dtype than eager mode's.
        """
        if program.outs or program.sums:  # one result per numexpr call
            return None
        try:
            return self._kernels[program]
        except KeyError:
            pass
        kernel = self._build(program)
        self._kernels[program] = kernel
        return kernel

    def _build(self, program: Any) -> Callable | None:
        evaluate = self.ne.evaluate
        expr = expression(program)
        names = [f"i{k}" for k in range(len(program.inputs))]
        scalar_types = [np.dtype(dtype).type if kind == "scalar" else None
                        for kind, dtype in program.inputs]
        out_dtype = np.dtype(program.out)

        def kernel(args: list, out: Any = None) -> Any:
            local = {name: a if cast is None else cast(a)
                     for name, a, cast in zip(names, args, scalar_types, strict=True)}
            return evaluate(expr, local_dict=local, out=out)

        trial = [np.ones(1, dtype) if kind == "array" else 1 for kind, dtype in program.inputs]
        try:
            with np.errstate(all="ignore"):
                ok = kernel(trial).dtype == out_dtype
        except Exception:
            ok = False
        return kernel if ok else None


@functools.cache
def fuser() -> NumexprFuser | None:
    """The numexpr fuser, or None when numexpr is not installed."""
    try:
        import numexpr
    except ImportError:
        return None
    return NumexprFuser(numexpr)
