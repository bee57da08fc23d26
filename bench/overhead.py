"""Workload A, per-op overhead: a chain of 20 elementwise ops on a 10-element float32 array.

Forward + backward, in microseconds per op, for anygrad (eager and lazy), MyGrad, PyTorch CPU,
HIPS autograd and the same computation hand-written in NumPy (the floor), interleaved in one
run; ratios to the floor. Libraries that are not installed are skipped.
Run: ``python -m bench --only A`` (or ``python bench/overhead.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

if __package__ in (None, ""):  # run as a script: import the package from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# isort: off
import bench  # noqa: E402,F401  (one BLAS thread before NumPy loads)
import numpy as np  # noqa: E402
from bench.run import Case, Workload  # noqa: E402
# isort: on

N, REPEATS = 10, 5  # array size; the chain is REPEATS x (tanh, *w, +b, sin) = 20 ops
OPS = 4 * REPEATS


def floor_numpy(x0: np.ndarray, w0: np.ndarray, b0: np.ndarray, xp=np) -> Callable[[], object]:
    """The chain and its gradients, hand-written in NumPy: the floor (in CuPy for bench.gpu:
    its arrays given, ``xp=cupy``)."""
    def step() -> object:
        saved = []
        y = x0
        for _ in range(REPEATS):
            t = xp.tanh(y)
            m = t * w0
            a = m + b0
            y = xp.sin(a)
            saved.append((t, a))
        g = xp.ones_like(y)
        gw = gb = None
        for t, a in reversed(saved):
            g = g * xp.cos(a)
            gb = g if gb is None else gb + g
            gw_i = g * t
            gw = gw_i if gw is None else gw + gw_i
            g = g * w0
            g = g * (1 - t * t)
        return g, gw, gb
    return step


def chain_anygrad(x0, w0, b0, lazy: bool = False):
    import anygrad as ag
    w, b = ag.Tensor(w0), ag.Tensor(b0)
    mode = ag.mode("lazy" if lazy else "eager")

    def step() -> object:
        x = ag.Tensor(x0)
        with mode:
            y = x
            for _ in range(REPEATS):
                y = ag.sin(ag.tanh(y) * w + b)
            w.zero_grad()  # a fresh gradient per step, as a training loop has (and as
            b.zero_grad()  # torch's step below sets .grad = None)
            y.backward()
        return x.grad, w.grad, b.grad
    return step


def chain_mygrad(x0, w0, b0):
    import mygrad as mg
    w, b = mg.Tensor(w0), mg.Tensor(b0)

    def step() -> object:
        x = mg.Tensor(x0)
        y = x
        for _ in range(REPEATS):
            y = mg.sin(mg.tanh(y) * w + b)
        y.backward()
        return x.grad, w.grad, b.grad
    return step


def chain_torch(x0, w0, b0):
    import torch
    torch.set_num_threads(1)
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)

    def step() -> object:
        x = torch.tensor(x0, requires_grad=True)
        y = x
        for _ in range(REPEATS):
            y = torch.sin(torch.tanh(y) * w + b)
        y.backward(torch.ones_like(y))
        w.grad = b.grad = None
        return x.grad
    return step


def chain_autograd(x0, w0, b0):
    import autograd
    import autograd.numpy as anp

    def f(x, w, b):
        y = x
        for _ in range(REPEATS):
            y = anp.sin(anp.tanh(y) * w + b)
        return anp.sum(y)
    grad = autograd.grad(f, argnum=(0, 1, 2))
    return lambda: grad(x0, w0, b0)


def cases(args) -> list[Case]:
    rng = np.random.default_rng(0)
    x0, w0, b0 = (rng.standard_normal(N).astype(np.float32) for _ in range(3))
    made: list[tuple[str, Callable]] = [
        ("numpy (floor)", floor_numpy), ("anygrad", chain_anygrad),
        ("anygrad (lazy)", lambda *a: chain_anygrad(*a, lazy=True)), ("torch", chain_torch),
        ("mygrad", chain_mygrad), ("autograd (HIPS)", chain_autograd)]
    return [Case(name, lambda make=make: make(x0, w0, b0), traced=name != "torch")
            for name, make in made]


WORKLOAD = Workload(
    "A", f"per-op overhead: {OPS} elementwise float32 ops on {N} elements, forward + backward",
    cases, unit="us/op", scale=1e6 / OPS, calls=lambda a: 30 if a.quick else 300,
    rounds=lambda a: 5 if a.quick else 15, memory=False)


if __name__ == "__main__":
    from bench.run import main
    sys.exit(main(["--only", "A", *sys.argv[1:]]))
