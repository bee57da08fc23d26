"""Initialising parameters in place, as ``torch.nn.init`` does (same names, same formulas).

Each function fills a tensor's array with values drawn on its own device, in its own dtype,
from ``anygrad.random`` (so ``anygrad.random.seed()`` makes models reproducible).
"""

from __future__ import annotations

import math

from .. import random
from .._tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    Args:
        nonlinearity: ``"linear"``, ``"conv1d"``, ``"conv2d"``, ``"conv3d"``, ``"sigmoid"``,
            ``"identity"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"`` or ``"selu"``.
        param: The negative slope of ``"leaky_relu"`` (default 0.01).

    Returns:
        The gain.

    Raises:
        ValueError: For an unknown nonlinearity.
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    """The fan-in and fan-out of a weight shaped ``(out, in, *kernel)``.

    Args:
        t: The weight.

    Returns:
        ``(in * kernel size, out * kernel size)``.

    Raises:
        ValueError: When ``t`` has fewer than two axes.
    """
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of 2 or more dimensions, not shape "
                         f"{t.shape}")
    field = math.prod(t.shape[2:])
    return t.shape[1] * field, t.shape[0] * field


def _fill(t: Tensor, kind: str, scale: float = 1.0, shift: float = 0.0) -> Tensor:
    t.data = random.draw(kind, t.shape, t.dtype, t.backend, scale=scale, shift=shift)
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill a tensor in place with samples of U(a, b).

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).
        a: The lower bound.
        b: The upper bound.

    Returns:
        ``t``.
    """
    return _fill(t, "uniform", b - a, a)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill a tensor in place with samples of N(mean, std**2).

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).
        mean: The mean.
        std: The standard deviation.

    Returns:
        ``t``.
    """
    return _fill(t, "normal", std, mean)


def constant_(t: Tensor, value: float) -> Tensor:
    """Fill a tensor in place with one value.

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).
        value: The value.

    Returns:
        ``t``.
    """
    xp = t.backend.xp
    t.data = xp.full(t.data.shape, value, dtype=t.data.dtype, device=t.data.device)
    return t


def zeros_(t: Tensor) -> Tensor:
    """Fill a tensor in place with zeros.

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).

    Returns:
        ``t``.
    """
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    """Fill a tensor in place with ones.

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).

    Returns:
        ``t``.
    """
    return constant_(t, 1.0)


def _fan(t: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', not {mode!r}")
    return fan_in_and_fan_out(t)[mode == "fan_out"]


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He initialisation in place: U(-bound, bound), bound = gain * sqrt(3 / fan).

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).
        a: The negative slope of a leaky ReLU (used by the gain).
        mode: ``"fan_in"`` (keeps the forward pass's variance) or ``"fan_out"`` (the
            backward pass's).
        nonlinearity: The nonlinearity whose gain ``calculate_gain()`` gives.

    Returns:
        ``t``.

    Raises:
        ValueError: When ``t`` has fewer than two axes, or for an unknown ``mode`` or
            ``nonlinearity``.
    """
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(t, mode))
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He initialisation in place: N(0, std**2), std = gain / sqrt(fan).

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).
        a: The negative slope of a leaky ReLU (used by the gain).
        mode: ``"fan_in"`` (keeps the forward pass's variance) or ``"fan_out"`` (the
            backward pass's).
        nonlinearity: The nonlinearity whose gain ``calculate_gain()`` gives.

    Returns:
        ``t``.

    Raises:
        ValueError: When ``t`` has fewer than two axes, or for an unknown ``mode`` or
            ``nonlinearity``.
    """
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(t, mode)))


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation in place: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).
        gain: The scale (``calculate_gain()`` of the nonlinearity that follows).

    Returns:
        ``t``.

    Raises:
        ValueError: When ``t`` has fewer than two axes.
    """
    fan_in, fan_out = fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation in place: N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Args:
        t: The tensor to fill (its array is replaced; the Tensor object stays).
        gain: The scale (``calculate_gain()`` of the nonlinearity that follows).

    Returns:
        ``t``.

    Raises:
        ValueError: When ``t`` has fewer than two axes.
    """
    fan_in, fan_out = fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
