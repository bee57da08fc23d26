"""Lazy mode against eager mode on NumPy: time and peak memory, in one run; and workload F
of the suite (``python -m bench --only F``: the chain against every library, see below).

1. A chain of 10 elementwise ops (GELU's tanh form plus a sine) on 20 million float32 values,
   inference (no gradient): ``0.5 * x * (1 + tanh(c * (x + 0.044715 * x**3))) + sin(x)``.
2. The same chain trained: ``chain(x).sum().backward()`` on a fifth of the values (lazy mode
   plans forward and backward as one graph).
3. One training step of an MLP (784-512-512-10, batch 128, softmax cross-entropy, SGD):
   forward, loss, backward and update, under ``with anygrad.lazy():`` or eagerly; then eager
   mode against itself, which shows how far apart two equal runs land (the noise floor).

The time column is the median, over rounds that run both back to back, of lazy's time over
eager's (the ms columns are best times); peak memory is tracemalloc's (NumPy reports its
buffers to it) above what was allocated before the call.

Run: ``python bench/lazy.py`` (``--size`` to change the chain's length).

Workload F: the chain (1. and 2.) on 2**22 float32 (``--quick``: 2**16), forward and trained,
for hand-written NumPy (the floor: the chain, and its derivative written out), anygrad eager
and lazy, PyTorch CPU, MyGrad and HIPS autograd; time and peak traced memory.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

if __package__ in (None, ""):  # run as a script: import the package from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# isort: off
import bench  # noqa: E402,F401  (one BLAS thread before NumPy loads)
import numpy as np  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.run import Case, Workload, chosen, paired, peak_bytes, prepare, result, rows_of  # noqa: E402
# isort: on

import anygrad as ag  # noqa: E402


def chain(x: ag.Tensor) -> ag.Tensor:
    """10 elementwise ops."""
    return 0.5 * x * (1 + ag.tanh(0.7978845608 * (x + 0.044715 * x ** 3))) + ag.sin(x)


def run_chain(x: ag.Tensor, lazy: bool) -> np.ndarray:
    with ag.mode("lazy" if lazy else "eager"), ag.no_grad():
        return chain(x).realize().data


def train_chain(x: ag.Tensor, lazy: bool) -> np.ndarray:
    with ag.mode("lazy" if lazy else "eager"):
        chain(x).sum().backward()
    g, x.grad = x.grad.data, None
    return g


def mlp(seed: int = 0) -> tuple[list[ag.Tensor], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = (784, 512, 512, 10)
    params = []
    for m, n in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(ag.Tensor((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)))
        params.append(ag.Tensor(np.zeros(n, np.float32)))
    x = rng.standard_normal((128, 784)).astype(np.float32)
    onehot = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    return params, x, onehot


def train_step(params: list[ag.Tensor], x0: np.ndarray, onehot0: np.ndarray,
               lazy: bool) -> float:
    w1, b1, w2, b2, w3, b3 = params
    with ag.mode("lazy" if lazy else "eager"):
        x = ag.Tensor(x0, copy=False, requires_grad=False)  # data: no gradient, as in
        onehot = ag.Tensor(onehot0, copy=False, requires_grad=False)  # examples/train_digits.py
        h = ag.maximum(x @ w1 + b1, 0.0)
        h = ag.maximum(h @ w2 + b2, 0.0)
        logits = h @ w3 + b3
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - ag.log(ag.exp(z).sum(axis=1, keepdims=True))
        loss = -(onehot * logp).sum(axis=1).mean()
        loss.backward()
    for p in params:
        p.data -= 0.01 * p.grad.data
        p.grad = None
    return loss.detach().item()


def measure(eager: Callable[[], object], lazy: Callable[[], object],
            repeats: int) -> tuple[float, float, float, float, float]:
    """Best seconds of ``eager`` and ``lazy``, the median of their ratio over rounds, and peak
    bytes (above the start). The two run back to back in each round, each going first in every
    other round (the second of a pair runs on caches the first has cooled: about 0.5% here),
    so both see the same allocator and cache state and the same load on a shared machine:
    the median of paired ratios moves far less between runs than a ratio of best times."""
    best = [float("inf")] * 2
    ratios = []
    for r in range(repeats):
        took = [0.0, 0.0]
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            fn = (eager, lazy)[k]
            gc.collect()
            t0 = time.perf_counter()
            fn()
            took[k] = time.perf_counter() - t0
            best[k] = min(best[k], took[k])
        ratios.append(took[1] / took[0])
    peaks = []
    for fn in (eager, lazy):
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        peaks.append(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()
    return best[0], best[1], statistics.median(ratios), peaks[0], peaks[1]


C0, C1 = 0.7978845608, 0.044715


def floor_numpy(n: int, trained: bool, xp: Any = np) -> Callable[[], object]:
    x = xp.asarray(np.random.default_rng(0).standard_normal(n).astype(np.float32))

    def forward() -> object:
        return 0.5 * x * (1 + xp.tanh(C0 * (x + C1 * (x * x * x)))) + xp.sin(x)

    def train() -> object:  # d/dx of the chain, written out; the forward is not kept
        t = xp.tanh(C0 * (x + C1 * (x * x * x)))  # (NumPy's float32 x**3 is 30x slower)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C0 * (1 + 3 * C1 * x * x) + xp.cos(x)
    return train if trained else forward


def anygrad_chain(n: int, trained: bool, lazy: bool, device: str = "cpu"
                  ) -> Callable[[], object]:
    x = ag.Tensor(np.random.default_rng(0).standard_normal(n).astype(np.float32), device=device)
    return (lambda: train_chain(x, lazy)) if trained else (lambda: run_chain(x, lazy))


def torch_chain(n: int, trained: bool, device: str = "cpu") -> Callable[[], object]:
    import torch
    torch.set_num_threads(1)
    x = torch.tensor(np.random.default_rng(0).standard_normal(n).astype(np.float32),
                     requires_grad=trained, device=device)

    def f() -> object:
        return 0.5 * x * (1 + torch.tanh(C0 * (x + C1 * x ** 3))) + torch.sin(x)

    def train() -> object:
        f().sum().backward()
        g, x.grad = x.grad, None
        return g
    if trained:
        return train

    def forward() -> object:
        with torch.no_grad():
            return f()
    return forward


def mygrad_chain(n: int, trained: bool) -> Callable[[], object]:
    import mygrad as mg
    x = mg.tensor(np.random.default_rng(0).standard_normal(n).astype(np.float32),
                  constant=not trained)

    def f() -> object:
        return 0.5 * x * (1 + mg.tanh(C0 * (x + C1 * x ** 3))) + mg.sin(x)

    def train() -> object:
        y = mg.sum(f())
        y.backward()
        g = x.grad
        y.null_grad()
        return g
    return train if trained else f


def autograd_chain(n: int, trained: bool) -> Callable[[], object]:
    import autograd
    import autograd.numpy as anp
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)

    def f(x: object) -> object:
        return 0.5 * x * (1 + anp.tanh(C0 * (x + C1 * x ** 3))) + anp.sin(x)
    grad = autograd.grad(lambda x: anp.sum(f(x)))
    return (lambda: grad(x)) if trained else (lambda: f(x))


def suite_cases(n: int, trained: bool) -> list[Case]:
    return [Case("numpy (floor)", lambda: floor_numpy(n, trained)),
            Case("anygrad", lambda: anygrad_chain(n, trained, False)),
            Case("anygrad (lazy)", lambda: anygrad_chain(n, trained, True)),
            Case("torch", lambda: torch_chain(n, trained), traced=False),
            Case("mygrad", lambda: mygrad_chain(n, trained)),
            Case("autograd (HIPS)", lambda: autograd_chain(n, trained))]


def run_suite(args: argparse.Namespace) -> dict:
    n = 2 ** 16 if args.quick else 2 ** 22
    rows, skipped, rounds = [], [], WORKLOAD.rounds(args)
    for phase in ("forward", "trained"):
        steps, missed, traced = prepare([c for c in suite_cases(n, phase == "trained")
                                         if c.library == "numpy (floor)"
                                         or chosen(c.library, args)])
        skipped = skipped or missed
        times = paired(steps, rounds, 1, "numpy (floor)")
        peaks = {k: peak_bytes(s) if traced[k] else None for k, s in steps.items()}
        rows += rows_of(times, "numpy (floor)", 1e3, peaks, phase=phase)
    return result(WORKLOAD, rows, skipped, "numpy (floor)", rounds, 1,
                  [f"chain of 10 elementwise ops on {n:,} float32; trained: the gradient of "
                   f"its sum"])


WORKLOAD = Workload("F", "the elementwise chain (GELU's tanh form + sin), forward and trained",
                    unit="ms", rounds=lambda a: 3 if a.quick else 9, custom=run_suite)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    fuser = ag.backends.get("cpu").fuser()  # ANYGRAD_CPU_FUSER=numpy (default), numexpr, none
    if fuser is None:
        fusion = "none (lazy mode runs the ops one by one)"
    elif type(fuser).__name__ == "NumexprFuser":
        import numexpr
        fusion = f"numexpr {numexpr.__version__}, {numexpr.get_num_threads()} threads"
    else:
        fusion = "NumPy ufuncs over cache-sized blocks"
    describe(f"; fusion: {fusion}")

    x = ag.Tensor(np.random.default_rng(0).standard_normal(args.size).astype(np.float32))
    eager = run_chain(x, False)
    lazy = run_chain(x, True)
    err = float(np.max(np.abs(eager - lazy)))
    assert lazy.dtype == np.float32 and err < 1e-5, err
    del eager, lazy
    rows = []
    rows.append((f"chain of 10 ops, {args.size:,} float32",
                 *measure(lambda: run_chain(x, False), lambda: run_chain(x, True), args.repeats)))

    x = ag.Tensor(x.data[:args.size // 5])
    eager, lazy = train_chain(x, False), train_chain(x, True)
    err = float(np.max(np.abs(eager - lazy)))
    assert lazy.dtype == np.float32 and err < 1e-5, err
    del eager, lazy
    rows.append((f"  trained, {args.size // 5:,} float32",
                 *measure(lambda: train_chain(x, False), lambda: train_chain(x, True),
                          args.repeats)))

    p_eager, x0, onehot = mlp()
    p_lazy = [ag.Tensor(p.numpy()) for p in p_eager]
    p_twin = [ag.Tensor(p.numpy()) for p in p_eager]
    for _ in range(3):  # the same losses, step after step
        a, b = train_step(p_eager, x0, onehot, False), train_step(p_lazy, x0, onehot, True)
        assert abs(a - b) < 1e-4 * max(1.0, abs(a)), (a, b)
        train_step(p_twin, x0, onehot, False)
    rows.append(("MLP step 784-512-512-10, batch 128",
                 *measure(lambda: train_step(p_eager, x0, onehot, False),
                          lambda: train_step(p_lazy, x0, onehot, True), 80 * args.repeats)))
    rows.append(("  the same, eager twice (noise floor)",
                 *measure(lambda: train_step(p_eager, x0, onehot, False),
                          lambda: train_step(p_twin, x0, onehot, False), 80 * args.repeats)))

    print(f"{'':40} {'eager ms':>9} {'lazy ms':>9} {'time':>6}   {'eager MB':>9} "
          f"{'lazy MB':>9} {'memory':>6}")
    for name, te, tl, ratio, me, ml in rows:  # time: the median of paired ratios
        print(f"{name:40} {te * 1e3:9.2f} {tl * 1e3:9.2f} {ratio:5.3f}x  {me / 2**20:9.1f} "
              f"{ml / 2**20:9.1f} {ml / me:5.2f}x")
    print(f"plan cache: {ag.lazy.stats.hits} hits, {ag.lazy.stats.misses} misses")


if __name__ == "__main__":
    main()
