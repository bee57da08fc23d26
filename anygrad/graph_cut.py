"""No silent graph cuts: what happens when a Tensor that requires grad leaves the graph.

``np.asarray(t)``, ``float(t)``, ``int(t)``, ``complex(t)``, ``t.item()`` and ``t.tolist()``
turn a Tensor into values that carry no gradient. Done to a tensor that requires grad while
gradients are recorded (often inside a library that calls ``np.asarray`` on its input), the
gradient through that value is lost. By default anygrad warns, once per call site, with a
:class:`GraphCutWarning` pointing at the first frame outside anygrad;
``set_graph_cut("raise")`` raises :class:`GraphCutError` there instead and
``set_graph_cut("ignore")`` stays silent. The explicit ways out stay silent in every mode:
``t.numpy()``, ``t.detach()``, and anything under ``anygrad.no_grad()``; so do ``bool(t)``
(control flow: the gradient of the branch taken is still right) and formatting
(``f"{loss:.3f}"``).

The mode lives in a ``contextvars.ContextVar``: threads and async tasks each have their own.
"""

from __future__ import annotations

import contextvars
import sys
import warnings
from typing import Any

from .errors import GraphError

_MODES = ("warn", "raise", "ignore")
_MODE: contextvars.ContextVar[str] = contextvars.ContextVar("anygrad_graph_cut", default="warn")


class GraphCutWarning(UserWarning):
    """A Tensor that requires grad became a NumPy array or a Python number while gradients
    were recorded: no gradient flows through that value."""


class GraphCutError(GraphError):
    """Under ``set_graph_cut("raise")``: a Tensor that requires grad became a NumPy array or
    a Python number while gradients were recorded."""


class _Setting:
    """What :func:`set_graph_cut` returns: the mode is already set; as a ``with`` block it is
    restored on exit."""

    def __init__(self, token: contextvars.Token[str]):
        self._token = token

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _MODE.reset(self._token)


def set_graph_cut(mode: str) -> _Setting:
    """Choose what a graph cut does in this context (thread, task): ``"warn"`` (the default:
    a :class:`GraphCutWarning`, once per call site), ``"raise"`` (:class:`GraphCutError`) or
    ``"ignore"``.

    Takes effect at once; used as ``with anygrad.set_graph_cut("raise"): ...`` the previous
    mode comes back when the block ends.

    Args:
        mode: ``"warn"``, ``"raise"`` or ``"ignore"``.

    Returns:
        A context manager that restores the previous mode on exit (the new one is set
        already, whether or not it is used).

    Raises:
        ValueError: ``mode`` is not one of the three.
    """
    if mode not in _MODES:
        raise ValueError(f"set_graph_cut: mode must be one of {', '.join(map(repr, _MODES))}, "
                         f"not {mode!r}")
    return _Setting(_MODE.set(mode))


def get_graph_cut() -> str:
    """What a graph cut does in this context: ``"warn"``, ``"raise"`` or ``"ignore"``."""
    return _MODE.get()


def _outside_anygrad() -> int:
    """The ``stacklevel`` (for :func:`warnings.warn` called by this function's caller) of the
    first frame whose module is not anygrad's: the line that asked for the conversion."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != "anygrad" and not name.startswith("anygrad."):
            break
        frame, level = frame.f_back, level + 1
    return level


def cut(tensor: Any, how: str) -> None:
    """Report that ``tensor`` (which requires grad, while gradients are recorded) leaves the
    graph through ``how`` (``"float(t)"``, ``"np.asarray(t)"``, ...), as the mode says.

    The conversion methods call this only after their own cheap check (``t._rg`` and
    gradient recording on), so it is off every hot path.

    Args:
        tensor: The tensor converted.
        how: The conversion, as the message names it.

    Raises:
        GraphCutError: Under ``set_graph_cut("raise")``.

    Warns:
        GraphCutWarning: Under ``"warn"`` (the default), pointing at the first frame outside
            anygrad.
    """
    mode = _MODE.get()
    if mode == "ignore":
        return
    dtype = getattr(tensor.dtype, "name", tensor.dtype)
    message = (f"{how} on a Tensor that requires grad (shape {tuple(tensor.shape)}, {dtype}) "
               f"cuts the autograd graph: no gradient flows through its result. To "
               f"differentiate, keep the computation in anygrad's functions; to take the value "
               f"on purpose, use t.detach(), t.numpy() or anygrad.no_grad() "
               f"(anygrad.set_graph_cut() chooses 'warn', 'raise' or 'ignore')")
    if mode == "raise":
        raise GraphCutError(message)
    warnings.warn(message, GraphCutWarning, stacklevel=_outside_anygrad())
