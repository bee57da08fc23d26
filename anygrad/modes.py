"""Modes that change what ops do: gradient recording, lazy evaluation, the default device.

Each lives in a ``contextvars.ContextVar``, so threads and async tasks never see each other's
mode. Gradient and lazy flags share one variable: an op reads its mode with one lookup.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from typing import Any, NamedTuple


class Mode(NamedTuple):
    """The execution mode of a context: whether ops record a graph and whether they defer.

    Attributes:
        grad: Record the graph for ``backward()`` (False inside ``no_grad``).
        lazy: Defer execution until ``realize()`` (True inside ``lazy``).
    """

    grad: bool = True   # record the graph for backward
    lazy: bool = False  # defer execution until realize()

    def changed(self, **changes: bool) -> Mode:
        """This mode with ``changes``, as the one shared instance of that mode."""
        return canonical(self._replace(**changes))


def canonical(mode: Mode) -> Mode:
    """The one shared instance equal to ``mode``: ops test ``mode is EAGER`` (fast path)."""
    return _CANONICAL[mode]


_CANONICAL = {m: m for m in (Mode(g, lz) for g in (True, False) for lz in (False, True))}
EAGER = canonical(Mode())  #: record the graph, run now: the default
MODE: contextvars.ContextVar[Mode] = contextvars.ContextVar("anygrad_mode", default=EAGER)
_DEVICE: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "anygrad_device", default=os.environ.get("ANYGRAD_DEVICE") or "cpu")


class _ModeBlock(contextlib.ContextDecorator):
    """Sets mode fields inside a ``with`` block, or around a decorated function."""

    _changes: dict[str, bool] = {}
    _next: dict[Mode, Mode] = {}  # each mode -> the block's (one look-up per ``with``)

    def __init_subclass__(cls) -> None:
        cls._next = {m: m.changed(**cls._changes) for m in _CANONICAL}

    def __new__(cls, func: Any = None) -> Any:
        if func is not None:  # used bare, as ``@no_grad``: decorate at once
            return cls()(func)
        return super().__new__(cls)

    def __init__(self) -> None:
        self._tokens: list[contextvars.Token[Mode]] = []

    def _recreate_cm(self) -> _ModeBlock:
        return type(self)()  # a fresh block per call: safe across threads and recursion

    def __enter__(self) -> None:
        self._tokens.append(MODE.set(self._next[MODE.get()]))

    def __exit__(self, *exc: object) -> None:
        MODE.reset(self._tokens.pop())


class no_grad(_ModeBlock):
    """Record no graph inside the block; also a decorator (``@no_grad`` or ``@no_grad()``)."""

    _changes = {"grad": False}


class enable_grad(_ModeBlock):
    """Record the graph inside the block, even within ``no_grad``."""

    _changes = {"grad": True}


class lazy(_ModeBlock):
    """Defer ops inside the block (also a decorator); ``anygrad.lazy()`` is this block.

    Each op returns at once a tensor whose shape, dtype and device are known, computed when
    its value is needed (``realize()``, ``.numpy()``, ``.item()``, ``backward()``, ...).
    """

    _changes = {"lazy": True}


class eager(_ModeBlock):
    """Run ops at once inside the block, even within ``lazy``."""

    _changes = {"lazy": False}


_MODES = {"lazy": True, "eager": False}


def _is_lazy_name(name: str) -> bool:
    try:
        return _MODES[name]
    except (KeyError, TypeError):
        raise ValueError(f"mode must be 'lazy' or 'eager', not {name!r}") from None


def set_mode(name: str) -> None:
    """Switch this context (thread, async task) to lazy or eager execution until changed.

    Args:
        name: ``"lazy"`` or ``"eager"``.

    Raises:
        ValueError: For any other name.
    """
    MODE.set(MODE.get().changed(lazy=_is_lazy_name(name)))


def mode(name: str) -> _ModeBlock:
    """A ``with`` block (or decorator) that runs in lazy or eager mode.

    Args:
        name: ``"lazy"`` or ``"eager"``.

    Returns:
        ``lazy()`` or ``eager()``.

    Raises:
        ValueError: For any other name.
    """
    return lazy() if _is_lazy_name(name) else eager()


def is_lazy() -> bool:
    """Tell whether ops are deferred here.

    Returns:
        True inside ``lazy()`` or after ``set_mode("lazy")`` in this context.
    """
    return MODE.get().lazy


def set_grad_enabled(enabled: bool) -> None:
    """Turn gradient recording on or off in this context (thread, async task) until changed.

    Args:
        enabled: Record the graph for backward (True) or not (False).
    """
    MODE.set(MODE.get().changed(grad=bool(enabled)))


def is_grad_enabled() -> bool:
    """Tell whether ops record the graph for backward here.

    Returns:
        False inside ``no_grad()`` or after ``set_grad_enabled(False)``, else True.
    """
    return MODE.get().grad


def default_device_name() -> Any:
    """The current default device, as given (a string or a Device)."""
    return _DEVICE.get()


def get_default_device() -> Any:
    """The device new tensors go to when none is given.

    Returns:
        The ``Device`` set by ``set_default_device`` or ``default_device`` in this context,
        else the ``ANYGRAD_DEVICE`` environment variable's, else ``cpu``.

    Raises:
        DeviceError: When ``ANYGRAD_DEVICE`` names no device.
    """
    from .backends import parse
    return parse(_DEVICE.get())


def set_default_device(device: Any) -> None:
    """Make a device the default for new tensors in this context (thread, async task).

    Args:
        device: A device name (``"cpu"``, ``"cuda:1"``, ...) or ``Device``.

    Raises:
        DeviceError: When ``device`` names no device.
    """
    from .backends import parse
    _DEVICE.set(parse(device))


@contextlib.contextmanager
def default_device(device: Any) -> Iterator[Any]:
    """Make a device the default for new tensors inside a ``with`` block.

    Args:
        device: A device name (``"cpu"``, ``"cuda:1"``, ...) or ``Device``.

    Yields:
        The ``Device``.

    Raises:
        DeviceError: When ``device`` names no device.
    """
    from .backends import parse
    token = _DEVICE.set(parse(device))
    try:
        yield token.var.get()
    finally:
        _DEVICE.reset(token)
