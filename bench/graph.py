"""Workload D, a long sequential graph: ``y = sin(y)`` n times on a 1-element float32 array,
then backward, at n = 1e3, 1e4 and 1e5 (``--quick``: 1e2, 1e3, 1e4).

Two figures per library and size: microseconds per op (forward + backward; flat across sizes
when time is linear), and bytes per recorded node (tracemalloc's growth over the recorded
forward, divided by n). The floor is a hand-written NumPy tape: a list of the saved inputs,
walked backwards.
Run: ``python -m bench --only D``.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.run import Case, Workload, chosen, paired, peak_bytes, prepare, result, rows_of


def floor_numpy(n: int):
    x0 = np.full(1, 0.5, np.float32)

    def forward() -> tuple:
        tape, y = [], x0
        for _ in range(n):
            tape.append(y)
            y = np.sin(y)
        return y, tape

    def step() -> object:
        y, tape = forward()
        g = np.ones_like(y)
        while tape:
            g = g * np.cos(tape.pop())
        return g
    step.forward = forward
    return step


def anygrad_step(n: int, lazy: bool = False):
    import anygrad as ag
    x = ag.Tensor(np.full(1, 0.5, np.float32))
    mode = ag.mode("lazy" if lazy else "eager")

    def forward() -> object:
        with mode:
            y = x
            for _ in range(n):
                y = ag.sin(y)
        return y

    def step() -> object:
        x.grad = None
        y = forward()
        with mode:
            y.backward()
        return x.grad
    step.forward = forward
    return step


def torch_step(n: int):
    import torch
    torch.set_num_threads(1)
    x = torch.full((1,), 0.5, requires_grad=True)

    def forward() -> object:
        y = x
        for _ in range(n):
            y = torch.sin(y)
        return y

    def step() -> object:
        x.grad = None
        forward().backward(torch.ones(1))
        return x.grad
    return step


def mygrad_step(n: int):
    import mygrad as mg
    x = mg.tensor(np.full(1, 0.5, np.float32))

    def forward() -> object:
        y = x
        for _ in range(n):
            y = mg.sin(y)
        return y

    def step() -> object:
        y = forward()
        y.backward()
        return x.grad
    step.forward = forward
    return step


def autograd_step(n: int):
    import autograd
    import autograd.numpy as anp

    def f(y):
        for _ in range(n):
            y = anp.sin(y)
        return anp.sum(y)
    grad = autograd.grad(f)
    x0 = np.full(1, 0.5, np.float32)
    return lambda: grad(x0)


def cases(n: int) -> list[Case]:
    return [Case("numpy (floor)", lambda: floor_numpy(n)),
            Case("anygrad", lambda: anygrad_step(n)),
            Case("anygrad (lazy)", lambda: anygrad_step(n, lazy=True)),
            Case("torch", lambda: torch_step(n), traced=False),
            Case("mygrad", lambda: mygrad_step(n)),
            Case("autograd (HIPS)", lambda: autograd_step(n))]


def node_bytes(step: object, n: int) -> float | None:
    """Bytes per recorded node: what the forward leaves allocated (the graph), over n."""
    forward = getattr(step, "forward", None)
    if forward is None:
        return None
    kept = []
    peak_bytes(lambda: kept.append(None))  # (tracemalloc's own start-up, not counted below)
    import gc
    import tracemalloc
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        kept.append(forward())
        return (tracemalloc.get_traced_memory()[0] - base) / n
    finally:
        tracemalloc.stop()
        kept.clear()


def run(args: argparse.Namespace) -> dict:
    sizes = (100, 1000, 10_000) if args.quick else (1000, 10_000, 100_000)
    rows, skipped = [], []
    rounds = WORKLOAD.rounds(args)
    for n in sizes:
        steps, missed, _ = prepare([c for c in cases(n) if c.library == "numpy (floor)"
                                    or chosen(c.library, args)])
        if n == sizes[0]:
            skipped = missed
        times = paired(steps, rounds, 1, "numpy (floor)")
        found = rows_of(times, "numpy (floor)", 1e6 / n, size=n)
        floor_node = node_bytes(steps["numpy (floor)"], n)
        for row in found:
            b = node_bytes(steps[row["library"]], n)
            row["bytes_per_node"] = b
            row["extra_B/node"] = "n/a" if b is None else f"{b:.0f}"
            row["bytes_ratio"] = None if b is None or not floor_node else b / floor_node
        rows += found
    return result(WORKLOAD, rows, skipped, "numpy (floor)", rounds, 1,
                  ["time in us per op (forward + backward); B/node: bytes per recorded node"])


WORKLOAD = Workload("D", "a sequential graph of n ops (y = sin(y)), forward + backward",
                    unit="us/op", rounds=lambda a: 3 if a.quick else 7, custom=run)
