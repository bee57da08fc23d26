"""``anygrad.autograd.grad`` and ``backward(create_graph=True)``: the engine's walk, once more,
for what its hot loop leaves out — several roots, gradients returned instead of accumulated,
and gradients that are themselves differentiable.

With ``create_graph`` the derivative rules run with ``xp = anygrad`` on Tensors: the same
rule table, recorded as ordinary ops, so gradients of gradients need no second rule set. The
walk mirrors ``engine.backward`` step for step (order by sequence number, versions of tensors
written in place, conjugation, unbroadcasting, dtype): change one, change the other. Its
working state is its own (a dict, not the tensors' ``_g`` slots).
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

from .._tensor import Tensor, _wrap
from ..errors import DeviceError, GraphError, ShapeError
from ..modes import MODE
from . import anomaly
from .engine import _FREED, LOCK, _version_at, keep_dtype, unbroadcast
from .views import Meta


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` (weighted by ``grad_outputs``; ones by default) with
    respect to ``inputs``, as a tuple of Tensors, without touching any ``.grad`` (PyTorch's
    ``torch.autograd.grad``). With ``create_graph`` the gradients are differentiable. An input
    the outputs do not depend on raises, or gives None with ``allow_unused``.

    Args:
        outputs: The tensor, or tensors, to differentiate; each must require grad.
        inputs: The tensor, or tensors, to differentiate with respect to; each must require
            grad.
        grad_outputs: The weight of each output, shaped like it (a Tensor, an array or a
            number, or a sequence of one per output); None: ones.
        retain_graph: Whether the graph stays usable for another backward; None: as
            ``create_graph``.
        create_graph: Whether to record the gradients' own graph, for higher derivatives.
        allow_unused: Whether an input the outputs do not depend on gets None instead of
            raising.

    Returns:
        One gradient per input, in order (None for an unused input with ``allow_unused``).

    Raises:
        GraphError: If an output or an input does not require grad, if an input is unused
            (without ``allow_unused``), or if the graph was freed by an earlier backward.
        ShapeError: If ``grad_outputs`` has a different length than ``outputs``, or a
            weight another shape than its output.
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for x in inputs:
        if not isinstance(x, Tensor) or not x._rg:
            raise GraphError("grad: every input must be a Tensor that requires grad")
    seeds = _seeds(outputs, grad_outputs, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    found = walk(outputs, seeds, create_graph, retain, capture={id(x): x for x in inputs})
    out = []
    for x in inputs:
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise GraphError("grad: an input was not used to compute the outputs (pass "
                             "allow_unused=True to get None for it)")
        out.append(g)
    return tuple(out)


def _seeds(outputs: tuple, grad_outputs: Any, create_graph: bool) -> list:
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (
            grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ShapeError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    seeds = []
    for y, g in zip(outputs, grad_outputs, strict=True):
        if not isinstance(y, Tensor) or not y._rg:
            raise GraphError("grad: every output must be a Tensor that requires grad")
        if create_graph and isinstance(g, Tensor):
            if tuple(g.shape) != y.shape:
                raise ShapeError(f"grad: grad_output has shape {g.shape}, the output {y.shape}")
            if g._backend is not y._backend:
                raise DeviceError(f"grad: grad_output is on {g.device}, the output on "
                                  f"{y.device}")
            seeds.append(g)  # kept as a Tensor: the gradient may depend on it
        else:
            seeds.append(y._seed(g, y.data.dtype))
    return seeds


def walk(roots: Sequence[Tensor], seeds: Sequence[Any], create_graph: bool,
         retain_graph: bool, capture: dict[int, Tensor] | None = None) -> dict[int, Any]:
    """Send each seed back from its root. ``capture`` None: accumulate into leaves (and
    ``retain_grad`` tensors), as ``backward``; else return the total gradient of each tensor
    in ``capture`` (by id), accumulating nothing."""
    from ..lazy import realize
    realize(*roots, *(s for s in seeds if isinstance(s, Tensor)))  # (lazy mode's, if any)
    with LOCK:
        token = MODE.set(MODE.get().changed(grad=create_graph, lazy=False))
        try:
            return _walk(roots, seeds, create_graph, retain_graph, capture)
        finally:
            MODE.reset(token)


def _walk(roots: Sequence[Tensor], seeds: Sequence[Any], create_graph: bool,
          retain_graph: bool, capture: dict[int, Tensor] | None) -> dict[int, Any]:
    import anygrad

    pending: dict[int, list] = {}  # id -> [tensor, gradient]: this walk's state alone
    heap: list = []
    leaves: list[Tensor] = []
    found: dict[int, Any] = {}

    def send(p: Tensor, g: Any) -> None:
        entry = pending.get(id(p))
        if entry is not None:
            entry[1] = entry[1] + g if create_graph else p._backend.xp.add(entry[1], g)
            return
        pending[id(p)] = [p, g]
        if p._op is None:
            leaves.append(p)
        else:
            heappush(heap, (-p._seq, id(p), p))

    check = anomaly.ACTIVE and anomaly.enabled()  # detect_anomaly(): every gradient
    for root, seed in zip(roots, seeds, strict=True):
        if create_graph and not isinstance(seed, Tensor):
            seed = _wrap(seed, root._backend)
        send(root, seed)
    while heap:
        t = heappop(heap)[2]
        g = pending.pop(id(t))[1]
        if capture is not None:
            if id(t) in capture:
                found[id(t)] = g
        elif t._retain:
            _accumulate(t, g, create_graph)
        parents = t._parents
        if parents is None:
            if t._leaflike:  # a leaf written in place (see ``views.write``)
                continue
            raise GraphError(_FREED)
        op, backend, seq = t._op, t._backend, t._seq
        xp = anygrad if create_graph else backend.xp
        args = _operands(t, parents, seq) if create_graph else t._args
        out = t if create_graph else t.data
        flip = t.data.dtype in backend.complex_dtypes and not op.complex_exact
        if flip:
            g = xp.conj(g)
        context = None if create_graph else backend.context
        if context is not None:
            context.__enter__()
        try:
            for i, p in enumerate(parents):
                if p is None:
                    continue
                gi = op.vjps[i](xp, g, out, *args, **(t._params or {}))
                if flip:
                    gi = xp.conj(gi)
                shape = tuple(p.data.shape)
                if tuple(gi.shape) != shape:
                    gi = unbroadcast(anygrad if create_graph else p._backend.xp, gi, shape)
                if create_graph:
                    if gi.dtype != p.dtype:  # a gradient keeps its input's dtype
                        gi = keep_dtype(anygrad, gi, p.dtype)
                elif gi.dtype != p.data.dtype:
                    gi = keep_dtype(p._backend.xp, gi, p.data.dtype)
                if check:
                    anomaly.check(op.name, anomaly.where(t), gi, input_index=i)
                if p._op is not None and p._seq > seq:  # written in place after t read it
                    p = _version_at(p, seq)
                send(p, gi)
        finally:
            if context is not None:
                context.__exit__(None, None, None)
        if not retain_graph:
            t._parents = t._args = None
    for leaf in leaves:
        g = pending.pop(id(leaf))[1]
        if capture is not None:
            if id(leaf) in capture:
                found[id(leaf)] = g
        else:
            _accumulate(leaf, g, create_graph)
    if capture is not None and not create_graph:
        found = {k: _wrap(v, capture[k]._backend) for k, v in found.items()}
    return found


def _accumulate(t: Tensor, g: Any, create_graph: bool) -> None:
    """Add ``g`` to ``t.grad``: a differentiable sum of Tensors with ``create_graph`` (each
    gradient its own array otherwise)."""
    if not create_graph:
        t._accumulate(t._backend.xp.asarray(g, copy=True))
    else:
        t._grad = g if t._grad is None else t._grad + g


def _operands(t: Tensor, parents: tuple, seq: int) -> tuple:
    """``t``'s inputs as Tensors, for rules that record: the input tensors themselves where
    they require grad (so gradients of gradients reach them), constants elsewhere; Python
    numbers and views' ``Meta`` (shapes are all those rules read) stay as they are."""
    out = []
    for a, p in zip(t._args, parents, strict=True):
        if isinstance(a, Meta):  # for ``anygrad.zeros(..., device=)``: anygrad's device
            out.append(Meta(a, t._backend.device))
            continue
        if not hasattr(a, "shape"):
            out.append(a)
            continue
        if p is not None:
            if p._op is not None and p._seq > seq:
                p = _version_at(p, seq)
            if p.data is a:
                out.append(p)
                continue
        out.append(_wrap(a, t._backend))
    return tuple(out)
