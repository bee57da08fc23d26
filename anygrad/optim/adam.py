"""Adam and AdamW, PyTorch's formulas (bias-corrected moments, optional AMSGrad)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .._tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2`` (AMSGrad: the running max of
    v), ``p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``. Adam adds
    ``weight_decay * p`` to the gradient; AdamW shrinks ``p *= 1 - lr * weight_decay``."""

    decoupled = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: lr ({lr}), eps ({eps}) and weight_decay "
                             f"({weight_decay}) must be non-negative")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), not {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any],
               xp: Any) -> None:
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
    """Adam with decoupled weight decay (default 0.01)."""

    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
