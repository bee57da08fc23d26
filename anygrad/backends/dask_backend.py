"""The Dask backend: device ``dask``, arrays that stay lazy until asked for.

Every Dask array is on the one device ``dask``, whichever scheduler runs it (local threads, or
the ``dask.distributed`` client that is the default). Ops and their derivative rules only add
tasks to Dask graphs: forward and backward build one graph, and nothing runs until a value is
asked for (``.item()``, ``.numpy()``) or :meth:`DaskBackend.materialize` computes several
arrays in one scheduler call (``anygrad.compute``, and each optimiser step for parameters).

Host data (``Tensor(numpy_array, device="dask")``) is cut into chunks by the policy of
:func:`dask_chunks`: by default ``"rows"``, blocks of whole rows (the first axis in chunks of
Dask's ``array.chunk-size``, 128 MiB unless configured; every other axis whole), the layout a
data set wants for ``X @ w`` without cross-chunk sums.

Dask itself is imported only when a Dask tensor is made.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
import uuid
from contextvars import ContextVar
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, DeviceError, ShapeError
from .base import Backend
from .device import Device
from .generic import GenericBackend

_CHUNKS: ContextVar[Any] = ContextVar("anygrad_dask_chunks", default="rows")

#: The prefix of the graph layers holding host arrays (see :meth:`DaskBackend.wrap`).
HOST_LAYER = "anygrad-host-"
#: Graphs that only read host arrays, for results up to this many bytes, run in this process
#: (Dask's synchronous scheduler): an optimiser step on computed gradients needs no cluster.
LOCAL_BYTES = 64 * 2**20


class dask_chunks:  # noqa: N801  (a function to its users: a setter and a ``with`` block)
    """How host data is cut into Dask chunks on ``device="dask"``.

    ``chunks`` is anything ``dask.array.from_array`` takes (``"auto"``, an int, a tuple per
    axis, a dict of axis to size) or ``"rows"`` (the default: the first axis in chunks of
    Dask's ``array.chunk-size``, the other axes whole). Calling it sets the policy for the
    current context (thread or async task); as a ``with`` block it is restored on exit::

        ag.backends.dask_chunks(10_000)              # from now on
        with ag.backends.dask_chunks({0: 5_000}):    # for a block
            x = ag.Tensor(host, device="dask")
    """

    def __init__(self, chunks: Any = "rows"):
        if not (isinstance(chunks, str | int | tuple | dict) and not isinstance(chunks, bool)):
            raise TypeError(f"dask_chunks: chunks is 'rows', 'auto', an int, a tuple or a dict "
                            f"(as dask.array.from_array takes), not {chunks!r}")
        self.chunks = chunks
        self._token = _CHUNKS.set(chunks)

    def __enter__(self) -> dask_chunks:
        return self

    def __exit__(self, *exc: Any) -> None:
        _CHUNKS.reset(self._token)


def get_dask_chunks() -> Any:
    """The chunking policy in force (see :func:`dask_chunks`)."""
    return _CHUNKS.get()


def _policy(shape: tuple[int, ...]) -> Any:
    chunks = _CHUNKS.get()
    if chunks == "rows":
        return ("auto", *(-1,) * (len(shape) - 1)) if shape else ()
    return chunks


def _da() -> Any:
    return importlib.import_module("dask.array")


def client() -> Any:
    """The ``dask.distributed`` client that computations go to, or None (local threads).
    Never imports ``distributed``: without it loaded there is no client."""
    if "distributed" not in sys.modules:
        return None
    try:
        return sys.modules["distributed"].default_client()
    except ValueError:  # no client started
        return None


def is_dask(array: Any) -> bool:
    """Whether ``array`` is a Dask array (without importing Dask)."""
    mod = sys.modules.get("dask.array")
    return mod is not None and isinstance(array, mod.Array)


class DaskBackend(GenericBackend):
    """Dask arrays, through array-api-compat's Dask namespace (completed with what it
    lacks); writes are functional, there are no views."""

    def __init__(self, device: Device | None = None):
        xp = importlib.import_module("array_api_compat.dask.array")
        super().__init__(xp, "cpu", device or Device("dask"))
        self.name = "dask"
        if not hasattr(xp, "take_along_axis"):
            xp.take_along_axis = _take_along_axis

    def owns(self, array: Any) -> bool:
        """Whether ``array`` is a Dask array."""
        return is_dask(array)

    def asarray(self, obj: Any, dtype: Any = None, copy: bool | None = None) -> Any:
        """``obj`` as a Dask array: Dask arrays as they are, host data chunked by the
        :func:`dask_chunks` policy (a copy: the graph keeps the buffer).

        Raises:
            ValueError: For ``copy=False`` on host data.
            TypeError: For data that is not numeric.
        """
        if is_dask(obj):
            return super().asarray(obj, dtype, copy)
        if copy is False:
            raise ValueError("cannot share host memory with a Dask array (copy=False)")
        host = np.asarray(obj, dtype=None if dtype is None else self.native_dtype(dtype))
        if host.dtype.kind not in "biufc":
            raise TypeError(f"cannot make a Tensor from a NumPy array of dtype {host.dtype}")
        if isinstance(obj, np.ndarray) and host is obj:
            host = host.copy()  # the graph keeps the buffer: a later write must not reach it
        return self.wrap(host)

    def wrap(self, host: np.ndarray, chunks: Any = None) -> Any:
        """A Dask array holding the host array ``host`` (chunked by ``chunks``, or by the
        policy of :func:`dask_chunks`); one task per chunk, no history."""
        chunks = _policy(host.shape) if chunks is None else chunks
        return _da().from_array(host, chunks=chunks, name=HOST_LAYER + uuid.uuid4().hex,
                                asarray=False)

    def ones(self, shape: tuple, dtype: Any) -> Any:
        """A lazy array of ones, chunked by the policy."""
        return _da().ones(shape, dtype=dtype, chunks=_policy(shape))

    def to_numpy(self, array: Any) -> np.ndarray:
        """Computes ``array`` (in this process when it only reads host arrays: a computed
        loss or gradient needs no scheduler call)."""
        local = _local([array])
        return np.array(array.compute(scheduler="sync") if local else array.compute(), copy=True)

    def accept(self, array: Any, source: Backend) -> Any:
        """``array`` of ``source`` as a Dask array (through the host)."""
        return self.asarray(source.to_numpy(array))

    # -- functional writes and scatter-add -------------------------------------------------
    def index_add(self, z: Any, pos: Any, g: Any) -> Any:
        """Scatter-add: ``bincount`` with ``g`` as weights (real and imaginary parts apart)."""
        da = _da()
        _known(pos, "a scatter-add into a Dask array")
        n = z.shape[0]
        g = g.rechunk(pos.chunks)
        if g.dtype.kind == "c":
            added = (da.bincount(pos, weights=da.real(g), minlength=n)
                     + 1j * da.bincount(pos, weights=da.imag(g), minlength=n))
        else:
            added = da.bincount(pos, weights=g, minlength=n)
        return z + added.astype(z.dtype)

    def set_at(self, z: Any, key: Any, v: Any) -> Any:
        """``z`` with ``z[key] = v``, a new Dask array (``z`` is left as it was). Dask writes
        slices itself; keys with arrays (masks, whose selection has a size Dask does not know)
        are written by one task on the computed blocks, still lazily."""
        _known(v, "a write into a Dask array")
        if any(hasattr(k, "dtype") for k in (key if isinstance(key, tuple) else (key,))):
            dask = importlib.import_module("dask")
            out = _da().from_delayed(dask.delayed(_put)(z, key, v), z.shape, dtype=z.dtype,
                                     meta=z._meta)
            return out.rechunk(z.chunks)
        z = z.copy()
        z[key] = v
        return z

    def add_at(self, z: Any, key: Any, v: Any) -> Any:
        """``z`` with ``z[key] += v``, a new Dask array."""
        return self.set_at(z, key, z[key] + v)

    # -- scheduling ---------------------------------------------------------------------------
    def materialize(self, arrays: list, persist: bool = False) -> list:
        """``arrays`` computed in one scheduler call (the distributed client when there is a
        default one, else Dask's local scheduler), returned as arrays with no history:
        ``persist=False`` brings each result to this process and wraps it as a Dask array of
        the same chunks (small arrays: losses, gradients, parameters); ``persist=True`` keeps
        the results where they were computed (on the workers) and returns arrays holding them.
        Arrays of unknown size (after a boolean mask) come back with their sizes known.

        A graph that reads nothing but host arrays (:meth:`wrap`: parameters and computed
        gradients) for small results (``LOCAL_BYTES``) runs here, on Dask's synchronous
        scheduler: an optimiser step after ``anygrad.compute`` costs no round trip."""
        dask = importlib.import_module("dask")
        if not arrays:
            return []
        if _local(arrays):
            host = dask.compute(*arrays, scheduler="sync")
        elif persist:
            out = list(dask.persist(*arrays))
            return [a.compute_chunk_sizes() if _unknown(a) else a for a in out]
        else:
            host = dask.compute(*arrays)
        return [self.wrap(np.asarray(h), None if _unknown(a) else a.chunks)
                for a, h in zip(arrays, host, strict=True)]


def tasks(*arrays: Any) -> int:
    """How many tasks computing ``arrays`` together takes (shared tasks counted once): the
    size of their merged Dask graph."""
    keys: set = set()
    for a in arrays:
        keys.update(a.__dask_graph__().keys())
    return len(keys)


def _local(arrays: list) -> bool:
    """Whether computing ``arrays`` reads only host arrays (every root layer of their graphs is
    one :meth:`DaskBackend.wrap` made) and makes small results."""
    if any(map(_unknown, arrays)) or sum(a.nbytes for a in arrays) > LOCAL_BYTES:
        return False
    for a in arrays:
        deps = a.__dask_graph__().dependencies
        if any(not d and not name.startswith(HOST_LAYER) for name, d in deps.items()):
            return False
    return True


def _unknown(a: Any) -> bool:
    return any(isinstance(n, float) and math.isnan(n) for n in getattr(a, "shape", ()))


def _known(a: Any, op: str) -> Any:
    """``a``, refused when it is a Dask array of unknown size (a boolean mask's, ``unique_*``'s
    or ``nonzero``'s result), saying what to do."""
    if _unknown(a):
        raise ShapeError(f"{op}: a Dask array of unknown size, shape {tuple(a.shape)}: its "
                         f"size depends on the data (a boolean mask, unique_* or nonzero made "
                         f"it) and is not known until computed; compute it first with "
                         f"anygrad.compute(t) (or t.data.compute_chunk_sizes() on the tensor t)")
    return a


def _put(z: Any, key: Any, v: Any) -> Any:
    z = z.copy()
    z[key] = v
    return z


def _take_along_axis(x: Any, indices: Any, /, *, axis: int = -1) -> Any:
    """``take_along_axis`` for Dask: a gather of ``x``'s flat positions."""
    da = _da()
    axis = axis % x.ndim
    shape = tuple(j if i == axis else max(n, j)
                  for i, (n, j) in enumerate(zip(x.shape, indices.shape, strict=True)))
    pos = da.where(indices < 0, indices + x.shape[axis], indices) * math.prod(x.shape[axis + 1:])
    for i, n in enumerate(x.shape):
        if i != axis:
            along = da.arange(n, dtype=indices.dtype) * math.prod(x.shape[i + 1:])
            pos = pos + da.reshape(along, tuple(n if j == i else 1 for j in range(x.ndim)))
    pos = da.reshape(da.broadcast_to(pos, shape), (-1,))
    return da.reshape(da.take(da.reshape(x, (-1,)), pos), shape)


def factory(device: Device) -> DaskBackend:
    """The registry's factory for device kind ``dask`` (one device: ``dask``)."""
    if device.index is not None:
        raise DeviceError(f"the dask device has no index ('dask'), not '{device}': the "
                          f"scheduler (local threads or a distributed client) decides where "
                          f"each chunk runs")
    if importlib.util.find_spec("dask") is None:
        raise BackendUnavailableError("device 'dask' needs Dask: pip install 'anygrad[dask]'")
    return DaskBackend(device)
