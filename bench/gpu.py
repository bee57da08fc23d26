"""Workloads B, C, E and F on a GPU: anygrad on CuPy against PyTorch CUDA (and the same step
hand-written in CuPy, where the suite has a NumPy floor), plus anygrad's per-op Python cost
next to a CUDA kernel launch. Run by ``ci/gpu-bench`` on a host with an NVIDIA GPU; elsewhere
it says why it cannot run and exits 0.

Every step ends in a device synchronisation, so a time is the GPU's work and not just its
queueing. The per-op figure runs workload A's chain (20 elementwise ops on 10 float32,
forward + backward) on the GPU: the host time per op (without synchronising: what the Python
side costs) against one raw CuPy kernel launch (``cupy.sin`` on 10 elements). While the
first stays under the second (a launch takes 5-10 us), anygrad never starves the GPU.

    python -m bench.gpu [--only B,C,E,F] [--quick] [--json] [--device cuda:0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.machine import info
from bench.run import Case, Workload, _finite, measure, print_table

GPU_KEYS = ("B", "C", "E", "F")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(GPU_KEYS), help="comma-separated, of B,C,E,F")
    p.add_argument("--quick", action="store_true", help="small sizes, few rounds")
    p.add_argument("--json", action="store_true", help="one JSON document, no tables")
    p.add_argument("--device", default="cuda:0", help="anygrad's device (default cuda:0)")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--size", type=int, default=None, help="C's matrix size (default 4096)")
    args = p.parse_args(argv)
    args.keys = [k.strip().upper() for k in args.only.split(",") if k.strip()]
    bad = [k for k in args.keys if k not in GPU_KEYS]
    if bad:
        p.error(f"--only takes workloads of {','.join(GPU_KEYS)}, not {','.join(bad)}")
    args.libraries = None
    return args


def gpu_reason(device: str) -> str | None:
    """Why anygrad cannot use ``device`` with CuPy here (None when it can): proven by
    allocating, not by importing."""
    try:
        import anygrad as ag
        status = ag.backends.available().get("cupy")
        if status is None or not status.available:
            return f"CuPy cannot use a GPU here: {getattr(status, 'reason', 'no cupy backend')}"
        ag.backends.get(device)
    except Exception as exc:
        return f"{device}: {type(exc).__name__}: {exc}"
    return None


def torch_cuda_reason() -> str | None:
    try:
        import torch
    except ImportError as exc:
        return f"not installed ({exc})"
    if not torch.cuda.is_available():
        return "torch has no CUDA device here (a CPU-only build, or no driver)"
    return None


def synced(make: Callable[[], Callable[[], object]], sync: Callable[[], None]
           ) -> Callable[[], Callable[[], object]]:
    """``make`` whose step waits for the GPU before it returns."""
    def made() -> Callable[[], object]:
        step = make()

        def run() -> object:
            out = step()
            sync()
            return out
        return run
    return made


def gpu_workloads(args: argparse.Namespace) -> list[Workload]:
    import cupy

    from bench import cnn, lazy, matmul, mlp

    dev = args.device
    index = int(dev.split(":")[1]) if ":" in dev else 0
    tdev = f"cuda:{index}"

    def cupy_sync() -> None:
        cupy.cuda.Device(index).synchronize()

    def torch_sync() -> None:
        import torch
        torch.cuda.synchronize(index)

    def on_cupy(fn: Callable[[], Callable[[], object]]) -> Callable[[], Callable[[], object]]:
        def made() -> Callable[[], object]:
            with cupy.cuda.Device(index):
                step = fn()

            def run() -> object:
                with cupy.cuda.Device(index):
                    return step()
            return run
        return synced(made, cupy_sync)

    def torch_case(fn: Callable[[], Callable[[], object]]) -> Case:
        reason = torch_cuda_reason()
        if reason is not None:
            def unavailable() -> Callable[[], object]:
                raise ImportError(reason)
            return Case("torch cuda", unavailable, traced=False)
        return Case("torch cuda", synced(fn, torch_sync), traced=False)

    def ag_cases(fn: Callable[..., Callable[[], object]]) -> list[Case]:
        return [Case("anygrad cupy", on_cupy(lambda: fn(False)), traced=False),
                Case("anygrad cupy (lazy)", on_cupy(lambda: fn(True)), traced=False)]

    n = args.size or (1024 if args.quick else 4096)
    chain = 2 ** 20 if args.quick else 2 ** 24
    rounds = (lambda a: 3) if args.quick else (lambda a: 11)
    found = {
        "B": Workload("B", "MLP step 784-512-512-10, batch 256, float32, SGD (GPU)",
                      lambda a: [torch_case(lambda: mlp.torch_step(tdev)),
                                 Case("cupy (floor)", on_cupy(lambda: mlp.floor_numpy(cupy)),
                                      traced=False),
                                 *ag_cases(lambda lz: mlp.anygrad_step(lz, dev))],
                      unit="ms/step", calls=lambda a: 5, rounds=rounds, memory=False),
        "C": Workload("C", f"matmul forward + backward, {n}x{n} float32 (GPU)",
                      lambda a: [torch_case(lambda: matmul.torch_step(n, tdev)),
                                 Case("cupy (floor)", on_cupy(lambda: matmul.floor_numpy(
                                     n, cupy)), traced=False),
                                 *ag_cases(lambda lz: matmul.anygrad_step(n, lz, dev))],
                      unit="ms", calls=lambda a: 3, rounds=rounds, memory=False),
        "E": Workload("E", "CNN step on 8x8 digits, batch 32, Adam (GPU)",
                      lambda a: [torch_case(lambda: cnn.torch_step(tdev)),
                                 *ag_cases(lambda lz: cnn.anygrad_step(lz, dev))],
                      unit="ms/step", calls=lambda a: 10, rounds=rounds, memory=False),
        "F": Workload("F", f"elementwise chain of 10 ops on {chain:,} float32, trained (GPU)",
                      lambda a: [torch_case(lambda: lazy.torch_chain(chain, True, tdev)),
                                 Case("cupy (floor)", on_cupy(lambda: lazy.floor_numpy(
                                     chain, True, cupy)), traced=False),
                                 *ag_cases(lambda lz: lazy.anygrad_chain(chain, True, lz,
                                                                         dev))],
                      unit="ms", calls=lambda a: 5, rounds=rounds, memory=False),
    }
    return [found[k] for k in args.keys]


def per_op_cost(device: str, calls: int = 100) -> dict[str, Any]:
    """Host microseconds per op of workload A's chain on the GPU (20 elementwise ops on 10
    float32, forward + backward, unsynchronised: what the Python side costs): anygrad's, the
    chain hand-written in CuPy (launches only), their difference (anygrad's own Python per
    op), and one raw CuPy kernel launch."""
    import cupy
    import numpy as np

    import anygrad as ag
    from bench.overhead import OPS, REPEATS, N, floor_numpy

    index = int(device.split(":")[1]) if ":" in device else 0
    rng = np.random.default_rng(0)
    x0, w0, b0 = (rng.standard_normal(N).astype(np.float32) for _ in range(3))
    with cupy.cuda.Device(index):
        w, b = ag.Tensor(w0, device=device), ag.Tensor(b0, device=device)
        x = ag.Tensor(x0, device=device)
        raw = [cupy.asarray(v) for v in (x0, w0, b0)]
        floor = floor_numpy(*raw, xp=cupy)

        def chain() -> None:
            y = x
            for _ in range(REPEATS):
                y = ag.sin(ag.tanh(y) * w + b)
            w.grad = b.grad = None
            y.backward()

        def launch() -> None:
            cupy.sin(raw[0])

        best = {}
        for name, fn, per in (("anygrad_us_per_op", chain, OPS), ("cupy_chain_us_per_op", floor,
                                                                   OPS),
                              ("cupy_launch_us", launch, 1)):
            fn()
            cupy.cuda.Device(index).synchronize()
            times = []
            for _ in range(7):  # best of 7: the host cost, not the load
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                times.append((time.perf_counter() - t0) / calls / per * 1e6)
                cupy.cuda.Device(index).synchronize()
            best[name] = min(times)
    best["python_us_per_op"] = best["anygrad_us_per_op"] - best["cupy_chain_us_per_op"]
    best["ratio"] = best["python_us_per_op"] / best["cupy_launch_us"]
    return best


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reason = gpu_reason(args.device)
    if reason is not None:
        msg = f"bench.gpu: skipped: {reason}"
        if args.json:
            print(json.dumps({"skipped": reason, "machine": info()}))
        else:
            print(msg)
        return 0
    results = []
    for w in gpu_workloads(args):
        if args.rounds is not None:
            w.rounds = lambda a, r=args.rounds: r
        res = measure(w, args)
        results.append(res)
        if not args.json:
            print_table(res)
    cost = per_op_cost(args.device)
    if args.json:
        print(json.dumps(_finite({"machine": info(), "device": args.device, "workloads": results,
                                  "per_op": cost}), indent=1, default=str))
    else:
        verdict = "under a launch: the GPU is never starved" if cost["ratio"] < 1 else \
            "over a launch: Python-bound"
        print(f"\nper op on {args.device} (workload A's chain, forward + backward, host side): "
              f"anygrad {cost['anygrad_us_per_op']:.2f} us, the chain in raw CuPy "
              f"{cost['cupy_chain_us_per_op']:.2f} us; anygrad's own Python "
              f"{cost['python_us_per_op']:.2f} us per op against one CUDA launch of "
              f"{cost['cupy_launch_us']:.2f} us: {cost['ratio']:.2f}x ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
