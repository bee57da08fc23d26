"""Deferred tensors: in lazy mode an op records a node instead of running.

A pending :class:`LazyTensor` keeps its :class:`Node` in the ``_args`` slot (where a realized
tensor keeps its input arrays for backward). The node holds the op, its inputs (other nodes,
arrays, Python scalars), its parameters, the result's shape and dtype, and a weak reference to
the tensor: a tensor nobody holds any more is an intermediate whose buffer may be released
and reused. Realizing a tensor turns it into a plain :class:`~anygrad.Tensor` (its class is
switched), with the graph links backward needs, so nothing downstream pays for lazy mode.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from .._tensor import Tensor
from ..autograd import anomaly as _anomaly
from ..autograd import function as _function
from ..autograd.function import apply, as_operand, placed
from ..autograd.op import Op
from ..errors import DTypeError, ShapeError
from ..modes import MODE
from . import abstract
from .abstract import Aval
from .keys import freeze
from .tracing import TRACER

_DATA = Tensor.__dict__["data"]  # the slot holding a realized tensor's array
_new = object.__new__


class Node:
    """One deferred op: what to compute and what it will be.

    Args:
        op: The op (None for a node whose value is known from the start).
        inputs: What it reads: other nodes, arrays, Python scalars.
        params: Its keyword parameters.
        pkey: The hashable key of ``params`` (see ``keys.freeze``).
        shape: The result's shape.
        dtype: The result's native dtype.
        ref: A weak reference to the tensor of this node (None until it has one).
        seq: The node's place in recording order.
    """

    __slots__ = ("op", "inputs", "params", "pkey", "shape", "dtype", "ref", "seq", "value")

    def __init__(self, op: Op, inputs: tuple, params: dict, pkey: Any, shape: tuple,
                 dtype: Any, ref: weakref.ref, seq: int):
        self.op, self.inputs, self.params, self.pkey = op, inputs, params, pkey
        self.shape, self.dtype, self.ref, self.seq = shape, dtype, ref, seq
        self.value: Any = None  # the result, once computed for a tensor that was held

    def __repr__(self) -> str:
        return f"<node {self.op.name} {list(self.shape)}>"


class LazyTensor(Tensor):
    """A tensor whose value is not computed yet; any use of ``data`` computes it."""

    __slots__ = ()

    @property  # type: ignore[override]
    def data(self) -> Any:
        """The array, computed first (assigning it also computes the tensor first)."""
        from .schedule import realize
        realize((self,))
        return _DATA.__get__(self)

    @data.setter
    def data(self, value: Any) -> None:
        from .schedule import realize
        realize((self,))
        _DATA.__set__(self, value)

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each axis, known without computing anything."""
        return self._args.shape

    @property
    def ndim(self) -> int:
        """The number of axes, known without computing anything."""
        return len(self._args.shape)

    @property
    def size(self) -> int:
        """The number of elements, known without computing anything."""
        return math.prod(self._args.shape)

    @property
    def dtype(self) -> Any:
        """The anygrad DType, known without computing anything."""
        return self._backend.dtype_of(self._args.dtype)

    def __len__(self) -> int:
        if not self._args.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._args.shape[0]

    def realize(self) -> Tensor:
        """Compute this tensor (it becomes an ordinary Tensor) and return it."""
        from .schedule import realize
        realize((self,))
        return Tensor.realize(self)  # (a Dask tensor: computed now)

    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """``Tensor.backward``, planned with the forward as one graph (lazy mode's backward).

        With ``create_graph`` or under ``detect_anomaly()``, the tensor is realized and the
        engine runs the backward instead. The arguments are ``Tensor.backward``'s.
        """
        if create_graph or _anomaly.ACTIVE:  # the engine's walk on realized tensors (see
            # ``autograd.gradients``; detect_anomaly() checks values a plan does not show)
            self.realize()
            return Tensor.backward(self, grad, retain_graph, create_graph)
        from .backward import backward
        backward(self, grad, bool(retain_graph))

    def clear_graph(self) -> None:
        """Compute this tensor, then cut it from its graph (``Tensor.clear_graph``)."""
        self.realize()
        Tensor.clear_graph(self)


def pending(x: Any) -> bool:
    """Whether ``x`` is a tensor whose value is still to be computed."""
    return type(x) is LazyTensor


_FAILED = object()  # the abstract rule refused this signature: run eagerly
_NUMBERS = frozenset({int, float, bool, complex})
_avals: dict[tuple, Any] = {}  # (op, backend, params key, inputs' shapes/dtypes) -> aval


def record(op: Op, inputs: tuple, params: dict[str, Any]) -> Tensor:
    """``op`` applied to ``inputs`` (Tensors, arrays of their backend, Python scalars), deferred.

    Ops without an abstract-evaluation rule (and inputs a rule refuses) run eagerly, on
    realized inputs: the result is an ordinary tensor that later deferred ops read, and
    errors are exactly eager mode's. A rule's answer is cached per op, backend, parameters
    and input shapes and dtypes, so a loop recording the same graph every step runs no rule.

    Args:
        op: The op to apply.
        inputs: Its operands.
        params: Its keyword parameters.

    Returns:
        A deferred :class:`LazyTensor`, or an ordinary tensor where ``op`` ran eagerly.
    """
    backend, inputs = placed(op, inputs)
    pkey, keyed = freeze(params) if params else ((), True)
    rules = op.vjps if MODE.get().grad else None
    ins = []
    parents = []
    tracked = False
    sig: list = [op, pkey, backend]
    for i, x in enumerate(inputs):  # what the node reads, and what abstract evaluation needs
        tx = type(x)
        if tx is LazyTensor:
            a = x._args
            sig += (a.shape, a.dtype)
        elif tx in _NUMBERS:  # (as_operand leaves them as they are)
            sig.append((tx, x))
            ins.append(x)
            parents.append(None)
            continue
        elif isinstance(x, Tensor):
            a = _DATA.__get__(x)
            sig += (tuple(a.shape), a.dtype)
            tracer = TRACER.get()
            if tracer is not None:
                tracer.saw(x, a)
        else:
            a = as_operand(x, backend, op.name)
            sig.append((tuple(a.shape), a.dtype) if hasattr(a, "dtype") else (type(a), a))
            ins.append(a)
            parents.append(None)
            continue
        ins.append(a)
        if rules is not None and x._rg and rules[i] is not None:
            parents.append(x)
            tracked = True
        else:
            parents.append(None)
    key = tuple(sig)
    aval = _avals.get(key) if keyed else None
    if aval is None:
        aval = _abstract(op, backend, inputs, ins, params)
        if keyed:
            if len(_avals) > 4096:
                _avals.clear()
            _avals[key] = aval
    if aval is _FAILED:
        return run_eagerly(op, inputs, params)  # raises eager mode's error, or computes
    return deferred(op, backend, tuple(ins), params, pkey, aval,
                    tuple(parents) if tracked else None)


def deferred(op: Op, backend: Any, ins: tuple, params: dict, pkey: Any, aval: tuple,
             parents: tuple | None) -> LazyTensor:
    """A new deferred tensor on ``backend``: ``op`` of ``ins`` (nodes, arrays, scalars) will
    give it the shape and dtype ``aval``; ``parents`` (None: no gradient) link the graph."""
    t = _new(LazyTensor)
    t._backend = backend
    t._g = None
    t._seq = seq = next(_function._sequence)
    if parents is not None:  # (link's stores, inline: this runs for every op)
        t._rg = True
        t._op = op
        t._parents = parents
        t._params = params
    else:
        t._rg = False
        t._op = None
    node = t._args = _new(Node)  # (Node's stores, inline)
    node.op, node.inputs, node.params, node.pkey = op, ins, params, pkey
    node.shape, node.dtype, node.ref, node.seq, node.value = aval + (weakref.ref(t), seq, None)
    return t


def _run_user(xp: Any, *, fn: Any, shape: tuple, dtype: Any) -> Any:
    """The forward of a user's deferred tensor: ``fn()``, checked against what it declared."""
    value = fn()
    if tuple(getattr(value, "shape", ())) != shape or getattr(value, "dtype", None) != dtype:
        got = f"{getattr(value, 'dtype', type(value).__name__)}{list(getattr(value, 'shape', ()))}"
        raise (ShapeError if tuple(getattr(value, "shape", ())) != shape else DTypeError)(
            f"deferred: forward_fn returned {got}, not the declared {dtype}{list(shape)}")
    return value


USER = Op("deferred", _run_user)


def user_deferred(forward_fn: Any, shape: Any, dtype: Any, device: Any) -> LazyTensor:
    """``Tensor.deferred``: a tensor whose ``forward_fn()`` computes it at ``realize()``.

    Raises:
        TypeError: ``forward_fn`` is not callable.
    """
    from .. import backends
    from ..ops.shape import as_shape
    if not callable(forward_fn):
        raise TypeError(f"deferred: forward_fn must be callable, not {type(forward_fn).__name__}")
    backend = backends.get(device)
    shape = as_shape(shape, "deferred")
    native = backend.native_dtype(dtype)
    params = {"fn": forward_fn, "shape": shape, "dtype": native}
    return deferred(USER, backend, (), params, freeze(params)[0], (shape, native), None)


def _shell(backend: Any, node: Node) -> LazyTensor:
    t = _new(LazyTensor)
    t._backend, t._g, t._rg, t._op, t._seq, t._args = backend, None, False, None, node.seq, node
    node.ref = weakref.ref(t)
    return t


def known(value: Any, backend: Any) -> LazyTensor:
    """A deferred tensor that has its ``value`` already, without a gradient: ops on it record
    a graph that reads ``value`` as a leaf, and asking for its data goes through ``realize``
    (which counts the request: see ``schedule.runs``)."""
    node = Node(None, (), {}, (), tuple(value.shape), value.dtype, None, next(_function._sequence))
    node.value = value
    return _shell(backend, node)


def holder(node: Node, backend: Any) -> LazyTensor:
    """The tensor of the pending ``node``: the one recorded with it, or (once that is gone) a
    new one without a gradient."""
    t = node.ref()
    return t if t is not None and t._args is node else _shell(backend, node)


def _abstract(op: Op, backend: Any, inputs: tuple, ins: list, params: dict) -> Any:
    """``(shape, dtype)`` of ``op`` on ``inputs`` by its rule, or ``_FAILED``."""
    rule = op.abstract or (abstract.elementwise if op.elementwise else abstract.RULES.get(op.name))
    if rule is None:
        return _FAILED
    avals = [Aval(x.shape, x.dtype) if type(x) is Node
             else Aval(tuple(x.shape), x.dtype) if hasattr(x, "dtype") else x for x in ins]
    try:
        return rule(op, backend, avals, params)
    except Exception:
        return _FAILED


def run_eagerly(op: Op, inputs: tuple, params: dict[str, Any]) -> Tensor:
    """Run ``op`` now, as eager mode would (pending inputs are realized first)."""
    tracer = TRACER.get()
    if tracer is not None:
        tracer.refuse(f"{op.name} ran eagerly while tracing (lazy mode has no shape rule for "
                      f"it, or its rule refused these inputs)")
    token = MODE.set(MODE.get().changed(lazy=False))
    try:
        return apply(op, inputs, params)
    finally:
        MODE.reset(token)
