"""Concurrent backward: threads that differentiate separate graphs sharing a parameter (data
parallel workers, a server) get exact sums, every round, and a failing backward leaves no
trace in any tensor."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import anygrad as ag

THREADS, ROUNDS = 8, 5


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _run_threads(work) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_threads_sharing_a_parameter_get_exact_sums(fast_switching, backend):
    w = backend.tensor(np.linspace(0.5, 1.5, 16))
    data = [backend.tensor(np.full(16, i + 1.0), requires_grad=False) for i in range(THREADS)]

    def work(i: int) -> None:
        x = data[i]
        for _ in range(20):  # a graph deep enough to be interrupted many times
            x = ag.tanh(x * w) + x
        x.sum().backward()

    for _ in range(ROUNDS):
        w.zero_grad()
        assert _run_threads(work) == []
        got = w.grad.numpy()
        w_alone = w.detach().requires_grad_()
        want = 0.0
        for i in range(THREADS):
            w_alone.zero_grad()
            x = data[i]
            for _ in range(20):
                x = ag.tanh(x * w_alone) + x
            x.sum().backward()
            want = want + w_alone.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_failing_backward_leaves_no_trace(fast_switching, backend):
    w = backend.tensor([1.0, 2.0])

    def work(i: int) -> None:
        y = (w * (i + 1.0)).sum()
        if i % 2:
            y.backward(grad=backend.tensor([1.0, 2.0]))  # the wrong shape: raises
        else:
            y.backward()

    errors = _run_threads(work)
    assert len(errors) == THREADS // 2 and all(isinstance(e, ag.ShapeError) for e in errors)
    np.testing.assert_allclose(w.grad.numpy(), sum(i + 1.0 for i in range(0, THREADS, 2)))
    assert w._g is None
    w.zero_grad()
    (w * 3.0).sum().backward()  # nothing left over: the next backward is exact
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])
