"""In-place scalar writes: 1,000 writes ``x[i] = float(i)`` into a 10^6-element float64 array.

Two rows per library: writes into the array itself, and writes through a view
(``y = x[:1000]`` then ``y[i] = ...``). In microseconds per write (median over interleaved
rounds) and as a ratio to hand-written NumPy (the floor), for NumPy, anygrad (a constant
tensor, and a tensor in a recorded graph: ``x = w * 1`` with ``w`` requiring grad), PyTorch
CPU (plain, and recording autograd) and MyGrad (a constant, and a tensor in a graph: MyGrad
keeps each version, so it copies per write). Libraries that are not installed are skipped.
A copy of the whole array per write would cost about 1,000x the floor.
Run: ``python bench/inplace.py``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from machine import describe  # noqa: E402  (bench/machine.py: the scripts run from bench/)

N = 10 ** 6  # elements of the array written into
VIEW = 1000  # the view's length

# make(view) -> setup; setup() -> write(i), the array prepared, nothing timed yet
Maker = Callable[[bool], Callable[[], Callable[[int], object]]]


def numpy_floor(view: bool):
    def setup():
        x = np.zeros(N)
        y = x[:VIEW] if view else x

        def write(i: int) -> None:
            y[i] = float(i)
        return write
    return setup


def anygrad_writes(recording: bool) -> Maker:
    def make(view: bool):
        import anygrad as ag

        def setup():
            if recording:
                w = ag.zeros(N, requires_grad=True)
                x = w * 1.0
            else:
                x = ag.zeros(N)
            y = x[:VIEW] if view else x

            def write(i: int) -> None:
                y[i] = float(i)
            write.keep = (x,)  # the base stays alive while its view is written
            return write
        return setup
    return make


def torch_writes(recording: bool) -> Maker:
    def make(view: bool):
        import torch
        torch.set_num_threads(1)

        def setup():
            if recording:
                w = torch.zeros(N, dtype=torch.float64, requires_grad=True)
                x = w * 1.0
            else:
                x = torch.zeros(N, dtype=torch.float64)
            y = x[:VIEW] if view else x

            def write(i: int) -> None:
                y[i] = float(i)
            write.keep = (x,)
            return write
        return setup
    return make


def mygrad_writes(recording: bool) -> Maker:
    def make(view: bool):
        import mygrad as mg

        def setup():
            if recording:
                w = mg.tensor(np.zeros(N))
                x = w * 1.0
            else:
                x = mg.tensor(np.zeros(N), constant=True)
            y = x[:VIEW] if view else x

            def write(i: int) -> None:
                y[i] = float(i)
            write.keep = (x,)
            return write
        return setup
    return make


CANDIDATES: dict[str, Maker] = {
    "numpy (floor)": numpy_floor,
    "anygrad": anygrad_writes(False),
    "anygrad (recording)": anygrad_writes(True),
    "torch": torch_writes(False),
    "torch (recording)": torch_writes(True),
    "mygrad": mygrad_writes(False),
    "mygrad (recording)": mygrad_writes(True),
}


def time_writes(setup: Callable[[], Callable[[int], object]], writes: int) -> float:
    """Seconds per write of ``writes`` writes into a freshly prepared array."""
    write = setup()
    gc.collect()
    t0 = time.perf_counter()
    for i in range(writes):
        write(i % VIEW)
    return (time.perf_counter() - t0) / writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--writes", type=int, default=1000, help="writes per round")
    parser.add_argument("--budget", type=float, default=3.0,
                        help="seconds a library may take per round before its rounds stop")
    args = parser.parse_args()

    setups: dict[tuple[str, str], Callable] = {}
    for name, make in CANDIDATES.items():
        for row, view in (("x[i] = v", False), ("x[:1000][i] = v", True)):
            try:
                setup = make(view)
                time_writes(setup, 10)  # warm up, and check it runs
            except ImportError as exc:
                print(f"skipping {name}: {exc}")
                break
            setups[(name, row)] = setup
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in setups}
    slow: set[tuple[str, str]] = set()
    for _ in range(args.rounds):  # interleaved; a library over budget stops after a round
        for key, setup in setups.items():
            if key in slow:
                continue
            t = time_writes(setup, args.writes)
            samples[key].append(t)
            if t * args.writes > args.budget:
                slow.add(key)

    describe(f", OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"{args.writes} scalar writes into a {N:,}-element float64 array; median of "
          f"{args.rounds} rounds (fewer where marked *: over --budget)")
    print(f"{'library':22s} {'write':16s} {'us/write':>10s} {'x numpy':>9s}")
    for row in ("x[i] = v", "x[:1000][i] = v"):
        floor = statistics.median(samples[("numpy (floor)", row)])
        for (name, r), ts in sorted(samples.items(), key=lambda kv: statistics.median(kv[1])):
            if r != row:
                continue
            t = statistics.median(ts)
            mark = "*" if (name, r) in slow else " "
            print(f"{name:22s} {row:16s} {t * 1e6:10.2f} {t / floor:9.1f}{mark}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
