"""Backends whose arrays cannot be written in place (JAX; Dask): writes stay functional, views
are copies and ``base`` is None, and values and gradients are never wrong. Tested on
array-api-strict told to behave so, since JAX is not a test dependency."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad import backends

strict = pytest.importorskip("array_api_strict")


class ImmutableBackend(backends.GenericBackend):
    """array-api-strict, as a library without views or in-place writes."""

    views = False


@pytest.fixture
def immutable():
    backend = ImmutableBackend(strict, strict.Device("CPU_DEVICE"), backends.Device("immutable"))
    with backends.registered({"immutable": backend}), ag.default_device("immutable"):
        yield backend


def test_views_are_copies(immutable):
    x = ag.tensor([1.0, 2.0, 3.0, 4.0])
    y = x[:2]
    assert y.base is None and x.T.base is None and x.reshape(2, 2).base is None
    y *= -1
    np.testing.assert_array_equal(x.numpy(), [1, 2, 3, 4])  # no memory is shared
    np.testing.assert_array_equal(y.numpy(), [-1, -2])


def test_functional_writes_give_the_gradients_of_the_program(immutable):
    w = ag.tensor([1.0, 2.0, 3.0])
    x = w * 1.0
    y = x * x                 # saved x before the write
    x[0] = 5.0
    x += w
    (y.sum() + (x * x).sum()).backward()
    # y = w^2; x = [5 + w0, 2 w1, 2 w2] -> d/dw: 2w + [2 x0, 4 x1, 4 x2]
    xv = np.array([6.0, 4.0, 6.0])
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.array([1.0, 2, 3]) + [2 * xv[0],
                                                                            4 * xv[1],
                                                                            4 * xv[2]])


def test_a_leaf_written_keeps_the_gradient_of_its_new_value(immutable):
    x = ag.tensor([1.0, 2.0])
    x[1] = 3.0
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 6.0])
