"""``out=`` on anygrad's elementwise functions (MyGrad's and NumPy's): the result is written
into ``out``'s memory, visible through its views, and gradients flow as without ``out``."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag


def test_out_writes_in_place_and_differentiates(backend):
    w = backend.tensor([1.0, 2.0, 3.0])
    v = backend.tensor([0.5, 0.25, 2.0])
    x = w * 1.0
    head = x[:2]
    r = ag.multiply(x, v, out=x)
    assert r is x
    np.testing.assert_allclose(head.numpy(), [0.5, 0.5])  # the view sees the write
    ag.exp(x, out=x)
    x.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), v.numpy() * np.exp([0.5, 0.5, 6.0]))
    np.testing.assert_allclose(v.grad.numpy(), [1.0, 2.0, 3.0] * np.exp([0.5, 0.5, 6.0]))


def test_out_of_another_shape_is_refused(backend):
    x = backend.tensor([1.0, 2.0])
    with pytest.raises(ag.ShapeError, match="out="):
        ag.add(x, x, out=backend.tensor([0.0]))
    with pytest.raises(TypeError, match="out="):
        ag.exp(x, out=[0.0, 0.0])
