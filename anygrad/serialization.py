"""``save`` and ``load``: tensors and (nested) state dicts in a file that cannot run code.

The file is an ``.npz`` archive (NumPy's zip of ``.npy`` arrays, read without pickle) with
one extra member, a JSON index of the structure: dicts (any str/int keys), lists, tuples,
Python scalars, strings, None, and tensors (dtype, device, requires_grad). ``save`` writes
a temporary file beside the target and renames it over the target only when complete, so
a crash mid-save leaves the old file intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

from . import backends
from ._tensor import Tensor
from .backends import npz
from .errors import AnygradError

__all__ = ["save", "load"]

_FORMAT = "anygrad.save"
_VERSION = 1
_KEY_TYPES = (str, int)


def _encode(obj: Any, arrays: dict[str, Any], path: str) -> Any:
    if isinstance(obj, Tensor):
        name = f"t{len(arrays)}"
        arrays[name] = obj.numpy()
        return {"tensor": name, "device": str(obj.device), "requires_grad": obj.requires_grad}
    if obj is None or isinstance(obj, bool | int | float | str):
        return {"value": obj}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, _KEY_TYPES):
                raise TypeError(f"save: dict keys must be str or int; {path} has a "
                                f"{type(k).__name__} key {k!r}")
            items.append([k, _encode(v, arrays, f"{path}[{k!r}]")])
        return {"dict": items}
    if isinstance(obj, list | tuple):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot store {path} of type {type(obj).__name__}; store tensors, "
                    f"numbers, strings, None, and dicts, lists and tuples of them")


def _decode(node: dict[str, Any], arrays: dict[str, Any], device: Any) -> Any:
    if "tensor" in node:
        where = device if device is not None else node["device"]
        try:
            backends.get(where)
        except AnygradError as exc:
            raise type(exc)(f"load: the file holds tensors saved on {node['device']}, which "
                            f"cannot be used here ({exc}); pass device='cpu' (or another "
                            f"device) to load them there") from exc
        return Tensor(arrays[node["tensor"]], device=where,
                      requires_grad=node["requires_grad"])
    if "value" in node:
        return node["value"]
    if "dict" in node:
        return {k: _decode(v, arrays, device) for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, arrays, device) for v in node["list"]]
    return tuple(_decode(v, arrays, device) for v in node["tuple"])


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a tensor, or dicts/lists/tuples of tensors and plain values, such as a
    ``state_dict``) to ``path``, atomically."""
    path = os.fspath(path)
    arrays: dict[str, Any] = {}
    index = json.dumps({"format": _FORMAT, "version": _VERSION,
                        "root": _encode(obj, arrays, "obj")})
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            npz.write(f, arrays, index)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike, device: Any = None) -> Any:
    """Read what :func:`save` wrote. Tensors go to ``device``, or by default to the device
    they were saved from. Nothing in the file is executed."""
    arrays, index = npz.read(os.fspath(path))
    meta = json.loads(index)
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"load: {path} was not written by anygrad.save")
    if meta.get("version", 0) > _VERSION:
        raise ValueError(f"load: {path} has format version {meta['version']}; this anygrad "
                         f"reads up to {_VERSION}")
    return _decode(meta["root"], arrays, device)
