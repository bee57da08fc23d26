"""Devices: one canonical, hashable value per device, parsed once from a string.

Names are strict: ``cpu`` (``cpu:0``), ``cuda`` (``cuda:0``), ``cuda:N``, and ``KIND`` or
``KIND:INDEX`` for a kind a backend is registered for (``torch:cpu``,
``array_api_strict:device1``); anything else (``"gpu"``, ``"CPU"``, ``"cuda:x"``) is a
:class:`DeviceError`, which is also a ValueError.
"""

from __future__ import annotations

from functools import cache

from ..errors import DeviceError


class Device:
    """A device such as ``cpu``, ``cuda:1`` or ``torch:cpu``.

    ``kind`` picks the backend family; ``index`` (an int, a name, or None) picks one device of
    that kind. Devices compare equal to their string form: ``t.device == "cuda:0"``. There is
    one object per device: ``Device(kind, index)`` returns it, and declares ``kind`` (a new
    backend's device, made before it is registered); device names parse strictly
    (:func:`parse`).
    """

    __slots__ = ("kind", "index", "_str")

    def __new__(cls, kind: str, index: int | str | None = None) -> Device:
        """The one Device of ``kind`` and ``index`` (``cpu:0`` is ``cpu``), made on first use.

        Args:
            kind: The backend family: ``cpu``, ``cuda`` or a registered kind (a new kind is
                declared by this call).
            index: Which device of that kind: an int, a name, or None.

        Raises:
            DeviceError: If ``kind`` is not a non-empty name without ``:`` or surrounding
                spaces.
        """
        if kind == "cpu" and index == 0:
            index = None  # "cpu:0" is "cpu"
        key = (kind, index)
        try:
            dev = _interned.get(key)
        except TypeError:  # an unhashable kind or index
            dev = None
        if dev is None:
            if not isinstance(kind, str) or not kind or ":" in kind or kind != kind.strip():
                raise DeviceError(f"a device kind is a name such as 'cuda', not {kind!r}")
            if not (index is None or isinstance(index, int | str)):
                raise DeviceError(f"a device index is an int or a name, not {index!r}")
            dev = object.__new__(cls)
            dev.kind, dev.index = kind, index
            dev._str = kind if index is None else f"{kind}:{index}"
            _KINDS.add(kind)
            _interned[key] = dev
        return dev

    def __str__(self) -> str:
        return self._str

    def __repr__(self) -> str:
        return f"device('{self._str}')"

    def __hash__(self) -> int:
        return hash(self._str)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Device):
            return self._str == other._str
        if isinstance(other, str):
            try:
                return parse(other) is self
            except DeviceError:
                return False
        return NotImplemented

    def __reduce__(self):
        return parse, (self._str,)


_interned: dict[tuple, Device] = {}

#: The device kinds a name may start with: the built-ins, and every kind a backend was
#: registered for or an array library's tensors were seen on (``add_kind``).
_KINDS = {"cpu", "cuda"}


def add_kind(kind: str) -> None:
    """Let device names of ``kind`` (``kind``, ``kind:INDEX``) parse."""
    _KINDS.add(kind)


def _malformed(name: str, why: str) -> DeviceError:
    others = ", ".join(sorted(_KINDS - {"cpu", "cuda"}))
    return DeviceError(f"{why}: {name!r} is not a device name; the names are 'cpu', 'cuda' "
                       f"(the first GPU), 'cuda:N' (N = 0, 1, ...)"
                       + (f", and 'KIND' or 'KIND:INDEX' for the registered kinds {others}"
                          if others else "") + " (see anygrad.backends.register)")


@cache
def _parse(name: str) -> Device:
    kind, sep, index = name.partition(":")
    if kind not in _KINDS:
        hint = {"gpu": "a GPU is 'cuda' or 'cuda:N'"}.get(kind.lower(), "")
        if not hint and kind.strip().lower() in _KINDS:
            hint = f"device names are lower case, without spaces: {kind.strip().lower()!r}"
        raise _malformed(name, hint or f"no backend serves device kind {kind!r}")
    if sep and not index:
        raise _malformed(name, "an index follows the ':'")
    if kind == "cpu":
        if sep and index != "0":
            raise _malformed(name, "the cpu device has no index ('cpu' or 'cpu:0')")
        return _canonical("cpu", None)  # "cpu:0" is "cpu"
    if kind == "cuda":
        if sep and not (index.isascii() and index.isdigit()):
            raise _malformed(name, "a GPU's index is a number")
        return _canonical(kind, int(index) if sep else 0)  # 'cuda' is the first GPU
    if not sep:
        return _canonical(kind, None)
    return _canonical(kind, int(index) if index.isascii() and index.isdigit() else index)


_canonical = Device


def parse(device: str | Device) -> Device:
    """Return the canonical :class:`Device` for ``device`` (a string or a Device).

    Raises:
        DeviceError: If ``device`` is not a string or a Device, or is no device name (a kind
            no backend serves, a wrong case, a malformed index); the message lists the
            names there are.
    """
    if isinstance(device, Device):
        return device
    if not isinstance(device, str):
        raise DeviceError(f"a device is a string such as 'cpu' or 'cuda:1', not {device!r}")
    return _parse(device)  # (strict: exactly as written, no spaces, lower-case kinds)
