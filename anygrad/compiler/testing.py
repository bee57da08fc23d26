"""The test suite's compile mode: every plan lazy mode runs is run again by compile's code.

``checked_replays()`` (``ANYGRAD_TEST_MODE=compile``, see ``tests/conftest.py``) makes each
run of a plan, a ``backward()``'s included, followed by the generated function a compiled
replay would run (:mod:`.codegen`) on the same leaf arrays, and checks it gives the very
arrays the executor gave to every tensor (same dtype, shape and bits).
"""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Iterator
from typing import Any

from ..lazy import schedule
from ..lazy.graph import USER
from . import codegen


def check(plan: Any, leaves: list, vals: list, backend: Any) -> None:
    """Replay ``plan`` by its generated code and compare with the executor's ``vals``
    (``schedule.check``'s signature). Plans with unkeyed parameters or user functions, other
    backends than anygrad's own, deferred libraries (Dask: comparing would compute what the
    program keeps lazy) and runs under ``tracemalloc`` are not checked.

    Raises:
        AssertionError: A value differs from the executor's in dtype, shape or bits (NaN
            equal to NaN); the message shows both and the generated source.
    """
    if (plan.unkeyed or any(step.op is USER for step in plan.steps)
            or not type(backend).__module__.startswith("anygrad.") or tracemalloc.is_tracing()
            or backend.materialize is not None):
        return  # (parameters holding arrays; user functions and tests' counting backends
        # see each op run exactly once; a second run would double a measured peak)
    needed = tuple(j for j in range(plan.n) if vals[j] is not None)
    if not needed:
        return
    run = codegen.replayer(plan, backend, tuple(getattr(a, "dtype", None) for a in leaves),
                           needed)
    token = schedule.check
    schedule.check = None  # (the replay's own fallback to the executor is not checked)
    try:
        got = run(list(leaves))
    finally:
        schedule.check = token
    for j, value in zip(needed, got, strict=True):
        want = vals[j]
        a, b = backend.to_numpy(want), backend.to_numpy(value)
        if a.dtype != b.dtype or a.shape != b.shape or not (
                (a == b) | ((a != a) & (b != b))).all():
            raise AssertionError(f"compile replay differs from the executor at node {j} "
                                 f"({plan.steps and plan.steps[0].op.name}...):\n"
                                 f"{a!r}\n{b!r}\n{getattr(run, 'source', '')}")


@contextlib.contextmanager
def checked_replays() -> Iterator[None]:
    """Check every plan run inside the block (see the module's docstring)."""
    token = schedule.check
    schedule.check = check
    try:
        yield
    finally:
        schedule.check = token
