"""Tracing a function once with lazy mode, and the program that replays it.

While ``fn`` runs under a :class:`Tracer`, lazy mode does all the work: ops record deferred
nodes, ``backward()`` plans forward and backward as one graph and runs it, an optimiser's
``step()`` runs on the gradients. The tracer only listens (see ``anygrad.lazy.tracing``) and
writes down, in order, what happened: each plan that ran and where each of its leaf arrays
came from (an argument, a tensor that existed before, a value an earlier plan computed, a
constant made while tracing, a random draw), each gradient handed to a tensor, each
optimiser call. That list is the :class:`Program`; replaying it runs the plans' generated
code on the new arguments' arrays (drawing the random arrays again), hands out the gradients
and repeats the optimiser calls: no op recorded, nothing planned.

Anything the list cannot repeat makes the trace *refused*, with the reason: a value read
while tracing (``bool()``, ``float()``, ``item()``, printing, an in-place write), an op run
eagerly, a backward on the engine, a tensor of unknown origin.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Iterator
from typing import Any

from .._tensor import Tensor, _wrap
from ..autograd import engine
from ..lazy.graph import _DATA, LazyTensor
from ..numpy_protocols import _tensors  # (the Tensors in nested tuples, lists, dicts)
from . import codegen

_watched: dict[type, type] = {}


def watched_class(cls: type) -> type:
    """A subclass of the tensor class ``cls`` whose ``data`` tells the tracer it was read."""
    sub = _watched.get(cls)
    if sub is None:
        def data(self: Any) -> Any:
            from ..lazy.tracing import TRACER
            tracer = TRACER.get()
            if tracer is not None:
                tracer.read(self)
            return _DATA.__get__(self)

        def set_data(self: Any, value: Any) -> None:
            from ..lazy.tracing import TRACER
            tracer = TRACER.get()
            if tracer is not None and not tracer.depth:
                tracer.refuse("the function assigns a tensor's .data while tracing")
            _DATA.__set__(self, value)

        body = {
            "__slots__": (), "data": property(data, set_data),
            "shape": property(lambda self: tuple(_DATA.__get__(self).shape)),
            "ndim": property(lambda self: _DATA.__get__(self).ndim),
            "size": property(lambda self: math.prod(_DATA.__get__(self).shape)),
            "dtype": property(lambda self: self._backend.dtype_of(_DATA.__get__(self).dtype)),
            "__len__": lambda self: len(_DATA.__get__(self)),
        }
        sub = _watched[cls] = type(f"Traced{cls.__name__}", (cls,), body)
    return sub


def _pre_existing(t: Tensor, start: int) -> bool:
    seq = getattr(t, "_seq", None)
    return seq is not None and seq < start


class Tracer:
    """Listens to lazy mode while a function is traced (see the module's docstring).

    Args:
        tensors: The tensors among the function's arguments, in order: the replay's inputs.
            Each becomes a :func:`watched_class` tensor until :meth:`restore`.
    """

    def __init__(self, tensors: list[Tensor]):
        self.start = next(engine.sequence)
        self.args = tensors
        self.arg_of_tensor = {id(t): k for k, t in enumerate(tensors)}
        self.arg_of_array = {id(_DATA.__get__(t)): k for k, t in enumerate(tensors)}
        self.reason: str | None = None
        self.depth = 0  # > 0: lazy mode's own work (backward, the outputs), or an optimiser
        self.seen: dict[int, tuple] = {}  # id(array) -> (a tensor holding it, the array)
        self.produced: dict[int, tuple[int, int]] = {}  # id(array) -> (event, node)
        self.alive: list = []  # what the ids above refer to, kept until the trace ends
        self.items: list[tuple] = []  # ("run", event) | ("deliver", ...) | ("effect", ...)
        self.events: list[dict] = []
        self.captured: list[Tensor] = []
        self.captured_at: dict[int, int] = {}
        self.switched: list[tuple[Tensor, type]] = []
        self.drawn: dict[int, int] = {}  # id(array) -> its index in ``draws``
        self.draws: list[tuple] = []  # (function, args, kwargs, array) of each random draw
        for t in {id(t): t for t in tensors}.values():  # an argument's value read while
            self.switched.append((t, type(t)))           # tracing is a read like any other
            t.__class__ = watched_class(type(t))

    # -- hooks (called by lazy mode) -------------------------------------------------------
    def refuse(self, reason: str) -> None:
        """Mark the trace as one that cannot be replayed; the first ``reason`` given is kept."""
        if self.reason is None:
            self.reason = reason

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """A context in which lazy mode's own work runs (a backward, an optimiser's step):
        reads there are not the function's, and effects there are not written down."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def read(self, t: Any) -> None:
        """The function read the value of ``t``: refuse the trace, unless inside lazy mode's
        own work (:meth:`inside`)."""
        if not self.depth:
            self.refuse(f"the function reads the value of a tensor {t.dtype.name}{list(t.shape)}"
                        f" while it is traced (bool(), float(), item(), .numpy(), printing, "
                        f"an in-place write or .data): Python code may depend on it")

    def requested(self, tensors: Any) -> None:
        """Deferred tensors among ``tensors`` are to be computed: a read, unless inside lazy
        mode's own work."""
        if not self.depth and any(type(t) is LazyTensor for t in tensors):
            t = next(t for t in tensors if type(t) is LazyTensor)
            self.read(t)

    def watched(self, t: Tensor) -> type:
        """The class a deferred tensor ``t`` becomes once computed: a :func:`watched_class`
        tensor, switched back to ``Tensor`` by :meth:`restore`."""
        cls = watched_class(Tensor)
        self.switched.append((t, Tensor))
        return cls

    def drew(self, fn: Any, args: tuple, kwargs: dict, array: Any) -> None:
        """A random draw (``anygrad.random``): a replay draws again (see ``_watch_draws``)."""
        self.drawn[id(array)] = len(self.draws)
        self.draws.append((fn, args, kwargs, array))

    def saw(self, t: Tensor, array: Any) -> None:
        """An op read ``array``, the value of the ordinary tensor ``t`` (for :meth:`_source`)."""
        self.seen.setdefault(id(array), (t, array))

    def executed(self, plan: Any, leaves: list, vals: list, backend: Any) -> None:
        """A plan ran: write down where each of its ``leaves`` came from, and which arrays
        among its values ``vals`` it produced. Refuses a plan with unkeyed parameters."""
        if plan.unkeyed:
            self.refuse("a planned op has parameters holding arrays (integer indices, say)")
        event = len(self.events)
        sources = [self._source(a) for a in leaves]
        self.events.append({"plan": plan, "backend": backend, "sources": sources,
                            "needed": set(), "vals": vals})
        self.items.append(("run", event))
        for j in range(plan.n):
            v = vals[j]
            if v is not None and id(v) not in self.produced:
                self.produced[id(v)] = (event, j)
                self.alive.append(v)

    def delivered(self, targets: list, arrays: list, copies: list) -> None:
        """A backward handed each of ``targets`` its gradient among ``arrays`` (None: none;
        copied first where ``copies`` says so). Refuses a gradient no plan computed, or one
        going to a tensor made while tracing."""
        out = []
        for p, a, copy in zip(targets, arrays, copies, strict=True):
            if a is None:
                continue
            src = self.produced.get(id(a))
            k = self.arg_of_tensor.get(id(p))
            if src is None:
                self.refuse("a gradient did not come from a plan")
                return
            if k is not None:
                tgt: tuple = ("arg", k)
            elif _pre_existing(p, self.start):
                tgt = ("tensor", self._capture(p))
            else:
                self.refuse("a gradient goes to a tensor made while tracing")
                return
            self.events[src[0]]["needed"].add(src[1])
            out.append((tgt, src, copy))
        self.items.append(("deliver", tuple(out)))

    def effect(self, method: Any, obj: Any, args: tuple, kwargs: dict) -> Any:
        """An optimiser's ``step``/``zero_grad`` (or a module's ``zero_grad``): run, and
        written down to be repeated."""
        if any(callable(a) or isinstance(a, Tensor) for a in (*args, *kwargs.values())):
            self.refuse(f"{type(obj).__name__}.{method.__name__}() is given a closure or a "
                        f"tensor")
        target: Any = obj
        if isinstance(obj, Tensor):  # a tensor's zero_grad(): an argument's is the new one's
            k = self.arg_of_tensor.get(id(obj))
            if k is not None:
                target = ("arg", k)
            elif not _pre_existing(obj, self.start):
                self.refuse("zero_grad() of a tensor made while tracing")
        self.items.append(("effect", method, target, args, kwargs))
        with self.inside():
            return method(obj, *args, **kwargs)

    # -- the program -----------------------------------------------------------------------
    def _capture(self, t: Tensor) -> int:
        i = self.captured_at.get(id(t))
        if i is None:
            i = self.captured_at[id(t)] = len(self.captured)
            self.captured.append(t)
        return i

    def _source(self, a: Any) -> tuple:
        k = self.arg_of_array.get(id(a))
        if k is not None:
            return ("arg", k)
        src = self.produced.get(id(a))
        if src is not None:
            self.events[src[0]]["needed"].add(src[1])
            return ("value", *src)
        d = self.drawn.get(id(a))
        if d is not None:  # drawn afresh by each replay, once
            return ("draw", d)
        t = self.seen.get(id(a), (None,))[0]
        if t is None or (getattr(t, "_seq", None) is not None and t._seq >= self.start):
            return ("const", a)  # made while tracing, from host data or a creation function
        k = self.arg_of_tensor.get(id(t))
        if k is not None:  # (an argument whose array was replaced: refused by its setter)
            return ("arg", k)
        if _pre_existing(t, self.start):
            return ("tensor", self._capture(t))
        self.refuse("the function reads a tensor whose origin tracing cannot tell (an array "
                    "wrapped without a graph, or a random draw not made by anygrad.random's "
                    "draw or bernoulli_array)")
        return ("const", a)

    def finish(self, out: Any) -> tuple[Any, bool]:
        """Compute the outputs still pending (one more plan) and describe them: the template
        a replay fills, and whether an output needs the graph (for a backward outside)."""
        flat = _tensors(out, [])
        pending = [t for t in flat if type(t) is LazyTensor]
        if pending:
            from ..lazy import schedule
            with self.inside():
                schedule.realize(pending)
        graph = any(isinstance(t, Tensor) and t._op is not None and t._parents is not None
                    for t in flat)
        return _template(out, self), graph

    def restore(self) -> None:
        """Give every tensor switched to a :func:`watched_class` its own class back."""
        for t, cls in reversed(self.switched):
            if type(t) is watched_class(cls):
                t.__class__ = cls
        self.switched.clear()

    def program(self, template: Any) -> Program:
        """The :class:`Program` replaying this trace, its outputs rebuilt from ``template``
        (see :meth:`finish`)."""
        return Program(self, template)


def _template(out: Any, tracer: Tracer) -> Any:
    """The outputs as a replay rebuilds them: ``("tensor", source, requires_grad, op)`` for a
    tensor, containers rebuilt, anything else as it was."""
    if isinstance(out, Tensor):
        a = _DATA.__get__(out)
        k = tracer.arg_of_tensor.get(id(out))
        if k is not None:
            return ("same", ("arg", k))
        if _pre_existing(out, tracer.start) and id(a) not in tracer.produced:
            return ("same", ("tensor", tracer._capture(out)))
        return ("new", tracer._source(a), out._backend, out._rg, out._op)
    if isinstance(out, tuple | list):
        return (type(out), [_template(x, tracer) for x in out])
    if isinstance(out, dict):
        return (dict, {k: _template(v, tracer) for k, v in out.items()})
    return ("py", out)


class Stale(Exception):
    """A replay's guard failed: a captured tensor changed shape, dtype, device or
    ``requires_grad``, or is gone."""


class Program:
    """What a trace did, to be done again on new arguments (see the module's docstring)."""

    def __init__(self, tracer: Tracer, template: Any):
        self.guards = [(weakref.ref(t), tuple(_DATA.__get__(t).shape), _DATA.__get__(t).dtype,
                        t._backend, t._rg) for t in tracer.captured]
        self.draws = [(fn, args, kwargs) for fn, args, kwargs, _ in tracer.draws]
        self.items = []
        folded: dict[tuple[int, int], Any] = {}  # values of plans that read constants only

        def fold(src: tuple) -> tuple:
            return ("const", folded[src[1:]]) if src[0] == "value" and src[1:] in folded else src

        for item in tracer.items:
            if item[0] == "run":
                event = item[1]
                ev = tracer.events[event]
                sources = tuple(fold(s) for s in ev["sources"])
                needed = tuple(sorted(ev["needed"]))
                if all(s[0] == "const" for s in sources) and ev["plan"].n <= _FOLD_NODES:
                    for j in needed:  # computed while tracing: the same every call
                        folded[event, j] = ev["vals"][j]
                    continue
                fn = codegen.replayer(ev["plan"], ev["backend"],
                                      tuple(_dtype_of(s, tracer) for s in sources), needed)
                self.items.append(("run", event, fn, sources, needed, ev["backend"]))
            elif item[0] == "deliver":
                if any(src in folded for _, src, _ in item[1]):
                    self.items.append(("deliver", tuple(
                        (tgt, src, True) if src in folded else (tgt, src, copy)
                        for tgt, src, copy in item[1]), folded))
                else:
                    self.items.append((*item, folded))
            else:
                self.items.append(item)
        self.template = _fold_template(template, fold)

    def replay(self, tensors: list[Tensor]) -> Any:
        """Do again what the trace did, on new arguments.

        Args:
            tensors: The call's tensor arguments, in the order the trace had them.

        Returns:
            The function's outputs, rebuilt as the trace returned them.

        Raises:
            Stale: A tensor the trace captured is gone or changed (checked before anything
                runs).
        """
        captured = []
        for ref, shape, dtype, backend, rg in self.guards:
            t = ref()
            if t is None or t._backend is not backend or t._rg != rg:
                raise Stale
            a = _DATA.__get__(t)
            if a.dtype != dtype or tuple(a.shape) != shape:
                raise Stale
            captured.append(t)
        env: dict[tuple[int, int], Any] = {}

        def value(src: tuple) -> Any:
            kind = src[0]
            if kind == "arg":
                return _DATA.__get__(tensors[src[1]])
            if kind == "value":
                return env[src[1], src[2]]
            if kind == "tensor":
                return _DATA.__get__(captured[src[1]])
            if kind == "draw":  # once per replay, however many plans read it
                a = env.get(src)
                if a is None:
                    fn, args, kwargs = self.draws[src[1]]
                    a = env[src] = fn(*args, **kwargs)
                return a
            return src[1]

        for item in self.items:
            kind = item[0]
            if kind == "run":
                _, event, fn, sources, needed, _ = item
                for j, v in zip(needed, fn([value(s) for s in sources]), strict=True):
                    env[event, j] = v
            elif kind == "deliver":
                folded = item[2]
                with engine.LOCK:  # (as backward's: threads sharing parameters)
                    for (tk, ti), src, copy in item[1]:
                        p = tensors[ti] if tk == "arg" else captured[ti]
                        g = folded[src] if src in folded else env[src]
                        p._accumulate(p._backend.xp.asarray(g, copy=True) if copy else g)
            else:
                _, method, obj, args, kwargs = item
                if type(obj) is tuple:  # ("arg", k)
                    obj = tensors[obj[1]]
                method(obj, *args, **kwargs)
        return _build(self.template, value, tensors, captured)


_FOLD_NODES = 64  # a plan of constants this small is computed once, while tracing


def _dtype_of(src: tuple, tracer: Tracer) -> Any:
    """The dtype of a source's array, as traced."""
    kind = src[0]
    if kind == "arg":
        return _DATA.__get__(tracer.args[src[1]]).dtype
    if kind == "tensor":
        return _DATA.__get__(tracer.captured[src[1]]).dtype
    if kind == "value":
        return tracer.events[src[1]]["vals"][src[2]].dtype
    if kind == "draw":
        return tracer.draws[src[1]][3].dtype
    return getattr(src[1], "dtype", None)


def _fold_template(tpl: Any, fold: Any) -> Any:
    kind = tpl[0]
    if kind == "new":
        return ("new", fold(tpl[1]), *tpl[2:])
    if kind in (dict,):
        return (dict, {k: _fold_template(v, fold) for k, v in tpl[1].items()})
    if kind in ("py", "same"):
        return tpl
    return (kind, [_fold_template(x, fold) for x in tpl[1]])


def _build(tpl: Any, value: Any, tensors: list, captured: list) -> Any:
    kind = tpl[0]
    if kind == "py":
        return tpl[1]
    if kind == "same":
        src = tpl[1]
        return tensors[src[1]] if src[0] == "arg" else captured[src[1]]
    if kind == "new":
        _, src, backend, rg, op = tpl
        a = value(src)
        if src[0] == "const":  # the same array every call: the caller gets a copy of its own
            a = backend.xp.asarray(a, copy=True)
        t = _wrap(a, backend)
        if rg:  # computed with a graph that backward() freed, as in eager mode
            t._rg, t._op, t._parents, t._args, t._params = True, op, None, None, None
            t._seq = next(engine.sequence)
        return t
    if kind is dict:
        return {k: _build(v, value, tensors, captured) for k, v in tpl[1].items()}
    items = [_build(x, value, tensors, captured) for x in tpl[1]]
    return items if kind is list else tuple(items) if kind is tuple else kind(items)
