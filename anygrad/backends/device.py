"""Devices: one canonical, hashable value per device, parsed once from a string."""

from __future__ import annotations

from functools import cache

from ..errors import DeviceError


class Device:
    """A device such as ``cpu``, ``cuda:1`` or ``torch:cpu``.

    ``kind`` picks the backend family; ``index`` (an int, a name, or None) picks one device of
    that kind. Devices compare equal to their string form: ``t.device == "cuda:0"``.
    """

    __slots__ = ("kind", "index", "_str")

    def __init__(self, kind: str, index: int | str | None = None):
        self.kind = kind
        self.index = index
        self._str = kind if index is None else f"{kind}:{index}"

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


@cache
def _parse(name: str) -> Device:
    kind, sep, index = name.strip().partition(":")
    if not kind or (sep and not index):
        raise DeviceError(f"malformed device string {name!r}; expected 'kind' or 'kind:index'")
    kind = kind.lower()
    if not sep:
        # 'cuda' means the first GPU, as in PyTorch and CuPy.
        return _canonical(kind, 0 if kind == "cuda" else None)
    idx: int | str | None = int(index) if index.isdigit() else index
    if kind == "cpu" and idx == 0:
        idx = None  # "cpu:0" is "cpu"
    return _canonical(kind, idx)


_interned: dict[tuple, Device] = {}


def _canonical(kind: str, index: int | str | None) -> Device:
    key = (kind, index)
    dev = _interned.get(key)
    if dev is None:
        dev = _interned[key] = Device(kind, index)
    return dev


def parse(device: str | Device) -> Device:
    """Return the canonical :class:`Device` for ``device`` (a string or a Device)."""
    if isinstance(device, Device):
        return device
    if not isinstance(device, str):
        raise DeviceError(f"a device is a string such as 'cpu' or 'cuda:1', not {device!r}")
    return _parse(device)
