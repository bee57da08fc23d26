"""Stochastic gradient descent, PyTorch's formula."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from .._tensor import Tensor
from ..nn import _validate as V
from .optimizer import Optimizer


class SGD(Optimizer):
    """``g += weight_decay * p``; with momentum ``buf = momentum * buf + (1 - dampening) * g``
    (``buf = g`` at the first step) and ``g = buf`` (Nesterov: ``g += momentum * buf``);
    then ``p -= lr * g``.

    Args:
        params: The parameters (Tensors), or parameter groups (dicts with ``params`` and
            settings of their own).
        lr: The learning rate (>= 0).
        momentum: The momentum factor (>= 0; 0: none).
        dampening: The dampening of momentum.
        weight_decay: The L2 penalty (>= 0).
        nesterov: Whether to use Nesterov momentum (needs ``momentum > 0`` and
            ``dampening == 0``).
        maximize: Whether to ascend the gradient instead.

    Raises:
        TypeError: If a setting has the wrong type, or a parameter is not a Tensor.
        ValueError: If a setting is out of range or not finite, Nesterov momentum is asked
            without momentum or with dampening, there are no parameters, or a parameter is
            in two groups.
        DTypeError: If a parameter is neither a float nor a complex tensor.
    """

    hyperparameters = {"lr": partial(V.real, low=0.0), "momentum": partial(V.real, low=0.0),
                       "dampening": V.real, "weight_decay": partial(V.real, low=0.0),
                       "nesterov": V.flag, "maximize": V.flag}

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, owner: str, group: dict[str, Any]) -> None:
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{owner}: Nesterov momentum needs momentum > 0 and dampening 0")

    def update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any],
               xp: Any) -> None:
        """One SGD step of ``p`` (in place) from its gradient array ``g``; ``state`` holds
        ``momentum_buffer`` when there is momentum."""
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = xp.asarray(g, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g
