"""Moving tensors between devices, differentiably: the gradient goes back where it came from."""

from __future__ import annotations

from typing import Any

from .. import backends
from .._tensor import Tensor, _wrap
from ..autograd.function import link
from ..autograd.op import Op
from ..modes import MODE

TO = Op("to", lambda xp, x, *, src, dst: dst.accept(x, src),
        (lambda xp, g, out, x, *, src, dst: src.accept(g, dst),),
        complex_exact=True)  # linear with real coefficients: no conjugation needed


def to(x: Tensor, device: Any) -> Tensor:
    """``x`` on ``device`` (``x`` itself when it is already there). In lazy mode the copy is
    deferred too, once ``x`` is computed: a plan runs on one backend."""
    dst = backends.get(device)
    src = x._backend
    if dst is src:
        return x
    mode = MODE.get()
    params = {"src": src, "dst": dst}
    if mode.lazy:
        from ..lazy.graph import deferred
        from ..lazy.keys import freeze
        a = x.data
        aval = (tuple(a.shape), dst.native_dtype(src.dtype_of(a.dtype)))
        return deferred(TO, dst, (a,), params, freeze(params)[0], aval,
                        (x,) if x._rg and mode.grad else None)
    t = _wrap(dst.accept(x.data, src), dst)
    if x._rg and mode.grad:
        link(t, TO, (x,), (x.data,), params)
    return t
