"""Discrete Fourier transforms of ``anygrad.fft``, differentiable.

A transform is linear, so its gradient is its adjoint: the inverse transform with the dual
normalisation (``backward`` <-> ``forward``, ``ortho`` itself), with the padding or cropping
of ``n``/``s`` undone. Complex gradients follow PyTorch's convention (dL/dRe + i dL/dIm); a
real input gets the real part.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import apply_unary, ensure_tensor
from ..autograd.op import Op
from ..errors import AxisError, ShapeError
from . import elementwise as ew
from . import shape as sh
from .creation import arange
from .reductions import axes_list, check_axis
from .shape import as_shape

DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _fit(xp: Any, a: Any, axes: tuple[int, ...], lengths: tuple[int, ...]) -> Any:
    """``a`` cropped or zero-padded along ``axes`` to ``lengths``."""
    for ax, n in zip(axes, lengths, strict=True):
        have = a.shape[ax]
        if have > n:
            a = a[(slice(None),) * ax + (slice(0, n), ...)]
        elif have < n:
            pad = list(a.shape)
            pad[ax] = n - have
            a = xp.concat([a, xp.zeros(tuple(pad), dtype=a.dtype, device=a.device)], axis=ax)
    return a


def _real_like(xp: Any, g: Any, x: Any) -> Any:
    return g if xp.isdtype(x.dtype, "complex floating") else xp.real(g)


def _c2c(name: str, inverse: str) -> Op:
    """``fftn``/``ifftn``; the gradient is the other one with the dual norm."""
    def forward(xp: Any, x: Any, *, s: Any, axes: Any, norm: str) -> Any:
        return getattr(xp.fft, name)(x, s=s, axes=axes, norm=norm)

    def rule(xp: Any, g: Any, out: Any, x: Any, *, s: Any, axes: Any, norm: str) -> Any:
        gx = getattr(xp.fft, inverse)(g, axes=axes, norm=DUAL[norm])
        return _real_like(xp, _fit(xp, gx, axes, tuple(x.shape[a] for a in axes)), x)

    return Op(name, forward, (rule,), complex_exact=True)


def _r2c_rule(xp: Any, g: Any, out: Any, x: Any, *, s: Any, axes: Any, norm: str) -> Any:
    """The ``rfftn`` keeps half of the last axis' spectrum: the adjoint pads it back with
    zeros."""
    full = tuple(s[i] if s is not None else x.shape[a] for i, a in enumerate(axes))
    gx = xp.fft.ifftn(_fit(xp, g, axes[-1:], full[-1:]), axes=axes, norm=DUAL[norm])
    return _fit(xp, xp.real(gx), axes, tuple(x.shape[a] for a in axes))


def _c2r_rule(xp: Any, g: Any, out: Any, x: Any, *, s: Any, axes: Any, norm: str) -> Any:
    """The ``irfftn`` reads each mirrored bin twice: the adjoint is ``rfftn`` with those bins
    doubled."""
    n = out.shape[axes[-1]]
    gx = xp.fft.rfftn(g, axes=axes, norm=DUAL[norm])
    m = gx.shape[axes[-1]]
    idx = (slice(None),) * axes[-1]
    twice = [gx[idx + (slice(0, 1), ...)]]
    if n - m > 0:
        twice.append(gx[idx + (slice(1, n - m + 1), ...)] * 2)
    if m > n - m + 1:
        twice.append(gx[idx + (slice(n - m + 1, m), ...)])
    gx = xp.concat(twice, axis=axes[-1]) if len(twice) > 1 else twice[0]
    return _fit(xp, gx, axes, tuple(x.shape[a] for a in axes))


FFTN = _c2c("fftn", "ifftn")
IFFTN = _c2c("ifftn", "fftn")
RFFTN = Op("rfftn", lambda xp, x, *, s, axes, norm: xp.fft.rfftn(x, s=s, axes=axes, norm=norm),
           (_r2c_rule,), complex_exact=True)
IRFFTN = Op("irfftn", lambda xp, x, *, s, axes, norm: xp.fft.irfftn(x, s=s, axes=axes,
                                                                       norm=norm), (_c2r_rule,))


def _params(x: Any, s: Any, axes: Any, norm: str, name: str) -> dict[str, Any]:
    if norm not in DUAL:
        raise ValueError(f"{name}: norm is 'backward', 'ortho' or 'forward', not {norm!r}")
    if s is not None:
        s = tuple(as_shape(s, name))
    if axes is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
        if not axes or axes[0] < 0:
            raise AxisError(f"{name}: s {s} names more axes than the {x.ndim}-d tensor has")
    else:
        axes = tuple(axes_list(axes, x.ndim, name))
    if s is not None and len(s) != len(axes):
        raise ShapeError(f"{name}: s {s} and axes {axes} differ in length")
    return {"s": s, "axes": axes, "norm": norm}


def _nd(op: Op, x: Any, s: Any, axes: Any, norm: str, name: str | None = None) -> Any:
    x = ensure_tensor(x)
    return apply_unary(op, x, _params(x, s, axes, norm, name or op.name))


def _one(op: Op, x: Any, n: int | None, axis: int, norm: str, name: str) -> Any:
    if type(axis) is not int:
        axis = check_axis(axis, ensure_tensor(x).ndim, name)  # (one axis, not a sequence)
    return _nd(op, x, None if n is None else (n,), (axis,), norm, name)


def fft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
    """The one-dimensional discrete Fourier transform along ``axis`` (Array API
    ``fft.fft``).

    Args:
        x: The signal (real or complex).
        n: The transform's length: ``x`` is cropped or zero-padded to it along ``axis``
            (default: its length).
        axis: The axis transformed.
        norm: ``"backward"`` (no scaling forward, ``1/n`` in the inverse), ``"ortho"``
            (``1/sqrt(n)`` both ways) or ``"forward"`` (``1/n`` forward).

    Returns:
        The complex spectrum.

    Raises:
        ValueError: When ``norm`` is none of the three.
        AxisError: When ``axis`` is out of range.
    """
    return _one(FFTN, x, n, axis, norm, "fft")


def ifft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
    """The inverse of ``fft``."""
    return _one(IFFTN, x, n, axis, norm, "ifft")


def fftn(x: Any, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    """The n-dimensional discrete Fourier transform over ``axes`` (Array API ``fft.fftn``).

    Args:
        x: The signal (real or complex).
        s: The transform's length along each axis of ``axes`` (``x`` cropped or zero-padded
            to it; default: its lengths).
        axes: The axes transformed (default: the last ``len(s)``, or all when ``s`` is
            None).
        norm: ``"backward"``, ``"ortho"`` or ``"forward"``, as for ``fft``.

    Returns:
        The complex spectrum.

    Raises:
        ValueError: When ``norm`` is none of the three.
        AxisError: When ``s`` names more axes than ``x`` has, or an axis is out of range.
        ShapeError: When ``s`` and ``axes`` differ in length.
    """
    return _nd(FFTN, x, s, axes, norm)


def ifftn(x: Any, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    """The inverse of ``fftn``."""
    return _nd(IFFTN, x, s, axes, norm)


def rfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
    """The Fourier transform of a real signal: the non-negative frequencies only."""
    return _one(RFFTN, x, n, axis, norm, "rfft")


def irfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
    """The inverse of ``rfft``: a real signal of length ``n`` (default ``2 (m - 1)``)."""
    return _one(IRFFTN, x, n, axis, norm, "irfft")


def rfftn(x: Any, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    """``rfft`` over several axes (the half spectrum along the last one)."""
    return _nd(RFFTN, x, s, axes, norm)


def irfftn(x: Any, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    """The inverse of ``rfftn``."""
    return _nd(IRFFTN, x, s, axes, norm)


def hfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
    """The transform of a Hermitian-symmetric signal given by its first half: real output."""
    return irfft(ew.conj(x), n=n, axis=axis, norm=DUAL[norm])


def ihfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Any:
    """The inverse of ``hfft``."""
    return ew.conj(rfft(x, n=n, axis=axis, norm=DUAL[norm]))


def fftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Any:
    """The sample frequencies of an ``n``-point ``fft`` with sample spacing ``d``."""
    pos = arange((n + 1) // 2, dtype=dtype or "float64", device=device)
    neg = arange(-(n // 2), 0, dtype=dtype or "float64", device=device)
    return ew.divide(sh.concat([pos, neg]), n * d)


def rfftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Any:
    """The sample frequencies of an ``n``-point ``rfft``."""
    return ew.divide(arange(n // 2 + 1, dtype=dtype or "float64", device=device), n * d)


def _shift(x: Any, axes: Any, sign: int, name: str) -> Any:
    x = ensure_tensor(x)
    axes = tuple(range(x.ndim)) if axes is None else tuple(axes_list(axes, x.ndim, name))
    shifts = tuple(sign * (x.shape[a] // 2) for a in axes)
    return sh.roll(x, shifts, axis=axes)


def fftshift(x: Any, /, *, axes: Any = None) -> Any:
    """``x`` with the zero frequency moved to the centre (a differentiable roll)."""
    return _shift(x, axes, 1, "fftshift")


def ifftshift(x: Any, /, *, axes: Any = None) -> Any:
    """The inverse of ``fftshift``."""
    return _shift(x, axes, -1, "ifftshift")
