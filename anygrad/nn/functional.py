"""Layers and losses as functions, PyTorch's names and arguments (``torch.nn.functional``).

Activations, softmax, padding and the im2col windows are primitives with their own
derivative rules (``anygrad.ops.nn``); everything else here is composed from primitives, so
its gradient needs no rule of its own; each such function is a ``compound_op``, drawn as one
box in graph drawings.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from .. import ops
from .. import random as _random
from .._tensor import Tensor, _wrap
from ..autograd.function import ensure_tensor
from ..drawing import compound_op, graph_group
from ..errors import DTypeError, ShapeError
from ..ops import nn as _nn
from ..ops.nn import embedding as _embedding
from ..ops.nn import (
    gelu,
    log_softmax,
    max_pool,
    pad,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    windows,
)
from ..ops.reductions import check_axis
from . import _validate as V

__all__ = ["relu", "gelu", "silu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
           "leaky_relu", "elu", "selu", "hardtanh", "softsign", "glu", "linear", "conv2d",
           "max_pool2d", "avg_pool2d", "pad", "dropout",
           "batch_norm", "layer_norm", "embedding", "flatten", "one_hot", "cross_entropy",
           "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]

tanh = ops.tanh


def _floating(owner: str, x: Any, kinds: str = "f") -> Tensor:
    """``x`` as a tensor, refused (DTypeError) unless of a real floating dtype (or one of
    ``kinds``)."""
    x = ensure_tensor(x)
    if x.dtype.kind not in kinds:
        what = "real floating-point" if kinds == "f" else "real (integer or floating)"
        raise DTypeError(f"{owner}: expects a {what} input, not {x.dtype.name}")
    return x


def _in_place(owner: str, x: Tensor, out: Tensor, inplace: Any) -> Tensor:
    """``out``, written into ``x`` (and ``x`` returned) when ``inplace``."""
    if not V.flag(owner, "inplace", inplace):
        return out
    x[...] = out
    return x


def leaky_relu(x: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    """The identity where x > 0, else ``negative_slope * x``."""
    negative_slope = V.real("leaky_relu", "negative_slope", negative_slope)
    x = _floating("leaky_relu", x)
    return _in_place("leaky_relu", x, _nn.leaky_relu(x, negative_slope), inplace)


def elu(x: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    """The identity where x > 0, else ``alpha * (exp(x) - 1)``."""
    alpha = V.real("elu", "alpha", alpha)
    x = _floating("elu", x)
    return _in_place("elu", x, _nn.elu(x, alpha), inplace)


def selu(x: Any, inplace: bool = False) -> Any:
    """``scale * elu(x, alpha)`` with the self-normalising constants (alpha ~ 1.6733,
    scale ~ 1.0507)."""
    x = _floating("selu", x)
    return _in_place("selu", x, _nn.elu(x, _nn.SELU_ALPHA, _nn.SELU_SCALE), inplace)


def _hardtanh_bounds(owner: str, min_val: Any, max_val: Any, equal: bool = True
                     ) -> tuple[float, float]:
    """The bounds checked: ``min_val <= max_val`` (``<`` unless ``equal``, the module's rule
    in PyTorch)."""
    low, high = V.real(owner, "min_val", min_val), V.real(owner, "max_val", max_val)
    if high < low or (high == low and not equal):
        relation = "at least" if equal else "greater than"
        raise ValueError(f"{owner}: max_val ({high}) must be {relation} min_val ({low})")
    return low, high


def hardtanh(x: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Any:
    """``x`` clipped to ``[min_val, max_val]`` (gradient 1 strictly inside, 0 elsewhere);
    integer inputs stay integers."""
    low, high = _hardtanh_bounds("hardtanh", min_val, max_val)
    x = _floating("hardtanh", x, "iuf")
    if x.dtype.kind != "f":  # the same integers, and bounds of the input's kind
        low, high = math.ceil(low), max(math.floor(high), math.ceil(low))
    return _in_place("hardtanh", x, _nn.hardtanh(x, low, high), inplace)


def softsign(x: Any) -> Any:
    """Softsign: ``x / (1 + |x|)``."""
    return _nn.softsign(_floating("softsign", x))


@compound_op
def glu(x: Any, dim: int = -1) -> Any:
    """Gated linear unit: ``a * sigmoid(b)``, ``a`` and ``b`` the halves of ``x`` along ``dim``."""
    dim = V.integer("glu", "dim", dim)
    x = _floating("glu", x)
    if x.ndim == 0:
        raise ShapeError("glu: a 0-d input has no dimension to halve")
    axis = check_axis(dim, x.ndim, "glu")
    n = x.shape[axis]
    if n % 2:
        raise ShapeError(f"glu: the halved dimension must have even size, but dimension {dim} "
                         f"of input shape {x.shape} has size {n}")
    lead = (slice(None),) * axis
    return x[(*lead, slice(0, n // 2))] * sigmoid(x[(*lead, slice(n // 2, n))])


@compound_op
def linear(x: Any, weight: Any, bias: Any = None) -> Any:
    """``x @ weight.T + bias``, ``weight`` shaped (out_features, in_features) as in PyTorch."""
    x = ensure_tensor(x)
    if x.ndim == 0:
        raise ShapeError("linear: expects input of at least 1 dimension, got a 0-d tensor")
    out = ops.matmul(x, ops.matrix_transpose(weight))
    return out if bias is None else out + bias


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """``x`` with axes ``start_dim..end_dim`` merged into one."""
    x = ensure_tensor(x)
    start, end = start_dim % max(x.ndim, 1), end_dim % max(x.ndim, 1)
    return ops.reshape(x, (*x.shape[:start], math.prod(x.shape[start:end + 1]), *x.shape[end + 1:]))


# -- convolution and pooling ---------------------------------------------------------------
_LOW = {"kernel_size": 1, "stride": 1, "dilation": 1, "padding": 0}  # smallest legal value


def _pair(v: Any, name: str, owner: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least ``_LOW[name]`` (TypeError or
    ValueError naming ``owner`` and ``name`` otherwise)."""
    return V.ints(owner, name, v, 2, low=_LOW[name])  # type: ignore[return-value]


def _conv_padding(padding: Any, stride: tuple, owner: str) -> Any:
    """``padding`` checked: 'valid', 'same' (stride 1 only), an int or a pair of ints >= 0
    (PyTorch's forms), or a 4-tuple ``(top, bottom, left, right)`` of ints >= 0."""
    if isinstance(padding, str):
        V.choice(owner, "padding", padding, ("valid", "same"))
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"{owner}: padding='same' needs stride 1, not {stride}")
        return padding
    if isinstance(padding, tuple | list) and len(padding) == 4:
        return V.ints(owner, "padding", padding, 4)
    if isinstance(padding, tuple | list) and len(padding) != 2:
        raise ValueError(f"{owner}: padding must be an int, a pair (height, width), a 4-tuple "
                         f"(top, bottom, left, right), 'same' or 'valid', not {padding!r}")
    return _pair(padding, "padding", owner)


def _padding(padding: Any, kernel: tuple, dilation: tuple, stride: tuple) -> tuple:
    """((top, bottom), (left, right)) from an int, a pair, a 4-tuple, 'valid' or 'same'."""
    padding = _conv_padding(padding, stride, "conv2d")
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in total)
    if len(padding) == 4:
        top, bottom, left, right = padding
        return ((top, bottom), (left, right))
    ph, pw = padding
    return ((ph, ph), (pw, pw))


def _check_4d(x: Tensor, name: str) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{name}: expects input of shape (N, C, H, W), got {x.shape}")


@compound_op
def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Any:
    """2-d cross-correlation as in PyTorch: x (N, C, H, W), weight (O, C // groups, kh, kw);
    ``padding`` as PyTorch's (an int, a pair, 'same', 'valid') or ``(top, bottom, left,
    right)``.

    im2col: the windows of the padded input as one (OH*OW*N, kh*kw*C) matrix, and one GEMM
    with the weight as a (kh*kw*C, O) matrix (a batch of ``groups`` GEMMs with groups). The
    result is pixel-major in memory (OH, OW, N, O), a transposed view (N, O, OH, OW): pooling
    reads it in long runs and the next layer's im2col without a transpose.
    """
    x, weight = ensure_tensor(x), ensure_tensor(weight)
    _check_4d(x, "conv2d")
    n, c = x.shape[:2]
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: weight must have shape (O, C // groups, kh, kw), got "
                         f"{weight.shape}")
    o, cg, kh, kw = weight.shape
    groups = V.integer("conv2d", "groups", groups, low=1)
    if c != cg * groups or o % groups:
        raise ShapeError(f"conv2d: input has {c} channels and weight shape {weight.shape} with "
                         f"groups={groups}: need C == weight.shape[1] * groups and "
                         f"out_channels divisible by groups")
    stride, dilation = _pair(stride, "stride", "conv2d"), _pair(dilation, "dilation", "conv2d")
    pads = _padding(padding, (kh, kw), dilation, stride)
    cols = _nn.im2col(x, (kh, kw), stride, dilation, pads)  # (OH*OW*N, kh*kw*C)
    h, w = x.shape[2] + sum(pads[0]), x.shape[3] + sum(pads[1])
    oh = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    k = kh * kw
    if groups == 1:  # (O, C, kh, kw) -> (kh*kw*C, O): the columns' order
        w2 = ops.reshape(ops.permute_dims(weight, (2, 3, 1, 0)), (k * c, o))
        out = ops.matmul(cols, w2)
    else:  # per group g: columns (K, g, Cg) of the pixels, weights (K*Cg, O/G)
        cols = ops.permute_dims(ops.reshape(cols, (-1, k, groups, cg)), (2, 0, 1, 3))
        w2 = ops.reshape(weight, (groups, o // groups, cg, kh, kw))
        w2 = ops.reshape(ops.permute_dims(w2, (0, 3, 4, 2, 1)), (groups, k * cg, o // groups))
        out = ops.matmul(ops.reshape(cols, (groups, -1, k * cg)), w2)  # (G, OH*OW*N, O/G)
        out = ops.reshape(ops.permute_dims(out, (1, 0, 2)), (-1, o))
    if bias is not None:
        out = out + bias
    return ops.permute_dims(ops.reshape(out, (oh, ow, n, o)), (2, 3, 0, 1))


def _pool_input(x: Any, kernel_size: Any, stride: Any, padding: Any, value: float,
                name: str) -> tuple[Tensor, tuple, tuple]:
    """The padded input, the kernel and the stride of a pooling."""
    x = ensure_tensor(x)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{name}: expects input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    kernel = _pair(kernel_size, "kernel_size", name)
    stride = kernel if stride is None else _pair(stride, "stride", name)
    ph, pw = _pair(padding, "padding", name)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} should be at most half the kernel {kernel}")
    if ph or pw:
        x = pad(x, ((ph, ph), (pw, pw)), value)
    return x, kernel, stride


def _pool_windows(x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                  value: float, name: str) -> Any:
    x, kernel, stride = _pool_input(x, kernel_size, stride, padding, value, name)
    if stride == kernel and dilation == 1 and x.shape[-2] % kernel[0] == 0 \
            and x.shape[-1] % kernel[1] == 0:  # non-overlapping tiles: a reshape is enough
        h, w = x.shape[-2:]
        tiles = ops.reshape(x, (*x.shape[:-2], h // kernel[0], kernel[0], w // kernel[1],
                                kernel[1]))
        return tiles, (-3, -1)
    return windows(x, kernel, stride, _pair(dilation, "dilation", name)), -3


@compound_op
def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1) -> Any:
    """The largest element of each window (its first maximal element gets the gradient)."""
    x, kernel, stride = _pool_input(x, kernel_size, stride, padding, -math.inf, "max_pool2d")
    return max_pool(x, kernel, stride, _pair(dilation, "dilation", "max_pool2d"))


@compound_op
def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               count_include_pad: bool = True) -> Any:
    """The mean of each window (padding zeros count, as PyTorch's default)."""
    cols, axis = _pool_windows(x, kernel_size, stride, padding, 1, 0.0, "avg_pool2d")
    if count_include_pad or _pair(padding, "padding", "avg_pool2d") == (0, 0):
        return ops.mean(cols, axis=axis)
    x = ensure_tensor(x)  # divide by the number of real (unpadded) elements in each window
    backend = x.backend  # (the dtype from the tensor, not its data: no value read in lazy mode)
    ones = _wrap(backend.ones((1,) * (x.ndim - 2) + x.shape[-2:], backend.native_dtype(x.dtype)),
                 backend)
    counts, _ = _pool_windows(ones, kernel_size, stride, padding, 1, 0.0, "avg_pool2d")
    return ops.sum(cols, axis=axis) / ops.sum(counts, axis=axis)


# -- regularisation and normalisation -------------------------------------------------------
@compound_op
def dropout(x: Any, p: float = 0.5, training: bool = True) -> Any:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) (inverted
    dropout: nothing to undo at evaluation). The identity when not ``training``."""
    p = V.probability("dropout", "p", p)
    x = ensure_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    mask = _random.bernoulli_array(1.0 - p, x.shape, x.dtype, x.backend, 1.0 / (1.0 - p))
    return x * _wrap(mask, x.backend)


def _stats_shape(x: Tensor) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


@compound_op
def batch_norm(x: Any, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Any:
    """Normalise each channel (axis 1) by the batch's statistics when ``training`` (updating
    the running ones in place: ``running = (1 - momentum) * running + momentum * batch``,
    the variance unbiased), by the running statistics otherwise."""
    x = ensure_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expects input of shape (N, C, ...), got {x.shape}")
    shape = _stats_shape(x)
    axes = (0, *range(2, x.ndim))
    if training or running_mean is None:
        count = x.size // x.shape[1]
        if count < 2:
            raise ShapeError(f"batch_norm: needs more than one value per channel in training, "
                             f"got input of shape {x.shape}")
        mean = ops.mean(x, axis=axes, keepdims=True)
        centred = x - mean
        var = ops.mean(centred * centred, axis=axes, keepdims=True)
        if training and running_mean is not None:
            with running_mean.backend.context or contextlib.nullcontext():
                rm, rv = running_mean.data, running_var.data
                xp = running_mean.backend.xp
                running_mean.data = rm * (1 - momentum) + xp.reshape(mean.data, rm.shape) * momentum
                running_var.data = rv * (1 - momentum) + xp.reshape(
                    var.data, rv.shape) * (momentum * count / (count - 1))
    else:
        centred = x - ops.reshape(running_mean, shape)
        var = ops.reshape(running_var, shape)
    out = centred / ops.sqrt(var + eps)
    if weight is not None:
        out = out * ops.reshape(weight, shape)
    if bias is not None:
        out = out + ops.reshape(bias, shape)
    return out


@compound_op
def layer_norm(x: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Any:
    """Normalise over the trailing ``normalized_shape`` axes (biased variance)."""
    x = ensure_tensor(x)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ShapeError(f"layer_norm: input shape {x.shape} does not end in normalized_shape "
                         f"{normalized_shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    centred = x - ops.mean(x, axis=axes, keepdims=True)
    out = centred / ops.sqrt(ops.mean(centred * centred, axis=axes, keepdims=True) + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def embedding(indices: Any, weight: Any, padding_idx: int | None = None) -> Any:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``indices``;
    no gradient reaches row ``padding_idx`` (negative: counted from the end). An index
    outside ``[0, num_embeddings)`` raises IndexError (it would wrap, or drop its gradient)."""
    weight = ensure_tensor(weight)
    indices = _like(indices, weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must have shape (num_embeddings, embedding_dim), "
                         f"got {weight.shape}")
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, not {indices.dtype.name}")
    n = weight.shape[0]
    if padding_idx is not None:
        padding_idx = V.integer("embedding", "padding_idx", padding_idx, low=-n, high=n - 1) % n
    V.check_labels("embedding", indices, n, "index", "num_embeddings")
    return _embedding(indices, weight, padding_idx)


# -- losses --------------------------------------------------------------------------------
def _reduce(loss: Any, reduction: str, denominator: Any = None, owner: str = "loss") -> Any:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "mean":
        return ops.mean(loss) if denominator is None else ops.sum(loss) / denominator
    raise ValueError(f"{owner}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _like(target: Any, x: Tensor) -> Tensor:
    return target if isinstance(target, Tensor) else Tensor(target, device=x.device,
                                                             requires_grad=False)


def _same_shape(owner: str, x: Any, target: Any) -> tuple[Tensor, Tensor]:
    """``x`` and ``target`` as tensors of one shape: anygrad refuses to broadcast a target
    (PyTorch warns and broadcasts, which turns (N,) against (N, 1) into an (N, N) loss)."""
    x = ensure_tensor(x)
    target = _like(target, x)
    if x.shape != target.shape:
        raise ShapeError(f"{owner}: input shape {x.shape} and target shape {target.shape} "
                         f"differ; losses do not broadcast the target (reshape one of them)")
    return x, target


def _one_hot(target: Tensor, num_classes: int, axis: int, dtype: Any) -> Tensor:
    """The one-hot of integer ``target`` along ``axis`` (unchecked: a label outside
    ``[0, num_classes)`` gets a row of zeros)."""
    xp, t = target.backend.xp, target.data
    ndim = t.ndim + 1
    axis = axis % ndim
    classes = xp.arange(num_classes, dtype=t.dtype, device=target.backend.native)
    classes = xp.reshape(classes, tuple(num_classes if i == axis else 1 for i in range(ndim)))
    hot = xp.expand_dims(t, axis=axis) == classes
    return _wrap(xp.astype(hot, target.backend.native_dtype(dtype or "int64")), target.backend)


def one_hot(target: Any, num_classes: int, axis: int = -1, dtype: Any = None) -> Tensor:
    """A constant tensor with a 1 where ``axis`` equals each integer of ``target``; a label
    outside ``[0, num_classes)`` raises IndexError."""
    target = ensure_tensor(target)
    num_classes = V.integer("one_hot", "num_classes", num_classes, low=1)
    if target.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: targets must be integers, not {target.dtype.name}")
    V.check_labels("one_hot", target, num_classes, "label", "num_classes")
    return _one_hot(target, num_classes, axis, dtype)


def _class_axis(owner: str, x: Tensor, dim: Any) -> int:
    """The class axis ``dim`` of ``x`` as a non-negative axis; a 1-d input (one unbatched
    sample) has its classes on axis 0 whatever ``dim`` is left at (PyTorch's rule)."""
    dim = V.integer(owner, "dim", dim)
    if x.ndim == 0:
        raise ShapeError(f"{owner}: expects input of shape (C,), (N, C) or (N, C, d1, ...), "
                         f"got a 0-d tensor")
    if x.ndim == 1 and dim == 1:
        return 0
    return check_axis(dim, x.ndim, owner)


def _class_loss(owner: str, logp: Tensor, target: Any, weight: Any, ignore_index: Any,
                reduction: str, label_smoothing: float, axis: int = 1) -> Any:
    """Cross entropy of integer labels under log-probabilities ``logp`` (classes on
    ``axis``, non-negative), PyTorch's semantics: samples labelled ``ignore_index`` leave the
    loss and the mean's denominator (the summed ``weight`` of the kept labels); every other
    label must be in ``[0, C)``. With ``label_smoothing`` e: ``(1 - e) nll + e / C *
    sum_c(-weight_c logp_c)`` per kept sample, over the same denominator."""
    target = _like(target, logp)
    if logp.ndim == 1:  # one sample: (C,) with a 0-d target
        loss = _class_loss(owner, ops.reshape(logp, (1, -1)), ops.reshape(target, (1,)), weight,
                           ignore_index, reduction, label_smoothing)
        return ops.reshape(loss, ()) if reduction == "none" else loss
    want = logp.shape[:axis] + logp.shape[axis + 1:]
    if target.shape != want:
        where = "" if axis == 1 else f" (classes on dim {axis})"
        raise ShapeError(f"{owner}: input of shape {logp.shape}{where} needs targets of shape "
                         f"{want}, got {target.shape}")
    if target.dtype.kind not in "iu":
        raise DTypeError(f"{owner}: targets must be integer class labels (for one_hot), not "
                         f"{target.dtype.name}")
    ignore_index = V.integer(owner, "ignore_index", ignore_index)
    n = logp.shape[axis]
    if weight is not None:
        weight = _like(weight, logp)
        if weight.shape != (n,):
            raise ShapeError(f"{owner}: weight must have shape ({n},), one per class, got "
                             f"{weight.shape}")
    labels, kept = _kept_labels(owner, target, n, ignore_index,
                                logp.backend.native_dtype(logp.dtype))  # (no value read)
    # A gather of each sample's log-probability (no one-hot product over the classes); its
    # gradient is one mask product. ``kept``: 1 where a label counts (None: all do).
    loss = -_nn.pick(logp, labels, axis)
    count = kept
    if weight is not None:
        w = ops.reshape(ops.take(weight, ops.reshape(labels, (-1,)), axis=0), labels.shape)
        loss = loss * w
        count = w if kept is None else w * kept
    if kept is not None:
        loss = loss * kept
    if label_smoothing:
        wlogp = logp if weight is None else \
            logp * ops.reshape(weight, (n,) + (1,) * (logp.ndim - 1 - axis))
        if kept is not None:
            wlogp = wlogp * ops.expand_dims(kept, axis=axis)
        loss = loss * (1 - label_smoothing) - ops.sum(wlogp, axis=axis) * (label_smoothing / n)
    if reduction == "mean" and count is None:
        return _reduce(loss, "mean", owner=owner)
    return _reduce(loss, reduction, ops.sum(count) if reduction == "mean" else None, owner)


def _kept_labels(owner: str, target: Tensor, n: int, ignore_index: int, dtype: Any
                 ) -> tuple[Tensor, Tensor | None]:
    """The labels to gather (ignored ones replaced by 0) and the mask of the labels that count
    (None when all do), after refusing labels outside ``[0, n)`` (IndexError). The common case
    costs one min/max sync: all labels in range and ``ignore_index`` outside it."""
    if target.size and not 0 <= ignore_index < n and _tracing():  # anygrad.compile: the
        return V.checked_labels(target, n, owner), None             # check joins the graph
    backend, t = target.backend, target.data
    if target.size and not 0 <= ignore_index < n:
        xp = backend.xp
        with backend.context or contextlib.nullcontext():
            bounds = xp.stack([xp.min(t), xp.max(t)])
        lo, hi = backend.to_numpy(bounds).tolist()
        if lo >= 0 and hi < n:
            return target, None
    if not target.size:
        return target, None
    V.check_labels(owner, target, n, "label", "C", ignore_index)  # raises on a bad label
    xp = backend.xp
    with backend.context or contextlib.nullcontext():
        info = xp.iinfo(t.dtype)
        if not info.min <= ignore_index <= info.max:  # (unsigned labels, negative index)
            return target, None
        ignored = t == ignore_index
        safe = xp.where(ignored, xp.zeros_like(t), t)
        kept = xp.astype(xp.logical_not(ignored), dtype)
    return _wrap(safe, backend), _wrap(kept, backend)


def _tracing() -> bool:
    """Whether ``anygrad.compile`` is tracing (a value read would make the step unreplayable)."""
    from ..lazy.tracing import TRACER
    return TRACER.get() is not None


@compound_op
def nll_loss(logp: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean", *, dim: int = 1) -> Any:
    """Negative log-likelihood of integer class ``target`` under log-probabilities ``logp``
    (classes on axis ``dim``, PyTorch's 1 by default: (N, C) or (N, C, d1, ...); the
    targets have ``logp``'s shape without that axis). ``mean`` divides by the summed weights
    of the targets, as PyTorch does; a label outside ``[0, C)`` other than ``ignore_index``
    raises IndexError."""
    logp = ensure_tensor(logp)
    return _class_loss("nll_loss", logp, target, weight, ignore_index, reduction, 0.0,
                       _class_axis("nll_loss", logp, dim))


@compound_op
def cross_entropy(logits: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0, *,
                  dim: int = 1) -> Any:
    """Cross entropy of ``logits`` (classes on axis ``dim``, PyTorch's 1 by default; axis 0
    of a 1-d input) against integer class labels (see :func:`nll_loss`) or class
    probabilities (a float ``target`` shaped like ``logits``), through a stable log-softmax;
    ``label_smoothing`` in [0, 1]."""
    label_smoothing = V.probability("cross_entropy", "label_smoothing", label_smoothing)
    logits = ensure_tensor(logits)
    target = _like(target, logits)
    axis = _class_axis("cross_entropy", logits, dim)
    logp = log_softmax(logits, axis=axis)
    n_classes = logits.shape[axis]
    if target.dtype.kind != "f":
        with graph_group("nll_loss"):  # drawn as PyTorch composes it: nll_loss of log_softmax
            return _class_loss("cross_entropy", logp, target, weight, ignore_index, reduction,
                               label_smoothing, axis)
    if target.shape != logits.shape:
        raise ShapeError(f"cross_entropy: probability targets must have the input's shape "
                         f"{logits.shape}, got {target.shape}")
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        logp = logp * ops.reshape(_like(weight, logits),
                                  (n_classes,) + (1,) * (logits.ndim - 1 - axis))
    return _reduce(-ops.sum(logp * target, axis=axis), reduction, owner="cross_entropy")


@compound_op
def mse_loss(x: Any, target: Any, reduction: str = "mean") -> Any:
    """Squared error; ``x`` and ``target`` must have one shape (ShapeError otherwise)."""
    x, target = _same_shape("mse_loss", x, target)
    d = x - target
    return _reduce(d * d, reduction, owner="mse_loss")


@compound_op
def l1_loss(x: Any, target: Any, reduction: str = "mean") -> Any:
    """Absolute error; ``x`` and ``target`` must have one shape (ShapeError otherwise)."""
    x, target = _same_shape("l1_loss", x, target)
    return _reduce(ops.abs(x - target), reduction, owner="l1_loss")


@compound_op
def binary_cross_entropy(p: Any, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Any:
    """Binary cross entropy of probabilities ``p`` (each log clamped at -100, as PyTorch);
    ``target`` of ``p``'s shape, ``weight`` broadcastable to it."""
    p, target = _same_shape("binary_cross_entropy", p, target)
    loss = -(target * ops.maximum(ops.log(p), -100.0)
             + (1 - target) * ops.maximum(ops.log(1 - p), -100.0))
    return _reduce(loss if weight is None else loss * weight, reduction,
                   owner="binary_cross_entropy")


@compound_op
def binary_cross_entropy_with_logits(logits: Any, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Any:
    """Binary cross entropy of ``sigmoid(logits)``, computed stably as
    ``(1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)``; ``target`` of the logits' shape."""
    logits, target = _same_shape("binary_cross_entropy_with_logits", logits, target)
    scale = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * logits + scale * softplus(-logits)
    return _reduce(loss if weight is None else loss * weight, reduction,
                   owner="binary_cross_entropy_with_logits")
