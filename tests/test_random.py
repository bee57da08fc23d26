"""``anygrad.random``: reproducible draws on every backend, with the asked dtype and device."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad import random


def draws(device):
    return [random.rand(3, 4, device=device), random.randn((2, 5), device=device),
            random.uniform(-2.0, 3.0, (50,), device=device),
            random.normal(1.0, 0.5, 4, device=device), random.randint(0, 7, (20,), device=device),
            random.permutation(10, device=device), random.bernoulli(0.3, (4,), device=device)]


def test_seed_makes_draws_reproducible(backend):
    random.seed(123)
    first = [t.numpy() for t in draws(backend.device)]
    random.seed(123)
    again = [t.numpy() for t in draws(backend.device)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    random.seed(124)
    assert not np.array_equal(random.rand(3, 4, device=backend.device).numpy(), first[0])
    assert random.initial_seed() == 124


def test_shapes_dtypes_devices_and_ranges(backend):
    random.seed(0)
    u = random.rand(1000, device=backend.device)
    assert u.shape == (1000,) and u.dtype == ag.float64 and u.device == backend.device
    assert 0 <= u.numpy().min() and u.numpy().max() < 1 and not u.requires_grad
    n = random.randn(2000, device=backend.device, dtype=ag.float32, requires_grad=True)
    assert n.dtype == ag.float32 and n.requires_grad
    assert abs(n.numpy().mean()) < 0.1 and abs(n.numpy().std() - 1) < 0.1
    x = random.uniform(-2.0, 3.0, (500,), device=backend.device)
    assert -2 <= x.numpy().min() and x.numpy().max() < 3
    y = random.normal(5.0, 0.1, (500,), device=backend.device)
    assert abs(y.numpy().mean() - 5) < 0.05
    k = random.randint(3, 7, (500,), device=backend.device, dtype="int32")
    assert k.dtype == ag.int32 and set(np.unique(k.numpy())) == {3, 4, 5, 6}
    assert set(np.unique(random.randint(2, size=(100,), device=backend.device).numpy())) == {0, 1}
    perm = random.permutation(20, device=backend.device)
    assert perm.dtype == ag.int64 and sorted(perm.tolist()) == list(range(20))
    if backend.name != "strict":  # array-api-strict has no float16
        assert random.rand(4, device=backend.device, dtype="float16").dtype == ag.float16
    assert random.rand((), device=backend.device).shape == ()


def test_bad_arguments():
    with pytest.raises(ValueError, match="randint"):
        random.randint(5, 5)
    with pytest.raises(TypeError, match="int64"):
        random.rand(3, dtype="int64")


def test_manual_seed_is_seed():
    random.manual_seed(7)
    a = random.randn(3).numpy()
    random.seed(7)
    np.testing.assert_array_equal(a, random.randn(3).numpy())
