"""Activation layers: thin modules around ``anygrad.nn.functional``."""

from __future__ import annotations

from typing import Any

from . import _validate as V
from . import functional as F
from .module import Module


class ReLU(Module):
    def forward(self, x: Any) -> Any:
        return F.relu(x)


def _inplace_repr(inplace: bool, sep: str = ", ") -> str:
    return f"{sep}inplace=True" if inplace else ""


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = V.real("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = V.flag("LeakyReLU", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_repr(self.inplace)}"


class ELU(Module):
    """x where x > 0, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = V.real("ELU", "alpha", alpha)
        self.inplace = V.flag("ELU", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_repr(self.inplace)}"


class SELU(Module):
    """``scale * elu(x, alpha)``, alpha ~ 1.6733 and scale ~ 1.0507 (self-normalising)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = V.flag("SELU", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        return F.selu(x, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace, "")


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]`` (``max_val`` must exceed ``min_val``)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        self.min_val, self.max_val = F._hardtanh_bounds("Hardtanh", min_val, max_val,
                                                           equal=False)
        self.inplace = V.flag("Hardtanh", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_repr(self.inplace)}"


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x: Any) -> Any:
        return F.softsign(x)


class GLU(Module):
    """Gated linear unit: the first half of ``dim`` times the sigmoid of the second."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = V.integer("GLU", "dim", dim)

    def forward(self, x: Any) -> Any:
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


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
