"""``y.backward()`` and ``y.backward(seed)`` on a non-scalar ``y``, for ops of every family:
the gradient is that of ``sum(seed * y)``. Most tests reduce to a scalar first; this file makes
the suite's lazy run (every body inside ``anygrad.lazy()``) go through the backward of results
whose gradient is the seed itself (``a + b``) or a reshaping of it."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag

A = np.array([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]])
B = np.array([[2.0, 0.5, 1.0], [0.75, 1.25, 0.5]])

OPS = {
    "add": lambda a, b: a + b, "subtract": lambda a, b: a - b, "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b, "pow": lambda a, b: a ** b, "maximum": ag.maximum,
    "add scalar": lambda a, b: a + 1.0, "scalar minus": lambda a, b: 1.0 - a,
    "positive": lambda a, b: +a, "negative": lambda a, b: -a, "exp": lambda a, b: ag.exp(a),
    "log": lambda a, b: ag.log(a), "tanh": lambda a, b: ag.tanh(a),
    "sqrt": lambda a, b: ag.sqrt(a), "abs": lambda a, b: ag.abs(a),
    "reshape": lambda a, b: a.reshape(3, 2), "permute": lambda a, b: a.T,
    "flip": lambda a, b: ag.flip(a, axis=1), "slice": lambda a, b: a[:, 1:],
    "index": lambda a, b: a[1], "broadcast": lambda a, b: ag.broadcast_to(a, (2, 2, 3)),
    "expand_dims": lambda a, b: ag.expand_dims(a, axis=0),
    "sum axis": lambda a, b: ag.sum(a, axis=0), "mean keepdims": lambda a, b: ag.mean(
        a, axis=1, keepdims=True), "max axis": lambda a, b: ag.max(a, axis=1),
    "matmul": lambda a, b: a @ b.T, "concat": lambda a, b: ag.concat([a, b], axis=0),
    "stack": lambda a, b: ag.stack([a, b]), "where": lambda a, b: ag.where(a > 1, a, b),
    "written": lambda a, b: _written(a, b),
}


def _written(a: ag.Tensor, b: ag.Tensor) -> ag.Tensor:
    y = a * 1.0
    y[0] = b[1]
    return y


@pytest.mark.parametrize("name", OPS)
def test_backward_of_a_non_scalar(name, backend):
    f = OPS[name]
    a, b = backend.tensor(A), backend.tensor(B)
    y = f(a, b)
    seed = np.arange(1.0, 1.0 + y.size).reshape(y.shape)
    y.backward(backend.tensor(seed, requires_grad=False))
    got = [None if t.grad is None else t.grad.numpy() for t in (a, b)]
    y = f(a, b)
    y.backward()  # ones: the gradient of sum(y), accumulated onto the first
    twice = [None if t.grad is None else t.grad.numpy() for t in (a, b)]
    ra, rb = backend.tensor(A), backend.tensor(B)
    with ag.eager():
        (f(ra, rb) * backend.tensor(seed, requires_grad=False)).sum().backward()
        want = [None if t.grad is None else t.grad.numpy() for t in (ra, rb)]
        ra.zero_grad()
        rb.zero_grad()
        f(ra, rb).sum().backward()
        ones = [None if t.grad is None else t.grad.numpy() for t in (ra, rb)]
    for g, w, t, o in zip(got, want, twice, ones, strict=True):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-12)
            np.testing.assert_allclose(t, w + o, rtol=1e-12)
