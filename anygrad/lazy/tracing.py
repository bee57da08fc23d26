"""The hooks through which ``anygrad.compile`` watches lazy mode while it traces a function.

Lazy mode does the work (records, plans, fuses, runs); a tracer (see ``anygrad.compiler``)
only listens: which plans ran on which arrays, which gradients went where, and whatever makes
the trace impossible to replay (a value read, an op run eagerly, a backward on the engine).
``TRACER`` is None outside a trace, so each hook costs one context-variable lookup.
"""

from __future__ import annotations

import contextvars
from typing import Any

TRACER: contextvars.ContextVar[Any] = contextvars.ContextVar("anygrad_tracer", default=None)


def refuse(reason: str) -> None:
    """The trace under way (if any) cannot be replayed, because of ``reason``."""
    tracer = TRACER.get()
    if tracer is not None:
        tracer.refuse(reason)
