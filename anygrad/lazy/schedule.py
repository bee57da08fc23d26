"""Realizing deferred tensors: collect the graph they need, plan it (or reuse the plan), run.

Each needed node runs once; nodes no requested tensor needs are not visited; equal nodes are
merged; chains of elementwise ops run as one fused kernel where the backend has a fuser; a
result no tensor holds is released after its last reader and, on backends that write in
place, its buffer is reused for the next result of its shape and dtype.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from ..autograd.function import op_error
from ..tensor import Tensor
from . import cache
from .graph import _DATA, LazyTensor, Node
from .plan import Plan, build


def collect(roots: list[Node]) -> list[Node]:
    """Every node ``roots`` need that has no value yet, inputs first (no recursion)."""
    seen: set[Node] = set()  # nodes hash by identity
    stack = list(roots)
    nodes = []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        for x in node.inputs:
            if type(x) is Node and x.value is None and x not in seen:
                stack.append(x)
    nodes.sort(key=_seq)
    return nodes


_seq = attrgetter("seq")


def describe(nodes: list[Node], backend: Any) -> tuple[tuple, list]:
    """The graph's signature (what its plan depends on) and its leaf arrays."""
    index = {n: i for i, n in enumerate(nodes)}
    leaves: list = []
    leaf_index: dict[int, int] = {}
    descs = []
    for node in nodes:
        refs = []
        for x in node.inputs:
            if type(x) is Node:
                i = index.get(x)
                if i is not None:
                    refs.append(i)
                    continue
                x = x.value
            if hasattr(x, "shape"):
                j = leaf_index.get(id(x))
                if j is None:
                    j = leaf_index[id(x)] = len(leaves)
                    leaves.append(x)
                refs.append(-1 - j)
            else:
                refs.append((type(x), x))
        t = node.ref()
        flag = 0 if t is None else 2 if t._rg else 1
        descs.append((node.op, node.pkey, tuple(refs), flag))
    meta = tuple((tuple(a.shape), a.dtype) for a in leaves)
    return (backend, tuple(descs), meta), leaves


def realize(tensors: Iterable[Any]) -> None:
    """Compute every pending tensor among ``tensors`` (others are ignored), in one schedule
    per backend."""
    by_backend: dict[Any, list[Node]] = {}
    for t in tensors:
        if type(t) is LazyTensor:
            by_backend.setdefault(t._backend, []).append(t._args)
    for backend, roots in by_backend.items():
        nodes = collect(roots)
        signature, leaves = describe(nodes, backend)
        plan = cache.lookup(signature)
        if plan is None:
            plan = build(signature, nodes, backend)
            cache.store(signature, plan)
        if backend.context is not None:
            with backend.context:
                execute(plan, nodes, leaves, backend)
        else:
            execute(plan, nodes, leaves, backend)


_no_out: set = set()  # (backend, op) pairs whose function refused ``out=``


def execute(plan: Plan, nodes: list[Node], leaves: list, backend: Any) -> None:
    xp = backend.xp
    vals: list[Any] = [None] * plan.n
    vals += leaves
    vals += plan.consts
    pool: dict[tuple, list] = {}
    for step in plan.steps:
        args = [vals[k] for k in step.slots]
        for r, _ in step.frees_before:
            pool.setdefault(plan_key(nodes[r]), []).append(vals[r])
            vals[r] = None
        out = None
        if step.out_key is not None:
            free = pool.get(step.out_key)
            if free:
                out = free.pop()
        node = nodes[step.node]
        op = node.op
        try:
            if step.kernel is not None:
                value = step.kernel(args, out)
            elif out is not None and (backend, op) not in _no_out:
                try:
                    value = getattr(xp, op.xp_name)(*args, out=out)
                except TypeError:
                    _no_out.add((backend, op))
                    value = op.forward(xp, *args, **node.params)
            else:
                value = op.forward(xp, *args, **node.params)
        except Exception as exc:
            raise op_error(op, tuple(args), exc) from exc
        vals[step.node] = value
        for i, saves in step.fills:
            _fill(nodes[i], value, tuple(args) if saves else None)
        for r, recycle in step.frees:
            if recycle:
                pool.setdefault(plan_key(nodes[r]), []).append(vals[r])
            vals[r] = None


def plan_key(node: Node) -> tuple:
    return (node.shape, node.dtype)


def _fill(node: Node, value: Any, args: tuple | None) -> None:
    """Give the computed ``value`` to the node's tensor, which becomes an ordinary Tensor."""
    t = node.ref()
    if t is None or type(t) is not LazyTensor or t._args is not node:
        return
    node.value = value
    node.inputs = ()  # the node is a leaf now: let go of what it was computed from
    t.__class__ = Tensor
    _DATA.__set__(t, value)
    t._args = args
