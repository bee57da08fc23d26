"""What every backend provides: a namespace, a device, and moves to and from the host."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from .device import Device

_PY_DATA = (bool, int, float, complex, list, tuple, np.generic)


def sharing(obj: Any, copy: bool | None) -> bool | None:
    """``copy`` for making an array of ``obj``: Python data and NumPy scalars have no buffer
    to share, so ``copy=False`` means "share if you can" (None) for them, not "never copy"."""
    return None if copy is False and isinstance(obj, _PY_DATA) else copy


class Backend:
    """One array library on one device.

    ``xp`` is the Array-API namespace the engine and the rules call; ``native`` is the
    library's own device object. Subclasses override what their library does differently.
    """

    name: str = "generic"
    #: The backend can write results into existing buffers (``out=``).
    supports_out: bool = False
    #: Lazy mode recycles buffers from this many bytes on (smaller ones cost the library's
    #: allocator less than ``out=`` costs a call).
    recycle_from: int = 0
    #: A context manager every computation on this backend runs inside (CuPy: the GPU's
    #: ``cupy.cuda.Device``), or None when the library needs none.
    context: Any = None
    #: ``materialize(arrays) -> arrays``: compute deferred arrays of the library now, in one
    #: call (Dask's scheduler: see ``dask_backend``); None where arrays are always computed.
    materialize: Any = None

    def __init__(self, xp: Any, device: Device, native: Any):
        self.xp = xp
        self.device = device
        self.native = native
        self._to_dtype: dict[dtypes.DType, Any] = {}
        self._from_dtype: dict[Any, dtypes.DType] = {}
        for d in dtypes.ALL:
            nat = self._native_dtype(d.name)
            if nat is not None:
                self._to_dtype[d] = nat
                self._from_dtype[nat] = d
        self._kinds()

    def _kinds(self) -> None:
        """The sets of native dtypes the hot paths test (after ``_from_dtype`` changes)."""
        #: the library's complex dtypes (the engine asks whether a result is complex)
        self.complex_dtypes = frozenset(n for d, n in self._to_dtype.items() if d.kind == "c")
        #: its float and complex dtypes (a new tensor of one tracks gradients)
        self.grad_dtypes = frozenset(n for n, d in self._from_dtype.items() if d.kind in "fc")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} on {self.device}>"

    # -- dtypes ------------------------------------------------------------------------
    def _native_dtype(self, name: str) -> Any:
        return getattr(self.xp, name, None)

    def native_dtype(self, dtype: Any) -> Any:
        """The library's dtype for ``dtype`` (an anygrad DType, a name, or a native dtype).

        Raises:
            TypeError: If ``dtype`` is unknown, or this library has no such dtype.
        """
        d = dtypes.as_dtype(dtype)
        try:
            return self._to_dtype[d]
        except KeyError:
            raise TypeError(f"backend {self.name} on {self.device} has no dtype {d.name}") from None

    def dtype_of(self, native: Any) -> dtypes.DType:
        """The anygrad DType of the library's dtype ``native`` (TypeError if it has none)."""
        found = self._from_dtype.get(native)
        return found if found is not None else dtypes.as_dtype(native)

    # -- arrays ------------------------------------------------------------------------
    def owns(self, array: Any) -> bool:
        """Whether ``array`` is this backend's kind of array on this backend's device."""
        return False

    def asarray(self, obj: Any, dtype: Any = None, copy: bool | None = None) -> Any:
        """An array on this device from Python data or a host (NumPy) array.

        Args:
            obj: Python numbers or (nested) sequences of them, or a NumPy array or scalar.
            dtype: The dtype (any form :meth:`native_dtype` takes); None: the library's choice.
            copy: The Array API's ``copy``: True always copies, False never (Python data and
                NumPy scalars, which have no buffer to share, are still converted), None
                copies when it must.

        Returns:
            The library's array on this backend's device.

        Raises:
            TypeError: If ``obj`` is a NumPy array of a non-numeric dtype, or ``dtype`` is
                not one this library has.
        """
        nat = None if dtype is None else self.native_dtype(dtype)
        if isinstance(obj, np.ndarray | np.generic):
            obj = np.asarray(obj)
            if obj.dtype.kind not in "biufc":
                raise TypeError(f"cannot make a Tensor from a NumPy array of dtype {obj.dtype}")
        return self.xp.asarray(obj, dtype=nat, device=self.native, copy=sharing(obj, copy))

    def ones(self, shape: tuple, dtype: Any) -> Any:
        """An array of ones on this device, ``dtype`` a native dtype."""
        return self.xp.ones(shape, dtype=dtype, device=self.native)

    def index_add(self, z: Any, pos: Any, g: Any) -> Any:
        """``z`` (1-d) with ``g`` added at positions ``pos`` (1-d ints; repeats accumulate):
        the scatter-add behind gradients of integer-array indexing. Portable fallback: a
        one-hot product (memory ``len(pos) * len(z)``); libraries override it."""
        xp = self.xp
        onehot = pos[:, None] == xp.arange(z.shape[0], dtype=pos.dtype, device=self.native)
        return z + xp.matmul(g[None, :], xp.astype(onehot, g.dtype))[0, ...]

    def set_at(self, z: Any, key: Any, v: Any) -> Any:
        """``z`` with ``z[key] = v`` (``key`` picks each element at most once): written in
        place and ``z`` returned where arrays are mutable; a new array where not (JAX)."""
        z[key] = v
        return z

    def add_at(self, z: Any, key: Any, v: Any) -> Any:
        """``z`` with ``v`` added at ``key`` (each element at most once), as :meth:`set_at`."""
        z[key] = z[key] + v
        return z

    # -- views and in-place writes ----------------------------------------------------------
    #: The library's arrays can be views of one another and be written in place (NumPy,
    #: CuPy, torch, array-api-strict). Where not (JAX, Dask), writes are functional and
    #: views are copies.
    views: bool = False
    #: The view ops whose results share memory with their input here (lazy mode marks a
    #: deferred result as a view by this, before it exists).
    view_ops: frozenset = frozenset({"getitem", "reshape", "permute_dims", "broadcast_to", "flip"})

    def shares(self, view: Any, base: Any) -> bool:
        """Whether ``view`` is a view of ``base``'s memory."""
        return False

    def exclusive(self, arrays: list) -> bool:
        """Whether nothing but their tensors holds ``arrays`` (a base's and its views') or
        their memory, so that writing in place changes no value a graph saved (see
        ``aliasing``). False when in doubt: the write then copies first."""
        return False

    def contiguous(self, array: Any) -> bool:
        """Whether ``array`` is C-contiguous (then a reshape view of it is also one of a
        fresh array of its shape, such as a gradient)."""
        return False

    def ghost(self, array: Any) -> Any:
        """An array of ``array``'s shape, dtype and device that holds no memory of its own:
        what an overwritten version of a tensor keeps when nothing reads its values."""
        xp = self.xp
        return xp.broadcast_to(xp.zeros((), dtype=array.dtype, device=self.native), array.shape)

    def to_numpy(self, array: Any) -> np.ndarray:
        """A host NumPy copy of ``array``."""
        return np.array(array, copy=True)

    def accept(self, array: Any, source: Backend) -> Any:
        """``array`` (from ``source``) copied onto this backend's device; the move of ``.to()``."""
        return self.asarray(source.to_numpy(array))

    def fuser(self) -> Any:
        """What fuses chains of elementwise ops into one kernel in lazy mode (see
        ``anygrad.lazy.fusion``), or None: this backend runs them one by one."""
        return None

    # -- random numbers ------------------------------------------------------------------
    def generator(self, seed: int | None) -> Any:
        """A random generator for this device (``seed`` None: fresh entropy). By default a
        NumPy generator on the host: :meth:`random` draws there and copies to the device."""
        return np.random.default_rng(seed)

    def random(self, gen: Any, kind: str, shape: tuple, dtype: Any, **params: Any) -> Any:
        """An array of ``dtype`` drawn from ``gen``: ``kind`` is ``uniform`` ([0, 1)),
        ``normal`` (N(0, 1)) or ``integers`` (``params`` low, high: [low, high))."""
        return self.asarray(draw(gen, kind, shape, np.dtype(dtypes.as_dtype(dtype).name),
                                 params))


def set_at(z: Any, key: Any, v: Any) -> Any:
    """``z[key] = v`` by the library that holds ``z``: what a derivative rule writes with,
    functional on immutable arrays (use the array returned, not ``z``)."""
    if type(z) is np.ndarray:
        z[key] = v
        return z
    return _writer(z).set_at(z, key, v)


def add_at(z: Any, key: Any, v: Any) -> Any:
    """``z[key] += v`` by the library that holds ``z`` (see :func:`set_at`)."""
    if type(z) is np.ndarray:
        z[key] += v
        return z
    return _writer(z).add_at(z, key, v)


_WRITERS: dict[type, Any] = {}  # array type -> the backend whose writes it takes


def _writer(z: Any) -> Backend:
    """The backend that writes into arrays of ``z``'s type (writes depend on the library, not
    the device); anygrad's own tensors (what lazy mode's rules see) write with ``z[key] = v``."""
    found = _WRITERS.get(type(z))
    if found is None:
        from . import of_array
        found = None if hasattr(z, "_backend") else of_array(z)
        found = _WRITERS[type(z)] = found if found is not None else _IN_PLACE
    return found


_IN_PLACE = Backend.__new__(Backend)  # Backend's own set_at/add_at: in place, no state read


def draw(gen: Any, kind: str, shape: tuple, dtype: Any, params: dict) -> Any:
    """Samples from a NumPy-style ``Generator`` (NumPy's or CuPy's) in ``dtype``."""
    if kind == "integers":
        return gen.integers(params["low"], params["high"], size=shape, dtype=dtype)
    native = dtype if dtype.name in ("float32", "float64") else np.dtype("float32")
    out = (gen.random if kind == "uniform" else gen.standard_normal)(shape, dtype=native)
    return out if native == dtype else out.astype(dtype)
