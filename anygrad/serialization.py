"""``save`` and ``load``: tensors and (nested) state dicts in a file that cannot run code.

The file is an ``.npz`` archive (NumPy's zip of ``.npy`` arrays, read without pickle) with
one extra member, ``__index__.npy``: the UTF-8 bytes of a JSON index of the structure (see
docs/nn.md). ``save`` writes a temporary file beside the target and renames it over the
target only when complete, so a crash mid-save leaves the old file intact; the next save into
that folder removes temporary files whose writer died. ``load`` checks the whole archive
(zip structure, CRCs, ``.npy`` headers, sizes, index) before NumPy reads an array, and
raises ``anygrad.errors.CheckpointError`` saying what is wrong with a file it refuses.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
import re
import secrets
import struct
import time
import zipfile
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: a file open in another process cannot be deleted instead
    fcntl = None

from . import backends
from ._tensor import Tensor
from .backends import npz
from .errors import AnygradError, CheckpointError

__all__ = ["save", "load"]

_FORMAT = "anygrad.save"
_VERSION = 1
_KEY_TYPES = (str, int)
_MAX_DEPTH = 100  # dicts/lists/tuples nested deeper than this are refused (save and load)
_INDEX = "__index__.npy"
_TMP_SUFFIX = ".anygrad.tmp"
_TMP_NAME = re.compile(r"\..*\.[0-9a-f]{16}" + re.escape(_TMP_SUFFIX), re.DOTALL)
_ORPHAN_AGE_S = 60.0  # without file locks (Windows), only temporary files this old are removed
_NPY_MAGIC = b"\x93NUMPY"
_MAX_NPY_HEADER = 10_000  # NumPy's own limit for a trusted header
_NPY_DESCR = re.compile(r"[<>|=]([biufc])([0-9]{1,2})")  # the dtypes a tensor can have
_CHUNK = 1 << 20
_KINDS = ("tensor", "value", "dict", "list", "tuple")
# what zipfile raises on a damaged or crafted archive (OSError: a seek to a crafted offset)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OverflowError,
               struct.error, NotImplementedError, RuntimeError, OSError)


class CheckpointTypeError(CheckpointError, TypeError):
    """``save`` was given a value of a type a checkpoint cannot store."""


class _BadMember(Exception):
    """An archive member that is not an array ``save()`` could have written."""


# -- save ---------------------------------------------------------------------------------

def _encode(obj: Any, arrays: dict[str, Any], path: str, open_: dict[int, str]) -> Any:
    """The index node of ``obj`` (at key path ``path``); its arrays go into ``arrays``.

    ``open_`` maps the containers being encoded (``path``'s ancestors) to their paths.
    """
    if isinstance(obj, Tensor):
        name = f"t{len(arrays)}"
        array = obj.numpy()
        arrays[name] = array
        return {"tensor": name, "dtype": str(array.dtype), "shape": list(array.shape),
                "device": str(obj.device), "requires_grad": obj.requires_grad}
    if obj is None or isinstance(obj, bool | int | float | str):
        return {"value": obj}
    if not isinstance(obj, dict | list | tuple):
        raise CheckpointTypeError(
            f"save: cannot store {path} of type {type(obj).__name__}; store tensors, numbers, "
            f"strings, None, and dicts, lists and tuples of them")
    if id(obj) in open_:
        raise CheckpointError(f"save: {path} is {open_[id(obj)]} itself (a reference cycle); "
                              f"a checkpoint stores a tree of dicts, lists and tuples")
    if len(open_) >= _MAX_DEPTH:
        raise CheckpointError(f"save: {path} is nested more than {_MAX_DEPTH} dicts, lists or "
                              f"tuples deep")
    open_[id(obj)] = path
    try:
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not isinstance(k, _KEY_TYPES):
                    raise CheckpointTypeError(f"save: dict keys must be str or int; {path} has "
                                              f"a {type(k).__name__} key {k!r}")
                items.append([k, _encode(v, arrays, f"{path}[{k!r}]", open_)])
            return {"dict": items}
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{path}[{i}]", open_) for i, v in enumerate(obj)]}
    finally:
        del open_[id(obj)]


def _create_temp(directory: str, base: str) -> tuple[int, str]:
    """A new temporary file in ``directory``, locked while its descriptor stays open.

    Its mode comes from the umask, as ``open(path, "w")`` gives; the lock keeps other saves
    from removing it.
    """
    while True:
        tmp = os.path.join(directory, f".{base[:100]}.{secrets.token_hex(8)}{_TMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
        if fcntl is None:
            return fd, tmp
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.path.samestat(os.fstat(fd), os.lstat(tmp)):
                return fd, tmp
        except FileNotFoundError:
            pass  # a cleanup took the file between its creation and the lock: make another
        except OSError:
            return fd, tmp  # no locks on this filesystem (cleanups cannot lock here either)
        os.close(fd)


def _remove_orphans(directory: str) -> None:
    """Delete the temporary files of saves into ``directory`` that died (killed, preempted).

    POSIX: those nobody holds locked; elsewhere: old ones, if no process has them open.
    """
    try:
        with os.scandir(directory) as entries:
            orphans = [e.path for e in entries
                       if _TMP_NAME.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
    except OSError:
        return
    for tmp in orphans:
        with contextlib.suppress(OSError):
            if fcntl is None:
                if time.time() - os.lstat(tmp).st_mtime > _ORPHAN_AGE_S:
                    os.unlink(tmp)
                continue
            fd = os.open(tmp, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises while a save writes it
                if os.path.samestat(os.fstat(fd), os.lstat(tmp)):
                    os.unlink(tmp)  # under the lock: the writer's check sees it gone
            finally:
                os.close(fd)


def _sync_directory(directory: str) -> None:
    """Make the rename durable (POSIX; a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fspath(path: Any, op: str) -> str | bytes:
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"{op}: path must be a str, bytes or os.PathLike, not "
                        f"{type(path).__name__}") from None


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write a tensor, or a structure of tensors and plain values, to a checkpoint file.

    The file is an ``.npz`` archive (one ``.npy`` member per tensor and a JSON index), never
    a pickle. It is written atomically: a temporary file in the same folder, fsynced, then
    renamed over ``path``, so a crash leaves the old file intact. A symlink at ``path`` stays
    a link (its target is written); the file gets the mode the umask gives.

    Args:
        obj: A Tensor, a number, a string, None, or dicts (str or int keys), lists and
            tuples of them, such as ``{"model": m.state_dict(), "opt": o.state_dict()}``.
        path: The file to write.

    Raises:
        CheckpointError: For a reference cycle or nesting deeper than 100, naming the key
            path (``obj['opt']['state']``).
        CheckpointTypeError: For a value of another type (also a ``TypeError``).
        TypeError: When ``path`` is not a path.
        OSError: When the file cannot be written.
    """
    target = os.path.realpath(_fspath(path, "save"))
    arrays: dict[str, Any] = {}
    index = json.dumps({"format": _FORMAT, "version": _VERSION,
                        "root": _encode(obj, arrays, "obj", {})})
    directory, base = os.path.split(target)
    _remove_orphans(directory)
    fd, tmp = _create_temp(directory, base)
    try:
        with os.fdopen(fd, "wb") as f:
            npz.write(f, arrays, index)
            f.flush()
            os.fsync(f.fileno())
            if fcntl is not None:  # rename while still locked (allowed on POSIX)
                os.replace(tmp, target)
        if fcntl is None:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_directory(directory)


# -- load: check the archive ----------------------------------------------------------------

def _bad(file: str, what: str) -> CheckpointError:
    return CheckpointError(f"load: {file} {what}")


def _not_a_zip(head: bytes) -> str:
    """Why a file whose first bytes are ``head`` is not a checkpoint."""
    if not head:
        return "is empty (0 bytes), not an anygrad checkpoint"
    if head.startswith(b"PK"):
        return ("is a damaged zip archive (truncated, or its central directory is corrupt); "
                "it cannot be read")
    if head.startswith(_NPY_MAGIC):
        return ("is a single NumPy .npy array, not an anygrad checkpoint (an .npz archive "
                "written by anygrad.save)")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ("is a Python pickle (pickle.dump, torch.save before 1.6, ...); anygrad never "
                "unpickles, since unpickling can run code from the file")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and (text.isprintable() or text.isspace() or "\n" in text):
        return "is a text file, not an anygrad checkpoint (an .npz archive)"
    return "is not an anygrad checkpoint: not a zip (.npz) archive"


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError("the member ends early")
    return data


def _npy_header(stream: IO[bytes]) -> tuple[str, tuple[int, ...], int]:
    """Descr, shape and total size in bytes of the ``.npy`` array ``stream`` starts with.

    Raises _BadMember if it is not one a tensor could have been saved as.
    """
    head = _read_exact(stream, 8)
    if not head.startswith(_NPY_MAGIC):
        raise _BadMember("is not a .npy array")
    major = head[6]
    if major not in (1, 2, 3):
        raise _BadMember(f"has an unknown .npy format version {major}")
    size_format, prefix = ("<H", 10) if major == 1 else ("<I", 12)
    (length,) = struct.unpack(size_format, _read_exact(stream, prefix - 8))
    if length > _MAX_NPY_HEADER:
        raise _BadMember(f"has a {length}-byte .npy header (at most {_MAX_NPY_HEADER})")
    text = _read_exact(stream, length).decode("latin1" if major < 3 else "utf8")
    try:
        header = ast.literal_eval(text)  # literals only: nothing is run
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        header = None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise _BadMember("has an unreadable .npy header")
    descr, shape = header["descr"], header["shape"]
    match = _NPY_DESCR.fullmatch(descr) if isinstance(descr, str) else None
    if match is None:
        raise _BadMember(f"holds dtype {descr!r}, which no tensor has (objects, records, "
                         f"strings and pickled data are never loaded)")
    if (not isinstance(header["fortran_order"], bool) or not isinstance(shape, tuple)
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise _BadMember(f"has a malformed .npy header {text.strip()!r}")
    return descr, shape, prefix + length + math.prod(shape) * int(match.group(2))


def _check_archive(f: IO[bytes], file: str) -> None:
    """Check that ``f`` is a complete, undamaged npz as ``save()`` writes one.

    Every member is read to its end (so its CRC is checked) and its ``.npy`` header checked.
    """
    try:
        archive = zipfile.ZipFile(f)
    except _ZIP_ERRORS as exc:
        f.seek(0)
        head = f.read(64)
        detail = f" ({exc})" if head.startswith(b"PK") else ""
        raise _bad(file, _not_a_zip(head) + detail) from None
    members: dict[str, tuple[str, tuple[int, ...]]] = {}
    with archive:
        infos = archive.infolist()
        if _INDEX not in {info.filename for info in infos}:
            raise _bad(file, f"is a zip archive (such as a NumPy .npz) but not one "
                             f"anygrad.save wrote: it has no {_INDEX} member")
        for info in infos:
            name = info.filename
            if not name.endswith(".npy"):
                raise _bad(file, f"holds a member {name!r} that is not a .npy array; "
                                 f"anygrad.save writes only .npy members")
            if name[:-4] in members:
                raise _bad(file, f"lists the member {name!r} twice (a damaged or crafted "
                                 f"archive)")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise _bad(file, f"holds a compressed or encrypted member {name!r}; "
                                 f"anygrad.save writes neither")
            try:
                with archive.open(info) as stream:
                    descr, shape, size = _npy_header(stream)
                    if size != info.file_size:
                        raise _BadMember(f"declares {size} bytes for shape {shape} but the "
                                         f"archive holds {info.file_size}")
                    while stream.read(_CHUNK):  # to the end: zipfile checks the CRC there
                        pass
            except _BadMember as exc:
                raise _bad(file, f"is damaged: its member {name!r} {exc}") from None
            except _ZIP_ERRORS as exc:
                why = str(exc) or ("the file ends inside it" if isinstance(exc, EOFError)
                                   else type(exc).__name__)
                raise _bad(file, f"is damaged: its member {name!r} cannot be read ({why})"
                           ) from None
            members[name[:-4]] = (descr, shape)
    descr, shape = members[_INDEX[:-4]]
    if descr != "|u1" or len(shape) != 1:
        raise _bad(file, "is damaged: its index is not a byte string")


# -- load: check the index, build the tensors --------------------------------------------

def _check_node(node: Any, where: str, depth: int, refs: list[tuple[str, str, dict]],
                file: str) -> None:
    """Check the index node for key path ``where``; collect its tensors in ``refs``."""
    kinds = [k for k in _KINDS if k in node] if isinstance(node, dict) else []
    if len(kinds) != 1:
        raise _bad(file, f"has a malformed index: its entry for {where} is {node!r:.80}")
    kind, body = kinds[0], node[kinds[0]]
    if depth > _MAX_DEPTH:
        raise _bad(file, f"has an index nested more than {_MAX_DEPTH} levels deep")
    if kind == "tensor":
        shape = node.get("shape", [])
        if not (isinstance(body, str) and isinstance(node.get("device"), str)
                and isinstance(node.get("requires_grad"), bool)
                and isinstance(node.get("dtype", ""), str) and isinstance(shape, list)
                and all(type(n) is int for n in shape)):
            raise _bad(file, f"has a malformed index: its tensor entry for {where} is "
                             f"{node!r:.120}")
        refs.append((body, where, node))
    elif kind == "value":
        if not (body is None or isinstance(body, bool | int | float | str)):
            raise _bad(file, f"has a malformed index: the value of {where} is {body!r:.80}")
    elif kind == "dict":
        if not isinstance(body, list):
            raise _bad(file, f"has a malformed index: its dict entry for {where} is "
                             f"{body!r:.80}")
        for item in body:
            if not (isinstance(item, list) and len(item) == 2
                    and isinstance(item[0], _KEY_TYPES)):
                raise _bad(file, f"has a malformed index: an item of the dict {where} is "
                                 f"{item!r:.80}")
            _check_node(item[1], f"{where}[{item[0]!r}]", depth + 1, refs, file)
    else:
        if not isinstance(body, list):
            raise _bad(file, f"has a malformed index: its {kind} entry for {where} is "
                             f"{body!r:.80}")
        for i, item in enumerate(body):
            _check_node(item, f"{where}[{i}]", depth + 1, refs, file)


def _read_index(text: str, file: str) -> Any:
    """The root node of the index ``text``, checked."""
    try:
        meta = json.loads(text)
    except RecursionError:
        raise _bad(file, "has an index nested too deeply to read") from None
    except ValueError as exc:
        raise _bad(file, f"is damaged: its index is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise _bad(file, "was not written by anygrad.save (its index names no anygrad format)")
    version = meta.get("version")
    if type(version) is not int or version < 1:
        raise _bad(file, f"has a malformed index: format version {version!r}")
    if version > _VERSION:
        raise _bad(file, f"has format version {version}; this anygrad reads up to {_VERSION}"
                         f" (a newer anygrad wrote it)")
    if "root" not in meta:
        raise _bad(file, "has a malformed index: it holds no object")
    return meta["root"]


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


def load(path: str | os.PathLike, device: Any = None) -> Any:
    """Read a checkpoint that ``save()`` wrote.

    The whole file is checked before any array is read, and nothing in it is executed
    (pickle is never enabled).

    Args:
        path: The file to read.
        device: Where tensors go; by default the device each was saved from.

    Returns:
        What was saved: tensors (with their dtype and ``requires_grad``), plain values,
        dicts, lists and tuples, in their saved order.

    Raises:
        CheckpointError: When the file is not an intact anygrad checkpoint (empty,
            truncated, damaged, a pickle, another program's archive), saying what is wrong.
        OSError: When the file cannot be read.
    """
    file = _fspath(path, "load")
    with open(file, "rb") as f:  # one open file: a concurrent save cannot swap it midway
        _check_archive(f, file)
        f.seek(0)
        try:
            arrays, index = npz.read(f)  # np.load reads the file we checked
        except UnicodeDecodeError:
            raise _bad(file, "is damaged: its index is not UTF-8 text") from None
        except (*_ZIP_ERRORS, KeyError) as exc:  # not expected after the checks above
            detail = "" if "pickle" in str(exc) else f": {exc}"  # never NumPy's pickle advice
            raise _bad(file, f"is damaged ({type(exc).__name__}{detail})") from None
    root = _read_index(index, file)
    refs: list[tuple[str, str, dict]] = []
    _check_node(root, "obj", 0, refs, file)
    seen: set[str] = set()
    for name, where, node in refs:
        if name in seen:
            raise _bad(file, f"is damaged: its index puts array {name!r} in two places "
                             f"(again at {where})")
        seen.add(name)
        if name not in arrays:
            raise _bad(file, f"is damaged: its index puts array {name!r} at {where}, but the "
                             f"archive has no such array")
        array = arrays[name]
        saved = (node.get("dtype", str(array.dtype)), tuple(node.get("shape", array.shape)))
        if saved != (str(array.dtype), tuple(array.shape)):
            raise _bad(file, f"is damaged: its index records {where} as {saved[0]} of shape "
                             f"{saved[1]}, but array {name!r} is {array.dtype} of shape "
                             f"{tuple(array.shape)}")
    unused = sorted(set(arrays) - seen)
    if unused:
        raise _bad(file, f"is damaged: it holds arrays its index never mentions "
                         f"({', '.join(unused[:5])})")
    return _decode(root, arrays, device)
