"""Moving tensors between devices, differentiably: the gradient goes back where it came from."""

from __future__ import annotations

from typing import Any

from .. import backends
from ..autograd.function import link
from ..autograd.op import Op
from ..modes import MODE
from ..tensor import Tensor, _wrap

TO = Op("to", lambda xp, x, *, src, dst: dst.accept(x, src),
        (lambda xp, g, out, x, *, src, dst: src.accept(g, dst),),
        complex_exact=True)  # linear with real coefficients: no conjugation needed


def to(x: Tensor, device: Any) -> Tensor:
    """``x`` on ``device`` (``x`` itself when it is already there)."""
    dst = backends.get(device)
    src = x._backend
    if dst is src:
        return x
    t = _wrap(dst.accept(x.data, src), dst)
    if x._rg and MODE.get().grad:
        link(t, TO, (x,), (x.data,), {"src": src, "dst": dst})
    return t
