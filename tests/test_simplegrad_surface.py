"""simplegrad's Tensor surface beside ours: ``values=``/``Tensor.values``, ``comp_grad=``,
``convert_to`` and ``Tensor.deferred``."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag


def test_values_and_comp_grad_are_synonyms(backend):
    t = ag.Tensor(values=[1.0, 2.0], comp_grad=False)
    assert not t.requires_grad and t.device == backend.device
    np.testing.assert_array_equal(np.asarray(t.numpy()), [1.0, 2.0])
    assert ag.Tensor(values=[1.0], comp_grad=True).requires_grad
    assert t.values is t.data
    with pytest.raises(TypeError, match="once"):
        ag.Tensor([1.0], values=[2.0])
    with pytest.raises(TypeError, match="not both"):
        ag.Tensor([1.0], requires_grad=True, comp_grad=True)
    with pytest.raises(TypeError, match="needs its data"):
        ag.Tensor()


def test_convert_to_in_place_converts_values_and_gradient(backend):
    t = backend.tensor([1.5, 2.5])
    (t * 3.0).sum().backward()
    assert t.convert_to("float32") is t
    assert t.dtype == ag.float32 and t.grad.dtype == ag.float32
    np.testing.assert_allclose(t.grad.numpy(), [3.0, 3.0])
    (t * 1.0).sum().backward()  # accumulates in the new dtype
    assert t.grad.dtype == ag.float32
    np.testing.assert_allclose(t.grad.numpy(), [4.0, 4.0])
    t.convert_to("int32")
    assert t.dtype == ag.int32 and not t.requires_grad and t.grad is None
    np.testing.assert_array_equal(t.numpy(), [1, 2])


def test_convert_to_a_new_tensor_leaves_the_original(backend):
    t = backend.tensor([1.5, 2.5])
    u = t.convert_to("float32", inplace=False)
    assert u is not t and u.dtype == ag.float32 and u.requires_grad and u.is_leaf
    assert t.dtype == ag.float64
    c = t.convert_to("int64", inplace=False)
    assert c.dtype == ag.int64 and not c.requires_grad
    with pytest.raises(ag.DTypeError, match="convert_to"):
        (t * 2.0).convert_to("int32")


def test_a_view_converted_in_place_owns_its_memory(backend):
    x = backend.tensor([1.0, 2.0, 3.0])
    y = x[:2]
    y.convert_to("float32")
    assert y.base is None
    y[0] = 9.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])


def test_deferred_runs_once_at_realize_in_graph_order(backend):
    calls = []
    host = np.arange(6, dtype=np.float32).reshape(2, 3)

    def forward():
        calls.append(1)
        return ag.Tensor(host, requires_grad=False).data

    d = ag.Tensor.deferred(forward, (2, 3))
    assert d.shape == (2, 3) and d.dtype == ag.float32 and not calls and not d.requires_grad
    with ag.lazy():
        y = ag.exp(d) * 2.0 + d
    assert not calls
    np.testing.assert_allclose(y.numpy(), np.exp(host) * 2 + host, rtol=1e-6)
    np.testing.assert_allclose(d.numpy(), host)
    assert len(calls) == 1
    w = backend.tensor(np.ones((3,), np.float32))
    z = ag.Tensor.deferred(forward, (2, 3))
    (z * w).sum().backward()  # eager use realizes it; the gradient flows to w
    np.testing.assert_allclose(w.grad.numpy(), host.sum(axis=0))
    assert len(calls) == 2


def test_deferred_checks_what_it_declared(backend):
    wrong_shape = ag.Tensor.deferred(lambda: ag.zeros(3, dtype=ag.float32).data, (2, 3))
    with pytest.raises(ag.ShapeError, match="deferred"):
        wrong_shape.realize()
    wrong_dtype = ag.Tensor.deferred(lambda: ag.zeros((2, 3)).data, (2, 3), "float32")
    with pytest.raises(ag.DTypeError, match="deferred"):
        wrong_dtype.realize()
    with pytest.raises(TypeError, match="callable"):
        ag.Tensor.deferred(3, (2,))
    with pytest.raises(TypeError, match="deferred"):
        ag.Tensor.deferred(lambda: None, (2.5,))
