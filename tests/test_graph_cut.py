"""No silent graph cuts: a Tensor that requires grad turned into NumPy or Python values warns
(once per call site, at the caller's line), raises, or stays silent, as ``set_graph_cut`` says."""

from __future__ import annotations

import inspect
import threading
import warnings
from operator import methodcaller

import numpy as np
import pytest

import anygrad as ag
from anygrad.graph_cut import GraphCutError

CONVERSIONS = {
    "float(t)": float,
    "int(t)": int,
    "complex(t)": complex,
    "t.item()": methodcaller("item"),  # C callables: the caller's frame is the test's
    "t.tolist()": methodcaller("tolist"),
    "np.asarray(t)": np.asarray,
    "from_dlpack(t)": np.from_dlpack,
}


def _loss(backend) -> ag.Tensor:
    x = backend.tensor([1.5, -2.0, 3.0])
    return ag.sum(x * x, keepdims=True)  # computed, requires grad; shape (1,)


@pytest.fixture
def strict_silence():
    """Any GraphCutWarning inside the block fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ag.GraphCutWarning)
        yield


@pytest.mark.parametrize("how", list(CONVERSIONS))
def test_each_implicit_conversion_warns_at_the_callers_line(backend, how):
    loss = _loss(backend)
    convert = CONVERSIONS[how]
    with pytest.warns(ag.GraphCutWarning) as record:
        line = inspect.currentframe().f_lineno + 1
        value = convert(loss)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{how} on a Tensor that requires grad (shape (1,), float64)")
    assert "t.detach()" in message and "no_grad" in message
    assert record[0].filename == __file__ and record[0].lineno == line
    assert np.ravel(value)[0] == (15 if how == "int(t)" else 15.25)  # the value is right


def test_once_per_call_site(backend):
    loss = _loss(backend)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")  # Python's own default: once per location
        for _ in range(3):
            float(loss)
        for _ in range(2):
            float(loss)
    cuts = [w for w in record if issubclass(w.category, ag.GraphCutWarning)]
    assert len(cuts) == 2 and cuts[0].lineno != cuts[1].lineno


def test_library_call_site_is_the_first_frame_outside_anygrad(backend):
    x = backend.tensor([0.5, 0.25])
    with pytest.warns(ag.GraphCutWarning) as record:
        ag.full((2,), ag.sum(x))  # anygrad reads the fill value as a Python number
    assert record[0].filename == __file__


def test_explicit_ways_and_constants_stay_silent(backend, strict_silence):
    x = backend.tensor([1.0, 2.0])
    loss = ag.sum(x * 3.0)
    assert loss.numpy() == 9.0
    assert float(loss.detach()) == 9.0 and loss.detach().item() == 9.0
    assert np.asarray(x.detach()).tolist() == [1.0, 2.0]
    with ag.no_grad():
        assert float(loss) == 9.0 and loss.item() == 9.0 and x.tolist() == [1.0, 2.0]
        np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0])
    const = backend.tensor([1.0, 2.0], requires_grad=False)
    assert float(const[0]) == 1.0 and np.asarray(const).sum() == 3.0
    assert int(backend.tensor([3])[0]) == 3 and [10, 20, 30][backend.tensor(1)] == 20


def test_bool_and_formatting_stay_silent(backend, strict_silence):
    loss = _loss(backend)
    if loss > 0:  # a bool tensor: no gradient to lose
        branch = "positive"
    assert branch == "positive" and bool(loss)  # control flow, not a value in arithmetic
    assert f"{loss:.2f}" == "15.25" and "requires_grad=True" in repr(loss)
    with pytest.raises(ag.ShapeError, match="ambiguous"):
        bool(backend.tensor([1.0, 2.0]))


def test_raise_mode_is_a_typed_error_and_restores(backend):
    loss = _loss(backend)
    assert ag.get_graph_cut() == "warn"
    with ag.set_graph_cut("raise"):
        assert ag.get_graph_cut() == "raise"
        for how, convert in CONVERSIONS.items():
            with pytest.raises(GraphCutError, match=rf"^{how.replace('(', '.').replace(')', '.')}"
                               rf" on a Tensor that requires grad") as info:
                convert(loss)
            assert isinstance(info.value, ag.GraphError | ag.AnygradError)
        assert float(loss.detach()) == 15.25  # the explicit ways still work
    assert ag.get_graph_cut() == "warn"


def test_ignore_mode_and_set_graph_cut_as_a_statement(backend, strict_silence):
    loss = _loss(backend)
    setting = ag.set_graph_cut("ignore")
    try:
        assert ag.get_graph_cut() == "ignore"
        assert float(loss) == 15.25 and np.asarray(loss) == 15.25
    finally:
        setting.__exit__(None, None, None)
    assert ag.get_graph_cut() == "warn"
    with pytest.raises(ValueError, match="'warn', 'raise', 'ignore'.*'loud'"):
        ag.set_graph_cut("loud")


def test_the_mode_is_per_thread():
    seen = []
    with ag.set_graph_cut("raise"):
        worker = threading.Thread(target=lambda: seen.append(ag.get_graph_cut()))
        worker.start()
        worker.join()
        assert ag.get_graph_cut() == "raise"
    assert seen == ["warn"]


def test_a_cut_loses_the_gradient_it_warns_about(backend):
    x = backend.tensor([2.0])
    with pytest.warns(ag.GraphCutWarning):
        scale = float(ag.sum(x))  # the gradient through ``scale`` is lost ...
    y = ag.sum(x * scale)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0])  # ... d/dx (x * x) would be 4
