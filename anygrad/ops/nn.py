"""Neural-network primitives: activations, (log-)softmax, padding, sliding windows, gathers.

One forward and one derivative rule per input, ``rule(xp, g, out, *inputs, **params)``, in
Array-API terms. Convolution and pooling are built (in ``anygrad.nn.functional``) from
primitives here: ``im2col`` (the padded input's windows as one (OH*OW*N, kh*kw*C) matrix, so
a convolution is one GEMM), ``pad`` and ``windows`` (every kernel offset's strided slice, with
a Python loop over kernel offsets only, never over pixels or batch items) followed by
``matmul`` or a reduction. Hot rules use mask arithmetic (``g * (x > 0)``), never ``where``:
NumPy's ``where`` branches per element (18x slower than the product).
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from ..autograd.function import apply, apply_unary, call, ensure_tensor
from ..autograd.op import Op
from ..backends.base import add_at, set_at
from ..errors import ShapeError
from .indexing import placed_meta
from .reductions import check_axis

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. (2017), PyTorch's constants
SELU_SCALE = 1.0507009873554804934193349852946


# -- helpers written against xp ------------------------------------------------------------
def _sigmoid(xp: Any, x: Any) -> Any:
    e = xp.exp(-xp.abs(x))  # never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _erf(xp: Any, x: Any) -> Any:
    """erf, which the Array API lacks: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)."""
    a = xp.abs(x)
    t = 1 / (1 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                           + t * 1.061405429))))
    return xp.sign(x) * (1 - poly * xp.exp(-a * a))


def _positive(xp: Any, x: Any, dtype: Any) -> Any:
    """1 where x > 0, else 0, in ``dtype``: the mask of mask arithmetic (no ``where``)."""
    return xp.astype(x > 0, dtype)


def _slope(xp: Any, x: Any, negative_slope: float, dtype: Any) -> Any:
    """1 where x > 0, else ``negative_slope``: exactly, at both ends."""
    p = _positive(xp, x, dtype)
    return p + (1 - p) * negative_slope


def _elu(xp: Any, x: Any, *, alpha: float, scale: float) -> Any:
    """``scale * x`` where x > 0, else ``scale * alpha * (exp(x) - 1)`` (never overflows)."""
    pos = xp.maximum(x, 0)
    return (pos if scale == 1 else pos * scale) + (alpha * scale) * xp.expm1(xp.minimum(x, 0))


def _elu_grad(xp: Any, g: Any, out: Any, x: Any, *, alpha: float, scale: float) -> Any:
    p = _positive(xp, x, g.dtype)
    neg = (1 - p) * ((alpha * scale) * xp.exp(xp.minimum(x, 0)))
    return g * ((p if scale == 1 else p * scale) + neg)


def _gelu_tanh_inner(xp: Any, x: Any) -> Any:
    return xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))


def _gelu_grad(xp: Any, x: Any, *, approximate: str) -> Any:
    if approximate == "tanh":
        t = _gelu_tanh_inner(xp, x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 0.134145 * x * x)
    return 0.5 * (1 + _erf(xp, x * 0.7071067811865476)) + x * xp.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _gelu(xp: Any, x: Any, *, approximate: str) -> Any:
    if approximate == "tanh":
        return 0.5 * x * (1 + _gelu_tanh_inner(xp, x))
    return 0.5 * x * (1 + _erf(xp, x * 0.7071067811865476))


# The softmax the last eager log_softmax computed, for its rule: one slot holding (a weak
# reference to the output, the softmax), replaced whole (atomic under threads). The rule of
# that output takes it (and empties the slot) instead of computing exp(out) again; any other
# output (an earlier log_softmax, lazy mode's deferred values, tensors in higher order) misses
# and recomputes it: the same values either way. The softmax dies with its output.
_SOFTMAX: list = [None]


def _drop_softmax(ref: Any) -> None:
    held = _SOFTMAX[0]
    if held is not None and held[0] is ref:
        _SOFTMAX[0] = None


def _log_softmax(xp: Any, x: Any, *, axis: int) -> Any:
    s = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(s)
    total = xp.sum(e, axis=axis, keepdims=True)
    out = s - xp.log(total)
    _SOFTMAX[0] = None  # (never two softmaxes held at once)
    try:
        _SOFTMAX[0] = (weakref.ref(out, _drop_softmax), e / total)
    except TypeError:  # arrays without weak references: the rule recomputes
        pass
    return out


def _log_softmax_grad(xp: Any, g: Any, out: Any, x: Any, *, axis: int) -> Any:
    """The gradient ``g - softmax * sum(g)``, with the forward's softmax (see ``_SOFTMAX``)
    when it has it."""
    held = _SOFTMAX[0]
    if held is not None and held[0]() is out:
        _SOFTMAX[0] = None
        p = held[1]
    else:
        p = xp.exp(out)
    return g - p * xp.sum(g, axis=axis, keepdims=True)


def _softmax(xp: Any, x: Any, *, axis: int) -> Any:
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _pad(xp: Any, x: Any, *, pads: tuple, value: float) -> Any:
    """``x`` with ``pads[i] = (before, after)`` elements of ``value`` around trailing axis i."""
    lead = x.ndim - len(pads)
    sizes = (n + b + a for n, (b, a) in zip(x.shape[lead:], pads, strict=True))
    shape = (*x.shape[:lead], *sizes)
    out = xp.full(shape, value, dtype=x.dtype, device=getattr(x, "device", None))
    return set_at(out, _unpadded(x.shape, pads), x)


def _unpadded(shape: tuple, pads: tuple) -> tuple:
    """The key that selects the original elements of a padded array."""
    lead = len(shape) - len(pads)
    return (..., *(slice(b, b + n) for n, (b, _) in zip(shape[lead:], pads, strict=True)))


def _window_keys(shape: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> list:
    """One key per kernel offset: the strided slice of the last two axes it multiplies."""
    (h, w), (kh, kw), (sh, sw), (dh, dw) = shape[-2:], kernel, stride, dilation
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    return [(..., slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
             slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


def _windows(xp: Any, x: Any, *, kernel: tuple, stride: tuple, dilation: tuple) -> Any:
    """(N, C, H, W) -> (N, C, kh*kw, OH, OW): im2col, one strided slice per kernel offset."""
    return xp.stack([x[k] for k in _window_keys(x.shape, kernel, stride, dilation)], axis=-3)


def _fold(xp: Any, g: Any, *, shape: tuple, kernel: tuple, stride: tuple,
          dilation: tuple) -> Any:
    """col2im, the gradient of :func:`_windows` for an input of ``shape``: each offset's
    slice added back in place."""
    z = xp.zeros(shape, dtype=g.dtype, device=getattr(g, "device", None))
    for k, key in enumerate(_window_keys(shape, kernel, stride, dilation)):
        z = add_at(z, key, g[..., k, :, :])
    return z


def _max_pool(xp: Any, x: Any, *, kernel: tuple, stride: tuple, dilation: tuple) -> Any:
    """The largest element of each window: ``maximum`` over the kernel offsets' slices."""
    keys = _window_keys(x.shape, kernel, stride, dilation)
    out = x[keys[0]]
    for key in keys[1:]:
        out = xp.maximum(out, x[key])
    return out


def _max_pool_grad(xp: Any, g: Any, x: Any, out: Any, *, kernel: tuple, stride: tuple,
                   dilation: tuple) -> Any:
    """Each window's gradient goes to its first maximal element (as PyTorch)."""
    z = xp.zeros_like(x, dtype=g.dtype)
    keys = _window_keys(x.shape, kernel, stride, dilation)
    apart = all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation, strict=True))
    put = set_at if apart else add_at  # windows apart: each element written once, no read
    last = len(keys) - 1
    for i, key in enumerate(keys):
        hit = xp.astype(x[key] == out, g.dtype)  # (mask arithmetic: ``where`` is 18x slower)
        taken = g * hit
        z = put(z, key, taken)
        if i < last:
            g = g - taken  # given away: later ties get nothing
    return z


def _max_pool_grad_adjoint(xp: Any, gg: Any, z: Any, g: Any, x: Any, out: Any, *,
                           kernel: tuple, stride: tuple, dilation: tuple) -> Any:
    """The rule of :func:`_max_pool_grad` for ``g`` (it is linear in ``g``): each window
    reads ``gg`` at its first maximal element."""
    keys = _window_keys(x.shape, kernel, stride, dilation)
    left = total = None  # the windows whose maximum is still to come
    for key in keys:
        hit = xp.astype(x[key] == out, gg.dtype)
        first = hit if left is None else hit * left
        left = 1 - hit if left is None else left - first
        part = first * gg[key]
        total = part if total is None else total + part
    return total


def _conv_geometry(shape: tuple, kernel: tuple, stride: tuple, dilation: tuple,
                   pads: tuple) -> tuple[tuple, list, tuple]:
    """The padded, pixel-major shape (H', W', N, C) im2col reads, its window keys (slices of
    the two leading axes) and the output's (OH, OW)."""
    n, c, h, w = shape
    (top, bottom), (left, right) = pads
    padded = (h + top + bottom, w + left + right, n, c)
    keys = [(k[1], k[2], ...) for k in _window_keys(padded[:2], kernel, stride, dilation)]
    oh, ow = (len(range(*k.indices(m))) for k, m in zip(keys[0][:2], padded[:2], strict=True))
    return padded, keys, (oh, ow)


def _im2col(xp: Any, x: Any, *, kernel: tuple, stride: tuple, dilation: tuple,
            pads: tuple) -> Any:
    """(N, C, H, W) -> (OH*OW*N, kh*kw*C): the windows of the padded input, one row per output
    pixel (output row, output column, image) and one column per (kernel offset, channel), so
    that a convolution is one GEMM. Pixel-major (H, W, N, C) in memory: each window is a slice
    of the two leading axes, contiguous runs of N*C elements (so are pooling's), and a
    convolution's result comes out in that layout, for the next layer to read without a
    transpose. The transpose is paid once, in the padding copy."""
    padded, keys, _ = _conv_geometry(x.shape, kernel, stride, dilation, pads)
    xt = xp.permute_dims(x, (2, 3, 0, 1))
    if padded != xt.shape:
        buf = xp.zeros(padded, dtype=x.dtype, device=getattr(x, "device", None))
        xt = set_at(buf, _lead(x.shape[2:], pads), xt)
    cols = xp.stack([xt[k] for k in keys], axis=3)  # (OH, OW, N, K, C)
    return xp.reshape(cols, (-1, len(keys) * padded[3]))


def _lead(hw: tuple, pads: tuple) -> tuple:
    """The key of the unpadded pixels of a pixel-major (H', W', ...) array."""
    return (*(slice(b, b + m) for m, (b, _) in zip(hw, pads, strict=True)), ...)


def _col2im(xp: Any, g: Any, *, shape: tuple, kernel: tuple, stride: tuple,
            dilation: tuple, pads: tuple) -> Any:
    """The gradient of :func:`_im2col` for an input of ``shape``: each kernel offset's
    columns added back in place."""
    padded, keys, (oh, ow) = _conv_geometry(shape, kernel, stride, dilation, pads)
    g = xp.reshape(g, (oh, ow, padded[2], len(keys), padded[3]))
    z = xp.zeros(padded, dtype=g.dtype, device=getattr(g, "device", None))
    for i, key in enumerate(keys):
        z = add_at(z, key, g[:, :, :, i, :])
    if padded[:2] != tuple(shape[2:]):
        z = z[_lead(shape[2:], pads)]
    return xp.permute_dims(z, (2, 3, 0, 1))


def _pick(xp: Any, x: Any, idx: Any, *, axis: int) -> Any:
    """``x``'s element at ``idx`` along ``axis`` (which ``idx`` lacks): a gather."""
    idx = xp.expand_dims(idx, axis=axis)
    try:
        picked = xp.take_along_axis(x, idx, axis=axis)
    except (TypeError, RuntimeError):  # torch gathers by int64 only
        picked = xp.take_along_axis(x, xp.astype(idx, xp.int64), axis=axis)
    return xp.squeeze(picked, axis=axis)


def _pick_grad(xp: Any, g: Any, out: Any, x: Any, idx: Any, *, axis: int) -> Any:
    """``g`` at the picked places, zero elsewhere: a one-hot mask times ``g`` (each row picks
    one element, so nothing repeats and no scatter-add is needed)."""
    n = x.shape[axis]
    classes = xp.arange(n, dtype=idx.dtype, device=getattr(idx, "device", None))
    classes = xp.reshape(classes, tuple(n if i == axis else 1 for i in range(x.ndim)))
    hot = xp.astype(xp.expand_dims(idx, axis=axis) == classes, g.dtype)
    return hot * xp.expand_dims(g, axis=axis)


def _embedding_grad(xp: Any, g: Any, out: Any, w: Any, idx: Any, *,
                    padding_idx: int | None) -> Any:
    """Rows of ``g`` summed into the rows of ``w`` they came from (one-hot matrix product)."""
    flat = xp.reshape(idx, (-1, 1))
    onehot = xp.astype(flat == xp.arange(w.shape[0], device=getattr(w, "device", None),
                                         dtype=idx.dtype), g.dtype)
    if padding_idx is not None:
        onehot = onehot * xp.astype(flat != padding_idx, g.dtype)
    return xp.matmul(xp.matrix_transpose(onehot), xp.reshape(g, (-1, w.shape[1])))


# -- shape rules for lazy mode: ``rule(op, backend, avals, params) -> (shape, dtype)`` ------
def _float_same(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,) = avals
    if backend.dtype_of(x.dtype).kind != "f":
        raise TypeError(f"{op.name} is deferred on floats only")  # others run eagerly
    return x.shape, x.dtype


def _padded(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,), pads = avals, params["pads"]
    lead = len(x.shape) - len(pads)
    sizes = (n + b + a for n, (b, a) in zip(x.shape[lead:], pads, strict=True))
    return (*x.shape[:lead], *sizes), x.dtype


def _windowed(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,) = avals
    keys = _window_keys(x.shape, params["kernel"], params["stride"], params["dilation"])
    oh, ow = (len(range(*k.indices(n))) for k, n in zip(keys[0][1:], x.shape[-2:], strict=True))
    kept = (len(keys),) if op.name == "windows" else ()
    return (*x.shape[:-2], *kept, oh, ow), x.dtype


def _columns(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    (x,) = avals
    if len(x.shape) != 4:
        raise ValueError(f"im2col: expects (N, C, H, W), got {x.shape}")
    padded, keys, (oh, ow) = _conv_geometry(x.shape, params["kernel"], params["stride"],
                                            params["dilation"], params["pads"])
    return (oh * ow * padded[2], len(keys) * padded[3]), x.dtype


def _picked(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    x, idx = avals
    axis = params["axis"]
    if backend.dtype_of(idx.dtype).kind not in "iu":
        raise TypeError("pick: indices must be integers")
    if tuple(idx.shape) != tuple(x.shape[:axis] + x.shape[axis + 1:]):
        raise ValueError(f"pick: indices of shape {idx.shape} for {x.shape} along {axis}")
    return idx.shape, x.dtype


def _embedded(op: Op, backend: Any, avals: list, params: dict) -> tuple:
    w, idx = avals
    return (*idx.shape, w.shape[1]), w.dtype


# -- the table: forward, then one derivative rule per input -------------------------------
def _op(name: str, forward: Any, *rules: Any, abstract: Any = _float_same,
        reads_out: bool = True) -> Op:
    """An op whose rules return gradients shaped like their inputs."""
    return Op(name, forward, rules, same_shape=True, abstract=abstract, reads_out=reads_out)


# Mask arithmetic, not ``where`` (which branches per element: 18x slower on NumPy).
RELU = _op("relu", lambda xp, x: xp.maximum(x, 0),
           lambda xp, g, out, x: g * xp.astype(out > 0, g.dtype))
SIGMOID = _op("sigmoid", _sigmoid,
              lambda xp, g, out, x: g * out * (1 - out))
SILU = _op("silu", lambda xp, x: x * _sigmoid(xp, x),
           lambda xp, g, out, x: g * _sigmoid(xp, x) * (1 + x * (1 - _sigmoid(xp, x))))
SOFTPLUS = _op("softplus", lambda xp, x: xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x))),
               lambda xp, g, out, x: g * _sigmoid(xp, x))
LEAKY_RELU = _op("leaky_relu",
                 lambda xp, x, *, negative_slope: x * _slope(xp, x, negative_slope, x.dtype),
                 lambda xp, g, out, x, *, negative_slope:
                 g * _slope(xp, x, negative_slope, g.dtype), reads_out=False)
ELU = _op("elu", _elu, _elu_grad, reads_out=False)
HARDTANH = _op("hardtanh", lambda xp, x, *, low, high: xp.clip(x, low, high),
               lambda xp, g, out, x, *, low, high:
               g * xp.astype((x > low) & (x < high), g.dtype), reads_out=False)
SOFTSIGN = _op("softsign", lambda xp, x: x / (1 + xp.abs(x)),
               lambda xp, g, out, x: g / (1 + xp.abs(x)) / (1 + xp.abs(x)), reads_out=False)
GELU = _op("gelu", _gelu,
           lambda xp, g, out, x, *, approximate: g * _gelu_grad(xp, x, approximate=approximate))
LOG_SOFTMAX = _op("log_softmax", _log_softmax, _log_softmax_grad)
SOFTMAX = _op("softmax", _softmax,
              lambda xp, g, out, x, *, axis: out * (g - xp.sum(g * out, axis=axis, keepdims=True)))
PAD = _op("pad", _pad,
          lambda xp, g, out, x, *, pads, value: g[_unpadded(x.shape, pads)], abstract=_padded)
# Their gradients are writes into fresh zeros: ops of their own (see ``function.call``),
# each linear in ``g`` with the forward's gather as its rule.
FOLD = _op("fold", _fold,
           lambda xp, g, out, v, *, shape, kernel, stride, dilation:
           call(xp, WINDOWS, (g,), {"kernel": kernel, "stride": stride, "dilation": dilation}),
           abstract=placed_meta, reads_out=False)
WINDOWS = _op("windows", _windows,
              lambda xp, g, out, x, **p: call(xp, FOLD, (g,), {"shape": tuple(x.shape), **p}),
              abstract=_windowed, reads_out=False)
COL2IM = Op("col2im", _col2im, (
    lambda xp, g, out, v, *, shape, **p: call(xp, IM2COL, (g,), p),),
    abstract=placed_meta, reads_out=False)
IM2COL = Op("im2col", _im2col, (
    lambda xp, g, out, x, **p: call(xp, COL2IM, (g,), {"shape": tuple(x.shape), **p}),),
    abstract=_columns, reads_out=False)
PICK = Op("pick", _pick, (_pick_grad, None), abstract=_picked, reads_out=False)

MAX_POOL_GRAD = Op("max_pool_grad", _max_pool_grad, (_max_pool_grad_adjoint, None, None),
                   abstract=lambda op, backend, avals, params: (avals[1].shape, avals[0].dtype),
                   reads_out=False)  # (zero almost everywhere in x and out: no rule)
MAX_POOL = _op("max_pool", _max_pool,
               lambda xp, g, out, x, **p: call(xp, MAX_POOL_GRAD, (g, x, out), p),
               abstract=_windowed)
EMBEDDING = _op("embedding",
                lambda xp, w, idx, *, padding_idx:
                xp.reshape(xp.take(w, xp.reshape(idx, (-1,)), axis=0), (*idx.shape, w.shape[1])),
                _embedding_grad, None, abstract=_embedded)


# -- public functions ----------------------------------------------------------------------
def relu(x: Any) -> Any:
    """max(x, 0)."""
    return apply_unary(RELU, x)


def sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)), computed without overflow."""
    return apply_unary(SIGMOID, x)


def silu(x: Any) -> Any:
    """The SiLU ``x * sigmoid(x)`` (also called swish)."""
    return apply_unary(SILU, x)


def softplus(x: Any) -> Any:
    """log(1 + exp(x)), computed without overflow."""
    return apply_unary(SOFTPLUS, x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """The identity where x > 0, else ``negative_slope * x`` (gradient ``negative_slope``
    at 0)."""
    return apply_unary(LEAKY_RELU, x, {"negative_slope": float(negative_slope)})


def elu(x: Any, alpha: float = 1.0, scale: float = 1.0) -> Any:
    """``scale * x`` where x > 0, else ``scale * alpha * (exp(x) - 1)``; SELU is
    ``elu(x, SELU_ALPHA, SELU_SCALE)``."""
    return apply_unary(ELU, x, {"alpha": float(alpha), "scale": float(scale)})


def hardtanh(x: Any, low: float = -1.0, high: float = 1.0) -> Any:
    """``x`` clipped to ``[low, high]`` (Python numbers); the gradient passes strictly inside
    only."""
    return apply_unary(HARDTANH, x, {"low": low, "high": high})


def softsign(x: Any) -> Any:
    """Softsign: ``x / (1 + |x|)``."""
    return apply_unary(SOFTSIGN, x)


def gelu(x: Any, approximate: str = "none") -> Any:
    """GELU: ``x * Phi(x)``. ``approximate="none"`` uses erf (a rational approximation with
    error below 1.5e-7, as the Array API has no erf); ``"tanh"`` is PyTorch's tanh formula,
    exactly."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate is 'none' or 'tanh', not {approximate!r}")
    return apply_unary(GELU, x, {"approximate": approximate})


def _axis(x: Any, axis: int, name: str) -> int:
    return check_axis(axis, x.ndim, name)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """log(softmax(x)) along ``axis``, computed stably (max subtracted, never log of 0)."""
    x = ensure_tensor(x)
    return apply_unary(LOG_SOFTMAX, x, {"axis": _axis(x, axis, "log_softmax")})


def softmax(x: Any, axis: int = -1) -> Any:
    """exp(x) normalised to sum to 1 along ``axis`` (max subtracted first)."""
    x = ensure_tensor(x)
    return apply_unary(SOFTMAX, x, {"axis": _axis(x, axis, "softmax")})


def pad(x: Any, pads: Any, value: float = 0.0) -> Any:
    """``x`` padded with ``value``; ``pads[i] = (before, after)`` for the i-th of the trailing
    ``len(pads)`` axes."""
    x = ensure_tensor(x)
    pads = tuple((int(b), int(a)) for b, a in pads)
    if len(pads) > x.ndim or any(b < 0 or a < 0 for b, a in pads):
        raise ShapeError(f"pad: pads {pads} do not fit shape {x.shape} (non-negative, one pair "
                         f"per trailing axis)")
    return apply_unary(PAD, x, {"pads": pads, "value": value})


def _sliding(op: Op, x: Any, kernel: Any, stride: Any, dilation: Any) -> Any:
    x = ensure_tensor(x)
    kernel, stride, dilation = tuple(kernel), tuple(stride), tuple(dilation)
    h, w = x.shape[-2:] if x.ndim >= 2 else (0, 0)
    if x.ndim < 2 or h < dilation[0] * (kernel[0] - 1) + 1 or w < dilation[1] * (kernel[1] - 1) + 1:
        raise ShapeError(f"{op.name}: a {kernel} kernel with dilation {dilation} does not fit "
                         f"input of shape {x.shape}")
    return apply_unary(op, x, {"kernel": kernel, "stride": stride, "dilation": dilation})


def windows(x: Any, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1),
            dilation: tuple[int, int] = (1, 1)) -> Any:
    """Every ``kernel``-sized window of the last two axes: (..., H, W) -> (..., kh*kw, OH, OW)."""
    return _sliding(WINDOWS, x, kernel, stride, dilation)


def im2col(x: Any, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1),
           dilation: tuple[int, int] = (1, 1), pads: Any = ((0, 0), (0, 0))) -> Any:
    """The windows of ``x`` (N, C, H, W), padded with zeros by ``pads = ((top, bottom),
    (left, right))``, as one (OH*OW*N, kh*kw*C) matrix: rows (output row, output column,
    image), columns (kernel row, kernel column, channel)."""
    x = ensure_tensor(x)
    kernel, stride, dilation = tuple(kernel), tuple(stride), tuple(dilation)
    pads = tuple((int(b), int(a)) for b, a in pads)
    if x.ndim != 4 or len(pads) != 2 or any(p < 0 for pair in pads for p in pair):
        raise ShapeError(f"im2col: expects (N, C, H, W) and ((top, bottom), (left, right)) "
                         f"padding, got shape {x.shape} and pads {pads}")
    h, w = x.shape[2] + sum(pads[0]), x.shape[3] + sum(pads[1])
    if h < dilation[0] * (kernel[0] - 1) + 1 or w < dilation[1] * (kernel[1] - 1) + 1:
        raise ShapeError(f"im2col: no windows: a {kernel} kernel with dilation {dilation} "
                         f"does not fit input of shape {x.shape} padded by {pads}")
    return apply_unary(IM2COL, x, {"kernel": kernel, "stride": stride, "dilation": dilation,
                                   "pads": pads})


def pick(x: Any, indices: Any, axis: int) -> Any:
    """``x``'s element at the integer ``indices`` along ``axis``: ``indices`` has ``x``'s shape
    without that axis, and so has the result (a gather; every index must be in range)."""
    return apply(PICK, (x, indices), {"axis": axis})


def max_pool(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int] = (1, 1)) -> Any:
    """The largest element of each window of the last two axes (no padding)."""
    return _sliding(MAX_POOL, x, kernel, stride, dilation)


def embedding(indices: Any, weight: Any, padding_idx: int | None = None) -> Any:
    """Rows of ``weight`` picked by the integer tensor ``indices``: shape ``(*indices.shape,
    embedding_dim)``; no gradient reaches row ``padding_idx``."""
    return apply(EMBEDDING, (weight, indices), {"padding_idx": padding_idx})
