"""What NumPy's protocols on Tensors need from NumPy itself: host arrays for ``__array__``,
results of NumPy called on host data, ``shares_memory`` and ``result_type``.

``anygrad/numpy_protocols.py`` dispatches NumPy's functions to anygrad's; this module is the
part that must import NumPy (only ``anygrad/backends/`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .base import Backend
from .generic import native_name


def on_host(backend: Backend) -> bool:
    """Whether ``backend`` keeps its arrays in host memory (NumPy, torch CPU, ...)."""
    kind = backend.device.kind
    if kind == "cpu":
        return True
    if kind == "cuda":
        return False
    return "cpu" in native_name(backend.native).lower()


def host_array(data: Any, backend: Backend, dtype: Any = None, copy: bool | None = None
               ) -> np.ndarray:
    """``data`` (an array of ``backend``) as a NumPy array, for ``Tensor.__array__``.

    NumPy's own array is returned itself unless ``copy`` is True or ``dtype`` differs (NumPy 2's
    ``copy`` semantics: False never copies, raising ValueError where it must); other host
    libraries give a copy (``copy=False``: a zero-copy DLPack view, or ValueError). Tensors on
    a GPU or any other device raise TypeError: nothing leaves a device implicitly.
    """
    if not on_host(backend):
        raise TypeError(f"a Tensor on {backend.device} ({backend.name}) cannot become a NumPy "
                        f"array implicitly; use t.numpy() to copy it to the host")
    want = None if dtype is None else np.dtype(dtype)
    if isinstance(data, np.ndarray):
        if want is not None and want != data.dtype:
            if copy is False:
                raise ValueError(f"cannot convert a {data.dtype} Tensor to {want} without a "
                                 f"copy (copy=False)")
            return data.astype(want)
        return data.copy() if copy else data
    if copy is False:
        try:
            out = np.from_dlpack(data)
        except Exception as exc:
            raise ValueError(f"a Tensor of {backend.name} cannot be shared with NumPy without "
                             f"a copy (copy=False): {exc}") from exc
        if want is not None and want != out.dtype:
            raise ValueError(f"cannot convert a {out.dtype} Tensor to {want} without a copy "
                             f"(copy=False)")
        return out
    out = backend.to_numpy(data)
    return out if want is None else out.astype(want, copy=False)


def wrap_results(value: Any, wrap: Callable[[np.ndarray], Any]) -> Any:
    """``value`` (what a NumPy function returned) with each numeric NumPy array or scalar
    replaced by ``wrap(array)``, through tuples and lists; anything else is left as it is."""
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        return wrap(arr) if arr.dtype.kind in "biufc" else value
    if isinstance(value, tuple):
        items = [wrap_results(v, wrap) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [wrap_results(v, wrap) for v in value]
    return value


def _host_view(array: Any) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else np.from_dlpack(array)


def shares_memory(a: Any, a_backend: Backend | None, b: Any, b_backend: Backend | None,
                  exact: bool) -> bool:
    """``numpy.shares_memory`` (``exact``) or ``may_share_memory`` of two arrays, each of its
    backend (None: a NumPy array); arrays of different backends never share memory.

    Raises:
        TypeError: For two arrays of one backend outside host memory, unless CuPy's.
    """
    name_a = "numpy" if a_backend is None else a_backend.name
    name_b = "numpy" if b_backend is None else b_backend.name
    if name_a != name_b or (a_backend is not None and b_backend is not None
                            and a_backend is not b_backend):
        return False
    if name_a == "cupy":
        import cupy
        return bool((cupy.shares_memory if exact else cupy.may_share_memory)(a, b))
    for backend in (a_backend, b_backend):
        if backend is not None and not on_host(backend):
            raise TypeError(f"shares_memory: not supported for arrays on {backend.device} "
                            f"({backend.name})")
    test = np.shares_memory if exact else np.may_share_memory
    return bool(test(_host_view(a), _host_view(b)))


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    """``numpy.result_type``, each Tensor given as its dtype's name (NumPy's promotion)."""
    return np.result_type(*arrays_and_dtypes)
