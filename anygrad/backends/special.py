"""Special-function libraries: which one computes ``scipy.special.<name>`` for a namespace.

NumPy: SciPy (``scipy.special``, the optional extra ``anygrad[special]``); CuPy:
``cupyx.scipy.special``; torch: ``torch.special``; JAX: ``jax.scipy.special``; Dask: SciPy
block by block, lazily. Each is imported on first use. :func:`on_host` is the last resort for
any other library (array-api-strict): SciPy on a host copy, the result moved back to the
input's device. This module is the only part of anygrad that imports a special library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError
from .generic import library_name

_MISSING = object()
_found: dict[tuple[Any, str], Any] = {}  # (namespace, name) -> its function, or None
# torch.special names its functions as SciPy does, when it has them
_TORCH = frozenset({"erf", "erfc", "erfcx", "erfinv", "expit", "logit", "ndtr", "ndtri",
                    "log_ndtr", "gammaln", "digamma", "psi", "polygamma", "i0", "i0e", "i1",
                    "i1e", "xlogy", "xlog1py", "entr"})
_ALIASES = {"jax": {"psi": "digamma"}}


def _scipy_special() -> Any:
    try:
        return importlib.import_module("scipy.special")
    except ImportError:
        return None


def native(xp: Any, name: str) -> Callable[..., Any] | None:
    """The library's own ``scipy.special.<name>`` for arrays of ``xp`` (same arguments, same
    values), or None where the library has none (or is not installed)."""
    key = (xp, name)
    fn = _found.get(key, _MISSING)
    if fn is _MISSING:
        fn = _found[key] = _lookup(library_name(xp), name)
    return fn


def _lookup(lib: str, name: str) -> Callable[..., Any] | None:
    name = _ALIASES.get(lib, {}).get(name, name)
    if lib == "numpy":
        sp = _scipy_special()
        fn = getattr(sp, name, None) if sp is not None else None
        return None if fn is None else lambda *args: np.asarray(fn(*args))  # (0-d: no scalar)
    if lib == "cupy":
        return getattr(importlib.import_module("cupyx.scipy.special"), name, None)
    if lib == "torch":
        return getattr(importlib.import_module("torch.special"), name) if name in _TORCH else None
    if lib == "jax":
        return getattr(importlib.import_module("jax.scipy.special"), name, None)
    if lib == "dask":
        sp = _scipy_special()
        fn = getattr(sp, name, None) if sp is not None else None
        if fn is None:
            return None
        elemwise = importlib.import_module("dask.array.core").elemwise
        return lambda *args: elemwise(fn, *args)
    return None


def on_host(name: str, *args: Any) -> Any:
    """``scipy.special.<name>(*args)`` on host copies of the arrays among ``args``, the result
    put back on their backend's device (for libraries with no special functions of their own,
    such as array-api-strict). BackendUnavailableError without SciPy."""
    sp = _scipy_special()
    if sp is None:
        raise BackendUnavailableError(f"special.{name}: needs SciPy on this backend; install "
                                      f"it with pip install 'anygrad[special]'")
    from . import of_array
    backend = next((b for b in (of_array(a) for a in args if hasattr(a, "dtype"))
                    if b is not None), None)
    if backend is None:  # NumPy's own arrays
        return np.asarray(getattr(sp, name)(*args))
    host = [backend.to_numpy(a) if hasattr(a, "dtype") else a for a in args]
    return backend.asarray(np.asarray(getattr(sp, name)(*host)))
