"""Checking gradients against central differences, on any backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._tensor import Tensor
from .errors import GraphError
from .modes import no_grad


def numerical_grad(fn: Callable[..., Tensor], inputs: Sequence[Tensor], weight: Any,
                   eps: float = 1e-6) -> list[Any]:
    """Central-difference gradients of ``sum(weight * fn(*inputs))`` as host arrays.

    Each perturbed input is rebuilt on its own device from a host copy, so this works on
    every backend (and needs no array library here).
    """
    grads = []
    with no_grad():
        for k, x in enumerate(inputs):
            host = x.numpy()
            flat = host.reshape(-1)
            grad = host.astype("float64").reshape(-1) * 0.0
            for i in range(flat.size):
                values = []
                for step in (eps, -eps):
                    bumped = flat.copy()
                    bumped[i] += step
                    args = list(inputs)
                    args[k] = Tensor(bumped.reshape(host.shape), device=x.device, dtype=x.dtype)
                    out = fn(*args).numpy().astype("float64")
                    values.append((out * weight).sum())
                grad[i] = (values[0] - values[1]) / (2 * eps)
            grads.append(grad.reshape(host.shape))
    return grads


def gradcheck(fn: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-4, seed: int = 0) -> bool:
    """Check ``fn``'s analytic gradients against central differences; raise if they differ.

    The output is weighted by a fixed pseudo-random array so every output element counts.
    Each gradient must also keep its input's shape, dtype and device. Use float64 inputs.
    """
    for x in inputs:
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise GraphError("gradcheck: every input must be a Tensor that requires grad")
        x.zero_grad()
    out = fn(*inputs)
    host_out = out.numpy().astype("float64")
    # a fixed, sign-mixed weight with no exact ties: 0.5 + frac(k * golden ratio) - 0.5 * parity
    weight = host_out.reshape(-1) * 0.0
    for i in range(weight.size):
        weight[i] = ((i + seed + 1) * 0.6180339887) % 1.0 + 0.25 - 0.6 * ((i + seed) % 2)
    weight = weight.reshape(host_out.shape)
    out.backward(Tensor(weight, device=out.device, dtype=out.dtype))
    expected = numerical_grad(fn, inputs, weight, eps)
    for k, (x, want) in enumerate(zip(inputs, expected, strict=True)):
        if x.grad is None:
            got = want * 0.0
        else:
            g = x.grad
            if g.shape != x.shape or g.dtype != x.dtype or g.device != x.device:
                raise AssertionError(
                    f"gradcheck: gradient of input {k} is {g.dtype}{list(g.shape)} on "
                    f"{g.device}, the input {x.dtype}{list(x.shape)} on {x.device}")
            got = g.numpy().astype("float64")
        err = abs(got - want)
        bound = atol + rtol * abs(want)
        if (err > bound).any():
            raise AssertionError(f"gradcheck: input {k}: analytic and numerical gradients "
                                 f"differ (max error {err.max():.3g})\nanalytic:\n{got}\n"
                                 f"numerical:\n{want}")
    return True
