"""Logistic regression on a data set larger than the workers' memory, on a Dask cluster.

The data set is generated chunk by chunk on the workers (each chunk from its own seed, so any
worker can make, drop and remake it): it never exists whole in any one process, and it is
larger than all the workers' memory limits together. anygrad builds the forward and backward
pass over it as one Dask graph; ``ag.compute(loss, *grads)`` runs it in one scheduler call,
each chunk's tasks streaming through a worker and freeing their memory as they go, and the
optimiser step on the (small) computed gradients runs in this process.

    python examples/distributed_regression.py                      # 2 local worker processes
    python examples/distributed_regression.py --workers 4 --memory-limit 1GiB --rows 50_000_000
    python examples/distributed_regression.py --scheduler tcp://10.0.0.5:8786   # a real cluster

Without ``--scheduler`` a ``dask.distributed.LocalCluster`` of worker processes is started on
the loopback interface (127.0.0.1) and closed at the end. The last line states the final loss
and accuracy (see docs/distributed.md).
"""

from __future__ import annotations

import argparse
import logging
import math
import time

import dask
import dask.array as da
import distributed
import numpy as np

import anygrad as ag
from anygrad import optim


def _features(block: np.ndarray, seed: int, block_info=None) -> np.ndarray:
    """One chunk of the features: rows uniform in [-1, 1) from a seed of its own (the chunk's
    position), in float32."""
    first_row = block_info[None]["array-location"][0][0]
    out = np.random.default_rng([seed, first_row]).random(block.shape, dtype=np.float32)
    out *= 2
    out -= 1
    return out


def _noise(block: np.ndarray, seed: int, block_info=None) -> np.ndarray:
    first_row = block_info[None]["array-location"][0][0]
    return np.random.default_rng([seed, first_row, 1]).logistic(size=block.shape).astype(
        np.float32)


def dataset(rows: int, features: int, chunk_rows: int, seed: int) -> tuple:
    """Features ``x`` (rows x features, float32) and 0/1 labels of a noisy linear rule, as lazy
    Dask arrays (nothing is generated until a computation needs a chunk)."""
    chunks = (chunk_rows, features)
    x = da.zeros((rows, features), dtype=np.float32, chunks=chunks).map_blocks(
        _features, seed, dtype=np.float32)
    w = np.random.default_rng(seed).standard_normal(features).astype(np.float32)
    noise = da.zeros((rows,), dtype=np.float32, chunks=chunk_rows).map_blocks(
        _noise, seed, dtype=np.float32)
    y = ((x @ (3.0 * w) + noise) > 0).astype(np.float32)
    return x, y


def nbytes(text: str) -> int:
    """'512MiB', '2GB' or a number of bytes."""
    from dask.utils import parse_bytes
    return parse_bytes(text)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="join this cluster's scheduler (tcp://HOST:PORT) instead of starting one")
    p.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--threads", type=int, default=1, help="threads per local worker")
    p.add_argument("--memory-limit", default="192MiB",
                   help="memory limit of each local worker (default 192MiB)")
    p.add_argument("--rows", type=int, default=None,
                   help="rows of the data set (default: --times times the memory limit)")
    p.add_argument("--times", type=float, default=1.5,
                   help="the data set's size as a multiple of one worker's memory limit "
                        "(default 1.5; above the number of workers, it outgrows them all)")
    p.add_argument("--features", type=int, default=16)
    p.add_argument("--chunk-rows", type=int, default=None,
                   help="rows per chunk (default: chunks of 1/24 of a worker's memory limit)")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--lr", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    if args.scheduler:
        client = distributed.Client(args.scheduler, timeout="30s")
        cluster = None
    else:  # the memory limit is a hard one: no spilling to disk, no pausing, and a worker
        # above 95% of it is restarted by its nanny (none is: see bench/dask.py)
        dask.config.set({"distributed.worker.memory.target": False,
                         "distributed.worker.memory.spill": False,
                         "distributed.worker.memory.pause": False})
        cluster = distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=args.threads, processes=True,
            host="127.0.0.1", memory_limit=args.memory_limit, dashboard_address=None,
            silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
    try:
        return train(client, args)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def train(client: distributed.Client, args: argparse.Namespace) -> dict:
    workers = client.scheduler_info()["workers"]
    limit = sum(w.get("memory_limit") or 0 for w in workers.values())
    row_bytes = 4 * (args.features + 1)
    chunk_rows = args.chunk_rows or max(1_000, limit // len(workers) // 24 // row_bytes)
    rows = args.rows or max(chunk_rows,
                            math.ceil(args.times * limit / len(workers) / row_bytes))
    x, y = dataset(rows, args.features, chunk_rows, args.seed)
    print(f"{len(workers)} workers, memory limit {limit / 2**20:.0f} MiB in all; data set "
          f"{rows:,} x {args.features} float32 = {rows * row_bytes / 2**20:.0f} MiB in "
          f"{x.npartitions} chunks (generated on the workers, never whole)")

    X = ag.Tensor(x, requires_grad=False)  # lazy: Dask arrays stay Dask arrays
    Y = ag.Tensor(y, requires_grad=False)
    w = ag.Tensor(np.zeros(args.features, np.float32), device="dask", requires_grad=True)
    b = ag.Tensor(np.zeros((), np.float32), device="dask", requires_grad=True)
    opt = optim.SGD([w, b], lr=args.lr, momentum=0.5)

    try:
        from tqdm import tqdm
        bar = tqdm(range(args.steps), desc="training", unit="step")
    except ImportError:
        bar = range(args.steps)
    loss_value = acc = math.nan
    start = time.perf_counter()
    for step in bar:
        opt.zero_grad()
        z = X @ w + b
        loss = ag.mean(ag.logaddexp(0.0, z) - Y * z)  # logistic loss, from the logits
        with ag.no_grad():
            accuracy = ag.mean(ag.astype((z > 0) == (Y > 0.5), ag.float32))
        loss.backward()
        ag.compute(loss, accuracy, w.grad, b.grad)  # one scheduler call: the whole graph
        opt.step()  # on the computed gradients: in this process
        loss_value, acc = float(loss.detach().numpy()), float(accuracy.numpy())
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss_value:.4f}", accuracy=f"{acc:.4f}")
        else:
            print(f"step {step + 1}/{args.steps}: loss {loss_value:.4f}, accuracy {acc:.4f}",
                  flush=True)
    seconds = time.perf_counter() - start
    print(f"final loss {loss_value:.4f}, accuracy {acc:.4f} after {args.steps} steps "
          f"({seconds / max(args.steps, 1):.2f} s per step)")
    return {"loss": loss_value, "accuracy": acc, "rows": rows, "memory_limit": limit,
            "seconds": seconds}


if __name__ == "__main__":
    main()
