"""Layers with parameters or state: linear, convolution, pooling, normalisation, dropout.

Also embedding. Parameter and buffer names, shapes and default initialisation are PyTorch's.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from .. import backends
from .._tensor import Tensor, _wrap
from ..dtypes import as_dtype, float32
from . import _validate as V
from . import functional as F
from . import init
from .module import Module, Parameter


def _empty(shape: tuple[int, ...], device: Any, dtype: Any, requires_grad: bool = True
           ) -> Parameter:
    """A Parameter of ``shape`` (zeros until initialised), float32 unless ``dtype`` says."""
    backend = backends.get(device)
    nat = backend.native_dtype(as_dtype(dtype or float32))
    return Parameter(_wrap(backend.xp.zeros(shape, dtype=nat, device=backend.native), backend),
                     requires_grad)


def _buffer(value: float, shape: tuple[int, ...], device: Any, dtype: Any) -> Tensor:
    backend = backends.get(device)
    nat = backend.native_dtype(as_dtype(dtype or float32))
    return _wrap(backend.xp.full(shape, value, dtype=nat, device=backend.native), backend)


def _init_fan_in(weight: Parameter, bias: Parameter | None) -> None:
    """Initialise as PyTorch's Linear and Conv do.

    Kaiming-uniform weight (a = sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = init.fan_in_and_fan_out(weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """The identity: returns its input (a placeholder in a ``Sequential``)."""

    def forward(self, x: Any) -> Any:
        """Return ``x`` itself."""
        return x


class Linear(Module):
    """Affine map ``y = x @ weight.T + bias``, PyTorch's ``nn.Linear``.

    Args:
        in_features: The size of the last axis of the input.
        out_features: The size of the last axis of the output.
        bias: Whether to add a learnt bias.
        device: Where the parameters live (default: the default device).
        dtype: The parameters' float dtype (default float32).

    Attributes:
        weight: The ``(out_features, in_features)`` parameter.
        bias: The ``(out_features,)`` parameter, or None.

    Raises:
        TypeError: When an argument has the wrong type.
        ValueError: When a size is below 1.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 device: Any = None, dtype: Any = None):
        super().__init__()
        in_features = V.integer("Linear", "in_features", in_features, low=1)
        out_features = V.integer("Linear", "out_features", out_features, low=1)
        V.flag("Linear", "bias", bias)
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty((out_features, in_features), device, dtype)
        self.bias = _empty((out_features,), device, dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the parameters as PyTorch does: Kaiming-uniform weight, uniform bias."""
        _init_fan_in(self.weight, self.bias)

    def forward(self, x: Any) -> Any:
        """Apply the affine map.

        Args:
            x: A Tensor of shape ``(..., in_features)``.

        Returns:
            A Tensor of shape ``(..., out_features)``.

        Raises:
            ShapeError: When the last axis is not ``in_features`` long.
        """
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2d(Module):
    """2-d convolution (cross-correlation), PyTorch's ``nn.Conv2d``.

    Args:
        in_channels: The input's channels (axis 1).
        out_channels: The output's channels.
        kernel_size: The kernel's size: an int or a pair ``(kh, kw)``.
        stride: The step between windows: an int or a pair.
        padding: Zero padding: an int, a pair, ``"same"``, ``"valid"``, or
            ``(top, bottom, left, right)``.
        dilation: The spacing of the kernel's taps: an int or a pair.
        groups: Channel groups convolved separately (both channel counts divisible by it).
        bias: Whether to add a learnt bias per output channel.
        padding_mode: Only ``"zeros"``.
        device: Where the parameters live (default: the default device).
        dtype: The parameters' float dtype (default float32).

    Attributes:
        weight: The ``(out_channels, in_channels // groups, kh, kw)`` parameter.
        bias: The ``(out_channels,)`` parameter, or None.

    Raises:
        NotImplementedError: For a ``padding_mode`` other than ``"zeros"``.
        TypeError: When an argument has the wrong type.
        ValueError: When a channel count is not divisible by ``groups``, or a size is below 1.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, device: Any = None, dtype: Any = None):
        super().__init__()
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode {padding_mode!r}; only 'zeros'")
        in_channels = V.integer("Conv2d", "in_channels", in_channels, low=1)
        out_channels = V.integer("Conv2d", "out_channels", out_channels, low=1)
        groups = V.integer("Conv2d", "groups", groups, low=1)
        V.flag("Conv2d", "bias", bias)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = F._pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = F._pair(stride, "stride", "Conv2d")
        self.padding = F._conv_padding(padding, self.stride, "Conv2d")
        self.dilation = F._pair(dilation, "dilation", "Conv2d")
        self.weight = _empty((out_channels, in_channels // groups, *self.kernel_size), device,
                             dtype)
        self.bias = _empty((out_channels,), device, dtype) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise the parameters as PyTorch does: Kaiming-uniform weight, uniform bias."""
        _init_fan_in(self.weight, self.bias)

    def forward(self, x: Any) -> Any:
        """Convolve a batch of images.

        Args:
            x: A Tensor of shape ``(N, in_channels, H, W)``.

        Returns:
            A Tensor of shape ``(N, out_channels, H_out, W_out)``.

        Raises:
            ShapeError: When ``x`` has the wrong number of axes or channels.
        """
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding not in ((0, 0), (0, 0, 0, 0), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class _Pool2d(Module):
    """What max and average pooling share: the window's size, stride and padding."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        super().__init__()
        owner = type(self).__name__
        kernel = F._pair(kernel_size, "kernel_size", owner)
        if stride is not None:
            F._pair(stride, "stride", owner)
        pads = F._pair(padding, "padding", owner)
        if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
            raise ValueError(f"{owner}: padding {padding} should be at most half the kernel "
                             f"{kernel}")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """2-d max pooling: the largest value of each window, PyTorch's ``nn.MaxPool2d``.

    Args:
        kernel_size: The window's size: an int or a pair.
        stride: The step between windows (default: ``kernel_size``).
        padding: Implicit padding with -inf on each side (at most half the kernel).
        dilation: The spacing of the window's taps.

    Raises:
        TypeError: When an argument has the wrong type.
        ValueError: When the padding exceeds half the kernel.
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1):
        super().__init__(kernel_size, stride, padding)
        F._pair(dilation, "dilation", "MaxPool2d")
        self.dilation = dilation

    def forward(self, x: Any) -> Any:
        """Pool a batch of images; the gradient goes to each window's first maximum.

        Args:
            x: A Tensor of shape ``(N, C, H, W)`` or ``(C, H, W)``.

        Returns:
            The pooled Tensor, ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)``.
        """
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(_Pool2d):
    """2-d average pooling: the mean of each window, PyTorch's ``nn.AvgPool2d``.

    Args:
        kernel_size: The window's size: an int or a pair.
        stride: The step between windows (default: ``kernel_size``).
        padding: Zero padding on each side (at most half the kernel).
        count_include_pad: Whether the padded zeros count in each mean.

    Raises:
        TypeError: When an argument has the wrong type.
        ValueError: When the padding exceeds half the kernel.
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = V.flag("AvgPool2d", "count_include_pad", count_include_pad)

    def forward(self, x: Any) -> Any:
        """Pool a batch of images.

        Args:
            x: A Tensor of shape ``(N, C, H, W)`` or ``(C, H, W)``.

        Returns:
            The pooled Tensor, ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)``.
        """
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                            self.count_include_pad)


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one (by default all but the batch axis).

    Args:
        start_dim: The first axis to merge.
        end_dim: The last axis to merge (included).

    Raises:
        TypeError: When an axis is not an int.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = V.integer("Flatten", "start_dim", start_dim)
        self.end_dim = V.integer("Flatten", "end_dim", end_dim)

    def forward(self, x: Any) -> Any:
        """Flatten the axes (a view where the backend allows).

        Args:
            x: A Tensor.

        Returns:
            ``x`` reshaped with ``start_dim..end_dim`` merged.
        """
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Dropout: zero elements with probability ``p`` in training, scaling the rest by 1 / (1 - p).

    In evaluation mode (``eval()``) it returns its input.

    Args:
        p: The probability of zeroing an element, in [0, 1].

    Raises:
        TypeError: When ``p`` is not a number.
        ValueError: When ``p`` is outside [0, 1].
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = V.probability("Dropout", "p", p)

    def forward(self, x: Any) -> Any:
        """Drop elements in training mode (drawn from ``anygrad.random``); pass ``x`` in eval.

        Args:
            x: A float Tensor.

        Returns:
            A Tensor of ``x``'s shape and dtype.
        """
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return f"p={self.p}"


class Embedding(Module):
    """A lookup table from integer indices to learnt rows, PyTorch's ``nn.Embedding``.

    Args:
        num_embeddings: The number of rows (the vocabulary size).
        embedding_dim: The length of each row.
        padding_idx: A row that stays zero and gets no gradient (negative counts from the end).
        device: Where the parameters live (default: the default device).
        dtype: The parameters' float dtype (default float32).

    Attributes:
        weight: The ``(num_embeddings, embedding_dim)`` parameter, initialised N(0, 1).

    Raises:
        TypeError: When an argument has the wrong type.
        ValueError: When a size is below 1 or ``padding_idx`` is out of range.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 *, device: Any = None, dtype: Any = None):
        super().__init__()
        num_embeddings = V.integer("Embedding", "num_embeddings", num_embeddings, low=1)
        embedding_dim = V.integer("Embedding", "embedding_dim", embedding_dim, low=1)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:  # PyTorch's range: [-num_embeddings, num_embeddings)
            padding_idx = V.integer("Embedding", "padding_idx", padding_idx,
                                    low=-num_embeddings, high=num_embeddings - 1)
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = _empty((num_embeddings, embedding_dim), device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise ``weight`` with N(0, 1), the padding row with zeros."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx, ...] = 0

    def forward(self, indices: Any) -> Any:
        """Look up rows.

        Args:
            indices: An integer Tensor (or data) of any shape.

        Returns:
            A Tensor of shape ``indices.shape + (embedding_dim,)``.

        Raises:
            IndexError: For an index outside ``[0, num_embeddings)``.
        """
        if not isinstance(indices, Tensor):
            indices = Tensor(indices, device=self.weight.device)
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class _BatchNorm(Module):
    """What the batch-normalisation layers share (``_dims``: the input ranks they take)."""

    _dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        owner = type(self).__name__
        num_features = V.integer(owner, "num_features", num_features, low=1)
        eps = V.real(owner, "eps", eps, low=0.0)
        momentum = V.probability(owner, "momentum", momentum)
        V.flag(owner, "affine", affine)
        V.flag(owner, "track_running_stats", track_running_stats)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = init.ones_(_empty((num_features,), device, dtype))
            self.bias = _empty((num_features,), device, dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _buffer(0.0, (num_features,), device, dtype))
            self.register_buffer("running_var", _buffer(1.0, (num_features,), device, dtype))
            self.register_buffer("num_batches_tracked", _buffer(0, (), device, "int64"))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Any) -> Any:
        """Normalise per channel (axis 1).

        In training mode (or without running statistics) the batch's statistics are used and
        the running ones updated; in evaluation mode the running ones are used.

        Args:
            x: A Tensor of the layer's rank.

        Returns:
            A Tensor of ``x``'s shape.

        Raises:
            ValueError: When ``x`` has another number of axes.
        """
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim not in self._dims:
            raise ValueError(f"{type(self).__name__}: expects a {' or '.join(map(str, self._dims))}"
                             f"-d input, got shape {x.shape}")
        if self.training and self.num_batches_tracked is not None:
            count = self.num_batches_tracked
            with count.backend.context or contextlib.nullcontext():
                count.data = count.data + 1
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, self.momentum, self.eps)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel (``nn.BatchNorm1d``).

    Args:
        num_features: C, the number of channels.
        eps: Added to the variance before its square root.
        momentum: The weight of each new batch in the running statistics.
        affine: Learn a scale (``weight``) and shift (``bias``) per channel.
        track_running_stats: Keep ``running_mean``, ``running_var`` and
            ``num_batches_tracked`` buffers for evaluation mode.
        device: Where the parameters and buffers live (default: the default device).
        dtype: Their float dtype (default float32).

    Raises:
        TypeError: When an argument has the wrong type.
        ValueError: When an argument is out of range.
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel (``nn.BatchNorm2d``).

    Takes ``BatchNorm1d``'s arguments.
    """

    _dims = (4,)


class LayerNorm(Module):
    """Normalisation over the trailing ``normalized_shape`` axes, PyTorch's ``nn.LayerNorm``.

    Args:
        normalized_shape: The trailing shape to normalise over (an int or a tuple).
        eps: Added to the variance before its square root.
        elementwise_affine: Learn a scale (``weight``, ones) of that shape.
        bias: With ``elementwise_affine``, learn a shift (``bias``, zeros) too.
        device: Where the parameters live (default: the default device).
        dtype: The parameters' float dtype (default float32).

    Raises:
        TypeError: When an argument has the wrong type.
        ValueError: When a size is below 1 or ``eps`` is negative.
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, *, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        if isinstance(normalized_shape, int | bool) or not isinstance(normalized_shape,
                                                                       tuple | list):
            normalized_shape = (normalized_shape,)
        shape = tuple(V.integer("LayerNorm", "normalized_shape", n, low=1)
                      for n in normalized_shape)
        self.normalized_shape, self.eps = shape, V.real("LayerNorm", "eps", eps, low=0.0)
        V.flag("LayerNorm", "elementwise_affine", elementwise_affine)
        V.flag("LayerNorm", "bias", bias)
        self.elementwise_affine = elementwise_affine
        self.weight = init.ones_(_empty(shape, device, dtype)) if elementwise_affine else None
        self.bias = _empty(shape, device, dtype) if elementwise_affine and bias else None

    def forward(self, x: Any) -> Any:
        """Normalise over the trailing axes.

        Args:
            x: A Tensor whose shape ends with ``normalized_shape``.

        Returns:
            A Tensor of ``x``'s shape.

        Raises:
            ShapeError: When ``x``'s shape does not end with ``normalized_shape``.
        """
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """The settings shown in the module's ``repr``."""
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
