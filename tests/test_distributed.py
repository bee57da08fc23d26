"""Training on Dask arrays: lazy forward and backward, ``anygrad.compute``, flat graphs per
step, and a ``dask.distributed`` cluster of two worker processes on the loopback interface
(started and closed here) that survives losing a worker mid-training."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn, optim

da = pytest.importorskip("dask.array", reason="dask is not installed (pip install anygrad[dask])")
distributed = pytest.importorskip("distributed",
                                  reason="distributed is not installed (pip install anygrad[dask])")
psutil = pytest.importorskip("psutil", reason="psutil (a dependency of distributed) is missing")

import dask  # noqa: E402

from anygrad import distributed as agd  # noqa: E402

ROWS, FEATURES, CHUNK = 1_200, 6, 150
ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise TimeoutError in the test if it runs longer than ``seconds`` (fixtures still clean
    up: the cluster is closed either way)."""
    def expire(*_):
        raise TimeoutError(f"test ran past its {seconds} s bound")
    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def client():
    """Two worker processes (one thread each) on 127.0.0.1; every process is gone after."""
    with deadline(60):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None,
                                           memory_limit="1GiB", silence_logs=logging.ERROR)
        c = distributed.Client(cluster, timeout="30s")
    pids = set(c.run(os.getpid).values())
    try:
        yield c
    finally:
        pids |= set(c.run(os.getpid).values()) if c.status == "running" else set()
        with deadline(60):
            c.close(timeout=20)
            cluster.close(timeout=20)
        alive = [p for p in pids if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"worker processes left running: {alive}"


def _block(block: np.ndarray, block_info=None) -> np.ndarray:
    """The rows of one chunk of the data set, from a seed per chunk (the same values on any
    worker, any number of times), slowly enough that a step lasts a while."""
    start = block_info[None]["array-location"][0][0]
    rng = np.random.default_rng(1_000 + start)
    time.sleep(0.01)
    return rng.standard_normal((block.shape[0], FEATURES))


def dataset() -> tuple[da.Array, da.Array]:
    """Features (never whole in one process) and 0/1 labels from a fixed linear rule."""
    x = da.zeros((ROWS, FEATURES), chunks=(CHUNK, FEATURES)).map_blocks(_block, dtype=float)
    w = np.linspace(-1.0, 1.0, FEATURES)
    return x, (x @ w > 0.1).astype(float)


def _model(device: str) -> nn.Module:
    ag.random.seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 8), nn.Tanh(), nn.Linear(8, 1)).to(device)


def _loss(model: nn.Module, x: ag.Tensor, y: ag.Tensor) -> ag.Tensor:
    z = ag.reshape(model(x), (-1,))
    return ag.mean(ag.logaddexp(0.0, z) - y * z)  # logistic loss


def _train(device: str, x, y, steps: int, on_step=None) -> tuple[list[float], dict, list[int]]:
    """Adam on the MLP; the losses, the final parameters (NumPy) and the tasks per step."""
    model = _model(device)
    x, y = ag.Tensor(x, requires_grad=False), ag.Tensor(y, requires_grad=False)
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses, counts = [], []
    for step in range(steps):
        if on_step is not None:
            on_step(step)
        opt.zero_grad()
        loss = _loss(model, x, y)
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        counts.append(agd.tasks(loss, *grads))
        ag.compute(loss, *grads)  # one scheduler call: the loss and every gradient
        opt.step()  # on computed gradients: runs here, no round trip
        losses.append(float(loss.detach().numpy()))
    return losses, {k: p.numpy() for k, p in model.named_parameters()}, counts


def test_forward_and_backward_build_one_graph_computed_once():
    """Nothing runs before ``compute``; then one scheduler call runs loss and gradients."""
    x, y = dataset()
    model = _model("dask")
    ran = []
    with dask.config.set(scheduler="threads"), dask.callbacks.Callback(
            pretask=lambda key, dsk, state: ran.append(key)):
        loss = _loss(model, ag.Tensor(x, requires_grad=False), ag.Tensor(y, requires_grad=False))
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        assert loss.device == "dask" and all(g.device == "dask" for g in grads)
        assert all(g.dtype == p.dtype for g, p in zip(grads, model.parameters(), strict=True))
        assert ran == []  # lazy: the graph only
        n = agd.tasks(loss, *grads)
        calls = []
        with dask.callbacks.Callback(start=lambda dsk: calls.append(len(dsk))):
            ag.compute(loss, *grads)
        assert len(calls) == 1 and calls[0] <= n and ran  # one scheduler call for all
        assert agd.tasks(loss, *grads) <= sum(t.data.npartitions + 1 for t in (loss, *grads))
        ran.clear()
        loss.detach().item(), grads[0].numpy()
        assert len(ran) <= 2 * len(grads)  # no recomputation of the graph


def test_host_data_on_device_dask_uses_the_chunk_policy():
    host = np.arange(40.0).reshape(10, 4)
    t = ag.Tensor(host, device="dask")
    assert t.device == "dask" and isinstance(t.data, da.Array)
    assert t.data.chunks[1] == (4,)  # default policy "rows": whole rows
    with ag.backends.dask_chunks((3, 2)):
        assert ag.Tensor(host, device="dask").data.chunks == ((3, 3, 3, 1), (2, 2))
    assert ag.backends.get_dask_chunks() == "rows"
    host[0, 0] = 99.0  # the tensor copied the host array
    assert t.numpy()[0, 0] == 0.0
    assert ag.Tensor(da.from_array(host, chunks=5)).device == t.device  # one device "dask"
    with pytest.raises(ag.DeviceError, match="no index"):
        ag.Tensor(host, device="dask:0")
    with pytest.raises(TypeError, match="dask_chunks"):
        ag.backends.dask_chunks(1.5)


def test_gradients_on_the_cluster_equal_numpy(client):
    with deadline(30):
        x, y = dataset()
        hx, hy = dask.compute(x, y)
        ours = _model("dask")
        loss = _loss(ours, ag.Tensor(x, requires_grad=False), ag.Tensor(y, requires_grad=False))
        loss.backward()
        ag.compute(loss, *[p.grad for p in ours.parameters()])
        ref_model = _model("cpu")
        ref = _loss(ref_model, ag.Tensor(hx, requires_grad=False), ag.Tensor(hy))
        ref.backward()
        np.testing.assert_allclose(loss.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
        for (k, p), r in zip(ours.named_parameters(), ref_model.parameters(), strict=True):
            assert p.grad.dtype == p.dtype == r.grad.dtype and p.grad.device == "dask", k
            np.testing.assert_allclose(p.grad.numpy(), r.grad.numpy(), rtol=1e-10,
                                       atol=1e-14, err_msg=k)


def test_task_count_per_step_is_flat():
    """After each step the parameters and Adam's state hold values, not history (local
    threads here: the graph is the same on the cluster, see the test below)."""
    with deadline(40), dask.config.set(scheduler="threads"):
        x, y = dataset()
        model = _model("dask")
        x, y = ag.Tensor(x, requires_grad=False), ag.Tensor(y, requires_grad=False)
        opt = optim.Adam(model.parameters(), lr=0.05)
        counts = []
        for _ in range(20):
            opt.zero_grad()
            loss = _loss(model, x, y)
            loss.backward()
            grads = [p.grad for p in model.parameters()]
            counts.append(agd.tasks(loss, *grads))
            opt.step()  # computes parameters, gradients and state: one scheduler call
            state = [v for s in opt.state.values() for v in s.values() if hasattr(v, "dask")]
            assert all(len(v.__dask_graph__()) == v.npartitions for v in state)
            assert all(len(p.data.__dask_graph__()) == p.data.npartitions
                       for p in model.parameters())
        assert len(set(counts)) == 1, counts


def test_a_worker_killed_mid_training_is_survived(client):
    steps = 8
    x, y = dataset()
    hx, hy = dask.compute(x, y)
    want_losses, want, _ = _train("cpu", hx, hy, steps)
    killed = []

    def kill_one():  # the first worker seen running tasks of a step
        pids = client.run(os.getpid)
        for _ in range(500):
            busy = [a for a, keys in client.processing().items() if keys and a in pids]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
                return
            time.sleep(0.01)

    def on_step(step):  # from step 3 on, while a step's graph runs, kill a worker
        if step == 3:
            threading.Thread(target=kill_one, daemon=True).start()

    with deadline(45):
        losses, got, counts = _train("dask", x, y, steps, on_step)
        assert killed and not (psutil.pid_exists(killed[0])
                               and psutil.Process(killed[0]).status() != psutil.STATUS_ZOMBIE)
        client.wait_for_workers(2, timeout=30)  # the nanny starts a new worker
    assert killed[0] not in client.run(os.getpid).values()
    assert len(set(counts)) == 1, counts
    np.testing.assert_allclose(losses, want_losses, rtol=1e-10)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-9, atol=1e-12, err_msg=k)
    assert losses[-1] < 0.6 * losses[0]


def test_unknown_sizes_say_so_or_are_computed_on_request():
    x = ag.Tensor(da.from_array(np.arange(12.0), chunks=4), requires_grad=True)
    y = x[x > 4.5]
    assert np.isnan(y.shape[0])
    with pytest.raises(ag.ShapeError, match="compute_chunk_sizes"):
        ag.sum(y * y).backward()
    backend = x.backend
    with pytest.raises(ag.ShapeError, match=r"unknown size.*boolean mask.*anygrad\.compute"):
        backend.set_at(da.zeros(4), slice(0, 2), da.from_array(np.ones(6))[da.arange(6) > 3])
    u = ag.unique_values(ag.Tensor(da.from_array(np.array([3, 1, 3, 2]), chunks=2)))
    assert np.isnan(u.shape[0])
    ag.compute(y, u)  # asked for: the sizes are known afterwards
    assert y.shape == (7,) and u.shape == (3,)
    np.testing.assert_array_equal(u.numpy(), [1, 2, 3])
    ag.sum(y * y).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(np.arange(12.0) > 4.5,
                                                        2 * np.arange(12.0), 0))


def test_compute_refuses_what_is_not_a_tensor():
    w = ag.Tensor(np.ones(3), device="dask")
    with pytest.raises(TypeError, match="argument 1 is None"):
        ag.compute(w, w.grad)
    assert agd.client() is None or isinstance(agd.client(), distributed.Client)


def test_the_example_joins_a_running_cluster(client):
    """``--scheduler ADDRESS``: the script trains on this cluster, leaves it running, and ends
    with its loss and accuracy line."""
    address = client.scheduler.address
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "distributed_regression.py"),
                           "--scheduler", address, "--rows", "120000", "--chunk-rows", "30000",
                           "--steps", "3"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"final loss (\S+), accuracy (\S+) after 3 steps \(.* s per step\)", last)
    assert m, last
    assert float(m[1]) < 0.6 and float(m[2]) > 0.85, last
    assert "4 chunks" in done.stdout and client.status == "running"
    assert len(client.scheduler_info()["workers"]) == 2
