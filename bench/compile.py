"""``anygrad.compile`` against eager mode (and ``torch.compile``) on NumPy: time and memory.

1. The 10-op elementwise chain of ``bench/lazy.py`` (GELU's tanh form plus a sine) on 20
   million float32 values, trained: ``chain(x).sum().backward()``, the gradient to ``x``.
   Eager, lazy mode, compiled, the hand-written NumPy floor and, where it works here,
   ``torch.compile`` (on the CPU it needs a C++ compiler).
2. Per-op cost on small tensors: a chain of 100 elementwise ops on 64 float32 values,
   forward and backward to the input, compiled (replayed) against hand-written NumPy doing
   the same forward and backward.
3. A training step of an MLP (784-512-512-10, batch 128, softmax cross-entropy, SGD) and
   of a small CNN (the digits example's without dropout, batch 32, one-hot targets, Adam),
   compiled against eager: forward, loss, backward, the optimiser's step.
4. The chain of 1. against ``torch.compile`` and torch eager, where torch is installed and
   ``torch.compile`` works (in a process of its own: once torch has run, NumPy in the same
   process runs about 2x slower here).

Times: each round runs the contenders back to back (the order alternating), the ratio
column is the median over rounds of the paired ratios and the range their min..max (on a
shared machine paired ratios move far less than best times); ms columns are medians. Peak
memory: tracemalloc's peak above what was allocated before the call (NumPy reports its
buffers to it; torch's allocator does not, so torch's is peak RSS).

Run: ``python bench/compile.py`` (``--quick`` for fewer rounds); ``python -m bench --only H``
runs the first two as workload H of the benchmark suite (see ``bench/run.py``).
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

if __package__ in (None, ""):  # run as a script: import the package from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# isort: off
import bench  # noqa: E402,F401  (one BLAS thread before NumPy loads)
import numpy as np  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.run import Case, Workload, chosen, peak_bytes, prepare, result, rows_of  # noqa: E402
from bench.run import paired as paired_suite  # noqa: E402
# isort: on

import anygrad as ag  # noqa: E402
from anygrad import nn  # noqa: E402
from anygrad.nn import functional as F  # noqa: E402

C = 0.7978845608


def chain(x: ag.Tensor) -> ag.Tensor:
    """10 elementwise ops."""
    return 0.5 * x * (1 + ag.tanh(C * (x + 0.044715 * x ** 3))) + ag.sin(x)


def chain_floor(x: np.ndarray) -> np.ndarray:
    """The chain's gradient by hand, storing what backward needs (as a tape would)."""
    x2 = x * x
    u = C * (x + 0.044715 * x2 * x)
    t = np.tanh(u)
    dt = (1 - t * t) * (C * (1 + 3 * 0.044715 * x2))
    return 0.5 * (1 + t) + 0.5 * x * dt + np.cos(x)


def paired(fns: list[Callable[[], object]], rounds: int) -> tuple[list[float], list[list[float]]]:
    """Median seconds of each function, and each one's ratios to the first, per round."""
    took: list[list[float]] = [[] for _ in fns]
    for r in range(rounds):
        order = list(range(len(fns)))
        if r % 2:
            order.reverse()
        for k in order:
            gc.collect()
            t0 = time.perf_counter()
            fns[k]()
            took[k].append(time.perf_counter() - t0)
    ratios = [[a / b for a, b in zip(t, took[0], strict=True)] for t in took]
    return [statistics.median(t) for t in took], ratios


def peak(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    top = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return top


def rss_peak(fn: Callable[[], object]) -> int | None:
    """Peak RSS of ``fn`` above the RSS before it (Linux: the peak is reset first through
    /proc/self/clear_refs), for libraries that do not report to tracemalloc; None elsewhere."""
    def status(field: str) -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field)) * 1024
    try:
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS:")
        fn()
        return status("VmHWM:") - before
    except OSError:
        return None


def row(name: str, ms: float, ratios: list[float] | None, mem: float | None = None) -> None:
    r = (f"{statistics.median(ratios):5.2f}x ({min(ratios):.2f}..{max(ratios):.2f})"
         if ratios is not None else f"{'':21}")
    m = f"{mem:6.2f}x" if mem is not None else ""
    print(f"  {name:34} {ms * 1e3:10.3f} ms  {r}  {m}")


def torch_chain(size: int, rounds: int) -> dict | None:
    """Median seconds and peak RSS of torch eager and ``torch.compile`` on the chain, or None
    (torch missing, or ``torch.compile`` not working here). Run in a process of its own:
    once torch has run, NumPy in the same process runs about 2x slower here."""
    try:
        import torch
    except ImportError:
        print("  torch: not installed")
        return None
    torch.set_num_threads(1)
    x = torch.randn(size, dtype=torch.float32, requires_grad=True)

    def tchain(v: torch.Tensor) -> torch.Tensor:
        return (0.5 * v * (1 + torch.tanh(C * (v + 0.044715 * v ** 3))) + torch.sin(v)).sum()

    def step(f: Callable) -> Callable[[], None]:
        def run() -> None:
            f(x).backward()
            x.grad = None
        return run

    try:
        compiled = torch.compile(tchain)
        step(compiled)()  # compiles (C++ codegen): minutes the first time
    except Exception as exc:  # no compiler, an unsupported platform
        print(f"  torch.compile: does not work here ({type(exc).__name__}: "
              f"{str(exc).splitlines()[0][:100]})")
        return None
    times, ratios = paired([step(compiled), step(tchain)], rounds)
    return {"compiled": times[0], "eager": times[1], "eager_ratio": ratios[1],
            "rss": [rss_peak(step(compiled)), rss_peak(step(tchain))]}


def bench_chain(size: int, rounds: int) -> tuple[ag.Tensor, Callable]:
    print(f"\n1. 10-op chain trained, {size:,} float32 (time: ratio to eager; memory: "
          f"tracemalloc peak to eager's)")
    x = ag.Tensor(np.random.default_rng(0).standard_normal(size).astype(np.float32))
    xd = x.data

    def eager() -> None:
        chain(x).sum().backward()
        x.grad = None

    def lazy() -> None:
        with ag.lazy():
            chain(x).sum().backward()
        x.grad = None

    @ag.compile
    def step(v: ag.Tensor) -> ag.Tensor:
        loss = chain(v).sum()
        loss.backward()
        return loss

    def compiled() -> None:
        step(x)
        x.grad = None

    def floor() -> None:
        chain_floor(xd)

    for f in (eager, lazy, compiled):  # the same gradient (and the trace made)
        f()
    chain(x).sum().backward()
    want, x.grad = x.grad.numpy(), None
    step(x)
    got, x.grad = x.grad.numpy(), None
    assert got.dtype == np.float32 and np.max(np.abs(got - want)) < 1e-5
    assert step.stats.traces == 1 and step.stats.replays >= 1
    times, ratios = paired([eager, lazy, compiled, floor], rounds)
    mems = [peak(f) for f in (eager, lazy, compiled, floor)]
    for name, t, r, m in zip(("eager", "lazy mode", "compiled", "hand-written NumPy floor"),
                             times, ratios, mems, strict=True):
        row(name, t, r if name != "eager" else None, m / mems[0])
    print(f"  peak MB: eager {mems[0] / 2**20:.0f}, lazy {mems[1] / 2**20:.0f}, compiled "
          f"{mems[2] / 2**20:.0f}, floor {mems[3] / 2**20:.0f}")
    rss = [rss_peak(f) for f in (eager, compiled)]
    if None not in rss:
        print(f"  peak RSS MB (as torch's are measured): eager {rss[0] / 2**20:.0f}, "
              f"compiled {rss[1] / 2**20:.0f}")
    return x, step


def bench_torch(size: int, rounds: int, x: ag.Tensor, step: Callable) -> None:
    """The chain against torch: torch in a process of its own (see ``torch_chain``), then
    anygrad's compiled step here, as many rounds; the ratio is of the medians."""
    print(f"\n4. the chain of 1. against torch ({size:,} float32)")
    import json
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, __file__, "--torch-only", "--size", str(size),
                           "--rounds", str(rounds)], capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines or not lines[-1].startswith("{"):
        print("\n".join(lines) or proc.stderr.strip().splitlines()[-1])
        return
    torch_times = json.loads(lines[-1])

    def compiled() -> None:
        step(x)
        x.grad = None

    times, _ = paired([compiled], rounds)
    row("torch.compile", torch_times["compiled"], None)
    row("torch eager (to torch.compile)", torch_times["eager"], torch_times["eager_ratio"])
    row("anygrad compiled (right after)", times[0], None)
    print(f"  anygrad compiled to torch.compile: {times[0] / torch_times['compiled']:.2f}x "
          f"(medians of separate runs); peak RSS MB: torch.compile "
          f"{torch_times['rss'][0] / 2**20:.0f}, torch eager {torch_times['rss'][1] / 2**20:.0f}")


def bench_small(n_ops: int, size: int, rounds: int) -> None:
    print(f"\n2. per-op cost: {n_ops} elementwise ops on {size} float32, forward + backward")
    rng = np.random.default_rng(1)
    x = ag.Tensor(rng.uniform(-1, 1, size).astype(np.float32))
    xd = x.data
    blocks = n_ops // 2

    def model(v: ag.Tensor) -> ag.Tensor:
        for _ in range(blocks):  # 2 ops a block
            v = ag.tanh(v) * 1.5
        return v

    @ag.compile
    def step(v: ag.Tensor) -> ag.Tensor:
        loss = model(v).sum()
        loss.backward()
        return loss

    k = np.float32(1.5)

    def floor() -> np.ndarray:
        saved = []
        v = xd
        for _ in range(blocks):
            t = np.tanh(v)
            saved.append(t)
            v = t * k
        g = np.ones_like(v)
        for t in reversed(saved):
            g = g * k
            g = g * (1 - t * t)
        return g

    def compiled() -> None:
        step(x)
        x.grad = None

    def eager() -> None:
        model(x).sum().backward()
        x.grad = None

    compiled()
    model(x).sum().backward()
    want, x.grad = x.grad.numpy(), None
    step(x)
    assert np.allclose(x.grad.numpy(), want, rtol=1e-5)
    np.testing.assert_allclose(floor(), want, rtol=1e-5)
    x.grad = None
    times, ratios = paired([floor, compiled, eager], rounds)
    for name, t, r in zip(("hand-written NumPy floor", "compiled (replay)", "eager"), times,
                          ratios, strict=True):
        row(name, t, r if name != "hand-written NumPy floor" else None)
    print(f"  per op: floor {times[0] / n_ops * 1e6:.2f} us, compiled "
          f"{times[1] / n_ops * 1e6:.2f} us, eager {times[2] / n_ops * 1e6:.2f} us")


def mlp_params(seed: int = 0) -> list[ag.Tensor]:
    rng = np.random.default_rng(seed)
    sizes = (784, 512, 512, 10)
    params = []
    for m, n in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(ag.Tensor((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)))
        params.append(ag.Tensor(np.zeros(n, np.float32)))
    return params


def bench_steps(rounds: int) -> None:
    print("\n3. training steps (ratio to eager)")
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.standard_normal((128, 784)).astype(np.float32), requires_grad=False)
    onehot = ag.Tensor(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)],
                       requires_grad=False)

    def mlp_step(params: list[ag.Tensor], opt: ag.optim.Optimizer) -> Callable:
        w1, b1, w2, b2, w3, b3 = params

        def step(xb: ag.Tensor, yb: ag.Tensor) -> ag.Tensor:
            opt.zero_grad()
            h = ag.maximum(xb @ w1 + b1, 0.0)
            h = ag.maximum(h @ w2 + b2, 0.0)
            logits = h @ w3 + b3
            z = logits - logits.max(axis=1, keepdims=True)
            logp = z - ag.log(ag.exp(z).sum(axis=1, keepdims=True))
            loss = -(yb * logp).sum(axis=1).mean()
            loss.backward()
            opt.step()
            return loss
        return step

    pe, pc = mlp_params(), mlp_params()
    eager = mlp_step(pe, ag.optim.SGD(pe, lr=0.01))
    compiled = ag.compile(mlp_step(pc, ag.optim.SGD(pc, lr=0.01)))
    for _ in range(3):
        a, b = eager(x, onehot).data, compiled(x, onehot).data
        assert abs(float(a) - float(b)) < 1e-4, (a, b)
    assert compiled.stats.replays >= 2, compiled.stats
    times, ratios = paired([lambda: eager(x, onehot), lambda: compiled(x, onehot)], 40 * rounds)
    row("MLP 784-512-512-10, batch 128: eager", times[0], None)
    row("  compiled", times[1], ratios[1])
    pt = mlp_params()
    twin = mlp_step(pt, ag.optim.SGD(pt, lr=0.01))
    times, ratios = paired([lambda: eager(x, onehot), lambda: twin(x, onehot)], 40 * rounds)
    row("  eager twice (noise floor)", times[1], ratios[1])

    def cnn() -> nn.Module:
        ag.random.seed(0)
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

    def cnn_step(net: nn.Module) -> Callable:
        opt = ag.optim.Adam(net.parameters(), lr=1e-3)

        def step(xb: ag.Tensor, yb: ag.Tensor) -> ag.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            return loss
        return step

    xb = ag.Tensor(rng.uniform(0, 1, (32, 1, 8, 8)).astype(np.float32), requires_grad=False)
    yb = ag.Tensor(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)],  # (integer labels
                   requires_grad=False)  # are read, to check them: a trace would refuse)
    ce = cnn_step(cnn())
    cc = ag.compile(cnn_step(cnn()))
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            a, b = ce(xb, yb).data, cc(xb, yb).data
            assert abs(float(a) - float(b)) < 1e-4, (a, b)
    times, ratios = paired([lambda: ce(xb, yb), lambda: cc(xb, yb)], 20 * rounds)
    row("CNN (digits), batch 32: eager", times[0], None)
    how = "replayed" if cc.stats.replays else "runs eagerly: " + str(
        caught[0].message).split("because ")[-1][:90] if caught else "?"
    row(f"  compiled ({how})", times[1], ratios[1])


# -- workload H of the suite (``python -m bench --only H``) ----------------------------------
def _chain_cases(n: int) -> list[Case]:
    def floor() -> Callable[[], object]:
        x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
        return lambda: chain_floor(x)

    def anygrad_step(compiled: bool) -> Callable[[], object]:
        x = ag.Tensor(np.random.default_rng(0).standard_normal(n).astype(np.float32))

        def step(v: ag.Tensor) -> ag.Tensor:
            loss = chain(v).sum()
            loss.backward()
            return loss

        fn = ag.compile(step) if compiled else step

        def run() -> None:
            fn(x)
            x.grad = None
        return run

    return [Case("numpy (floor)", floor), Case("anygrad", lambda: anygrad_step(False)),
            Case("anygrad (compiled)", lambda: anygrad_step(True))]


def _small_cases(n_ops: int, size: int) -> list[Case]:
    blocks = n_ops // 2

    def floor() -> Callable[[], object]:
        xd = np.random.default_rng(1).uniform(-1, 1, size).astype(np.float32)
        k = np.float32(1.5)

        def run() -> np.ndarray:
            saved, v = [], xd
            for _ in range(blocks):
                t = np.tanh(v)
                saved.append(t)
                v = t * k
            g = np.ones_like(v)
            for t in reversed(saved):
                g = g * k
                g = g * (1 - t * t)
            return g
        return run

    def anygrad_step(compiled: bool) -> Callable[[], object]:
        x = ag.Tensor(np.random.default_rng(1).uniform(-1, 1, size).astype(np.float32))

        def step(v: ag.Tensor) -> ag.Tensor:
            for _ in range(blocks):
                v = ag.tanh(v) * 1.5
            loss = v.sum()
            loss.backward()
            return loss

        fn = ag.compile(step) if compiled else step

        def run() -> None:
            fn(x)
            x.grad = None
        return run

    return [Case("numpy (floor)", floor), Case("anygrad", lambda: anygrad_step(False)),
            Case("anygrad (compiled)", lambda: anygrad_step(True))]


def run_suite(args: argparse.Namespace) -> dict:
    n = 1 << (16 if args.quick else 22)
    rows, skipped, rounds = [], [], WORKLOAD.rounds(args)
    for phase, cases, scale in (("trained chain", _chain_cases(n), 1e3),
                                ("100 small ops", _small_cases(100, 64), 1e3)):
        steps, missed, traced = prepare([c for c in cases if c.library == "numpy (floor)"
                                         or chosen(c.library, args)])
        skipped = skipped or missed
        times = paired_suite(steps, rounds, 1, "numpy (floor)")
        peaks = {k: peak_bytes(s) if traced[k] else None for k, s in steps.items()}
        rows += rows_of(times, "numpy (floor)", scale, peaks, phase=phase)
    return result(WORKLOAD, rows, skipped, "numpy (floor)", rounds, 1,
                  [f"trained chain: 10 elementwise ops on {n:,} float32, the gradient of its "
                   f"sum to the input; 100 small ops: tanh and a product, 50 times, on 64 "
                   f"float32, forward and backward; compiled: anygrad.compile, replayed"])


WORKLOAD = Workload("H", "anygrad.compile: a trained chain and many small ops, replayed",
                    unit="ms", rounds=lambda a: 3 if a.quick else 9, custom=run_suite)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    if args.torch_only:  # (the child process of bench_torch)
        import json
        result = torch_chain(args.size, rounds)
        if result is not None:
            print(json.dumps(result))
        return
    describe("; fusion: NumPy ufuncs over cache-sized blocks")
    x, step = bench_chain(args.size, rounds)
    bench_small(100, 64, 20 * rounds)
    bench_steps(rounds)
    if not args.skip_torch:
        bench_torch(args.size, max(3, rounds // 2), x, step)


if __name__ == "__main__":
    main()
