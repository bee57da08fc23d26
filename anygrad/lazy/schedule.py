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

from .._tensor import Tensor
from ..autograd.function import op_error
from . import cache
from .graph import _DATA, _NUMBERS, LazyTensor, Node
from .plan import Plan, build
from .tracing import TRACER


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
            if type(x) not in _NUMBERS and hasattr(x, "shape"):
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


runs = 0  # how many pending tensors were asked for (a compiled backward must ask for none)


def settle(t: LazyTensor, value: Any, saved: Any = None) -> None:
    """Make the deferred ``t`` an ordinary Tensor holding ``value`` (and ``saved`` inputs);
    while ``anygrad.compile`` traces, a tensor that sees its value being read."""
    tracer = TRACER.get()
    t.__class__ = Tensor if tracer is None else tracer.watched(t)
    _DATA.__set__(t, value)
    t._args = saved


def realize(tensors: Iterable[Any]) -> None:
    """Compute every pending tensor among ``tensors`` (others are ignored), in one schedule
    per backend."""
    global runs
    tracer = TRACER.get()
    if tracer is not None:
        tensors = tuple(tensors)
        tracer.requested(tensors)
    by_backend: dict[Any, list[Node]] = {}
    for t in tensors:
        if type(t) is LazyTensor:
            runs += 1
            node = t._args
            if node.value is not None:  # known already (see ``graph.known``)
                settle(t, node.value)
            else:
                by_backend.setdefault(t._backend, []).append(node)
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


def execute(plan: Plan, nodes: list[Node | None], leaves: list, backend: Any) -> list:
    """Run ``plan`` on this graph's ``nodes`` and ``leaves``, filling the tensors it holds;
    return the run's values (see ``Plan``). A node None is one the plan alone knows (a
    compiled backward's): it runs with the parameters it was planned with, and fills nothing.

    Raises:
        ShapeError: A step's function raised ValueError (or a shape error of torch's),
            reworded to name the op and its operands.
        DTypeError: It raised TypeError or NotImplementedError (or a type error of
            torch's), reworded likewise.
        Exception: Any other error of a step's function, of its own type where it can be
            reworded so (an anygrad error as it was).
    """
    xp = backend.xp
    vals: list[Any] = [None] * plan.n
    vals += leaves
    vals += plan.consts
    pool: dict[tuple, list] = {}
    for step in plan.steps:
        args = step.gather(vals)
        free = pool.get(step.out_key) if step.out_key is not None else None
        op = step.op
        try:
            if step.kernel is not None:
                value = step.kernel(args, free.pop() if free else None)
            elif free and step.call is not None and (backend, op) not in _no_out:
                value = _into(free.pop(), step.call, op, xp, args, backend)
            elif step.call is not None:
                value = step.call(*args)
            else:  # the node's own parameters: equal keys may hold other arrays (see Unkeyed)
                node = nodes[step.node]
                value = op.forward(xp, *args, **(step.params if node is None else node.params))
        except Exception as exc:
            raise op_error(op, args, exc) from exc
        if step.outs is None:
            vals[step.node] = value
        else:  # a region's kernel: several results
            for o, v in zip(step.outs, value, strict=True):
                vals[o] = v
        for i, saves, o in step.fills:  # the tensors of these values become ordinary Tensors
            node = nodes[i]
            t = None if node is None else node.ref()
            if t is not None and type(t) is LazyTensor and t._args is node:
                node.value = vals[o]
                node.inputs = ()  # a leaf now: let go of what it was computed from
                settle(t, node.value, args if saves else None)
        for r, key in step.frees:
            if key is not None:
                pool.setdefault(key, []).append(vals[r])
            vals[r] = None
    tracer = TRACER.get()
    if tracer is not None:
        tracer.executed(plan, leaves, vals, backend)
    if check is not None:
        check(plan, leaves, vals, backend)
    return vals


#: Called after every run as ``check(plan, leaves, values, backend)`` when set (the test
#: suite's compile mode: see ``anygrad.compiler.testing``).
check: Any = None


def _into(out: Any, call: Any, op: Any, xp: Any, args: tuple, backend: Any) -> Any:
    """``call`` (``xp.<op>``) on ``args`` written into the recycled buffer ``out`` (or into a
    new one, once and for all, when it refuses ``out=``)."""
    try:
        return call(*args, out=out)
    except TypeError:
        _no_out.add((backend, op))
        return op.forward(xp, *args)
