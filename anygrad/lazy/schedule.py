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


def trace(roots: list[Node], backend: Any) -> tuple[list[Node], tuple, list]:
    """Every node ``roots`` need that has no value yet, inputs first (no recursion); the
    graph's signature (what its plan depends on); and its leaf arrays."""
    pos: dict[Node, int] = {}  # nodes hash by identity; their places, once sorted
    stack = list(roots)
    nodes = []
    while stack:
        node = stack.pop()
        if node in pos:
            continue
        pos[node] = 0
        nodes.append(node)
        for x in node.inputs:
            if type(x) is Node and x.value is None and x not in pos:
                stack.append(x)
    nodes.sort(key=_seq)
    leaves: list = []
    leaf_index: dict[int, int] = {}
    descs = []
    for i, node in enumerate(nodes):
        pos[node] = i
        refs = []
        for x in node.inputs:
            if type(x) is Node:
                if x.value is None:  # a node of this trace, so an earlier one
                    refs.append(pos[x])
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
        descs.append((node.op, node.pkey, tuple(refs), 0 if t is None else 2 if t._rg else 1))
    meta = tuple((tuple(a.shape), a.dtype) for a in leaves)
    return nodes, (backend, tuple(descs), meta), leaves


_seq = attrgetter("seq")


def realize(tensors: Iterable[Any]) -> None:
    """Compute every pending tensor among ``tensors`` (others are ignored), in one schedule
    per backend."""
    by_backend: dict[Any, list[Node]] = {}
    for t in tensors:
        if type(t) is LazyTensor:
            by_backend.setdefault(t._backend, []).append(t._args)
    for backend, roots in by_backend.items():
        nodes, signature, leaves = trace(roots, backend)
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
    """Run ``plan`` on this graph's ``nodes`` and ``leaves``, filling the tensors it holds."""
    xp = backend.xp
    vals: list[Any] = [None] * plan.n
    vals += leaves
    vals += plan.consts
    pool: dict[tuple, list] = {}
    for step in plan.steps:
        args = step.gather(vals)
        for r, _ in step.frees_before:
            pool.setdefault(plan_key(nodes[r]), []).append(vals[r])
            vals[r] = None
        free = pool.get(step.out_key) if step.out_key is not None else None
        try:
            if step.kernel is not None:
                value = step.kernel(args, free.pop() if free else None)
            elif free and (backend, nodes[step.node].op) not in _no_out:
                value = _into(free.pop(), nodes[step.node].op, xp, args, backend)
            elif step.call is not None:
                value = step.call(*args)
            else:
                node = nodes[step.node]
                value = node.op.forward(xp, *args, **node.params)
        except Exception as exc:
            raise op_error(nodes[step.node].op, args, exc) from exc
        vals[step.node] = value
        for i, saves in step.fills:  # the tensors of this value become ordinary Tensors
            node = nodes[i]
            t = node.ref()
            if t is not None and type(t) is LazyTensor and t._args is node:
                node.value = value
                node.inputs = ()  # a leaf now: let go of what it was computed from
                t.__class__ = Tensor
                _DATA.__set__(t, value)
                t._args = args if saves else None
        for r, recycle in step.frees:
            if recycle:
                pool.setdefault(plan_key(nodes[r]), []).append(vals[r])
            vals[r] = None


def _into(out: Any, op: Any, xp: Any, args: tuple, backend: Any) -> Any:
    """``op`` on ``args`` written into the recycled buffer ``out`` (or into a new one, once
    and for all, when its function refuses ``out=``)."""
    try:
        return getattr(xp, op.xp_name)(*args, out=out)
    except TypeError:
        _no_out.add((backend, op))
        return op.forward(xp, *args)


def plan_key(node: Node) -> tuple:
    return (node.shape, node.dtype)
