"""``anygrad.detect_anomaly()``: the first NaN or Inf produced in backward raises
``AnomalyError`` naming the forward op and where it was created.

The tests of ``anomaly.check`` and of the flag pass on their own; the end-to-end tests need
the engine's calls (``anomaly.check`` after each rule, ``anomaly.note`` where ops link)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import anygrad as ag
from anygrad.autograd import anomaly, grad


def test_flag_is_a_context_manager_and_decorator():
    assert not anomaly.enabled()
    with ag.detect_anomaly():
        assert anomaly.enabled() and anomaly.ACTIVE >= 1
        with ag.detect_anomaly(False):
            assert not anomaly.enabled()
        assert anomaly.enabled()
    assert not anomaly.enabled()

    @ag.detect_anomaly()
    def inside():
        return anomaly.enabled()

    assert inside() and inside() and not anomaly.enabled()
    with pytest.raises(TypeError, match="bool"):
        ag.detect_anomaly("yes")


def test_flag_is_per_thread():
    seen = []
    with ag.detect_anomaly():
        t = threading.Thread(target=lambda: seen.append(anomaly.enabled()))
        t.start()
        t.join()
    assert seen == [False]


def test_check(backend):
    anomaly.check("log", "model.py:3 in f", backend.tensor([1.0, 2.0]))  # finite: no error
    anomaly.check("log", None, backend.tensor([1, 2]))  # integers: never anomalous
    with pytest.raises(ag.AnomalyError, match=r"'log', created at model.py:3 in f.*NaN.*input 1"):
        anomaly.check("log", "model.py:3 in f", backend.tensor([1.0, np.nan]), input_index=1)
    with pytest.raises(ag.AnomalyError, match=r"'sqrt'.*Inf"):
        anomaly.check("sqrt", None, backend.tensor([np.inf, 1.0]).data)  # a backend array
    with pytest.raises(ag.AnomalyError, match="NaN"):
        anomaly.check("exp", None, float("nan"))
    assert issubclass(ag.AnomalyError, ag.GraphError)


def _sqrt_at_zero(backend):
    x = backend.tensor([0.0, 1.0])
    return x, (ag.sqrt(x) * 2).sum()  # d sqrt/dx = inf at 0


def test_backward_raises_naming_the_op_and_the_line(backend):
    with ag.detect_anomaly():
        x, y = _sqrt_at_zero(backend)
        with pytest.raises(ag.AnomalyError, match=r"'sqrt', created at .*test_anomaly.py:\d+ "
                                                  r"in _sqrt_at_zero.*Inf"):
            y.backward()


def test_off_by_default(backend):
    x, y = _sqrt_at_zero(backend)
    y.backward()
    assert np.isinf(x.grad.numpy()[0])


def test_grad_and_create_graph_are_checked(backend):
    with ag.detect_anomaly():
        x, y = _sqrt_at_zero(backend)
        with pytest.raises(ag.AnomalyError, match="'sqrt'"):
            grad(y, x)
        x, y = _sqrt_at_zero(backend)
        with pytest.raises(ag.AnomalyError, match="'sqrt'"):
            grad(y, x, create_graph=True)


def test_the_first_anomaly_is_reported(backend):
    with ag.detect_anomaly():
        x = backend.tensor([-1.0, 4.0])
        y = ag.log(ag.sqrt(x * x) - 1.0)  # fine forward at x=4; log(0) at x=-1: inf grad
        with pytest.raises(ag.AnomalyError, match="'log'"):
            y.sum().backward()


def test_finite_backward_is_unaffected(backend):
    with ag.detect_anomaly():
        x = backend.tensor([0.5, 1.0])
        (ag.exp(x) * ag.sin(x)).sum().backward()
    h = np.array([0.5, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(h) * (np.sin(h) + np.cos(h)))
