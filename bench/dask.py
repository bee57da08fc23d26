"""anygrad on Dask against anygrad on NumPy: time per training step, and a worker's peak memory.

1. Time: the step of ``examples/distributed_regression.py`` (logistic regression: forward,
   loss, accuracy, backward, ``anygrad.compute`` of loss and gradients, SGD step) on a data set
   that fits in memory (``--rows`` x 16 float32, in ``--chunks`` chunks), held in memory by
   each runner: NumPy arrays in this process (device ``cpu``, the reference), Dask arrays on
   Dask's local threads, and Dask arrays persisted on a ``LocalCluster`` of two worker
   processes (one thread each) on 127.0.0.1. Printed: the median step time, its ratio to
   NumPy's, the tasks per step, and the overhead per task: (Dask's time - NumPy's) / tasks,
   what the scheduler spends on each task (ordering, bookkeeping, a thread hand-off; on the
   cluster also the graph's serialisation, a message to a worker and back, and moving
   intermediates between workers). The work itself is the same NumPy calls on smaller
   arrays: a step pays off on Dask when each chunk's work is much larger than that overhead
   (Dask's own guidance: tasks of 100 ms or more; chunks of 100 MB).
2. Memory: the example's larger-than-memory run (a data set ``--times`` the memory limit of
   one worker, and more than all workers' limits together, generated chunk by chunk on the
   workers), two steps; each worker's peak resident memory (the kernel's high-water mark,
   VmHWM: the whole process, Python and libraries included) against its configured limit.

Run: ``python bench/dask.py`` (``--quick``: fewer rows and rounds; ``--skip-memory``).
Not a test: figures depend on the machine and its load; the header says what it ran on.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: import the package from the checkout, and
    # not this file as "dask" (a script's folder comes first on sys.path)
    sys.path[:] = [os.path.dirname(_HERE)] + [
        p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
# isort: off
import bench  # noqa: E402,F401  (one BLAS thread before NumPy loads)
import numpy as np  # noqa: E402
from bench.machine import describe  # noqa: E402

import anygrad as ag  # noqa: E402
from anygrad import distributed as agd  # noqa: E402
from anygrad import optim  # noqa: E402

FEATURES = 16


def _example() -> Any:
    """The example module, importable by the workers too (they start with this sys.path)."""
    sys.path.insert(0, os.path.join(os.path.dirname(_HERE), "examples"))
    import distributed_regression
    return distributed_regression


def steps(x: Any, y: Any, device: str | None, rounds: int) -> tuple[float, int]:
    """Median seconds per training step, and Dask tasks per step (0 on NumPy)."""
    X = ag.Tensor(x, requires_grad=False)
    Y = ag.Tensor(y, requires_grad=False)
    where = device or "dask"
    w = ag.Tensor(np.zeros(FEATURES, np.float32), device=where, requires_grad=True)
    b = ag.Tensor(np.zeros((), np.float32), device=where, requires_grad=True)
    opt = optim.SGD([w, b], lr=8.0, momentum=0.5)
    times, tasks = [], 0
    for _ in range(rounds + 1):  # (the first one warms up)
        start = time.perf_counter()
        opt.zero_grad()
        z = X @ w + b
        loss = ag.mean(ag.logaddexp(0.0, z) - Y * z)
        with ag.no_grad():
            accuracy = ag.mean(ag.astype((z > 0) == (Y > 0.5), ag.float32))
        loss.backward()
        tasks = agd.tasks(loss, accuracy, w.grad, b.grad)
        ag.compute(loss, accuracy, w.grad, b.grad)
        opt.step()
        float(loss.detach().numpy()), float(accuracy.numpy())
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:]), tasks


def time_table(args: argparse.Namespace, example: Any) -> None:
    import dask
    import dask.array as da
    import distributed

    x, y = example.dataset(args.rows, FEATURES, -(-args.rows // args.chunks), 0)
    hx, hy = dask.compute(x, y)  # in memory for every runner
    mib = (hx.nbytes + hy.nbytes) / 2**20
    print(f"\n1. time per step: logistic regression on {args.rows:,} x {FEATURES} float32 "
          f"({mib:.0f} MiB) in {args.chunks} chunks, median of {args.rounds} steps")
    ref, _ = steps(hx, hy, "cpu", args.rounds)
    rows = [("numpy, one process (reference)", ref, 0)]
    dx, dy = (da.from_array(a, chunks=x.chunks[:a.ndim]) for a in (hx, hy))
    with dask.config.set(scheduler="threads"):
        t, n = steps(dx, dy, None, args.rounds)
    rows.append(("dask, local threads", t, n))
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        px, py = client.persist([x, y])  # the data in the workers' memory (made there)
        distributed.wait([px, py])
        t, n = steps(px, py, None, args.rounds)
        rows.append(("dask, LocalCluster of 2 worker processes", t, n))
    finally:
        client.close()
        cluster.close()
    print(f"{'runner':44} {'ms/step':>9} {'ratio':>7} {'tasks':>6} {'overhead/task':>14}")
    for name, t, n in rows:
        per_task = f"{(t - ref) / n * 1e3:.2f} ms" if n else "-"
        print(f"{name:44} {t * 1e3:9.1f} {t / ref:7.2f} {n or '-':>6} {per_task:>14}")


def memory_table(args: argparse.Namespace, example: Any) -> None:
    import resource

    import distributed

    def peak() -> int:
        """The process's peak resident memory: Linux's VmHWM (this process image's own; the
        ``ru_maxrss`` of a spawned process also counts its parent's before the exec)."""
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def rss() -> int:
        import psutil
        return psutil.Process().memory_info().rss

    limit = example.nbytes(args.memory_limit)
    print(f"\n2. memory: the example on 2 workers of {limit / 2**20:.0f} MiB each, a data set "
          f"of {args.times} x one worker's limit (all workers together: 2 x), 2 steps")
    import dask
    dask.config.set({"distributed.worker.memory.target": False,
                     "distributed.worker.memory.spill": False,
                     "distributed.worker.memory.pause": False})
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", memory_limit=args.memory_limit,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        before = client.run(rss)
        ns = argparse.Namespace(features=FEATURES, chunk_rows=None, rows=None, times=args.times,
                                seed=0, steps=2, lr=8.0)
        result = example.train(client, ns)
        peaks = client.run(peak)
        restarts = len(set(before) - set(peaks))
    finally:
        client.close()
        cluster.close()
    data = result["rows"] * (FEATURES + 1) * 4
    print(f"data set {data / 2**20:.0f} MiB; worker restarts (memory): {restarts}")
    for addr, p in sorted(peaks.items()):
        start = before.get(addr, 0)
        print(f"  worker {addr}: peak {p / 2**20:.0f} MiB of its {limit / 2**20:.0f} MiB limit "
              f"({p / limit:.0%}; {start / 2**20:.0f} MiB before the run)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--chunks", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--memory-limit", default="192MiB")
    p.add_argument("--times", type=float, default=2.5)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.rows, args.rounds, args.times = 200_000, 3, 2.2
    import dask
    import distributed
    describe(f", dask {dask.__version__}, distributed {distributed.__version__}, "
             f"load average {os.getloadavg()[0]:.1f}")
    example = _example()
    time_table(args, example)
    if not args.skip_memory:
        memory_table(args, example)


if __name__ == "__main__":
    main()
