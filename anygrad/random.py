"""Random tensors on any device, reproducible with :func:`seed`.

Draws are data, not parameters: float64 (NumPy's default, as for ``anygrad.zeros``) and not
requiring gradients unless asked (``requires_grad=True``, or MyGrad's ``constant=False``).

Each device draws from its own generator (NumPy's ``Generator`` on the host, CuPy's on a
GPU; other libraries draw on the host and copy over), created on first use from the seed
last given to :func:`seed` (or fresh entropy when none was).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from . import backends
from ._tensor import Tensor, _wrap
from .dtypes import as_dtype, float32, float64, int64
from .ops._define import wants_grad

__all__ = ["seed", "manual_seed", "initial_seed", "rand", "randn", "randint", "normal",
           "uniform", "permutation", "bernoulli"]

_lock = threading.Lock()
_seed: int | None = None
_generators: dict[Any, Any] = {}  # backend -> its generator


def seed(n: int) -> None:
    """Make every later draw, on every device, a function of ``n``."""
    global _seed
    with _lock:
        _seed = int(n)
        _generators.clear()


manual_seed = seed  # PyTorch's name


def initial_seed() -> int | None:
    """The seed last given to :func:`seed` (None if none was)."""
    return _seed


def _generator(backend: backends.Backend) -> Any:
    gen = _generators.get(backend)
    if gen is None:
        with _lock:
            gen = _generators.setdefault(backend, backend.generator(_seed))
    return gen


def _shape(size: Any) -> tuple[int, ...]:
    if len(size) == 1 and not isinstance(size[0], int):
        size = size[0]
    return (int(size),) if isinstance(size, int) else tuple(int(n) for n in size)


def draw(kind: str, shape: tuple[int, ...], dtype: Any, backend: backends.Backend, *,
         scale: float = 1.0, shift: float = 0.0, **params: Any) -> Any:
    """A backend array of ``scale * sample + shift``, samples of ``kind`` (see
    ``Backend.random``), computed in the device's context: for ops and layers."""
    with backend.context or contextlib.nullcontext():
        array = backend.random(_generator(backend), kind, shape, dtype, **params)
        if scale != 1.0:
            array = array * scale
        if shift != 0.0:
            array = array + shift
    return array


def bernoulli_array(p: float, shape: tuple[int, ...], dtype: Any, backend: backends.Backend,
                    value: float = 1.0) -> Any:
    """A backend array of ``value`` with probability ``p``, else 0."""
    keys = draw("uniform", shape, float32, backend)
    with backend.context or contextlib.nullcontext():
        hits = backend.xp.astype(keys < p, backend.native_dtype(dtype))
        return hits * value if value != 1.0 else hits


def _float(kind: str, shape: tuple, device: Any, dtype: Any, grad: tuple,
           scale: float = 1.0, shift: float = 0.0) -> Tensor:
    backend = backends.get(device)
    dtype = as_dtype(float64 if dtype is None else dtype)
    if dtype.kind != "f":
        raise TypeError(f"{kind} samples are floats; dtype {dtype.name} is not")
    t = _wrap(draw(kind, shape, dtype, backend, scale=scale, shift=shift), backend)
    return t.requires_grad_() if wants_grad(*grad, kind) else t


def rand(*size: Any, device: Any = None, dtype: Any = None,
         requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """Uniform samples in [0, 1) of shape ``size`` (float64, as NumPy, unless ``dtype`` says)."""
    return _float("uniform", _shape(size), device, dtype, (requires_grad, constant))


def randn(*size: Any, device: Any = None, dtype: Any = None,
          requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """Standard normal samples of shape ``size`` (float64, as NumPy, unless ``dtype`` says)."""
    return _float("normal", _shape(size), device, dtype, (requires_grad, constant))


def uniform(low: float = 0.0, high: float = 1.0, size: Any = (), *, device: Any = None,
            dtype: Any = None, requires_grad: bool | None = None,
            constant: bool | None = None) -> Tensor:
    """Uniform samples in [low, high)."""
    return _float("uniform", _shape((size,)), device, dtype, (requires_grad, constant),
                  high - low, low)


def normal(mean: float = 0.0, std: float = 1.0, size: Any = (), *, device: Any = None,
           dtype: Any = None, requires_grad: bool | None = None,
           constant: bool | None = None) -> Tensor:
    """Normal samples with ``mean`` and standard deviation ``std``."""
    return _float("normal", _shape((size,)), device, dtype, (requires_grad, constant), std, mean)


def randint(low: int, high: int | None = None, size: Any = (), *, device: Any = None,
            dtype: Any = None) -> Tensor:
    """Integers in [low, high) (``randint(high, size=...)``: in [0, high)); int64 by default."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    backend = backends.get(device)
    dtype = as_dtype(int64 if dtype is None else dtype)
    return _wrap(draw("integers", _shape((size,)), dtype, backend, low=int(low),
                      high=int(high)), backend)


def permutation(n: int, *, device: Any = None, dtype: Any = None) -> Tensor:
    """A random ordering of ``range(n)`` (int64 by default)."""
    backend = backends.get(device)
    keys = draw("uniform", (int(n),), "float64", backend)
    order = backend.xp.argsort(keys)
    return _wrap(backend.xp.astype(order, backend.native_dtype(dtype or int64)), backend)


def bernoulli(p: float, size: Any = (), *, device: Any = None, dtype: Any = None) -> Tensor:
    """1 with probability ``p``, else 0 (float64 by default)."""
    backend = backends.get(device)
    return _wrap(bernoulli_array(p, _shape((size,)), dtype or float64, backend), backend)
