"""Applying an op to tensors: run it now (eager) or record it (lazy), and link the graph.

This is the hot path of every operation: one read of the mode, the tensor's own backend
(no namespace look-ups), and the graph links stored on the result only when a gradient
is needed. ``unary_fn``/``binary_fn`` build each op's public function around its op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import backends
from .._tensor import Tensor, _wrap
from ..errors import AnygradError, DeviceError, DTypeError, ShapeError
from ..modes import EAGER, MODE
from . import engine
from .op import Op

_EMPTY: dict[str, Any] = {}
_new = object.__new__
# Orders every recorded tensor after its inputs; ``detect_anomaly()`` swaps in a counter that
# also notes where each number was drawn (the user's line), at no cost while it is off.
_sequence = engine.sequence
as_operand = backends.as_operand


_SCALARS = frozenset((bool, int, float, complex))  # what ``as_operand`` leaves a Python number
_SHAPE_WORDS = ("shape", "size", "dimension", "broadcast", "0d", "1d", "dim")


def describe(x: Any) -> str:
    """An operand as error messages name it: ``float32[2, 3] on cpu`` for a Tensor, its dtype,
    shape and type for an array, ``repr`` for a Python number, else its type's name."""
    if isinstance(x, Tensor):
        return f"{x.dtype.name}{list(x.shape)} on {x.device}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # an array (a deferred op's operand)
        return f"{x.dtype}{list(x.shape)} {type(x).__name__}"
    return repr(x) if isinstance(x, int | float | bool | complex) else type(x).__name__


def op_error(op: Op, inputs: tuple, exc: Exception) -> Exception:
    """The backend's exception, retyped and reworded to name the op and its operands."""
    if isinstance(exc, AnygradError):
        return exc
    text = str(exc)
    if text.startswith(f"{op.name}: "):  # (already named by an inner call)
        text = text[len(op.name) + 2:]
    msg = f"{op.name}: {text} (operands: {', '.join(describe(x) for x in inputs)})"
    text = text.lower()
    if isinstance(exc, ValueError) or (  # torch says RuntimeError for shape mismatches
            isinstance(exc, RuntimeError) and any(w in text for w in _SHAPE_WORDS)):
        return ShapeError(msg)
    if isinstance(exc, TypeError | NotImplementedError) or (  # torch: "... not implemented
            isinstance(exc, RuntimeError) and "type" in text):  # for 'Bool'", "dtype ..."
        return DTypeError(msg)
    try:
        return type(exc)(msg)
    except Exception:
        return exc


def device_error(op: Op, inputs: tuple) -> DeviceError:
    """The DeviceError (returned, not raised) for ``op`` given tensors on several devices."""
    devices = " and ".join(sorted({str(x.device) for x in inputs if isinstance(x, Tensor)}))
    return DeviceError(f"{op.name}: operands are on different devices ({devices}); move them "
                       f"to one device with .to(device) first "
                       f"(operands: {', '.join(describe(x) for x in inputs)})")


def link(t: Tensor, op: Op, parents: tuple, args: tuple, params: dict[str, Any]) -> Tensor:
    """Record in ``t`` that ``op`` computed it from ``parents``/``args`` with ``params``."""
    t._rg = True
    t._op = op
    t._parents = parents
    t._args = args
    t._params = params
    t._seq = next(_sequence)
    return t


def _constant(value: Any) -> Tensor:
    """A non-Tensor value with no tensor beside it: a constant on the default device."""
    arr, backend = backends.from_data(value, copy=False)
    return _wrap(arr, backend)


def ensure_tensor(x: Any) -> Tensor:
    """``x`` if it is a Tensor, else ``x`` as a constant on the default device."""
    return x if isinstance(x, Tensor) else _constant(x)


def _record(op: Op, inputs: tuple, params: dict[str, Any]) -> Tensor:
    """Lazy mode: ``anygrad.lazy.record`` (bound on first use: the lazy package imports this
    module)."""
    global _record
    from ..lazy import record
    _record = record
    return record(op, inputs, params)


def unary_fn(op: Op, params: dict[str, Any] = _EMPTY) -> Callable[[Any], Tensor]:
    """``fn(x)``: ``op`` applied to one input with fixed ``params``."""
    forward, name = op.forward, op.xp_name
    differentiable = op.vjps is not None
    resolved = (None, None)  # (backend, its xp.<name>): the last one used, one atomic tuple

    def fn(x: Any, out: Tensor | None = None) -> Tensor:
        nonlocal resolved
        if out is not None:  # MyGrad's and NumPy's ``out=``: written in place
            return into(out, fn(x))
        if not isinstance(x, Tensor):
            x = _constant(x)
        mode = MODE.get()
        if mode is EAGER:  # (the common mode: one identity test for both of its flags)
            record = differentiable
        elif mode.lazy:
            return _record(op, (x,), params)
        else:
            record = differentiable and mode.grad
        backend = x._backend
        a = x.data
        try:
            cached = resolved
            if cached[0] is backend:
                out = cached[1](a)
            elif backend.context is None:
                if name:
                    resolved = backend, getattr(backend.xp, name)
                out = forward(backend.xp, a, **params)
            else:
                with backend.context:  # CuPy: run on the tensor's GPU
                    out = forward(backend.xp, a, **params)
        except Exception as exc:
            raise op_error(op, (x,), exc) from exc
        t = _new(Tensor)
        t.data = out
        t._backend = backend
        t._g = None
        if record and x._rg:
            t._rg = True
            t._op = op
            t._parents = (x,)
            t._args = (a,)
            t._params = params
            t._seq = next(_sequence)
        else:
            t._rg = False
            t._op = None
        return t

    return fn


def binary_fn(op: Op, params: dict[str, Any] = _EMPTY) -> Callable[[Any, Any], Tensor]:
    """``fn(x, y)``: ``op`` applied to two inputs (Tensors or Python scalars)."""
    forward, name = op.forward, op.xp_name
    differentiable = op.vjps is not None
    exact = op.exact or op  # recorded when the inputs' shapes and dtypes are the result's
    resolved = (None, None)  # (backend, its xp.<name>): the last one used, one atomic tuple

    def fn(x: Any, y: Any, out: Tensor | None = None) -> Tensor:
        nonlocal resolved
        if out is not None:  # MyGrad's and NumPy's ``out=``: written in place
            return into(out, fn(x, y))
        mode = MODE.get()
        if mode is EAGER:  # (the common mode: one identity test for both of its flags)
            record = differentiable
        elif mode.lazy:
            return _record(op, (x, y), params)
        else:
            record = differentiable and mode.grad
        if isinstance(x, Tensor):
            backend = x._backend
            a = x.data
            if isinstance(y, Tensor):
                if y._backend is not backend:
                    raise device_error(op, (x, y))
                b = y.data
            else:
                b = as_operand(y, backend, op.name)
                y = None
        elif isinstance(y, Tensor):
            backend = y._backend
            b = y.data
            a = as_operand(x, backend, op.name)
            x = None
        else:
            return fn(_constant(x), y)
        try:
            cached = resolved
            if cached[0] is backend:
                out = cached[1](a, b)
            elif backend.context is None:
                if name:
                    resolved = backend, getattr(backend.xp, name)
                out = forward(backend.xp, a, b, **params)
            else:
                with backend.context:  # CuPy: run on the tensor's GPU
                    out = forward(backend.xp, a, b, **params)
        except Exception as exc:
            raise op_error(op, (a if x is None else x, b if y is None else y), exc) from exc
        t = _new(Tensor)
        t.data = out
        t._backend = backend
        t._g = None
        if record:
            px = x if x is not None and x._rg else None
            py = y if y is not None and y._rg else None
            if px is not None or py is not None:
                t._rg = True
                # facts decided once here, not per gradient in backward: operands of one
                # shape and dtype (a Python number beside a tensor of the result's dtype)
                if x is not None and y is not None:
                    t._op = exact if a.dtype is b.dtype and a.shape == b.shape else op
                else:
                    one, other = (a, b) if y is None else (b, a)
                    t._op = (exact if out.dtype is one.dtype and type(other) in _SCALARS
                             else op)
                t._parents = (px, py)
                t._args = (a, b)
                t._params = params
                t._seq = next(_sequence)
                return t
        t._rg = False
        t._op = None
        return t

    return fn


def into(out: Any, result: Tensor) -> Tensor:
    """``out[...] = result`` (a differentiable write into ``out``'s memory); ``out``.

    Raises:
        TypeError: If ``out`` is not a Tensor (or a tuple of one).
        ShapeError: If ``out`` and ``result`` differ in shape.
    """
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    if not isinstance(out, Tensor):
        raise TypeError(f"out= takes a Tensor, not {type(out).__name__}")
    if out.shape != result.shape:
        raise ShapeError(f"out= has shape {out.shape}, the result {result.shape}")
    out[...] = result
    return out


def apply_unary(op: Op, x: Any, params: dict[str, Any] = _EMPTY) -> Tensor:
    """Apply a one-input ``op`` with ``params``."""
    if MODE.get().lazy:
        return _record(op, (x,), params)
    return unary_fn(op, params)(x)


def call(xp: Any, op: Op, inputs: tuple, params: dict[str, Any] = _EMPTY) -> Any:
    """What a derivative rule runs another op with: its forward on arrays (eager backward),
    the op itself on tensors (lazy mode's deferred backward, ``create_graph``), so that a
    gradient built by writes into a fresh array is one node of the graph, not writes into
    a deferred or recorded tensor."""
    for x in inputs:
        if isinstance(x, Tensor):
            return apply(op, inputs, params)
    return op.forward(xp, *inputs, **params)


def placed(op: Op, inputs: tuple) -> tuple[Any, tuple]:
    """The backend the tensors among ``inputs`` share (DeviceError if they do not), and the
    inputs, the first made a constant on the default device when none is a tensor."""
    backend = None
    for x in inputs:
        if isinstance(x, Tensor):
            if backend is None:
                backend = x._backend
            elif x._backend is not backend:
                raise device_error(op, inputs)
    if backend is None:
        inputs = (_constant(inputs[0]), *inputs[1:])
        backend = inputs[0]._backend
    return backend, inputs


def apply(op: Op, inputs: tuple, params: dict[str, Any] = _EMPTY) -> Tensor:
    """Apply ``op`` to any number of inputs (Tensors, arrays, Python scalars)."""
    mode = MODE.get()
    if mode.lazy:
        return _record(op, inputs, params)
    backend, inputs = placed(op, inputs)
    args = tuple(x.data if isinstance(x, Tensor) else as_operand(x, backend, op.name)
                 for x in inputs)
    try:
        if backend.context is None:
            out = op.forward(backend.xp, *args, **params)
        else:
            with backend.context:
                out = op.forward(backend.xp, *args, **params)
    except Exception as exc:
        raise op_error(op, inputs, exc) from exc
    t = _wrap(out, backend)
    rules = op.vjps
    if mode.grad and rules is not None:
        parents = tuple(x if isinstance(x, Tensor) and x._rg and rules[i] is not None else None
                        for i, x in enumerate(inputs))
        if any(p is not None for p in parents):
            link(t, op, parents, args, params)
    return t
