"""``anygrad.detect_anomaly()``: while on, the first NaN or Inf that backward produces raises
:class:`~anygrad.errors.AnomalyError` naming the forward op and where it was created.

The flag lives in a ``contextvars.ContextVar`` (threads and tasks never see each other's);
``ACTIVE`` counts the blocks open in any context, so the engine can skip even the context
variable's read (``if anomaly.ACTIVE and anomaly.enabled(): ...``) when none is.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from typing import Any

from ..errors import AnomalyError

_FLAG: contextvars.ContextVar[bool] = contextvars.ContextVar("anygrad_anomaly", default=False)
_LOCK = threading.Lock()
ACTIVE = 0  #: open detect_anomaly(True) blocks, in every thread (a cheap first test)
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def enabled() -> bool:
    """Whether anomaly detection is on in this context."""
    return _FLAG.get()


is_anomaly_enabled = enabled  # PyTorch's name


class detect_anomaly(contextlib.ContextDecorator):
    """Within the block (or the decorated function), check every gradient backward computes:
    the first with a NaN or Inf raises :class:`AnomalyError` naming the forward op and the
    line that called it. ``detect_anomaly(False)`` turns it off inside an enclosing block.
    Slows backward down: for debugging only.

    Args:
        mode: True to check, False to stop checking within the block.

    Raises:
        TypeError: If ``mode`` is not a bool.
    """

    def __init__(self, mode: bool = True):
        if not isinstance(mode, bool):
            raise TypeError(f"detect_anomaly: mode must be a bool, not {type(mode).__name__}")
        self.mode = mode
        self._tokens: list[contextvars.Token[bool]] = []

    def _recreate_cm(self) -> detect_anomaly:
        return type(self)(self.mode)  # a fresh block per call: safe across threads, recursion

    def __enter__(self) -> detect_anomaly:
        global ACTIVE
        self._tokens.append(_FLAG.set(self.mode))
        if self.mode:
            with _LOCK:
                ACTIVE += 1
                if ACTIVE == 1:
                    _stamp(True)
        return self

    def __exit__(self, *exc: object) -> None:
        global ACTIVE
        _FLAG.reset(self._tokens.pop())
        if self.mode:
            with _LOCK:
                ACTIVE -= 1
                if ACTIVE == 0:
                    _stamp(False)


class _Stamping:
    """The ops' sequence counter, noting where each number was drawn while detection is on:
    every recorded tensor draws one, so its number finds the user's line that made it."""

    def __init__(self, counter: Any):
        self.counter = counter

    def __iter__(self) -> _Stamping:
        return self

    def __next__(self) -> int:
        n = next(self.counter)
        if _FLAG.get():
            _SITES[n] = creation_site()
        return n


_SITES: dict[int, str | None] = {}


def _stamp(on: bool) -> None:
    """Swap the stamping counter in for the ops' own (``autograd.function._sequence``)."""
    from . import engine, function
    function._sequence = _Stamping(engine.sequence) if on else engine.sequence
    if not on:
        _SITES.clear()


def where(t: Any) -> str | None:
    """Where the op that made ``t`` was applied, if detection was on then."""
    return _SITES.get(getattr(t, "_seq", None))


def creation_site() -> str | None:
    """``file:line in function`` of the innermost caller outside anygrad (the user's line
    that applied an op), or None."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE + os.sep):
            return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return None


def _bad(value: Any) -> str | None:
    """"NaN" or "Inf" if ``value`` (a Tensor, a backend array, a number) has one, else None."""
    from .. import backends
    from .._tensor import Tensor
    if isinstance(value, Tensor):
        arr, backend = value.data, value._backend
    elif isinstance(value, int | float | complex):
        v = complex(value)
        return "NaN" if v != v else "Inf" if abs(v) == float("inf") else None
    else:
        backend = backends.of_array(value)
        arr = value
        if backend is None:  # host (NumPy) data
            arr, backend = backends.from_data(value, copy=False)
    xp = backend.xp
    if not xp.isdtype(arr.dtype, ("real floating", "complex floating")):
        return None
    if bool(xp.any(xp.isnan(arr))):
        return "NaN"
    if bool(xp.any(xp.isinf(arr))):
        return "Inf"
    return None


def check(op_name: str, where: str | None, value: Any, *, input_index: int | None = None,
          what: str = "gradient") -> None:
    """Raise :class:`AnomalyError` if ``value`` (what ``op_name``'s derivative rule returned,
    for input ``input_index``) holds a NaN or an Inf; ``where``: where the op was created."""
    bad = _bad(value)
    if bad is None:
        return
    of = f" with respect to its input {input_index}" if input_index is not None else ""
    at = f", created at {where}" if where else " (created where detect_anomaly was not on)"
    raise AnomalyError(f"detect_anomaly: the backward of {op_name!r}{at}, gave a {what} "
                       f"containing {bad}{of}")
