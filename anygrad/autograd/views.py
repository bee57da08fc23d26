"""Views and in-place writes, with NumPy's values and MyGrad's gradients.

A **view** (basic indexing, reshape without a copy, permute, flip, broadcast) shares its
input's memory where the backend has views. It names the tensor that owns the memory,
``base`` (a view of a view has the same base), and how to derive itself from it, ``_vchain``:
the view ops applied in turn. The base keeps weak references to its views.

A **write** (``x[k] = v``, ``x += y``, NumPy's ``out=``) into a tensor or one of its views
changes the memory in place, so the base and every view see it. The graph is re-based as
PyTorch does: the base becomes the output of a ``write`` op (gradient: the incoming one with
the written region zeroed for the old base, that region for the value), and every live view
is derived anew from it. The tensor objects keep their identity; each keeps its previous
version in ``_prev`` for the ops that read it before the write (see ``engine``).

**A write never corrupts a gradient** (MyGrad's behaviour): when something besides the
base's tensors holds the arrays (a node that saved them for backward; an alias anygrad does
not track) or the base's own op reads its output in backward, the memory is copied first;
the base and its views move to the copy and the old arrays keep the values the graph saved.
Otherwise the write costs no copy: a loop of scalar writes into a big tensor writes each
element in place.

Backends without views (JAX, Dask) keep functional writes: ``x`` takes a new array.
"""

from __future__ import annotations

import math
from typing import Any
from weakref import ref

from .._tensor import Tensor, _new, _wrap
from ..backends.base import set_at
from ..errors import DeviceError
from ..modes import MODE
from . import engine
from .engine import unbroadcast
from .function import _record, link, op_error
from .op import Op, passes


class Meta:
    """What a view op's rule reads of its input: shape, dtype and device, not the values (a
    node holding the array would make every later write into it copy first)."""

    __slots__ = ("shape", "dtype", "device")

    def __init__(self, array: Any, device: Any):
        self.shape = tuple(array.shape)
        self.dtype = array.dtype
        self.device = device  # the backend's native device

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.shape)

    def __repr__(self) -> str:
        return f"{self.dtype}{list(self.shape)}"


def view(op: Op, x: Tensor, params: dict[str, Any], layout: bool = False) -> Tensor:
    """``op`` (a view op) applied to ``x``; the result is a view of ``x``'s base when the
    backend made it share memory. ``layout``: whether that depends on the memory layout (a
    reshape), in which case only views of C-contiguous bases are tracked, so that the same
    ops give views of a fresh gradient array too."""
    mode = MODE.get()
    backend = x._backend
    if mode.lazy:  # marked now, checked when realized (``Tensor.base``, ``write``)
        t = _record(op, (x,), params)
        if backend.views and op.name in backend.view_ops:
            _mark(t, x, op, params)
        return t
    a = x.data
    try:
        if backend.context is None:
            out = op.forward(backend.xp, a, **params)
        else:
            with backend.context:
                out = op.forward(backend.xp, a, **params)
    except Exception as exc:
        raise op_error(op, (x,), exc) from exc
    t = _wrap(out, backend)
    if x._rg and mode.grad:
        link(t, op, (x,), (Meta(a, backend.native),), params)
    if backend.views and backend.shares(out, a):
        root = x._base if x._base is not None else x
        if not layout or backend.contiguous(root.data):
            _mark(t, x, op, params)
    return t


def _mark(t: Tensor, x: Tensor, op: Op, params: dict[str, Any]) -> None:
    root = x._base if x._base is not None else x
    t._base = root
    t._vchain = x._vchain + ((op, params),)
    views = root._views
    if views is None:
        root._views = [ref(t)]
        return
    if len(views) & 15 == 15:  # drop dead references now and then
        views[:] = [r for r in views if r() is not None]
    views.append(ref(t))


def unmark(t: Tensor) -> None:
    """``t`` is no view after all (lazy mode marks before it knows whether a library copies)."""
    t._base = None
    t._vchain = ()


def live_views(base: Tensor) -> list[Tensor]:
    """The views of ``base`` that are still alive."""
    refs = base._views
    if not refs:
        return []
    out = []
    for r in refs:
        v = r()
        if v is not None and v._base is base:
            out.append(v)
    return out


def derive(xp: Any, array: Any, chain: tuple) -> Any:
    """``array`` viewed through ``chain`` (each entry a view op and its parameters)."""
    for op, params in chain:
        array = op.forward(xp, array, **params)
    return array


# -- the graph of a write -------------------------------------------------------------------
def _zero_region(xp: Any, g: Any, out: Any, base: Any, value: Any, *, chain: tuple,
                 key: Any) -> Any:
    # a fresh C-contiguous array: ``chain`` gives views of it (see ``view``); written in
    # place (only backends with views record writes)
    z = set_at(xp.zeros(g.shape, dtype=g.dtype, device=base.device), ..., g)
    set_at(derive(xp, z, chain), ... if key is None else key, 0)
    return z


def _region(xp: Any, g: Any, out: Any, base: Any, value: Any, *, chain: tuple,
            key: Any) -> Any:
    region = derive(xp, g, chain)
    if key is None:
        return region
    r = region[key]
    if any(hasattr(k, "dtype") and xp.isdtype(k.dtype, "integral") for k in key):
        r = r * xp.astype(_last_writes(xp, region, key), r.dtype)
    shape = getattr(value, "shape", ())
    if len(shape) > r.ndim:  # NumPy drops a value's leading size-1 axes: the engine sums them
        r = xp.reshape(r, (1,) * (len(shape) - r.ndim) + tuple(r.shape))
    return r


def _last_writes(xp: Any, region: Any, key: tuple) -> Any:
    """Which elements of ``region[key]`` a write kept: with repeated integer indices only the
    last write of each element lands (as the library assigned it), so only it gets the
    value's gradient."""
    n, device = math.prod(region.shape), region.device
    order = xp.arange(n, device=device)
    pos = xp.reshape(xp.reshape(order, region.shape)[key], (-1,))
    writer = xp.zeros((n,), dtype=order.dtype, device=device)
    steps = xp.arange(pos.shape[0], dtype=order.dtype, device=device)
    writer = set_at(writer, pos, steps)
    return xp.reshape(xp.take(writer, pos) == steps, region[key].shape)


#: ``base`` with ``value`` written into the region ``chain`` then ``key`` picks (the data is
#: written in place by ``write``; the forward is what lazy mode or a replay would compute)
WRITE = Op("write", lambda xp, base, value, *, chain, key: base, (_zero_region, _region),
           complex_exact=True, reads_out=False)


def _chain_rule(xp: Any, g: Any, out: Any, x: Any, *, chain: tuple, metas: tuple) -> Any:
    """The gradient of ``derive(x, chain)``: each view op's rule, last to first."""
    for (op, params), meta in zip(reversed(chain), reversed(metas), strict=True):
        g = op.vjps[0](xp, g, None, Meta(meta, g.device), **params)  # (g's device: a Tensor's
        # under create_graph, where the rules run on anygrad)
        if tuple(g.shape) != meta.shape:  # broadcast_to leaves the sum to the engine
            g = unbroadcast(xp, g, meta.shape)
    return g


#: a view derived anew from its (written) base: one node for the whole chain
VIEWS = Op("view", lambda xp, x, *, chain, metas: derive(xp, x, chain), (_chain_rule,),
           complex_exact=True, reads_out=False)
#: a tensor written under ``no_grad``: the graph goes on as if its value had not changed
PASS = Op("pass", lambda xp, x: x, (passes,), same_shape=True,
          complex_exact=True, reads_out=False)


def _reads_out(t: Tensor) -> bool:
    """Whether ``t``'s own op still needs ``t``'s values in backward."""
    op = t._op
    return op is not None and t._parents is not None and op.reads_out


def _operand(value: Any, backend: Any, dtype: Any, name: str) -> tuple[Any, Tensor | None]:
    """The native value to write and the Tensor it came from (None for constants)."""
    if isinstance(value, Tensor):
        if value._backend is not backend:
            raise DeviceError(f"{name}: the value is on {value.device}, the tensor on "
                              f"{backend.device}")
        arr = value.data
    else:
        from .. import backends
        arr, value = backends.as_operand(value, backend, name), None
    if hasattr(arr, "dtype") and arr.dtype != dtype:  # cast as NumPy's assignment does
        arr = backend.xp.astype(arr, dtype)
    return arr, value


def write(target: Tensor, key: Any, value: Any, name: str) -> None:
    """``target[key] = value`` in place (``key`` None: all of ``target``; a native key)."""
    backend = target._backend
    base = target._base if target._base is not None else target
    views = live_views(base)
    arrays = [base.data] + [v.data for v in views]  # (realizes deferred ones)
    xp = backend.xp
    for v in views:  # lazy mode computes views on its own: make them views again
        if not backend.shares(v.data, arrays[0]):
            v.data = derive(xp, arrays[0], v._vchain)
            if not backend.shares(v.data, arrays[0]) or not (backend.contiguous(arrays[0]) or all(
                    op.name != "reshape" for op, _ in v._vchain)):  # a copy, after all
                unmark(v)
    if any(v._base is None for v in views):
        if target._base is None and target is not base:  # the target is a copy: write it
            del arrays
            return write(target, key, value, name)
        views = [v for v in views if v._base is not None]
        arrays = [arrays[0]] + [v.data for v in views]
    native, source = _operand(value, backend, arrays[0].dtype, name)
    record = MODE.get().grad and (base._rg or (source is not None and source._rg))
    passing = not record and _reads_out(base)  # no_grad: the graph must keep the old value
    copy = _reads_out(base) or not backend.exclusive(arrays)
    del arrays
    kept = None
    context = backend.context
    try:
        if context is not None:
            context.__enter__()
        if copy:  # the graph keeps the old arrays; the base and its views move to a copy
            kept = {id(t): t.data for t in (base, *views)}
            base.data = xp.asarray(base.data, copy=True)
            for v in views:
                v.data = derive(xp, base.data, v._vchain)
        target.data[... if key is None else key] = native
    except Exception as exc:
        raise op_error(_Named(name), (target, value), exc) from exc
    finally:
        if context is not None:
            context.__exit__(None, None, None)
    if passing:
        meta = Meta(base.data, backend.native)
        _rebind(base, _node(PASS, base.data, base, (base,), (meta,), {}), kept)
    if not record:
        return
    leaflike = (base._op is None and base._rg) or base._leaflike
    if leaflike:  # a leaf written in place keeps its gradient (MyGrad), and stays a leaf
        engine.retain(base)  # for later graphs when the value came from nothing else
        base._leaflike = source is None or not source._rg or not _reaches_other(source, base)
    whole = key is None and not target._vchain  # the old base gets no gradient from it
    parents = (base if base._rg and not whole else None,
               source if source is not None and source._rg else None)
    args = (Meta(base.data, backend.native),
            Meta(native, backend.native) if hasattr(native, "shape") else native)
    _rebind(base, _node(WRITE, base.data, base, parents, args,
                        {"chain": target._vchain, "key": key}), kept)
    for v in views:  # each view: derived anew from the written base, in one node
        chain = v._vchain
        metas, a = [], base.data
        for op, p in chain:
            metas.append(Meta(a, backend.native))
            a = op.forward(xp, a, **p)
        _rebind(v, _node(VIEWS, a, base, (base,), (metas[0],),
                         {"chain": chain, "metas": tuple(metas)}), kept)


def _reaches_other(value: Tensor, base: Tensor) -> bool:
    """Whether gradients from ``value`` reach a tensor requiring grad other than ``base``
    (a leaf, or a leaf written with values of its own) and its previous versions."""
    own = {id(base)}
    p = base._prev
    while p is not None:
        own.add(id(p))
        p = p._prev
    stack, seen = [value], set()
    while stack:
        t = stack.pop()
        if id(t) in seen or id(t) in own:
            continue
        seen.add(id(t))
        if t._op is None or t._parents is None:
            return True
        stack.extend(p for p in t._parents if p is not None)
    return False


def set_shape(x: Tensor, shape: Any) -> None:
    """``x.shape = shape`` in place: ``x`` becomes a reshape view of its own memory (its views
    stay views of the same memory; ``x``'s graph goes on through the reshape).

    Raises:
        AttributeError: If the new shape needs a copy of the memory (NumPy's error type).
    """
    from ..ops.shape import RESHAPE, reshape
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    new = reshape(x, shape)
    backend = x._backend
    if x.size and backend.views and not backend.shares(new.data, x.data):
        raise AttributeError(f"cannot reshape a tensor of shape {x.shape} to {shape} in place "
                             f"without copying; use .reshape()")
    if x._base is None:
        back = ((RESHAPE, {"shape": x.shape}),)
        for v in live_views(x):  # they derived from x's old shape
            v._vchain = back + v._vchain
    else:
        x._vchain = x._vchain + ((RESHAPE, {"shape": tuple(new.shape)}),)
    if new._op is None:
        x.data = new.data
        return
    leaf = x._op is None or x._leaflike
    _rebind(x, new, None)
    if leaf:  # a leaf reshaped in place is still a leaf (as when written: see ``write``)
        engine.retain(x)
        x._leaflike = True


class _Named:
    """An op's name for error messages of writes (which are no op of the table)."""

    def __init__(self, name: str):
        self.name = name


def _node(op: Op, data: Any, like: Tensor, parents: tuple, args: tuple, params: dict
          ) -> Tensor:
    return link(_wrap(data, like._backend), op, parents, args, params)


def _rebind(x: Tensor, new: Tensor, kept: dict | None) -> None:
    """Make ``x`` the node ``new`` (whose inputs may include ``x``: they get ``x``'s previous
    version, which keeps the old array when ``kept`` has it, else a ghost)."""
    old = _new(Tensor)
    old.data = kept[id(x)] if kept is not None else x._backend.ghost(x.data)
    old._backend, old._rg, old._op, old._g = x._backend, x._rg, x._op, None
    if x._op is not None:
        old._parents, old._args, old._params, old._seq = x._parents, x._args, x._params, x._seq
        old._prev = x._prev
    else:
        old._seq = -1
    new._parents = tuple(old if p is x else p for p in new._parents)
    x._prev = old
    engine.REBOUND = True  # (see engine._version_at)
    x.data = new.data
    x._rg, x._op = True, new._op
    x._parents, x._args, x._params, x._seq = new._parents, new._args, new._params, new._seq
