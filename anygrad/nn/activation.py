"""Activation layers: thin modules around ``anygrad.nn.functional``."""

from __future__ import annotations

from typing import Any

from . import _validate as V
from . import functional as F
from .module import Module


class ReLU(Module):
    """Rectified linear unit, elementwise: ``max(x, 0)`` (``F.relu``)."""
    def forward(self, x: Any) -> Any:
        """Apply the activation: ``max(x, 0)``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.
        """
        return F.relu(x)


def _inplace_repr(inplace: bool, sep: str = ", ") -> str:
    return f"{sep}inplace=True" if inplace else ""


class LeakyReLU(Module):
    """Leaky ReLU, elementwise: ``x`` where ``x > 0``, else ``negative_slope * x``.

    Args:
        negative_slope: The slope for negative inputs.
        inplace: Write the result into the input (a differentiable in-place write).

    Raises:
        TypeError: When an argument has the wrong type.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = V.real("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = V.flag("LeakyReLU", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``x`` where ``x > 0``, else ``negative_slope * x``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"negative_slope={self.negative_slope}{_inplace_repr(self.inplace)}"


class ELU(Module):
    """Exponential linear unit, elementwise: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Args:
        alpha: The scale of the negative part.
        inplace: Write the result into the input (a differentiable in-place write).

    Raises:
        TypeError: When an argument has the wrong type.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = V.real("ELU", "alpha", alpha)
        self.inplace = V.flag("ELU", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"alpha={self.alpha}{_inplace_repr(self.inplace)}"


class SELU(Module):
    """Scaled ELU, self-normalising: ``scale * elu(x, alpha)``, alpha ~ 1.6733, scale ~ 1.0507.

    Args:
        inplace: Write the result into the input (a differentiable in-place write).

    Raises:
        TypeError: When ``inplace`` is not a bool.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = V.flag("SELU", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``scale * elu(x, alpha)``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.selu(x, self.inplace)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return _inplace_repr(self.inplace, "")


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``, elementwise.

    Args:
        min_val: The lower bound.
        max_val: The upper bound (greater than ``min_val``).
        inplace: Write the result into the input (a differentiable in-place write).

    Raises:
        TypeError: When an argument has the wrong type.
        ValueError: When ``max_val <= min_val``.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        self.min_val, self.max_val = F._hardtanh_bounds("Hardtanh", min_val, max_val,
                                                           equal=False)
        self.inplace = V.flag("Hardtanh", "inplace", inplace)

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``x`` clipped to ``[min_val, max_val]``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.
        """
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_repr(self.inplace)}"


class Softsign(Module):
    """Softsign, elementwise: ``x / (1 + |x|)``."""

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``x / (1 + |x|)``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.softsign(x)


class GLU(Module):
    """Gated linear unit: the first half of ``dim`` times the sigmoid of the second.

    Args:
        dim: The axis to halve.

    Raises:
        TypeError: When ``dim`` is not an int.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = V.integer("GLU", "dim", dim)

    def forward(self, x: Any) -> Any:
        """Apply the gate: the first half of ``x`` along ``dim`` times the sigmoid of the second.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of half of ``x``'s size along ``dim``.

        Raises:
            ShapeError: When ``x``'s size along ``dim`` is odd.
        """
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"dim={self.dim}"


class GELU(Module):
    """Gaussian error linear unit, elementwise: ``x * Phi(x)``.

    Args:
        approximate: ``"none"`` (erf, PyTorch's default) or ``"tanh"`` (PyTorch's tanh
            formula).

    Raises:
        ValueError: For another ``approximate``.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = V.choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``x * Phi(x)``, ``Phi`` the standard normal CDF (or its tanh form).

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """Sigmoid-weighted linear unit, elementwise: ``x * sigmoid(x)`` (``F.silu``)."""
    def forward(self, x: Any) -> Any:
        """Apply the activation: ``x * sigmoid(x)``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.silu(x)


class Tanh(Module):
    """Hyperbolic tangent, elementwise (``F.tanh``)."""
    def forward(self, x: Any) -> Any:
        """Apply the activation: ``tanh(x)``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.tanh(x)


class Sigmoid(Module):
    """Logistic sigmoid, elementwise: ``1 / (1 + exp(-x))`` (``F.sigmoid``)."""
    def forward(self, x: Any) -> Any:
        """Apply the activation: ``1 / (1 + exp(-x))``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.sigmoid(x)


class Softplus(Module):
    """Softplus, elementwise: ``log(1 + exp(x))``, computed stably (``F.softplus``)."""
    def forward(self, x: Any) -> Any:
        """Apply the activation: ``log(1 + exp(x))``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.softplus(x)


class Softmax(Module):
    """Softmax along an axis (``F.softmax``).

    Args:
        dim: The axis whose entries sum to 1.

    Raises:
        TypeError: When ``dim`` is not an int.
    """
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = V.integer(type(self).__name__, "dim", dim)

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``exp(x)`` normalised to sum to 1 along ``dim``.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along an axis, computed stably (``F.log_softmax``).

    Args:
        dim: The axis to normalise over.

    Raises:
        TypeError: When ``dim`` is not an int.
    """

    def forward(self, x: Any) -> Any:
        """Apply the activation: ``log(softmax(x))`` along ``dim``, computed stably.

        Args:
            x: The input Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.

        Raises:
            DTypeError: When ``x`` is not a float tensor.
        """
        return F.log_softmax(x, self.dim)
