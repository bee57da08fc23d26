"""Facts the forward settles once so that backward need not test them per gradient: operands
of one shape and dtype (the op's exact variant), rules that pass the gradient on, the mode
as one shared object. Each must give exactly the gradients of the general path."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad import modes
from anygrad.autograd.op import passes
from anygrad.testing import gradcheck


@pytest.fixture(autouse=True)
def _eager():
    """Eager mode's records, whatever mode the suite runs in (lazy mode records nodes)."""
    with ag.mode("eager"):
        yield


def test_same_shape_and_dtype_operands_record_the_exact_variant(backend):
    x = backend.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype="float32")
    w = backend.tensor(np.ones((2, 3)), dtype="float32")
    if x.data.dtype is not w.data.dtype:  # (array-api-strict: equal dtypes, not one object)
        pytest.skip("this library's arrays do not share dtype objects: the general path")
    exact = (x * w)._op
    assert exact.checks == 0 and exact.name == "multiply" and exact.vjps == ag.multiply.op.vjps
    assert (x * 2.0)._op.checks == 0  # a Python number keeps the tensor's dtype
    assert (x * backend.tensor(np.ones(3), dtype="float32"))._op.checks == 2  # broadcast
    assert (x * backend.tensor(np.ones((2, 3))))._op.checks == 2  # float32 with float64
    assert (x * 1j)._op.checks == 2  # a complex number makes the result complex
    assert ag.sin(x)._op.checks == 0 and ag.real(x)._op.checks == 1


@pytest.mark.parametrize("shape_y", [(2, 3), (3,), (2, 1), ()])
def test_mixed_shapes_and_dtypes_keep_each_inputs_shape_and_dtype(backend, shape_y):
    x = backend.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype="float32")
    y = backend.tensor(np.full(shape_y, 0.5))  # float64
    (ag.tanh(x) * y + y).sum().backward()
    assert x.grad.dtype == ag.float32 and x.grad.shape == (2, 3)
    assert y.grad.dtype == ag.float64 and y.grad.shape == shape_y
    want = (1 - np.tanh(x.numpy().astype(np.float64)) ** 2) * 0.5
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
    full = np.tanh(x.numpy().astype(np.float64)) + 1
    want_y = {(2, 3): full, (3,): full.sum(0), (2, 1): full.sum(1, keepdims=True),
              (): full.sum()}[shape_y]
    np.testing.assert_allclose(y.grad.numpy(), want_y, rtol=1e-6)


def test_exact_ops_differentiate_as_the_general_ones(backend):
    x = backend.tensor(np.linspace(0.2, 1.4, 6).reshape(2, 3))
    y = backend.tensor(np.linspace(-0.7, 0.9, 6).reshape(2, 3))
    gradcheck(lambda a, b: ag.sin(a * b + a) / (b * b + 1) - a ** b, x, y)


def test_rules_that_pass_the_gradient_on_give_leaves_arrays_of_their_own(backend):
    assert ag.add.op.vjps == (passes, passes)
    x = backend.tensor([1.0, 2.0])
    y = x + x  # both of add's inputs receive the incoming gradient itself
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    a, b = backend.tensor([1.0]), backend.tensor([3.0])
    (a + b).backward()
    assert a.grad is not b.grad
    a.grad.data[...] = 5  # writing one gradient leaves the other alone
    np.testing.assert_allclose(b.grad.numpy(), [1.0])


def test_modes_are_shared_instances():
    assert modes.MODE.get() is modes.EAGER
    with ag.no_grad():
        assert modes.MODE.get() is modes.canonical(modes.Mode(grad=False))
        with ag.enable_grad():
            assert modes.MODE.get() is modes.EAGER
            x = ag.Tensor([1.0, 2.0])
            assert (x * x).requires_grad
        assert not (x * x).requires_grad
    with ag.lazy():
        assert modes.MODE.get().lazy
    assert modes.MODE.get() is modes.EAGER
