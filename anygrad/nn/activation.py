"""Activation layers: thin modules around ``anygrad.nn.functional``."""

from __future__ import annotations

from typing import Any

from . import _validate as V
from . import functional as F
from .module import Module


class ReLU(Module):
    def forward(self, x: Any) -> Any:
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = V.real("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Any) -> Any:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """``approximate="none"`` (erf, PyTorch's default) or ``"tanh"``."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = V.choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, x: Any) -> Any:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    def forward(self, x: Any) -> Any:
        return F.silu(x)


class Tanh(Module):
    def forward(self, x: Any) -> Any:
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x: Any) -> Any:
        return F.sigmoid(x)


class Softplus(Module):
    def forward(self, x: Any) -> Any:
        return F.softplus(x)


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = V.integer(type(self).__name__, "dim", dim)

    def forward(self, x: Any) -> Any:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Any) -> Any:
        return F.log_softmax(x, self.dim)
