"""Reverse-mode differentiation over the graph of tensors, without recursion.

Every tensor an op records gets a sequence number larger than its inputs'. ``backward``
pops tensors in decreasing sequence order from a heap, so each is processed once, after
all its consumers have sent their part of its gradient; a tensor's gradient is summed in
its ``_g`` slot meanwhile. Time is linear in the graph size (times a log of the frontier).

What the forward or the op table settled is not tested again per gradient: an op's
``checks`` say whether its rules' results can need unbroadcasting or a cast (the exact
variant a binary op records for operands of one shape and dtype needs neither, nor do
dtype-keeping unary ops), rules that pass ``g`` on (``op.passes``) are not called, and a
tensor reached through such ops from a real one is known to be real (no complex test).
"""

from __future__ import annotations

import itertools
import threading
from heapq import heappop, heappush
from typing import Any

from ..errors import GraphError, ShapeError
from . import anomaly
from .op import passes

_FREED = ("backward through a graph whose buffers were freed by an earlier backward(); "
          "pass retain_graph=True to the first backward() to go through it again")


def unbroadcast(xp: Any, g: Any, shape: tuple) -> Any:
    """Sum ``g`` over the axes broadcasting added, so that it has ``shape``."""
    lead = g.ndim - len(shape)
    if lead < 0:  # a rule returned a gradient smaller than its input: broadcast it back
        return xp.broadcast_to(g, shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if tuple(g.shape) != shape:
        g = xp.reshape(g, shape) if g.ndim != len(shape) else xp.broadcast_to(g, shape)
    return g


def keep_dtype(xp: Any, g: Any, dtype: Any) -> Any:
    """``g`` as a gradient of an input of ``dtype``: a complex gradient of a real input is
    its real part (PyTorch's convention; a bare cast drops it with a warning, or fails)."""
    if xp.isdtype(g.dtype, "complex floating") and not xp.isdtype(dtype, "complex floating"):
        g = xp.real(g)
    return g if g.dtype == dtype else xp.astype(g, dtype)


def _version_at(p: Any, seq: int) -> Any:
    """The version ``p`` had before in-place writes (``x[k] = v``, ``x += y``) made it newer
    than ``seq``: each write keeps the previous version in ``_prev`` (a leaf's has seq -1)."""
    while p._seq > seq:
        p = p._prev
    return p


#: Orders every recorded tensor after its inputs (and user-made leaves among them, for
#: drawings' groups).
sequence = itertools.count()

#: Whether any tensor was ever asked to keep its gradient (``retain_grad``, writes into
#: leaves and views): until then the engine skips the per-tensor test.
RETAINING = False


def retain(t: Any) -> None:
    """Make the intermediate ``t`` keep its gradient in ``grad`` after backward."""
    global RETAINING
    RETAINING = True
    t._retain = True


#: Whether any tensor was ever written in place with a graph (a newer version, see
#: ``_version_at``): until then no input can be newer than the op that read it.
REBOUND = False

#: One backward at a time: its working state (each tensor's ``_g``) and the accumulation
#: into leaves that several graphs share (data-parallel threads, a server) must not
#: interleave. Re-entrant, for rules that differentiate. One acquisition per backward call.
LOCK = threading.RLock()


def backward(root: Any, seed: Any, retain_graph: bool = False) -> None:
    """Send ``seed`` (an array shaped like ``root``) back through the graph to every leaf.

    Raises:
        GraphError: If the graph was freed by an earlier backward without ``retain_graph``.
        ShapeError: If a rule fails on a result of unknown sizes (Dask after a boolean
            mask), instead of the rule's own error.
    """
    if anomaly.ACTIVE and anomaly.enabled():  # detect_anomaly(): the walk that checks
        from .gradients import walk
        walk((root,), (seed,), False, retain_graph)
        return
    with LOCK:
        _backward(root, seed, retain_graph)


def _backward(root: Any, seed: Any, retain_graph: bool) -> None:
    if root._op is None:
        root._accumulate(seed)
        return
    heap: list = []
    leaves: list = []
    t, g = root, seed
    nxt = None  # the next tensor, while it is the only one waiting (else the heap holds them)
    backend = context = None
    real = False  # whether t is known to be real (see below), so that flip needs no test
    nxt_real = False
    try:
        while True:
            if t._backend is not backend:  # (a graph has one backend, but for .to() hops)
                if context is not None:
                    context.__exit__(None, None, None)
                backend = t._backend
                xp, complex_dtypes, context = backend.xp, backend.complex_dtypes, backend.context
                if context is not None:  # CuPy: the rules run on this tensor's GPU
                    context.__enter__()
            if RETAINING and t._retain:  # an intermediate keeping its gradient: a copy,
                t._accumulate(xp.asarray(g, copy=True))  # g goes on to the rules
            parents, op, args, params, seq = t._parents, t._op, t._args, t._params, t._seq
            if parents is None:
                if not t._leaflike:
                    raise GraphError(_FREED)
                parents = args = ()  # a leaf written in place is a leaf again (MyGrad)
            rules, checks, nargs, out = op.vjps, op.checks, len(args), t.data
            if not real:
                real = out.dtype not in complex_dtypes
            flip = not real and not op.complex_exact
            if flip:  # complex: conj(rule(conj(g))) (see Op.complex_exact)
                g = xp.conj(g)
            for i, p in enumerate(parents):
                if p is None:
                    continue
                rule = rules[i]
                if rule is passes:  # (no call for the rules that pass g on: add, views)
                    gi = g
                elif params:
                    gi = rule(xp, g, out, *args, **params)
                elif nargs == 2:  # direct calls: a star-call costs more than a rule's work
                    gi = rule(xp, g, out, args[0], args[1])
                elif nargs == 1:
                    gi = rule(xp, g, out, args[0])
                else:
                    gi = rule(xp, g, out, *args)
                if flip:
                    gi = xp.conj(gi)
                if checks:  # (Op.checks: facts the op or its forward did not settle)
                    ref = p.data
                    if checks == 2 and gi.shape != ref.shape:
                        gi = unbroadcast(p._backend.xp, gi, tuple(ref.shape))
                    if gi.dtype is not ref.dtype and gi.dtype != ref.dtype:
                        gi = keep_dtype(p._backend.xp, gi, ref.dtype)  # (its input's)
                if p._op is None:
                    if p._g is None:
                        p._g = gi
                        leaves.append(p)
                    else:
                        p._g = p._backend.xp.add(p._g, gi)
                    continue
                if REBOUND and p._seq > seq:  # overwritten in place after t read it
                    p = _version_at(p, seq)
                if p._g is not None:  # (xp.add: p may live on another GPU than t, after .to)
                    p._g = p._backend.xp.add(p._g, gi)
                else:
                    p._g = gi
                    if nxt is None and not heap:  # a chain: no heap needed
                        nxt = p  # (an exact op's inputs have its dtype: real if t is)
                        nxt_real = real and not checks
                    else:
                        if nxt is not None:
                            heappush(heap, (-nxt._seq, nxt))
                            nxt = None
                        heappush(heap, (-p._seq, p))
            if not retain_graph:  # drop references as we go: freeing the graph costs nothing
                t._parents = t._args = None
            if nxt is not None:  # the only tensor waiting: it is next
                t, nxt, real = nxt, None, nxt_real
            elif heap:
                t, real = heappop(heap)[1], False
            else:
                break
            g, t._g = t._g, None
        if context is not None:
            context.__exit__(None, None, None)
            context = None
        given = set()  # a leaf's gradient is its own array: rules pass g on unchanged (add)
        for leaf in leaves:
            g, leaf._g = leaf._g, None
            if id(g) in given:
                g = leaf._backend.xp.asarray(g, copy=True)
            else:
                given.add(id(g))
            leaf._accumulate(g)
    except BaseException:
        if context is not None:
            context.__exit__(None, None, None)
        for _, waiting in heap:
            waiting._g = None
        if nxt is not None:
            nxt._g = None
        for leaf in leaves:
            leaf._g = None
        shape = tuple(getattr(t.data, "shape", ()))
        if any(n != n for n in shape):  # NaN sizes: Dask after a boolean mask
            raise ShapeError(f"backward through {t._op.name}: its result has unknown sizes "
                             f"{shape} (a Dask array after a boolean mask or unique); compute "
                             f"them first with anygrad.compute(t) or "
                             f"t.data.compute_chunk_sizes()") from None
        raise
