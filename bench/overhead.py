"""Per-op overhead: a chain of 20 elementwise ops on a 10-element float32 array.

Forward + backward, in microseconds per op, for anygrad, MyGrad, PyTorch CPU and the same
computation hand-written in NumPy (the floor), interleaved in one run; ratios to the floor.
Libraries that are not installed are skipped. Run: ``python bench/overhead.py``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from machine import describe  # noqa: E402  (bench/machine.py: the scripts run from bench/)

N, REPEATS = 10, 5  # array size; the chain is REPEATS x (tanh, *w, +b, sin) = 20 ops
OPS = 4 * REPEATS


def floor_numpy(x0: np.ndarray, w0: np.ndarray, b0: np.ndarray) -> Callable[[], object]:
    """The chain and its gradients, hand-written in NumPy: the floor."""
    def step() -> object:
        saved = []
        y = x0
        for _ in range(REPEATS):
            t = np.tanh(y)
            m = t * w0
            a = m + b0
            y = np.sin(a)
            saved.append((t, a))
        g = np.ones_like(y)
        gw = gb = None
        for t, a in reversed(saved):
            g = g * np.cos(a)
            gb = g if gb is None else gb + g
            gw_i = g * t
            gw = gw_i if gw is None else gw + gw_i
            g = g * w0
            g = g * (1 - t * t)
        return g, gw, gb
    return step


def chain_anygrad(x0, w0, b0):
    import anygrad as ag
    w, b = ag.Tensor(w0), ag.Tensor(b0)

    def step() -> object:
        x = ag.Tensor(x0)
        y = x
        for _ in range(REPEATS):
            y = ag.sin(ag.tanh(y) * w + b)
        w.zero_grad()  # a fresh gradient per step, as a training loop has (and as torch's
        b.zero_grad()  # step below sets .grad = None)
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


CANDIDATES = {"numpy (floor)": floor_numpy, "anygrad": chain_anygrad, "mygrad": chain_mygrad,
              "torch": chain_torch, "autograd (HIPS)": chain_autograd}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=300, help="chains per round")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x0, w0, b0 = (rng.standard_normal(N).astype(np.float32) for _ in range(3))
    steps = {}
    for name, make in CANDIDATES.items():
        try:
            steps[name] = make(x0, w0, b0)
            steps[name]()  # warm up, and check it runs
        except ImportError as exc:
            print(f"skipping {name}: {exc}")
    best = {name: float("inf") for name in steps}
    for _ in range(args.rounds):  # interleave, keep each library's best round
        for name, step in steps.items():
            gc.collect()
            t0 = time.perf_counter()
            for _ in range(args.calls):
                step()
            best[name] = min(best[name], (time.perf_counter() - t0) / args.calls / OPS * 1e6)

    floor = best["numpy (floor)"]
    describe()
    print(f"chain of {OPS} elementwise float32 ops on {N} elements, forward + backward")
    print(f"{'library':18s} {'us/op':>8s} {'x floor':>8s}")
    for name, us in sorted(best.items(), key=lambda kv: kv[1]):
        print(f"{name:18s} {us:8.2f} {us / floor:8.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
