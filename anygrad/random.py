"""Random tensors on any device, reproducible with ``seed()``.

Draws are data, not parameters: float64 (NumPy's default, as for ``anygrad.zeros``) and not
requiring gradients unless asked (``requires_grad=True``, or MyGrad's ``constant=False``).

Each device draws from its own generator (NumPy's ``Generator`` on the host, CuPy's on a
GPU; other libraries draw on the host and copy over), created on first use from the seed
last given to ``seed()`` (or fresh entropy when none was).
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
    """Make every later draw, on every device, a function of ``n`` (alias ``manual_seed``).

    Args:
        n: The seed; each device's generator is created anew from it on its next draw.
    """
    global _seed
    with _lock:
        _seed = int(n)
        _generators.clear()


manual_seed = seed  # PyTorch's name


def initial_seed() -> int | None:
    """The seed last given to ``seed()``.

    Returns:
        That seed, or None when none was given (draws then use fresh entropy).
    """
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
    """A backend array of ``scale * sample + shift``, for ops and layers.

    The samples are of ``kind`` (see ``Backend.random``), drawn in the device's context.
    """
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
    """Draw uniform samples in [0, 1).

    Args:
        *size: The shape, as ints or one tuple (``rand(2, 3)``, ``rand((2, 3))``).
        device: The device (default: the default device).
        dtype: A float dtype (default float64, as NumPy's).
        requires_grad: Make the result a leaf that requires gradients.
        constant: MyGrad's spelling: ``constant=False`` is ``requires_grad=True``.

    Returns:
        A new Tensor.

    Raises:
        TypeError: When ``dtype`` is not a float dtype.
    """
    return _float("uniform", _shape(size), device, dtype, (requires_grad, constant))


def randn(*size: Any, device: Any = None, dtype: Any = None,
          requires_grad: bool | None = None, constant: bool | None = None) -> Tensor:
    """Draw standard normal samples.

    Args:
        *size: The shape, as ints or one tuple (``randn(2, 3)``, ``randn((2, 3))``).
        device: The device (default: the default device).
        dtype: A float dtype (default float64, as NumPy's).
        requires_grad: Make the result a leaf that requires gradients.
        constant: MyGrad's spelling: ``constant=False`` is ``requires_grad=True``.

    Returns:
        A new Tensor.

    Raises:
        TypeError: When ``dtype`` is not a float dtype.
    """
    return _float("normal", _shape(size), device, dtype, (requires_grad, constant))


def uniform(low: float = 0.0, high: float = 1.0, size: Any = (), *, device: Any = None,
            dtype: Any = None, requires_grad: bool | None = None,
            constant: bool | None = None) -> Tensor:
    """Draw uniform samples in [low, high).

    Args:
        low: The lower bound (included).
        high: The upper bound (excluded).
        size: The shape (an int or a tuple; ``()`` for one 0-d sample).
        device: The device (default: the default device).
        dtype: A float dtype (default float64, as NumPy's).
        requires_grad: Make the result a leaf that requires gradients.
        constant: MyGrad's spelling: ``constant=False`` is ``requires_grad=True``.

    Returns:
        A new Tensor.

    Raises:
        TypeError: When ``dtype`` is not a float dtype.
    """
    return _float("uniform", _shape((size,)), device, dtype, (requires_grad, constant),
                  high - low, low)


def normal(mean: float = 0.0, std: float = 1.0, size: Any = (), *, device: Any = None,
           dtype: Any = None, requires_grad: bool | None = None,
           constant: bool | None = None) -> Tensor:
    """Draw normal samples with a mean and a standard deviation.

    Args:
        mean: The mean.
        std: The standard deviation.
        size: The shape (an int or a tuple; ``()`` for one 0-d sample).
        device: The device (default: the default device).
        dtype: A float dtype (default float64, as NumPy's).
        requires_grad: Make the result a leaf that requires gradients.
        constant: MyGrad's spelling: ``constant=False`` is ``requires_grad=True``.

    Returns:
        A new Tensor.

    Raises:
        TypeError: When ``dtype`` is not a float dtype.
    """
    return _float("normal", _shape((size,)), device, dtype, (requires_grad, constant), std, mean)


def randint(low: int, high: int | None = None, size: Any = (), *, device: Any = None,
            dtype: Any = None) -> Tensor:
    """Draw integers uniformly from [low, high).

    Args:
        low: The lower bound (included); with ``high`` None, the upper bound, from 0.
        high: The upper bound (excluded).
        size: The shape (an int or a tuple).
        device: The device (default: the default device).
        dtype: An integer dtype (default int64).

    Returns:
        A new Tensor (integers never require gradients).

    Raises:
        ValueError: When ``high <= low``.
    """
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    backend = backends.get(device)
    dtype = as_dtype(int64 if dtype is None else dtype)
    return _wrap(draw("integers", _shape((size,)), dtype, backend, low=int(low),
                      high=int(high)), backend)


def permutation(n: int, *, device: Any = None, dtype: Any = None) -> Tensor:
    """Draw a random ordering of ``range(n)``.

    Args:
        n: How many integers to order.
        device: The device (default: the default device).
        dtype: An integer dtype (default int64).

    Returns:
        A 1-d Tensor holding each of 0, ..., n - 1 once.
    """
    backend = backends.get(device)
    keys = draw("uniform", (int(n),), "float64", backend)
    order = backend.xp.argsort(keys)
    return _wrap(backend.xp.astype(order, backend.native_dtype(dtype or int64)), backend)


def bernoulli(p: float, size: Any = (), *, device: Any = None, dtype: Any = None) -> Tensor:
    """Draw 1 with probability ``p``, else 0.

    Args:
        p: The probability of a 1.
        size: The shape (an int or a tuple).
        device: The device (default: the default device).
        dtype: The dtype (default float64).

    Returns:
        A new Tensor of ones and zeros (no gradient).
    """
    backend = backends.get(device)
    return _wrap(bernoulli_array(p, _shape((size,)), dtype or float64, backend), backend)
