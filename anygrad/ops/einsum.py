"""``einsum``, differentiable on every backend (the Array API has no einsum).

The contraction order comes from ``opt_einsum`` when it is installed (``pip install
'anygrad[einsum]'``), else operands are contracted left to right. Each pairwise contraction is
a ``matmul`` of permuted, reshaped operands, so gradients come from those ops' rules.
"""

from __future__ import annotations

import math
import string
from typing import Any

from ..autograd.function import ensure_tensor
from ..errors import ShapeError
from . import reductions as red
from . import shape as sh
from .creation import arange
from .linalg import matmul
from .shape import reshape


def _parse(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """Input and output subscripts, with ``...`` expanded into letters of their own."""
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    terms = ins.split(",")
    if len(terms) != len(ndims):
        raise ShapeError(f"einsum: {len(terms)} terms in {subscripts!r} for {len(ndims)} "
                         f"operands")
    used = set(spec) - set(".,->")
    free = [c for c in string.ascii_letters if c not in used]
    ell_n = max((n - len(t.replace("...", ""))
                 for t, n in zip(terms, ndims, strict=True) if "..." in t), default=0)
    ell = "".join(free[:ell_n])
    expanded = []
    for t, n in zip(terms, ndims, strict=True):
        if "..." in t:
            k = n - len(t.replace("...", ""))
            t = t.replace("...", ell[ell_n - k:] if k else "")
        if len(t) != n:
            raise ShapeError(f"einsum: term {t!r} does not match an operand of {n} dimensions")
        expanded.append(t)
    if arrow:
        out = out.replace("...", ell)
        unknown = sorted(set(out) - set("".join(expanded)))
        if unknown or len(set(out)) != len(out):
            raise ShapeError(f"einsum: the output term of {subscripts!r} "
                             + (f"has letters no input term has: {', '.join(unknown)}"
                                if unknown else "repeats a letter"))
    else:
        counts = {c: "".join(expanded).count(c) for c in set("".join(expanded))}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return expanded, out


def _path(subscripts: str, shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    if len(shapes) < 2:
        return [tuple(range(len(shapes)))]
    try:
        import opt_einsum
    except ImportError:
        return [(0, 1)] * (len(shapes) - 1)
    path, _ = opt_einsum.contract_path(subscripts, *shapes, shapes=True)
    return [tuple(p) for p in path]


def _diagonal(t: Any, sub: str) -> tuple[Any, str]:
    """``t`` indexed where a repeated letter's axes agree (``"ii"`` -> ``"i"``): one gather
    with an integer array per axis, so its gradient scatters back onto the diagonal."""
    letters = "".join(dict.fromkeys(sub))
    sizes = {}
    for c, n in zip(sub, t.shape, strict=True):
        if sizes.setdefault(c, n) != n:
            raise ShapeError(f"einsum: letter {c!r} of {sub!r} has sizes {sizes[c]} and {n}")
    ranges = {c: reshape(arange(sizes[c], device=t.device), tuple(
        -1 if d == c else 1 for d in letters)) for c in letters}
    return t[tuple(ranges[c] for c in sub)], letters


def _reduce(t: Any, sub: str, keep: set[str]) -> tuple[Any, str]:
    """Take diagonals of repeated letters; sum out the letters of ``t`` not in ``keep``."""
    if len(set(sub)) != len(sub):
        t, sub = _diagonal(t, sub)
    drop = tuple(i for i, c in enumerate(sub) if c not in keep)
    if drop:
        t = red.sum(t, axis=drop)
        sub = "".join(c for c in sub if c in keep)
    return t, sub


def _contract(a: Any, sa: str, b: Any, sb: str, keep: set[str]) -> tuple[Any, str]:
    """``a`` and ``b`` contracted over shared letters not in ``keep``: one batched matmul."""
    a, sa = _reduce(a, sa, keep | set(sb))
    b, sb = _reduce(b, sb, keep | set(sa))
    size = dict(zip(sa, a.shape, strict=True))
    for c, n in zip(sb, b.shape, strict=True):
        if size.get(c, 1) == 1:
            size[c] = n
    batch = [c for c in sa if c in sb and c in keep]
    summed = [c for c in sa if c in sb and c not in keep]
    fa = [c for c in sa if c not in sb]
    fb = [c for c in sb if c not in sa]

    def arrange(t: Any, s: str, order: list[str], groups: list[list[str]]) -> Any:
        t = sh.permute_dims(t, tuple(s.index(c) for c in order))
        full = tuple(size[c] for c in order)
        if t.shape != full:
            t = sh.broadcast_to(t, full)
        return sh.reshape(t, tuple(size[c] for c in batch) + tuple(
            math.prod(size[c] for c in g) for g in groups))

    left = arrange(a, sa, batch + fa + summed, [fa, summed])
    right = arrange(b, sb, batch + summed + fb, [summed, fb])
    out = matmul(left, right)
    s = "".join(batch + fa + fb)
    return sh.reshape(out, tuple(size[c] for c in s)), s


def einsum(subscripts: str, /, *operands: Any) -> Any:
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``; differentiable.

    Args:
        subscripts: One term of letters per operand, comma-separated, then optionally
            ``->`` and the output's letters (default: the letters used once, sorted);
            ``...`` stands for the axes not named.
        *operands: The tensors.

    Returns:
        The result (a view of the operand for an identity such as ``"ij->ij"``, as NumPy's).

    Raises:
        ShapeError: When the terms and the operands differ in number, a term's letters and
            its operand's axes, a letter's sizes in two operands, or the output term has
            letters no input has (or one twice).
    """
    ops = [ensure_tensor(x) for x in operands]
    terms, out = _parse(subscripts, [x.ndim for x in ops])
    sizes: dict[str, int] = {}
    for x, t in zip(ops, terms, strict=True):
        for c, n in zip(t, x.shape, strict=True):
            m = sizes.setdefault(c, n)
            if m != n and 1 not in (m, n):
                raise ShapeError(f"einsum: letter {c!r} of {subscripts!r} has sizes {m} and {n} "
                                 f"(operand shapes {', '.join(str(y.shape) for y in ops)})")
            sizes[c] = max(m, n)
    pending = list(zip(ops, terms, strict=True))
    for step in _path(",".join(terms) + "->" + out, [x.shape for x in ops]):
        picked = [pending[i] for i in step]
        for i in sorted(step, reverse=True):
            del pending[i]
        keep = set(out).union(*(set(s) for _, s in pending))
        t, s = picked[0]
        if len(picked) == 1:
            t, s = _reduce(t, s, keep)
        for j in range(1, len(picked)):
            rest = keep.union(*(set(x) for _, x in picked[j + 1:]))
            t, s = _contract(t, s, *picked[j], rest)
        pending.append((t, s))
    (t, s), = pending
    t, s = _reduce(t, s, set(out))
    if s != out:
        t = sh.permute_dims(t, tuple(s.index(c) for c in out))
    return t[...] if any(t is x for x in ops) else t  # "ij->ij" is a view, as NumPy's
