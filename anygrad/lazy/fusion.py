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
    ``("tmp", j)``; the last entry is the result, of dtype ``out``.

    A *region* (see :func:`find_regions`) has several results: ``outs`` lists the body
    entries the kernel writes out, in order, and ``sums`` the reductions over all elements
    it computes on the way, ``(body entry, "sum" | "mean", keepdims)``, each a result after
    the ``outs``. Only fusers with ``regions = True`` are given such programs."""

    inputs: tuple
    body: tuple
    out: str
    outs: tuple = ()
    sums: tuple = ()


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


class Region(NamedTuple):
    """A fused region: its member nodes in order, the members read outside it (``outs``),
    and the reductions over all elements of a member it computes too (``sums``: ``(node,
    member, kind, keepdims)``)."""

    members: list
    outs: list
    sums: list


def find_regions(g: Any, fuser: Any, params: Any) -> list[Region]:
    """The graph's elementwise regions, for fusers that compute several results in one pass.

    A region is every elementwise node of one shape and float dtype at one *level*: a
    node's level is the highest of its inputs', plus one across an input of another kind
    that depends on some elementwise node (a reduction of the region, a matmul). So no path
    leaves a region and comes back into it (the kernel can run before everything reading
    it), while a backward's nodes that read the forward's values (and a seed, which depends
    on no region) join the forward's region: forward and gradient in one pass, no
    intermediate stored. A sum (or mean) over all elements of a member ends the region as
    a result of the same pass (for fusers with ``sums``). ``params(i)``: node ``i``'s
    parameters.
    """
    kind: dict[int, tuple] = {}
    for i in g.live:
        if g.flags[i] == 2:  # its tensor keeps its inputs for the engine: they must exist
            continue
        f = _float_dtype(g, i, fuser)
        if f is not None:
            kind[i] = (g.shapes[i], f)
    level: dict[int, int] = {}
    touched: dict[int, bool] = {}
    for i in g.live:
        c = kind.get(i)
        lv, t = 0, c is not None
        for r in g.crefs[i]:
            if type(r) is int and r >= 0:
                step = 0 if (c is not None and kind.get(r) == c) or not touched[r] else 1
                lv = max(lv, level[r] + step)
                t = t or touched[r]
        level[i], touched[i] = lv, t
    by_key: dict[tuple, list[int]] = {}
    for i in g.live:
        if i in kind:
            by_key.setdefault((kind[i], level[i]), []).append(i)
    sums: dict[tuple, list] = {}
    for i in g.live if getattr(fuser, "sums", True) else ():
        name = g.ops[i].name
        if name not in ("sum", "mean") or g.flags[i] == 2 or len(g.crefs[i]) != 1:
            continue
        (r,), p = g.crefs[i], params(i)
        if (type(r) is int and r >= 0 and r in kind and p.get("axis") is None
                and set(p) <= {"axis", "keepdims"} and g.dtypes[i] == kind[r][1]):
            sums.setdefault((kind[r], level[r]), []).append((i, r, name, bool(p.get("keepdims"))))
    regions = []
    for key, members in by_key.items():
        inside = set(members)
        ends = sums.get(key, [])
        summed = {s for s, *_ in ends}
        if len(members) + len(ends) < 2:
            continue
        outs = [m for m in members
                if g.flags[m] or any(c not in inside and c not in summed for c in g.uses[m])]
        regions.append(Region(members, outs, ends))
    return regions


def region_program(g: Any, region: Region) -> tuple[Program, tuple]:
    """The program of a region, and the plan's references to its inputs, in order."""
    prog, refs = program(g, region.members)
    pos = {m: j for j, m in enumerate(region.members)}
    return prog._replace(outs=tuple(pos[m] for m in region.outs),
                         sums=tuple((pos[r], kind, keep) for _, r, kind, keep in region.sums)
                         ), refs
