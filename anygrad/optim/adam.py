"""Adam and AdamW, PyTorch's formulas (bias-corrected moments, optional AMSGrad)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import partial
from typing import Any

from .._tensor import Tensor
from ..nn import _validate as V
from .optimizer import Optimizer


def _betas(owner: str, name: str, value: Any) -> tuple[float, float]:
    """Two reals in [0, 1)."""
    if not isinstance(value, tuple | list):
        raise TypeError(f"{owner}: {name} must be a pair of reals in [0, 1), not "
                        f"{type(value).__name__} {value!r}")
    if len(value) != 2:
        raise ValueError(f"{owner}: {name} must be a pair of reals in [0, 1), not {value!r}")
    return tuple(V.real(owner, name, b, low=0.0, high=1.0, high_open=True)  # type: ignore
                 for b in value)


class Adam(Optimizer):
    """``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2`` (AMSGrad: the running max of
    v), ``p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``. Adam adds
    ``weight_decay * p`` to the gradient; AdamW shrinks ``p *= 1 - lr * weight_decay``.

    Args:
        params: The parameters (Tensors), or parameter groups (dicts with ``params`` and
            settings of their own).
        lr: The learning rate (>= 0).
        betas: The moments' decay rates ``(b1, b2)``, each in [0, 1).
        eps: Added to the denominator (>= 0).
        weight_decay: The L2 penalty (>= 0).
        amsgrad: Whether to divide by the running maximum of ``v``.
        maximize: Whether to ascend the gradient instead.

    Raises:
        TypeError: If a setting has the wrong type, or a parameter is not a Tensor.
        ValueError: If a setting is out of range or not finite, there are no parameters, or
            a parameter is in two groups.
        DTypeError: If a parameter is neither a float nor a complex tensor.
    """

    decoupled = False
    hyperparameters = {"lr": partial(V.real, low=0.0), "betas": _betas,
                       "eps": partial(V.real, low=0.0), "weight_decay": partial(V.real, low=0.0),
                       "amsgrad": V.flag, "maximize": V.flag}

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any],
               xp: Any) -> None:
        """One Adam step of ``p`` (in place) from its gradient array ``g``; ``state`` holds
        ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``), made at the first."""
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd and self.decoupled:
            p.data *= 1 - lr * wd
        elif wd:
            g = g + wd * p.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] = step = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * (g * g)
        state["exp_avg"], state["exp_avg_sq"] = m, v
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], v)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** step) + group["eps"]
        p.data -= (lr / (1 - beta1 ** step)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01): ``p *= 1 - lr * weight_decay`` before
    each step, instead of adding to the gradient. Its arguments and errors are Adam's."""

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
