"""Computing several lazy tensors at once: ``anygrad.compute(loss, *grads)``.

On the ``dask`` device every op only adds tasks to a Dask graph; :func:`compute` runs the
graphs of several tensors in one scheduler call (the default ``dask.distributed`` client when
there is one, else Dask's local threads), so the tasks they share (a loss and every gradient
share the forward pass) run once, and fills each tensor in with its value. Tensors of other
backends are already computed (lazy-mode tensors are realized first). The Dask calls live in
``anygrad.backends.dask_backend``.
"""

from __future__ import annotations

from typing import Any

from ._tensor import Tensor
from .backends import dask_backend
from .lazy import pending, realize

__all__ = ["compute", "tasks", "client"]


def compute(*tensors: Tensor, persist: bool = False) -> tuple[Tensor, ...]:
    """Compute ``tensors`` in one scheduler call and fill them in; returns them.

    After the call each Dask tensor holds its value without history: ``persist=False`` (the
    default) brings the values to this process, wrapped as Dask arrays of the same chunks
    (for losses, gradients and parameters: they then travel with the next graph to the
    workers); ``persist=True`` leaves them in the workers' memory (for large results). A
    tensor of unknown size (after a boolean mask, ``unique_*``, ``nonzero``) has its size
    known afterwards. The tensors keep their place in the autograd graph.
    """
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            got = "None (a parameter without a gradient?)" if t is None else type(t).__name__
            raise TypeError(f"compute: argument {i} is {got}, not a Tensor")
    lazy = [t for t in tensors if pending(t)]
    if lazy:
        realize(*lazy)
    by_backend: dict[Any, list[Tensor]] = {}
    for t in tensors:
        if getattr(t._backend, "materialize", None) is not None:
            group = by_backend.setdefault(t._backend, [])
            if all(u is not t for u in group):
                group.append(t)
    for backend, group in by_backend.items():
        for t, value in zip(group, backend.materialize([t.data for t in group], persist),
                            strict=True):
            t.data = value
    return tensors


def tasks(*tensors: Tensor) -> int:
    """How many Dask tasks computing ``tensors`` together would run (shared ones once): a
    training step's size, flat from step to step when nothing grows the graph."""
    return dask_backend.tasks(*(t.data for t in tensors if dask_backend.is_dask(t.data)))


def client() -> Any:
    """The ``dask.distributed`` client Dask tensors are computed on, or None (local threads)."""
    return dask_backend.client()
