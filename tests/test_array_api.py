"""The Array API namespace, differentially: every function runs on anygrad Tensors (on each
test backend) and on array-api-strict arrays with the same inputs, and the results must agree;
every differentiable one is then checked against float64 central differences.

Each case is written once, as ``fn(xp, *arrays)``: ``xp`` is ``anygrad`` or
``array_api_strict``. Inputs are drawn with Hypothesis strategies built on the anygrad
namespace itself (``make_strategies_namespace(anygrad)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_strict as strict
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.array_api import make_strategies_namespace

import anygrad as ag
from anygrad.testing import gradcheck

xps = make_strategies_namespace(ag)
SETTINGS = settings(max_examples=6, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.filter_too_much])

ANY = xps.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
ND = xps.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
ND2 = xps.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3)
MAT = xps.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=3)


class Arg(NamedTuple):
    """One input: a float/int/bool array drawn from ``elements`` (Tensors of the namespace,
    brought to the host)."""

    dtype: Any
    elements: Any


def F(lo: float = -2.0, hi: float = 2.0) -> Arg:
    return Arg(ag.float64, st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def G(lo: float = -2.0, hi: float = 2.0, step: float = 0.1, offset: float = 0.0) -> Arg:
    """Floats on a grid: distinct values stay well apart (no near-ties, no jumps)."""
    n = int(round((hi - lo) / step))
    return Arg(ag.float64, st.integers(0, n).map(lambda k: lo + k * step + offset))


def Int(lo: int = -3, hi: int = 3, dtype: Any = ag.int64) -> Arg:
    return Arg(dtype, st.integers(lo, hi))


B = Arg(ag.bool, st.booleans())
C = Arg(ag.complex128, st.complex_numbers(max_magnitude=2.0, allow_nan=False,
                                          allow_infinity=False))
NZ = G(-2.0, 2.0, 0.2, 0.1)  # never zero


class Case(NamedTuple):
    fn: Callable[..., Any]          # fn(xp, *arrays), for anygrad and array-api-strict alike
    args: tuple[Arg, ...]           # one Arg per input
    shapes: Any = None              # a strategy of the inputs' shapes (default: one ND shape)
    grad: bool | None = True        # differentiable in its float inputs (None: not checked)
    ref: Callable[..., Any] | None = None  # a NumPy reference, where strict has no such function
    unique: bool = False            # draw distinct elements


def same(n: int, base: Any = ND) -> Any:
    return base.map(lambda s: [s] * n)


PAIR = xps.mutually_broadcastable_shapes(2, min_dims=0, max_dims=3, max_side=3).map(
    lambda r: list(r.input_shapes))


def fixed(*shapes: tuple[int, ...]) -> Any:
    return st.just(list(shapes))


def _eye(xp: Any, x: Any, m: int | None = None, n: int | None = None) -> Any:
    return xp.eye(m or x.shape[-1], n, dtype=x.dtype, device=x.device)


def _wellcond(xp: Any, a: Any) -> Any:
    return a + 4 * _eye(xp, a)


def _spd(xp: Any, a: Any) -> Any:
    """Symmetric, positive definite, eigenvalues near 3, 6, 9, ... (distinct)."""
    n = a.shape[-1]
    d = xp.astype(xp.arange(1, n + 1, device=a.device), a.dtype) * 3
    return 0.1 * (a + xp.matrix_transpose(a)) + _eye(xp, a) * d


def _spaced(xp: Any, a: Any) -> Any:
    """A full-rank matrix with distinct singular values near 3, 6, 9, ..."""
    m, n = a.shape[-2:]
    d = xp.astype(xp.arange(1, n + 1, device=a.device), a.dtype) * 3
    return 0.1 * a + _eye(xp, a, m, n) * d


def _ramp(xp: Any, a: Any, axis: int) -> Any:
    """0, 10, 20, ... along ``axis`` of a matrix: sums along the other axis never tie."""
    r = xp.astype(xp.arange(a.shape[axis], device=a.device), a.dtype) * 10
    return r[:, None] if axis == -2 else r[None, :]


def _c(xp: Any, x: Any) -> Any:
    return xp.astype(x, xp.complex128)


def _flat(xp: Any, *parts: Any) -> Any:
    return xp.concat([xp.reshape(p, (-1,)) for p in parts])


def _qr(xp: Any, a: Any) -> Any:
    """Q and R, each column of Q and row of R times its diagonal entry of R: sign-free."""
    q, r = xp.linalg.qr(a)
    d = xp.linalg.diagonal(r)
    return _flat(xp, q * d[..., None, :], r * d[..., :, None])


def _svd(xp: Any, a: Any) -> Any:
    """S, and U and Vh with each singular vector times its first entry: sign-free."""
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    return _flat(xp, u * u[..., :1, :], s, vh * vh[..., :, :1])


def _eigh(xp: Any, a: Any) -> Any:
    w, v = xp.linalg.eigh(a)
    return _flat(xp, w, v * v[..., :1, :])


def _setitem(xp: Any, x: Any, v: Any) -> Any:
    z = x * 1.0
    z[0, ...] = v
    z[..., -1] = z[..., 0] * 2.0
    return z


def _mask_set(xp: Any, x: Any, v: Any) -> Any:
    z = x * 1.0
    z[x > 0] = v[x > 0] * 3.0
    return z


UNARY = {  # name: elements (Arg) of its domain
    "abs": NZ, "acos": F(-0.9, 0.9), "acosh": F(1.2, 3.0), "asin": F(-0.9, 0.9), "asinh": F(),
    "atan": F(), "atanh": F(-0.9, 0.9), "cos": F(), "cosh": F(), "exp": F(), "expm1": F(),
    "log": F(0.2, 3.0), "log1p": F(-0.8, 3.0), "log2": F(0.2, 3.0), "log10": F(0.2, 3.0),
    "negative": F(), "positive": F(), "reciprocal": NZ, "sign": NZ, "sin": F(), "sinh": F(),
    "sqrt": F(0.2, 3.0), "square": F(), "tan": F(-1.2, 1.2), "tanh": F(), "real": C,
    "imag": C,
}
UNARY_CONSTANT = {"ceil": G(offset=0.05), "floor": G(offset=0.05), "round": G(offset=0.03),
                  "trunc": G(offset=0.05), "isfinite": F(), "isinf": F(), "isnan": F(),
                  "signbit": F(), "logical_not": B, "bitwise_invert": Int()}
BINARY = {  # name: elements of x1 and x2
    "add": (F(), F()), "subtract": (F(), F()), "multiply": (F(), F()), "divide": (F(), NZ),
    "pow": (F(0.3, 2.0), F(-1.5, 1.5)), "atan2": (F(), F(0.3, 2.0)), "hypot": (NZ, NZ),
    "logaddexp": (F(), F()), "copysign": (NZ, NZ), "maximum": (G(), G(offset=0.05)),
    "minimum": (G(), G(offset=0.05)), "floor_divide": (G(offset=0.05), G(0.3, 2.1, 0.2)),
    "remainder": (G(offset=0.05), G(0.3, 2.1, 0.2)),
}
BINARY_CONSTANT = {
    "equal": (G(), G()), "not_equal": (G(), G()), "less": (G(), G()), "less_equal": (G(), G()),
    "greater": (G(), G()), "greater_equal": (G(), G()), "nextafter": (F(), F()),
    "logical_and": (B, B), "logical_or": (B, B), "logical_xor": (B, B),
    "bitwise_and": (Int(), Int()), "bitwise_or": (Int(), Int()), "bitwise_xor": (Int(), Int()),
    "bitwise_left_shift": (Int(0, 5), Int(0, 3)), "bitwise_right_shift": (Int(0, 50), Int(0, 3)),
}

CASES: dict[str, Case] = {
    **{n: Case(lambda xp, x, n=n: getattr(xp, n)(x), (a,), ANY.map(lambda s: [s]))
       for n, a in UNARY.items()},
    "conj": Case(lambda xp, x: _flat(xp, xp.real(xp.conj(x)), xp.imag(xp.conj(x))), (C,)),
    **{n: Case(lambda xp, x, n=n: getattr(xp, n)(x), (a,), ANY.map(lambda s: [s]), grad=False)
       for n, a in UNARY_CONSTANT.items()},
    **{n: Case(lambda xp, x, y, n=n: getattr(xp, n)(x, y), a, PAIR)
       for n, a in BINARY.items()},
    **{n: Case(lambda xp, x, y, n=n: getattr(xp, n)(x, y), a, PAIR, grad=False)
       for n, a in BINARY_CONSTANT.items()},
    "python_scalars": Case(lambda xp, x: xp.atan2(1.5, x) + xp.hypot(x, 2.0) + 2.05 % x
                           + xp.copysign(3.0, x) + xp.logaddexp(0.5, x), (NZ,)),
    "clip_scalars": Case(lambda xp, x: xp.clip(x, -1.0, 0.5), (G(offset=0.05),)),
    "clip_tensors": Case(lambda xp, x, lo, hi: xp.clip(x, min=lo, max=hi),
                         (G(offset=0.05), G(-1.0, -0.2), G(0.2, 1.0)), same(3)),
    "clip_max": Case(lambda xp, x, hi: xp.clip(x, max=hi), (G(offset=0.05), G()), same(2)),
    # creation (constants), with the input giving shape, dtype and device
    "zeros_like": Case(lambda xp, x: xp.zeros_like(x), (F(),), grad=False),
    "ones_like": Case(lambda xp, x: xp.ones_like(x, dtype=xp.int32), (F(),), grad=False),
    "full_like": Case(lambda xp, x: xp.full_like(x, 2.5), (F(),), grad=False),
    "empty_like": Case(lambda xp, x: xp.zeros_like(xp.empty_like(x)), (F(),), grad=False),
    "eye": Case(lambda xp, x: xp.eye(3, 4, k=-1, device=x.device), (F(),), grad=False),
    "arange": Case(lambda xp, x: xp.arange(1.0, 4.0, 0.5, device=x.device), (F(),),
                   grad=False),
    "arange_int": Case(lambda xp, x: xp.arange(7, device=x.device), (F(),), grad=False),
    "linspace": Case(lambda xp, x: xp.linspace(-1.0, 2.0, 7, device=x.device), (F(),),
                     grad=False),
    "linspace_open": Case(lambda xp, x: xp.linspace(0.0, 1.0, 4, endpoint=False,
                                                    device=x.device), (F(),), grad=False),
    "full": Case(lambda xp, x: xp.full((2, 3), 7, device=x.device), (F(),), grad=False),
    "asarray": Case(lambda xp, x: xp.asarray([[1.0, 2.5]], device=x.device), (F(),),
                    grad=False),
    "fftfreq": Case(lambda xp, x: xp.fft.fftfreq(5, d=0.5, device=x.device), (F(),),
                    grad=False),
    "rfftfreq": Case(lambda xp, x: xp.fft.rfftfreq(6, device=x.device), (F(),), grad=False),
    "astype_int": Case(lambda xp, x: xp.astype(x, xp.int32), (G(offset=0.05),), grad=False),
    # reductions and statistics
    "sum": Case(lambda xp, x: xp.sum(x, axis=-1), (F(),)),
    "sum_all_keepdims": Case(lambda xp, x: xp.sum(x, keepdims=True), (F(),)),
    "prod": Case(lambda xp, x: xp.prod(x, axis=0), (F(),)),
    "prod_with_zeros": Case(lambda xp, x: xp.prod(x), (G(-0.5, 0.5, 0.5),)),
    "mean": Case(lambda xp, x: xp.mean(x, axis=(0, -1)), (F(),), same(1, ND2)),
    "var": Case(lambda xp, x: xp.var(x, axis=0), (F(),)),
    "var_corrected": Case(lambda xp, x: xp.var(x, correction=1, keepdims=True), (F(),),
                          same(1, xps.array_shapes(min_dims=1, max_dims=2, min_side=2,
                                                   max_side=3))),
    "std": Case(lambda xp, x: xp.std(x, axis=-1), (G(),),
                same(1, xps.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3)),
                unique=True),
    "max": Case(lambda xp, x: xp.max(x, axis=0), (G(),), unique=True),
    "min": Case(lambda xp, x: xp.min(x), (G(),), unique=True),
    "cumulative_sum": Case(lambda xp, x: xp.cumulative_sum(x, axis=0), (F(),)),
    "cumulative_sum_initial": Case(
        lambda xp, x: xp.cumulative_sum(x, axis=-1, include_initial=True), (F(),)),
    "cumulative_prod": Case(lambda xp, x: xp.cumulative_prod(x, axis=-1), (F(0.5, 1.5),)),
    "cumulative_prod_initial": Case(
        lambda xp, x: xp.cumulative_prod(x, axis=0, include_initial=True), (NZ,)),
    "logsumexp": Case(lambda xp, x: xp.logsumexp(x, axis=-1), (F(),),
                      ref=lambda x: np.log(np.sum(np.exp(x), axis=-1))),
    "diff": Case(lambda xp, x: xp.diff(x, axis=0), (F(),)),
    "diff_n2_append": Case(lambda xp, x, y: xp.diff(x, n=2, axis=-1, append=y), (F(), F()),
                           fixed((2, 3), (2, 1))),
    "all": Case(lambda xp, x: xp.all(x, axis=0), (B,), grad=False),
    "any": Case(lambda xp, x: xp.any(x), (B,), grad=False),
    "count_nonzero": Case(lambda xp, x: xp.count_nonzero(x, axis=-1), (Int(-1, 1),), grad=False),
    # manipulation
    "reshape": Case(lambda xp, x: xp.reshape(x, (-1,)), (F(),)),
    "permute_dims": Case(lambda xp, x: xp.permute_dims(x, tuple(range(x.ndim))[::-1]), (F(),)),
    "expand_dims": Case(lambda xp, x: xp.expand_dims(x, axis=0), (F(),)),
    "squeeze": Case(lambda xp, x: xp.squeeze(xp.expand_dims(x, axis=-1), axis=-1), (F(),)),
    "flip": Case(lambda xp, x: xp.flip(x), (F(),)),
    "flip_axis": Case(lambda xp, x: xp.flip(x, axis=0), (F(),)),
    "roll": Case(lambda xp, x: xp.roll(x, 1, axis=0), (F(),)),
    "roll_flat": Case(lambda xp, x: xp.roll(x, -2), (F(),)),
    "roll_axes": Case(lambda xp, x: xp.roll(x, (1, 2), axis=(0, 1)), (F(),), same(1, MAT)),
    "moveaxis": Case(lambda xp, x: xp.moveaxis(x, 0, -1), (F(),)),
    "tile": Case(lambda xp, x: xp.tile(x, (2, 1)), (F(),)),
    "repeat": Case(lambda xp, x: xp.repeat(x, 2, axis=0), (F(),)),
    "repeat_flat": Case(lambda xp, x: xp.repeat(x, 3), (F(),)),
    "repeat_counts": Case(lambda xp, x: xp.repeat(
        x, xp.asarray([2, 0, 1], device=x.device), axis=0), (F(),), fixed((3, 2))),
    "concat": Case(lambda xp, x, y: xp.concat([x, y], axis=-1), (F(), F()), same(2)),
    "stack": Case(lambda xp, x, y: xp.stack([x, y], axis=1), (F(), F()), same(2)),
    "unstack": Case(lambda xp, x: xp.unstack(x, axis=-1), (F(),)),
    "broadcast_arrays": Case(lambda xp, x, y: xp.broadcast_arrays(x, y), (F(), F()), PAIR),
    "broadcast_to": Case(lambda xp, x: xp.broadcast_to(x, (2, *x.shape)), (F(),)),
    "where": Case(lambda xp, x, y: xp.where(x > y, x, y * 2.0), (G(), G(offset=0.05)), PAIR),
    "astype": Case(lambda xp, x: xp.astype(x, xp.float32) * 2.0, (F(),), grad=None),
    "astype_complex": Case(lambda xp, x: xp.real(xp.astype(x, xp.complex128) * 2.0), (F(),)),
    "matrix_transpose": Case(lambda xp, x: xp.matrix_transpose(x), (F(),),
                             same(1, xps.array_shapes(min_dims=2, max_dims=3, max_side=3))),
    "meshgrid_xy": Case(lambda xp, x, y: xp.meshgrid(x, y), (F(), F()), fixed((2,), (3,))),
    "meshgrid_ij": Case(lambda xp, x, y, z: xp.meshgrid(x, y, z, indexing="ij"),
                        (F(), F(), F()), fixed((2,), (3,), (1,))),
    "tril": Case(lambda xp, x: xp.tril(x, k=-1), (F(),), same(1, MAT)),
    "triu": Case(lambda xp, x: xp.triu(x), (F(),), same(1, MAT)),
    # indexing
    "getitem_basic": Case(lambda xp, x: x[0, ..., ::-1], (F(),), same(1, ND2)),
    "getitem_int_array": Case(lambda xp, x: x[xp.asarray([0, 2, 0, 0], device=x.device)],
                              (F(),), fixed((3,))),
    "getitem_int_arrays_2d": Case(lambda xp, x: x[xp.asarray([1, 1, 0], device=x.device),
                                                  xp.asarray([2, 2, 0], device=x.device)],
                                  (F(),), fixed((2, 3))),
    "getitem_mask": Case(lambda xp, x: x[x > 0], (NZ,)),
    "take": Case(lambda xp, x: xp.take(x, xp.asarray([1, 0, 1], device=x.device), axis=-1),
                 (F(),), same(1, xps.array_shapes(min_dims=1, max_dims=3, min_side=2,
                                                  max_side=3))),
    "take_along_axis": Case(lambda xp, x: xp.take_along_axis(
        x, xp.asarray([[0, 0], [1, 0]], device=x.device), axis=1), (F(),), fixed((2, 3))),
    "setitem": Case(_setitem, (F(), F()), same(1, MAT).map(lambda s: [s[0], s[0][1:]])),
    "setitem_mask": Case(_mask_set, (NZ, F()), same(2)),
    # sorting, searching, sets
    "sort": Case(lambda xp, x: xp.sort(x, axis=0), (G(),), unique=True),
    "sort_descending": Case(lambda xp, x: xp.sort(x, descending=True), (G(),), unique=True),
    "argsort": Case(lambda xp, x: xp.argsort(x, axis=-1), (G(),), grad=False, unique=True),
    "argmax": Case(lambda xp, x: xp.argmax(x, axis=-1), (G(),), grad=False, unique=True),
    "argmin": Case(lambda xp, x: xp.argmin(x), (G(),), grad=False, unique=True),
    "searchsorted": Case(lambda xp, x, v: xp.searchsorted(xp.sort(x), v), (G(), F()),
                         fixed((5,), (3,)), grad=False),
    "isin": Case(lambda xp, x, y: xp.isin(x, y), (Int(0, 4), Int(0, 4)), PAIR, grad=False),
    "nonzero": Case(lambda xp, x: xp.nonzero(x), (Int(-1, 1),), grad=False),
    "unique_all": Case(lambda xp, x: tuple(xp.unique_all(x)), (Int(0, 3),),
                       fixed((7,)), grad=False),
    "unique_counts": Case(lambda xp, x: tuple(xp.unique_counts(x)), (Int(0, 3),),
                          fixed((6,)), grad=False),
    "unique_inverse": Case(lambda xp, x: tuple(xp.unique_inverse(x)), (Int(0, 3),),
                           fixed((6,)), grad=False),
    "unique_values": Case(lambda xp, x: xp.unique_values(x), (Int(0, 3),), grad=False),
    # linear algebra
    "matmul": Case(lambda xp, x, y: x @ y, (F(), F()), fixed((2, 3), (3, 2))),
    "tensordot": Case(lambda xp, x, y: xp.tensordot(x, y, axes=1), (F(), F()),
                      fixed((2, 3), (3, 2, 2))),
    "tensordot_axes": Case(lambda xp, x, y: xp.tensordot(x, y, axes=([0, 2], [1, 0])),
                           (F(), F()), fixed((2, 3, 2), (2, 2, 3))),
    "vecdot": Case(lambda xp, x, y: xp.vecdot(x, y), (F(), F()), fixed((2, 3), (3,))),
    "inv": Case(lambda xp, a: xp.linalg.inv(_wellcond(xp, a)), (F(-1, 1),),
                fixed((2, 3, 3))),
    "det": Case(lambda xp, a: xp.linalg.det(_wellcond(xp, a)), (F(-1, 1),), fixed((2, 2, 2))),
    "slogdet": Case(lambda xp, a: xp.linalg.slogdet(a + 2 * _eye(xp, a)).logabsdet,
                    (F(-1, 1),), fixed((3, 3))),
    "slogdet_sign": Case(lambda xp, a: xp.linalg.slogdet(a).sign, (F(-1, 1),), fixed((3, 3)),
                         grad=False),
    "solve": Case(lambda xp, a, b: xp.linalg.solve(_wellcond(xp, a), b), (F(-1, 1), F()),
                  fixed((2, 3, 3), (2, 3, 2))),
    "solve_vector": Case(lambda xp, a, b: xp.linalg.solve(_wellcond(xp, a), b),
                         (F(-1, 1), F()), fixed((3, 3), (3,))),
    "cholesky": Case(lambda xp, a: xp.linalg.cholesky(_spd(xp, a)), (F(-1, 1),),
                     fixed((2, 3, 3))),
    "cholesky_upper": Case(lambda xp, a: xp.linalg.cholesky(_spd(xp, a), upper=True),
                           (F(-1, 1),), fixed((3, 3))),
    "qr": Case(lambda xp, a: _qr(xp, _spaced(xp, a)), (F(-1, 1),),
               fixed((4, 3))),
    "qr_square_batched": Case(lambda xp, a: _qr(xp, _spaced(xp, a)),
                              (F(-1, 1),), fixed((2, 3, 3))),
    "svd": Case(lambda xp, a: _svd(xp, _spaced(xp, a)),
                (F(-1, 1),), fixed((4, 3))),
    "svd_wide": Case(lambda xp, a: _svd(xp, xp.matrix_transpose(_spaced(xp, a))),
                     (F(-1, 1),), fixed((3, 2))),
    "svdvals": Case(lambda xp, a: xp.linalg.svdvals(_spaced(xp, a)), (F(-1, 1),),
                    fixed((2, 3, 2))),
    "eigh": Case(lambda xp, a: _eigh(xp, _spd(xp, a)), (F(-1, 1),),
                 fixed((2, 3, 3))),
    "eigvalsh": Case(lambda xp, a: xp.linalg.eigvalsh(_spd(xp, a)), (F(-1, 1),),
                     fixed((3, 3))),
    "pinv": Case(lambda xp, a: xp.linalg.pinv(_spaced(xp, a)), (F(-1, 1),), fixed((4, 3))),
    "pinv_wide": Case(lambda xp, a: xp.linalg.pinv(xp.matrix_transpose(_spaced(xp, a))),
                      (F(-1, 1),), fixed((3, 2))),
    "norm": Case(lambda xp, a: xp.linalg.norm(a), (NZ,), fixed((2, 3)),
                 ref=lambda a: np.linalg.norm(a)),
    "norm_nuc_axes": Case(lambda xp, a: xp.linalg.norm(_spaced(xp, a), ord="nuc", axis=(0, 1),
                                                       keepdims=True), (F(-1, 1),),
                          fixed((3, 2)), ref=lambda a: np.linalg.norm(
                              0.1 * a + np.eye(3, 2) * [3, 6], ord="nuc", keepdims=True)),
    "eigvals": Case(lambda xp, a: xp.sort(xp.real(xp.linalg.eigvals(_spd(xp, a)))),
                    (F(-1, 1),), fixed((3, 3)), grad=False),
    "matrix_rank": Case(lambda xp, a: xp.linalg.matrix_rank(a), (G(-1, 1, 1),), fixed((3, 3)),
                        grad=False),
    "matrix_power": Case(lambda xp, a: xp.linalg.matrix_power(a, 3), (F(-1, 1),),
                         fixed((2, 2))),
    "matrix_power_negative": Case(lambda xp, a: xp.linalg.matrix_power(_wellcond(xp, a), -2),
                                  (F(-1, 1),), fixed((3, 3))),
    "trace": Case(lambda xp, a: xp.linalg.trace(a, offset=1), (F(),), fixed((2, 3, 3))),
    "diagonal": Case(lambda xp, a: xp.linalg.diagonal(a, offset=-1), (F(),), fixed((3, 4))),
    "cross": Case(lambda xp, x, y: xp.linalg.cross(x, y), (F(), F()), fixed((2, 3), (3,))),
    "outer": Case(lambda xp, x, y: xp.linalg.outer(x, y), (F(), F()), fixed((2,), (3,))),
    "vector_norm": Case(lambda xp, x: xp.linalg.vector_norm(x, axis=-1), (NZ,)),
    "vector_norm_all": Case(lambda xp, x: xp.linalg.vector_norm(x), (NZ,)),
    "vector_norm_1": Case(lambda xp, x: xp.linalg.vector_norm(x, ord=1, axis=0), (NZ,)),
    "vector_norm_3": Case(lambda xp, x: xp.linalg.vector_norm(x, ord=3), (NZ,)),
    "vector_norm_inf": Case(lambda xp, x: xp.linalg.vector_norm(x, ord=xp.inf), (G(),),
                            unique=True),
    "vector_norm_0": Case(lambda xp, x: xp.linalg.vector_norm(x, ord=0), (G(-0.5, 0.5, 0.5),),
                          grad=False),
    "matrix_norm_fro": Case(lambda xp, a: xp.linalg.matrix_norm(a), (NZ,), fixed((2, 2, 3))),
    "matrix_norm_nuc": Case(lambda xp, a: xp.linalg.matrix_norm(_spaced(xp, a), ord="nuc"),
                            (F(-1, 1),), fixed((3, 2))),
    "matrix_norm_2": Case(lambda xp, a: xp.linalg.matrix_norm(_spaced(xp, a), ord=2,
                                                              keepdims=True),
                          (F(-1, 1),), fixed((3, 3))),
    "matrix_norm_1": Case(lambda xp, a: xp.linalg.matrix_norm(a - _ramp(xp, a, -1), ord=1),
                          (F(0.1, 1.0),), fixed((3, 3))),
    "matrix_norm_inf": Case(lambda xp, a: xp.linalg.matrix_norm(a + _ramp(xp, a, -2),
                                                                ord=xp.inf),
                            (F(0.1, 1.0),), fixed((2, 3))),
    # Fourier transforms (real inputs; complex outputs seen through real and imag)
    "fft": Case(lambda xp, x: _flat(xp, xp.real(xp.fft.fft(_c(xp, x))),
                                    xp.imag(xp.fft.fft(_c(xp, x), n=4))), (F(),), fixed((2, 3))),
    "ifft": Case(lambda xp, x: xp.imag(xp.fft.ifft(_c(xp, x), axis=0, norm="ortho")), (F(),),
                 fixed((3, 2))),
    "fftn": Case(lambda xp, x: xp.real(xp.fft.fftn(_c(xp, x), norm="forward")), (F(),),
                 fixed((2, 3))),
    "ifftn": Case(lambda xp, x: xp.imag(xp.fft.ifftn(_c(xp, x), s=(3, 2))), (F(),), fixed((2, 3))),
    "rfft": Case(lambda xp, x: _flat(xp, xp.real(xp.fft.rfft(x)), xp.imag(xp.fft.rfft(x))),
                 (F(),), fixed((2, 5))),
    "rfft_n": Case(lambda xp, x: xp.imag(xp.fft.rfft(x, n=6, norm="ortho")), (F(),),
                   fixed((4,))),
    "irfft": Case(lambda xp, x: xp.fft.irfft(xp.fft.rfft(x) * 2.0), (F(),), fixed((2, 4))),
    "irfft_odd": Case(lambda xp, x: xp.fft.irfft(xp.fft.rfft(x), n=5, norm="forward"), (F(),),
                      fixed((5,))),
    "rfftn": Case(lambda xp, x: xp.imag(xp.fft.rfftn(x)), (F(),), fixed((2, 4))),
    "irfftn": Case(lambda xp, x: xp.fft.irfftn(xp.fft.fftn(_c(xp, x)), s=(2, 3)), (F(),),
                   fixed((2, 3))),
    "hfft": Case(lambda xp, x: xp.fft.hfft(xp.fft.rfft(x)), (F(),), fixed((4,))),
    "ihfft": Case(lambda xp, x: xp.real(xp.fft.ihfft(x)), (F(),), fixed((5,))),
    "fftshift": Case(lambda xp, x: xp.fft.fftshift(x), (F(),)),
    "ifftshift": Case(lambda xp, x: xp.fft.ifftshift(x, axes=0), (F(),)),
}


def _host(v: Any) -> Any:
    if isinstance(v, tuple | list):
        return [_host(u) for u in v]
    if isinstance(v, ag.Tensor):
        return v.numpy()
    return np.asarray(v)


def _same(got: Any, want: Any, name: str) -> None:
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), name
        for g, w in zip(got, want, strict=True):
            _same(g, w, name)
        return
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != {want.dtype}"
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9, err_msg=name)
    else:
        np.testing.assert_array_equal(got, want, err_msg=name)


def _draw(data: Any, case: Case) -> list[np.ndarray]:
    """The inputs, drawn as Tensors of the anygrad namespace (on the default device)."""
    shapes = data.draw(case.shapes if case.shapes is not None else same(len(case.args)))
    return [data.draw(xps.arrays(a.dtype, s, elements=a.elements, unique=case.unique),
                      label=f"x{i}").numpy()
            for i, (a, s) in enumerate(zip(case.args, shapes, strict=True))]


@pytest.mark.parametrize("name", sorted(CASES))
@SETTINGS
@given(data=st.data())
def test_matches_array_api_strict(backend, name, data):
    case = CASES[name]
    host = _draw(data, case)
    try:
        got = _host(case.fn(ag, *(backend.tensor(h) for h in host)))
    except NotImplementedError as exc:  # e.g. torch has no unique_all
        pytest.skip(f"{backend.name}: {exc}")
    if case.ref is not None:
        want = _host(case.ref(*host))
    else:
        want = _host(case.fn(strict, *(strict.asarray(h) for h in host)))
    _same(got, want, name)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.grad is True))
@SETTINGS
@given(data=st.data())
def test_gradient(backend, name, data):
    case = CASES[name]
    host = _draw(data, case)
    tensors = [backend.tensor(h) for h in host]
    floats = [i for i, t in enumerate(tensors) if t.dtype in (ag.float64, ag.complex128)]

    def fn(*xs):
        args = list(tensors)
        for i, x in zip(floats, xs, strict=True):
            args[i] = x
        out = case.fn(ag, *args)
        return ag.concat([ag.reshape(o, (-1,)) for o in out]) if isinstance(
            out, tuple | list) else out

    gradcheck(fn, *(tensors[i] for i in floats))


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.grad is False))
def test_constants_do_not_require_grad(name):
    case = CASES[name]
    host = _draw_example(case)
    tensors = [ag.Tensor(h) for h in host]
    out = case.fn(ag, *tensors)
    for o in out if isinstance(out, tuple | list) else (out,):
        assert isinstance(o, ag.Tensor) and not o.requires_grad


def _draw_example(case: Case) -> list[np.ndarray]:
    @settings(max_examples=1, database=None, derandomize=True)
    @given(data=st.data())
    def pick(data):
        found.append(_draw(data, case))
    found: list = []
    pick()
    return found[0]


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.grad is True))
def test_gradients_keep_float32(backend, name):
    """Every rule keeps a float32 input's gradient float32, on the input's device."""
    case = CASES[name]
    tensors = []
    for h in _draw_example(case):
        kind = {"f": ag.float32, "c": ag.complex64}.get(h.dtype.kind)
        tensors.append(backend.tensor(h, dtype=kind) if kind else backend.tensor(h))
    out = case.fn(ag, *tensors)
    outs = out if isinstance(out, tuple | list) else (out,)
    ag.sum(ag.concat([ag.reshape(o, (-1,)) for o in outs if o.requires_grad])).backward()
    for t in tensors:
        if t.requires_grad:
            assert t.grad is not None and t.grad.dtype == t.dtype and t.grad.device == t.device
