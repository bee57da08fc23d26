"""Fusion planning, independent of any backend: which elementwise ops become one kernel.

A group is a tree of elementwise ops of one float dtype (bool inside, for comparisons and
``where`` conditions) whose inner results nobody else reads: each inner op has a single
consumer, in the group, with the group's shape; its tensor is gone (no user holds it) and no
backward needs it. The group's body is a :class:`Program`, which the backend's fuser turns
into a kernel (blockwise NumPy or numexpr on the CPU, a CuPy ``ElementwiseKernel`` on GPUs).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

COMPARISONS = frozenset({"less", "less_equal", "greater", "greater_equal", "equal", "not_equal"})
MAX_OPS = 48  # numexpr keeps every input and temporary in registers of its virtual machine


class Program(NamedTuple):
    """A fused kernel's body. ``inputs``: ``("array", dtype)`` or ``("scalar", dtype)`` for
    each input; ``body``: ``(op name, args, dtype)`` in order, each arg ``("in", k)`` or
    ``("tmp", j)``; the last entry is the result, of dtype ``out``."""

    inputs: tuple
    body: tuple
    out: str


def _fusable_op(op: Any, fuser: Any) -> bool:
    return (op.elementwise or op.name == "where") and op.name in fuser.ops


def find_groups(g: Any, fuser: Any) -> dict[int, list[int]]:
    """Root node -> its group's nodes in order, for groups of two ops or more.

    ``g`` is the plan's view of the graph (see ``plan.GraphView``).
    """
    floats: dict[int, str | None] = {}
    for i in g.live:
        floats[i] = _float_dtype(g, i, fuser)
    root_of: dict[int, int] = {}
    count: dict[int, int] = {}
    for i in reversed(g.live):
        f = floats[i]
        if f is None:
            continue
        uses = g.uses[i]
        if len(uses) == 1 and g.flags[i] == 0:
            (c, n), = uses.items()
            r = root_of.get(c)
            if (n == 1 and r is not None and floats[c] == f and g.flags[c] != 2
                    and g.shapes[i] == g.shapes[r] and count[r] < MAX_OPS):
                root_of[i] = r
                count[r] += 1
                continue
        if g.dtypes[i] == f:  # a group's result is a float array, not a comparison's bool
            root_of[i] = i
            count[i] = 1
    groups: dict[int, list[int]] = {}
    for i in g.live:
        r = root_of.get(i)
        if r is not None and count[r] > 1:
            groups.setdefault(r, []).append(i)
    return groups


def _float_dtype(g: Any, i: int, fuser: Any) -> str | None:
    """The one float dtype node ``i`` computes in, when a fuser can take it; else None."""
    if not _fusable_op(g.ops[i], fuser) or math.prod(g.shapes[i]) < fuser.min_size:
        return None
    names = [g.dtypes[i]]
    for r in g.crefs[i]:
        if type(r) is tuple:  # a Python scalar
            if type(r[1]) not in (int, float):
                return None
        else:
            names.append(g.dtype_of_ref(r))
    found = {n for n in names if n != "bool"}
    if len(found) != 1:
        return None
    (f,) = found
    return f if f in fuser.dtypes else None


def program(g: Any, members: list[int]) -> tuple[Program, tuple]:
    """The program of a group, and the plan's references to its inputs, in order."""
    out = g.dtypes[members[-1]]
    pos = {m: j for j, m in enumerate(members)}
    refs: list = []
    index: dict = {}
    body = []
    for m in members:
        args = []
        for r in g.crefs[m]:
            if type(r) is int and r in pos:
                args.append(("tmp", pos[r]))
                continue
            k = index.get(r)
            if k is None:
                k = index[r] = len(refs)
                refs.append(r)
            args.append(("in", k))
        body.append((g.ops[m].name, tuple(args), g.dtypes[m]))
    inputs = tuple(("scalar", out) if type(r) is tuple else ("array", g.dtype_of_ref(r))
                   for r in refs)
    return Program(inputs, tuple(body), out), tuple(refs)
