"""Fused elementwise kernels on the CPU with NumPy alone: a chain runs block by block.

A fused program is evaluated over cache-sized blocks of its flattened arrays, each op a NumPy
ufunc writing into a small scratch block (``out=``), the last into the result. The chain reads
its inputs from memory once and writes its result once, with no temporaries the size of the
arrays, and every value is the one eager mode computes (the same ufuncs, in the same order).
Arrays that are not all of the result's shape and C-contiguous (a broadcast bias, a view) are
evaluated whole instead, with the same ops. A power 2 or 3 is multiplied out, as eager mode's
``pow`` (and NumPy's own, for squares) does.

A *region* (a program with several results: ``Program.outs`` and ``Program.sums``) runs the
same way, block by block: each result it writes out gets its block written in place, and each
sum over all elements is accumulated block by block (in float64, then cast), so a training
step's forward and gradient are one pass that stores none of the region's intermediates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np


def _power(x: Any, e: Any, out: Any) -> Any:
    if not isinstance(e, np.generic) or e not in (2, 3):  # arrays go to pow, as in eager
        return np.power(x, e, out=out)
    if e == 2:
        return np.multiply(x, x, out=out)
    if e == 3:
        np.multiply(x, x, out=out)
        return np.multiply(out, x, out=out)
    return np.power(x, e, out=out)


def _where(c: Any, x: Any, y: Any, out: Any) -> Any:
    np.copyto(out, y)
    np.copyto(out, x, where=c)
    return out


UFUNCS: dict[str, Callable[..., Any]] = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "pow": _power, "negative": np.negative, "positive": np.positive, "square": np.square,
    "abs": np.absolute, "exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
    "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "atan2": np.arctan2, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "maximum": np.maximum,
    "minimum": np.minimum, "logaddexp": np.logaddexp, "less": np.less,
    "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "equal": np.equal, "not_equal": np.not_equal, "where": _where,
}
BLOCK = 1 << 14  # elements a block: the chain's scratch stays in the L2 cache


class BlockedFuser:
    """Compiles fused programs (see ``anygrad.lazy.fusion``) to blockwise NumPy kernels."""

    ops = frozenset(UFUNCS)
    dtypes = frozenset({"float32", "float64"})
    min_size = 1 << 21  # smaller arrays (8 MB of float32) stay in cache: one pass an op is faster
    regions = True  # computes programs with several results (see ``anygrad.lazy.fusion``)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 (one fuser for the process)
    def compile(self, program: Any) -> Callable:
        """The kernel of ``program`` (cached per program).

        Args:
            program: A fused program (``anygrad.lazy.fusion.Program``).

        Returns:
            ``kernel(args, out=None)`` on the program's inputs: a chain's returns its result
            (written into ``out`` when given); a region's ignores ``out`` and returns the
            tuple of its ``outs`` arrays, then its ``sums`` values.
        """
        if program.outs or program.sums:
            return _region_kernel(program)
        steps, dtypes = _allocate(program.body)
        casts = tuple(np.dtype(dtype).type if kind == "scalar" else None
                      for kind, dtype in program.inputs)
        out_dtype = np.dtype(program.out)

        def kernel(args: Any, out: Any = None) -> Any:
            ins = [a if cast is None else cast(a) for a, cast in zip(args, casts, strict=True)]
            arrays = [a for a, cast in zip(ins, casts, strict=True) if cast is None]
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
            if out is None:
                out = np.empty(shape, out_dtype)
            if all(a.shape == shape and a.flags.c_contiguous for a in arrays) \
                    and out.flags.c_contiguous:
                flat = [a.reshape(-1) if cast is None else a
                        for a, cast in zip(ins, casts, strict=True)]
                scratch = [np.empty(min(BLOCK, out.size), dtype) for dtype in dtypes]
                dest = out.reshape(-1)
                for i in range(0, dest.size, BLOCK):
                    j = min(i + BLOCK, dest.size)
                    block = [a[i:j] if cast is None else a
                             for a, cast in zip(flat, casts, strict=True)]
                    _run(steps, block, [s[:j - i] for s in scratch], dest[i:j])
            else:
                _run(steps, ins, [np.empty(shape, dtype) for dtype in dtypes], out)
            return out

        return kernel


def _allocate(body: tuple) -> tuple[tuple, list]:
    """The program's steps as ``(ufunc, args, scratch slot)``, a temporary's slot reused once
    its last reader has run (so a block's scratch stays few arrays), and each slot's dtype."""
    last_use = {}
    for n, (_, args, _) in enumerate(body):
        for kind, k in args:
            if kind == "tmp":
                last_use[k] = n
    slot_of: dict[int, int] = {}
    free: dict[str, list[int]] = {}
    dtypes: list = []
    steps = []
    for n, (name, args, dtype) in enumerate(body):
        refs = tuple(("in", k) if kind == "in" else ("tmp", slot_of[k]) for kind, k in args)
        if free.get(dtype):  # never an input's own slot: where and pow write before reading
            slot = free[dtype].pop()
        else:
            slot = len(dtypes)
            dtypes.append(np.dtype(dtype))
        slot_of[n] = slot
        steps.append((UFUNCS[name], refs, slot))
        for kind, k in args:  # inputs read for the last time free their slots
            if kind == "tmp" and last_use[k] == n:
                free.setdefault(body[k][2], []).append(slot_of[k])
    return tuple(steps), dtypes


def _run(steps: tuple, ins: list, scratch: list, dest: Any) -> None:
    """One evaluation of the program: each op into its scratch slot, the last into ``dest``."""
    last = len(steps) - 1
    for n, (fn, args, slot) in enumerate(steps):
        fn(*(ins[k] if kind == "in" else scratch[k] for kind, k in args),
           out=dest if n == last else scratch[slot])


def _region_kernel(program: Any) -> Callable:
    """A kernel for a program with several results: ``kernel(args, None)`` returns the
    arrays of ``program.outs`` then the values of ``program.sums``."""
    body, outs, sums = program.body, program.outs, program.sums
    out_at = {b: k for k, b in enumerate(outs)}
    last_use = {b: len(body) for b, _, _ in sums}  # summed at the end of each block
    for n, (_, args, _) in enumerate(body):
        for kind, k in args:
            if kind == "tmp" and k not in out_at:
                last_use[k] = max(last_use.get(k, n), n)
    where: dict[int, tuple[int, int]] = {}  # body entry -> (1: scratch, 2: result; index)
    free: dict[str, list[int]] = {}
    dtypes: list = []
    steps = []
    for n, (name, args, dtype) in enumerate(body):
        refs = tuple((0, k) if kind == "in" else where[k] for kind, k in args)
        if n in out_at:
            where[n] = (2, out_at[n])
        else:
            if free.get(dtype):
                slot = free[dtype].pop()
            else:
                slot = len(dtypes)
                dtypes.append(np.dtype(dtype))
            where[n] = (1, slot)
        steps.append((UFUNCS[name], refs, where[n]))
        for kind, k in args:
            if kind == "tmp" and k not in out_at and last_use[k] == n:
                free.setdefault(body[k][2], []).append(where[k][1])
    steps = tuple(steps)
    casts = tuple(np.dtype(dtype).type if kind == "scalar" else None
                  for kind, dtype in program.inputs)
    out_dtypes = [np.dtype(body[b][2]) for b in outs]
    sum_at = [(where[b], kind, keep, np.dtype(body[b][2])) for b, kind, keep in sums]

    def kernel(args: Any, out: Any = None) -> tuple:
        ins = [a if cast is None else cast(a) for a, cast in zip(args, casts, strict=True)]
        shape = np.broadcast_shapes(*(a.shape for a, c in zip(ins, casts, strict=True)
                                      if c is None))
        size = int(np.prod(shape))
        results = [np.empty(shape, d) for d in out_dtypes]
        totals = [0.0] * len(sum_at)
        flat = [_flat(a, shape) if c is None else a for a, c in zip(ins, casts, strict=True)]
        if all(f is not None for f in flat) and all(r.flags.c_contiguous for r in results):
            dests = [r.reshape(-1) for r in results]
            scratch = [np.empty(min(BLOCK, size), d) for d in dtypes]
            for i in range(0, size, BLOCK):
                j = min(i + BLOCK, size)
                pools = ([a if c is None and a.shape == (1,) else a[i:j] if c is None else a
                          for a, c in zip(flat, casts, strict=True)],
                         [s[:j - i] for s in scratch], [d[i:j] for d in dests])
                _run_region(steps, pools, sum_at, totals)
        else:  # broadcast or strided inputs: whole arrays, the same ops
            pools = (ins, [np.empty(shape, d) for d in dtypes], results)
            _run_region(steps, pools, sum_at, totals)
        sums_out = []
        for (_, kind, keep, dtype), total in zip(sum_at, totals, strict=True):
            value = dtype.type(total / size if kind == "mean" else total)
            sums_out.append(np.full((1,) * len(shape), value) if keep else value)
        return (*results, *sums_out)

    return kernel


def _flat(a: Any, shape: tuple) -> Any:
    """``a`` as a flat array of the result's blocks: itself flattened when it has the
    result's shape and is C-contiguous, one value (shape ``(1,)``) when every element is the
    same one (a broadcast scalar, a seed); None otherwise."""
    if a.shape == shape and a.flags.c_contiguous:
        return a.reshape(-1)
    if a.size == 1 or (a.size and not any(a.strides)):
        return a[(slice(0, 1),) * a.ndim].reshape(1)
    return None


def _run_region(steps: tuple, pools: tuple, sum_at: list, totals: list) -> None:
    for fn, args, (kind, k) in steps:
        fn(*(pools[p][j] for p, j in args), out=pools[kind][k])
    for n, ((kind, k), _, _, _) in enumerate(sum_at):
        totals[n] += float(np.add.reduce(pools[kind][k], axis=None, dtype=np.float64))


@functools.cache
def fuser() -> BlockedFuser:
    """The blockwise NumPy fuser (one for the process)."""
    return BlockedFuser()
