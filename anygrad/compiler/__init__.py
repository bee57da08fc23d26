"""``anygrad.compile``: trace a function once with lazy mode, replay its plans after that.

``compile(fn)`` returns a function that, on its first call for a *signature* (the inputs'
structure, shapes, dtypes, devices and ``requires_grad``; Python numbers and strings among
them by value; modules by identity and training mode; the grad mode, default device and
anomaly detection; the same for what ``fn``'s closure and the globals it names hold), runs
``fn`` under lazy mode while a tracer listens (:mod:`.trace`): forward and backward become
one plan with fused regions, an optimiser's ``step()`` runs on the gradients, and the
tracer writes it all down. Later calls with that signature replay what was written, as
generated code (:mod:`.codegen`), on the new arrays: not one op recorded, nothing planned.
The tensors ``fn`` reads that are not arguments (a model's parameters) are read afresh each
call, and a replay checks they still have their shape, dtype, device and ``requires_grad``
(else it traces again).

A random draw (``anygrad.random``, dropout's mask) is drawn again by each replay. A trace
that cannot be replayed (``fn`` reads a value: ``bool()``, ``item()``, an in-place write;
an op without a shape rule; a backward on the engine) is *refused*: that call's result is
correct (it ran in lazy mode), and later calls with that signature run ``fn`` eagerly, after
one :class:`CompileWarning` saying why (``fallback="error"`` raises :class:`CompileError`
instead). A returned tensor whose graph a later ``backward()`` needs makes the signature run
in lazy mode each call. See ``docs/compile.md``.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._tensor import Tensor
from ..autograd import anomaly as _anomaly
from ..errors import AnygradError
from ..lazy.graph import _DATA, LazyTensor
from ..lazy.tracing import TRACER
from ..modes import MODE, default_device_name, lazy
from .trace import Program, Stale, Tracer

__all__ = ["compile", "CompiledFunction", "CompileError", "CompileWarning"]


class CompileError(AnygradError, RuntimeError):
    """``compile(fn, fallback="error")``: ``fn`` cannot be replayed (the message says why)."""


class CompileWarning(UserWarning):
    """A compiled function runs eagerly (or in lazy mode) for a signature, and why."""


@dataclass
class Stats:
    """What a compiled function did: traces, replays, and calls run eagerly or lazily.

    Attributes:
        traces: Calls that traced the function.
        replays: Calls that replayed a trace.
        fallbacks: Calls that ran the function eagerly or in lazy mode (a refused trace).
        evictions: Signatures dropped from the full cache.
    """

    traces: int = 0
    replays: int = 0
    fallbacks: int = 0
    evictions: int = 0


@dataclass
class _Entry:
    program: Program | None
    mode: str  # "replay", "eager" or "lazy"
    reason: str
    keep: tuple  # objects the signature names by identity: alive while the entry is


_FALLBACKS = ("eager", "error")


def compile(fn: Callable | None = None, *, cache_size: int = 64,  # noqa: A001 (the API's name)
            fallback: str = "eager") -> Any:
    """``fn`` traced once per signature and replayed after (see the module's docstring);
    also ``@compile`` and ``@compile(cache_size=..., fallback=...)``.

    Args:
        fn: The function to compile; None for the decorator with arguments.
        cache_size: The signatures kept (the least recently used is evicted).
        fallback: For a signature whose trace cannot be replayed: ``"eager"`` runs ``fn``
            eagerly from then on, after one :class:`CompileWarning`; ``"error"`` raises
            :class:`CompileError` instead.

    Returns:
        A :class:`CompiledFunction`; with ``fn`` None, a decorator making one.

    Raises:
        ValueError: ``cache_size`` is not a positive int, or ``fallback`` is neither
            ``"eager"`` nor ``"error"``.
        TypeError: ``fn`` is not callable.
    """
    if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 1:
        raise ValueError(f"compile: cache_size must be a positive int, not {cache_size!r}")
    if fallback not in _FALLBACKS:
        raise ValueError(f"compile: fallback must be 'eager' or 'error', not {fallback!r}")
    if fn is None:
        return lambda f: CompiledFunction(f, cache_size, fallback)
    return CompiledFunction(fn, cache_size, fallback)


class CompiledFunction:
    """A function traced once per signature and replayed after (see :func:`compile`).

    Its ``stats`` (a :class:`Stats`) count the traces, replays, fallbacks and evictions.

    Args:
        fn: The function compiled (a method too: the compiled function is a descriptor).
        cache_size: The signatures kept (the least recently used is evicted).
        fallback: ``"eager"`` or ``"error"``, as in :func:`compile` (not checked here).

    Raises:
        TypeError: ``fn`` is not callable.
    """

    def __init__(self, fn: Callable, cache_size: int = 64, fallback: str = "eager"):
        if not callable(fn):
            raise TypeError(f"compile: expects a function, not {type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.cache_size = cache_size
        self.fallback = fallback
        self.stats = Stats()
        self._cache: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        inner = getattr(fn, "__func__", fn)
        code = getattr(inner, "__code__", None)
        # the globals fn names (attribute names too: those not in its module are skipped)
        self._globals = tuple(code.co_names) if code is not None else ()
        self._free = bool(self._globals or getattr(inner, "__closure__", None))

    def __get__(self, obj: Any, objtype: Any = None) -> Any:  # a compiled method
        return self if obj is None else functools.partial(self, obj)

    def clear_cache(self) -> None:
        """Forget every trace."""
        with self._lock:
            self._cache.clear()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn``: replay its trace for this signature, trace it on the first call, or
        run it eagerly (or lazily) where its trace was refused. Inside lazy mode or another
        trace, ``fn`` just runs.

        Returns:
            What ``fn`` returns.

        Raises:
            CompileError: With ``fallback="error"``, when this call's trace cannot be
                replayed.
        """
        mode = MODE.get()
        if mode.lazy or TRACER.get() is not None:  # inside lazy mode or another trace: its
            return self.fn(*args, **kwargs)         # ops are that graph's
        tensors: list[Tensor] = []
        keep: list = []
        parts: list = [mode, default_device_name(), _anomaly.ACTIVE and _anomaly.enabled(),
                       len(args)]
        for a in args:
            if isinstance(a, Tensor) and type(a) is not LazyTensor:  # (the common case, inline)
                d = _DATA.__get__(a)
                parts.append((type(a), d.shape, d.dtype, a._backend, a._rg, a._op is None))
                tensors.append(a)
            else:
                _describe(a, parts, tensors, keep)
        if kwargs:
            _describe(kwargs, parts, tensors, keep)
        if self._free:
            self._describe_closure(parts, keep)
        key = tuple(parts)
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
        if entry is not None:
            if entry.mode == "replay":
                try:
                    out = entry.program.replay(tensors)
                except Stale:
                    pass
                else:
                    self.stats.replays += 1
                    return out
            else:
                self.stats.fallbacks += 1
                if entry.mode == "lazy":
                    with lazy():
                        return self.fn(*args, **kwargs)
                return self.fn(*args, **kwargs)
        return self._trace(key, tensors, tuple(keep), args, kwargs)

    def _describe_closure(self, parts: list, keep: list) -> None:
        fn = getattr(self.fn, "__func__", self.fn)
        cells = getattr(fn, "__closure__", None) or ()
        scope = getattr(fn, "__globals__", {})
        parts.append("closure")
        for cell in cells:
            try:
                value = cell.cell_contents
            except ValueError:  # (an empty cell)
                parts.append(None)
                continue
            _describe_free(value, parts, keep)
        for name in self._globals:
            if name in scope:
                _describe_free(scope[name], parts, keep)

    def _trace(self, key: tuple, tensors: list[Tensor], keep: tuple, args: tuple,
               kwargs: dict) -> Any:
        self.stats.traces += 1
        tracer = Tracer(tensors)
        token = TRACER.set(tracer)
        try:
            with lazy():
                out = self.fn(*args, **kwargs)
                template, graph = tracer.finish(out)
        finally:
            TRACER.reset(token)
            tracer.restore()
        if tracer.reason is None and graph:
            entry = _Entry(None, "lazy", "it returns a tensor whose graph a backward() "
                           "outside would need: call backward() inside the function to "
                           "compile it too", keep)
        elif tracer.reason is None:
            entry = _Entry(tracer.program(template), "replay", "", keep)
        else:
            entry = _Entry(None, "eager", tracer.reason, keep)
        if entry.mode != "replay":
            name = getattr(self.fn, "__qualname__", repr(self.fn))
            how = "eagerly" if entry.mode == "eager" else "in lazy mode"
            message = f"compile: {name} runs {how} for these inputs, because {entry.reason}"
            if self.fallback == "error":
                raise CompileError(message)
            warnings.warn(message, CompileWarning, stacklevel=3)
        with self._lock:
            self._cache[key] = entry
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
                self.stats.evictions += 1
        return out


_SCALARS = (type(None), bool, int, float, complex, str, bytes)


def _describe(x: Any, parts: list, tensors: list, keep: list) -> None:
    """Append what of ``x`` (an argument) decides the graph: tensors by their kind (their
    arrays are the replay's inputs), Python values by value, containers by their shape."""
    t = type(x)
    if isinstance(x, Tensor):
        if t is LazyTensor:
            x.realize()
        a = _DATA.__get__(x)
        parts.append((type(x), a.shape, a.dtype, x._backend, x._rg, x._op is None))
        tensors.append(x)
    elif t in _SCALARS:
        parts.append((t, x))
    elif t is tuple or t is list:
        parts.append((t, len(x)))
        for v in x:
            _describe(v, parts, tensors, keep)
    elif t is dict:
        parts.append((dict, tuple(x)))
        for v in x.values():
            _describe(v, parts, tensors, keep)
    else:
        _describe_free(x, parts, keep)


def _describe_free(x: Any, parts: list, keep: list) -> None:
    """A value ``fn`` may read without being given it (closures, globals, other arguments):
    Python values by value, modules by identity and training modes, tensors by identity,
    shape, dtype, device and ``requires_grad``, anything else by identity."""
    t = type(x)
    if t in _SCALARS:
        parts.append((t, x))
        return
    if isinstance(x, Tensor):
        a = _DATA.__get__(x) if type(x) is not LazyTensor else x._args
        parts.append((id(x), tuple(a.shape), a.dtype, x._backend, x._rg))
    elif t is tuple and all(type(v) in _SCALARS for v in x):
        parts.append((t, x))
        return
    else:
        modules = getattr(x, "modules", None)
        if callable(modules) and hasattr(x, "training"):
            parts.append((id(x), tuple(m.training for m in modules())))
        else:
            parts.append((t, id(x)))
    keep.append(x)


def _effect(method: Callable) -> Callable:
    """``method`` (an optimiser's ``step``, a ``zero_grad``), written down while tracing."""
    if getattr(method, "_anygrad_effect", False):
        return method

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = TRACER.get()
        if tracer is None or tracer.depth:
            return method(self, *args, **kwargs)
        return tracer.effect(method, self, args, kwargs)

    wrapper._anygrad_effect = True  # type: ignore[attr-defined]
    return wrapper


def _watch_effects() -> None:
    """Optimisers' ``step`` and ``zero_grad``, modules' and tensors' ``zero_grad`` (every
    subclass's own too, now and later) become effects a trace writes down (wrapped from
    outside: outside a trace each costs one context-variable lookup)."""
    from ..nn import Module
    from ..optim import Optimizer

    def watch(base: type, names: tuple[str, ...]) -> None:
        def wrap(cls: type) -> None:
            for name in names:
                if name in cls.__dict__:
                    setattr(cls, name, _effect(cls.__dict__[name]))

        stack = [base]
        while stack:  # the subclasses there are
            cls = stack.pop()
            wrap(cls)
            stack += cls.__subclasses__()
        previous = base.__dict__.get("__init_subclass__")

        def init_subclass(cls: type, **kwargs: Any) -> None:  # and those to come
            if previous is not None:
                previous.__func__(cls, **kwargs)
            else:
                super(base, cls).__init_subclass__(**kwargs)
            wrap(cls)

        base.__init_subclass__ = classmethod(init_subclass)  # type: ignore[assignment]

    watch(Optimizer, ("step", "zero_grad"))
    watch(Module, ("zero_grad",))
    Tensor.zero_grad = _effect(Tensor.zero_grad)  # type: ignore[method-assign]
    Tensor.null_grad = Tensor.zero_grad  # type: ignore[method-assign]


def _watch_draws() -> None:
    """``anygrad.random``'s ``draw`` and ``bernoulli_array`` (which dropout and every random
    function use) tell a trace what they drew and how, so that a replay draws again (wrapped
    from outside, as the effects are)."""
    from .. import random as _random

    for name in ("draw", "bernoulli_array"):
        original = getattr(_random, name)
        if getattr(original, "_anygrad_draw", False):
            continue

        def wrapper(*args: Any, _original: Callable = original, **kwargs: Any) -> Any:
            array = _original(*args, **kwargs)
            tracer = TRACER.get()
            if tracer is not None:
                tracer.drew(_original, args, kwargs, array)
            return array

        functools.update_wrapper(wrapper, original)
        wrapper._anygrad_draw = True  # type: ignore[attr-defined]
        setattr(_random, name, wrapper)


_watch_effects()
_watch_draws()
