"""Lazy mode: deferred graphs, ``realize()``, and a graph optimiser.

``with anygrad.lazy():`` makes every op return at once a deferred tensor whose shape and
dtype are known (:mod:`.abstract`); its value is computed when needed (:mod:`.schedule`):
each node once, dead branches skipped, equal sub-expressions shared, buffers released and
reused, elementwise chains fused into one kernel (:mod:`.fusion`, with the backend's fuser),
and the schedule of a graph seen before taken from the plan cache (:mod:`.cache`).
``backward()`` plans forward and backward as one graph (:mod:`.backward`).

This package is callable: ``anygrad.lazy()`` is the lazy-mode block (and decorator) of
:mod:`anygrad.modes`, so the mode and its machinery share one name.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ..modes import lazy as _block
from .cache import clear as clear_cache
from .cache import stats
from .graph import LazyTensor, Node, pending, record
from .schedule import realize as _realize

__all__ = ["record", "realize", "LazyTensor", "Node", "pending", "stats", "clear_cache"]


def realize(*tensors: Any) -> None:
    """Compute several deferred tensors in one schedule (sharing what they have in common).

    Args:
        *tensors: The tensors to compute; those not deferred are ignored.
    """
    _realize(tensors)


class _CallablePackage(types.ModuleType):
    def __call__(self, func: Any = None) -> Any:
        return _block() if func is None else _block(func)


sys.modules[__name__].__class__ = _CallablePackage
