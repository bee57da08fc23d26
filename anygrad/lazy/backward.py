"""``backward()`` in lazy mode: the gradients join the forward graph, in one plan, made once.

The derivative rules are written against ``xp``; given anygrad itself as ``xp`` and deferred
tensors as values, they record the backward pass as more deferred nodes. Forward and backward
are then one graph with one plan: backward temporaries reuse the forward's freed buffers, and
elementwise chains fuse across both. The plan is cached under the forward graph's signature
and the tensors that receive gradients, so the next step of a training loop runs it directly:
no rule, no engine bookkeeping, no recording of the backward pass.

Forward results only the graph holds (not the user) are released once backward has read
them, as the engine frees them; the tensors the user holds get their values.

A graph takes eager mode's engine instead (after computing its forward) when it continues
into tensors computed eagerly (or overwritten in place), when a rule fails on deferred
tensors, or when a rule needs values rather than shapes (the plan could not be reused): that
verdict is cached too, so each step pays only the cheap check.
"""

from __future__ import annotations

import math
import sys
import weakref
from typing import Any

from .. import modes
from .._tensor import Tensor
from ..autograd.engine import LOCK, keep_dtype, unbroadcast
from ..autograd.engine import backward as engine_backward
from . import cache, schedule
from .graph import LazyTensor, Node, holder, known
from .keys import Unkeyed
from .plan import FRESH, PURE, Plan, build
from .tracing import TRACER

_EAGER = "eager"  # the cache's answer for graphs whose backward runs on the engine
_FOLD_MAX = 1 << 12  # elements: larger results that read only constants are computed each step


def _counter() -> tuple[Any, int]:
    """CPython's reference count, and what it adds for ``count(ref())`` over the holders
    (the call's own argument: 1, or 0 where the interpreter lends it); (None, 0) elsewhere,
    where every tensor counts as held."""
    count = getattr(sys, "getrefcount", None)
    if count is None:
        return None, 0

    class Probe:
        pass

    probe = Probe()  # held once, by this frame
    return count, count(weakref.ref(probe)()) - 1


_refcount, _ARGUMENT = _counter()


class Compiled:
    """A training step's plan: the forward nodes come first (``nf`` of them, as traced), then
    the backward's; its leaves are the forward's, then ``extra`` (the seed, constants)."""

    __slots__ = ("plan", "extra", "seed_at", "grads", "pad")

    def __init__(self, plan: Plan, nf: int, extra: list, seed_at: int | None, grads: list):
        self.plan, self.extra, self.seed_at = plan, extra, seed_at
        self.grads = grads  # per tensor receiving a gradient: (its node, copy it?) or None
        self.pad = [None] * (plan.n - nf)  # the backward's nodes, which a replay has not


def backward(root: LazyTensor, grad: Any, retain_graph: bool) -> None:
    """``root.backward(grad, retain_graph)`` for a deferred ``root`` (one at a time, as the
    engine's: see ``engine.LOCK``)."""
    tracer = TRACER.get()
    if tracer is None:
        with LOCK:
            _backward(root, grad, retain_graph)
        return
    if grad is not None:
        tracer.refuse("backward(grad) with a gradient given: the trace would keep this one")
    with LOCK, tracer.inside():
        _backward(root, grad, retain_graph)


def _backward(root: LazyTensor, grad: Any, retain_graph: bool) -> None:
    if not root._rg:
        return Tensor.backward(root, grad, retain_graph)  # raises eager mode's error
    if type(grad) is LazyTensor:
        grad.realize()
    backend = root._backend
    seed = None if grad is None else root._seed(grad, root._args.dtype)  # (checks it)
    nodes, signature, leaves = schedule.trace([root._args], backend)
    links = _links(nodes)
    if links is None:
        return _on_engine(root, seed, retain_graph)
    targets, pattern, reached, holds = links
    unseen = () if retain_graph else _unseen(nodes, reached, holds)
    key = ("backward", signature, pattern, unseen, retain_graph, grad is None)
    entry = cache.lookup(key)
    if entry is None:
        entry = _compile(root, seed, nodes, leaves, links, unseen, retain_graph, grad is not None)
        cache.store(key, entry)
    elif entry is _EAGER:
        _on_engine(root, seed, retain_graph)
    else:
        seeded = leaves + entry.extra
        if grad is not None and entry.seed_at is not None:
            seeded[entry.seed_at] = seed
        _run(entry, nodes + entry.pad, seeded, targets, reached, backend, retain_graph)


def _on_engine(root: LazyTensor, seed: Any, retain_graph: bool) -> None:
    """``seed`` None: ones."""
    tracer = TRACER.get()
    if tracer is not None:
        tracer.refuse("backward() runs on the engine for this graph (it reaches tensors "
                      "computed eagerly, or a rule needs values, such as integer indices)")
    schedule.realize((root,))
    engine_backward(root, root._seed(None, root.data.dtype) if seed is None else seed,
                    retain_graph)


def _links(nodes: list[Node]) -> tuple | None:
    """Walk the gradient's way back from the root (the last of ``nodes``): the computed
    tensors it ends in (targets), where each link to them lies (node, input, target), which
    nodes it goes through, and how many links hold each node's tensor. None if a target has
    a graph of its own: the engine must go on from there."""
    n = len(nodes)
    at = {node: pos for pos, node in enumerate(nodes)}
    reached = [False] * n
    reached[-1] = True
    holds = [0] * n
    targets: list[Tensor] = []
    index: dict[int, int] = {}
    pattern: list[int] = []
    for pos in range(n - 1, -1, -1):
        if not reached[pos]:
            continue
        t = nodes[pos].ref()
        if t._retain:  # an intermediate keeping its gradient: the engine stores it
            return None
        for i, p in enumerate(t._parents):
            if p is None:
                continue
            if type(p) is LazyTensor:
                j = at.get(p._args)
                if j is None:  # not in this graph (another device's, say)
                    return None
                reached[j] = True
                holds[j] += 1
                continue
            if p._op is not None:  # computed eagerly (or overwritten: see indexing.rebind)
                return None
            k = index.get(id(p))
            if k is None:
                k = index[id(p)] = len(targets)
                targets.append(p)
            pattern += (pos, i, k)
    return targets, tuple(pattern), reached, holds


def _unseen(nodes: list[Node], reached: list[bool], holds: list[int]) -> tuple[int, ...]:
    """The nodes on the gradient's way whose tensors only the graph holds: once backward
    has dropped the graph, nobody can see their values, so they need none after it (their
    buffers are released and reused during it, as the engine frees them)."""
    if _refcount is None:
        return ()
    out = []
    for pos in range(len(nodes) - 1):  # the root is the caller's
        if reached[pos] and _refcount(nodes[pos].ref()) - _ARGUMENT == holds[pos]:
            out.append(pos)
    return tuple(out)


def _compile(root: LazyTensor, seed: Any, nodes: list[Node], leaves: list, links: tuple,
             unseen: tuple[int, ...], retain_graph: bool, given: bool) -> Compiled | str:
    """Record the backward pass on deferred tensors, plan it with the forward, run it; the
    plan for later steps, or ``_EAGER``."""
    backend = root._backend
    targets, _, reached, _ = links
    if seed is None:
        seed = root._seed(None, root._args.dtype)
    elif any(x is seed for x in leaves):  # the seed gets a leaf of its own
        seed = backend.xp.asarray(seed, copy=True)
    before = schedule.runs
    try:
        grads = _record(root, seed, nodes, targets, backend)
    except Exception:  # a rule that needs arrays: the engine runs it
        _on_engine(root, seed, retain_graph)
        return _EAGER
    replayable = schedule.runs == before and all(  # (a gradient that is the seed itself,
        g is None or (type(g) is LazyTensor and g._backend is backend  # passed on by ``add``,
                      and g._args.op is not None) for g in grads)       # is no node to plan)
    if replayable:
        roots = [root._args] + [g._args for g in grads if g is not None]
        joint, signature, joint_leaves = schedule.trace(roots, backend)
        nf = len(nodes)
        if _fold(joint, signature, joint_leaves, nf, len(leaves), seed if given else None, roots,
                 backend):
            joint, signature, joint_leaves = schedule.trace(roots, backend)
        replayable = (all(a is b for a, b in zip(joint, nodes, strict=False))
                      and all(a is b for a, b in zip(joint_leaves, leaves, strict=False))
                      and not any(type(d[1]) is Unkeyed for d in signature[1]))
    if not replayable:  # right this once; the engine runs it from now on
        schedule.realize([root, *grads])
        grads = [None if g is None else g.data for g in grads]
        tracer = TRACER.get()
        if tracer is not None:
            tracer.delivered(targets, grads, [False] * len(grads))
        _deliver(targets, grads, nodes, reached, retain_graph)
        return _EAGER
    extra = joint_leaves[len(leaves):]
    seed_at = next((len(leaves) + j for j, x in enumerate(extra) if x is seed), None)
    pos = {node: i for i, node in enumerate(joint)}
    descs = list(signature[1])
    unseen = set(unseen)
    for i in range(nf):  # what the forward tensors need once backward is over
        if reached[i]:
            op, pkey, refs, flag = descs[i]
            descs[i] = op, pkey, refs, 0 if i in unseen else flag if retain_graph else min(flag, 1)
    plan = build((backend, tuple(descs), signature[2]), joint, backend)
    where = [None if g is None else (plan.canon[pos[g._args]],
                                     _may_alias(descs, pos[g._args], len(leaves))) for g in grads]
    entry = Compiled(plan, nf, extra, seed_at, where)
    _run(entry, joint, joint_leaves, targets, reached, backend, retain_graph)
    return entry


def _fold(joint: list[Node], signature: tuple, joint_leaves: list, nf: int, first_extra: int,
          seed: Any, roots: list[Node], backend: Any) -> bool:
    """Compute now what the backward reads that depends on constants only (the default seed,
    arrays the rules made, Python numbers; not a ``seed`` the caller gave, which changes):
    later steps read those values as the plan's constants. Whether there was any."""
    varying = next((-1 - j for j, x in enumerate(joint_leaves) if x is seed), None)
    descs = signature[1]
    constant = [False] * len(descs)  # and small: the plan keeps what is folded
    fold = set()
    for i in range(nf, len(descs)):
        op, _, refs, _ = descs[i]
        constant[i] = (op.elementwise or op.name in PURE) and math.prod(
            joint[i].shape) <= _FOLD_MAX and all(
            type(r) is tuple or (r >= 0 and constant[r])
            or (r < 0 and -1 - r >= first_extra and r != varying) for r in refs)
        if not constant[i]:
            fold.update(r for r in refs if type(r) is int and r >= 0 and constant[r])
    ends = set(roots)
    if not fold or any(constant[i] for i, node in enumerate(joint) if node in ends):
        return False  # (a gradient that is a constant itself: its tensor would be filled)
    schedule.realize([holder(joint[i], backend) for i in sorted(fold)])
    return True


def _record(root: LazyTensor, seed: Any, nodes: list[Node], targets: list[Tensor],
            backend: Any) -> list:
    """The engine's walk, on deferred tensors: each target's gradient (deferred), or None.
    It mirrors ``engine.backward`` step for step (order, conjugation, unbroadcasting, dtype,
    accumulation), so the gradients are eager mode's: change one, change the other."""
    import anygrad as xp  # the namespace the rules run on here

    index = {id(p): k for k, p in enumerate(targets)}
    grads: list = [None] * len(targets)
    waiting: dict[Node, Any] = {root._args: known(seed, backend)}
    token = modes.MODE.set(modes.canonical(modes.Mode(grad=False, lazy=True)))
    try:
        for node in reversed(nodes):  # decreasing sequence numbers, as the engine goes
            g = waiting.pop(node, None)
            if g is None:
                continue
            t = node.ref()
            op, params, rules = t._op, t._params, t._op.vjps
            args = [x if type(x) is not Node and not hasattr(x, "shape")
                    else known(x, backend) if type(x) is not Node
                    else known(x.value, backend) if x.value is not None
                    else holder(x, backend) for x in node.inputs]
            flip = node.dtype in backend.complex_dtypes and not op.complex_exact
            if flip:
                g = xp.conj(g)
            for i, p in enumerate(t._parents):
                if p is None:
                    continue
                gi = rules[i](xp, g, t, *args, **params)
                if flip:
                    gi = xp.conj(gi)
                if not op.same_shape and gi.shape != p.shape:
                    gi = unbroadcast(xp, gi, p.shape)
                if gi.dtype != p.dtype:
                    gi = keep_dtype(xp, gi, p.dtype)
                if type(p) is LazyTensor:
                    prev = waiting.get(p._args)
                    waiting[p._args] = gi if prev is None else xp.add(prev, gi)
                else:
                    k = index[id(p)]
                    grads[k] = gi if grads[k] is None else xp.add(grads[k], gi)
    finally:
        modes.MODE.reset(token)
    return grads


def _may_alias(descs: tuple, i: int, first_extra: int) -> bool:
    """Whether node ``i``'s value may be a view of a leaf from ``first_extra`` on (a constant
    the plan keeps between steps): such a gradient is handed out as a copy."""
    stack, seen = [i], set()
    while stack:
        r = stack.pop()
        if r < 0:
            if -1 - r >= first_extra:
                return True
            continue
        if r in seen:
            continue
        seen.add(r)
        op, _, refs, _ = descs[r]
        if op.name not in FRESH:
            stack += [x for x in refs if type(x) is int]
    return False


def _run(entry: Compiled, nodes: list, leaves: list, targets: list[Tensor], reached: list[bool],
         backend: Any, retain_graph: bool) -> None:
    if backend.context is not None:
        with backend.context:
            vals = schedule.execute(entry.plan, nodes, leaves, backend)
    else:
        vals = schedule.execute(entry.plan, nodes, leaves, backend)
    xp = backend.xp
    tracer = TRACER.get()
    if tracer is not None:
        tracer.delivered(targets, [None if w is None else vals[w[0]] for w in entry.grads],
                         [w is not None and w[1] for w in entry.grads])
    grads = [None if w is None else xp.asarray(vals[w[0]], copy=True) if w[1] else vals[w[0]]
             for w in entry.grads]
    _deliver(targets, grads, nodes, reached, retain_graph)


def _deliver(targets: list[Tensor], grads: list, nodes: list, reached: list[bool],
             retain_graph: bool) -> None:
    """Accumulate the gradients into the targets; free the graph the gradient went through,
    as the engine does."""
    for p, g in zip(targets, grads, strict=True):
        if g is not None:
            p._accumulate(g)
    if not retain_graph:
        for node, on_way in zip(nodes, reached, strict=False):
            t = node.ref() if on_way else None
            if t is not None and type(t) is not LazyTensor:
                t._parents = t._args = None
