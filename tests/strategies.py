"""Hypothesis strategies for gradient tests: shapes and float64 values from
``hypothesis.extra.array_api`` (on NumPy, then placed on the backend under test)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.array_api import make_strategies_namespace

xps = make_strategies_namespace(np)


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 4):
    return xps.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def values(shape, low: float = -2.0, high: float = 2.0, away_from: float | None = None,
           distinct: bool = False):
    """float64 arrays of ``shape`` in [low, high], optionally kept 0.1 away from a point."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if away_from is not None:
        elements = elements.filter(lambda v: abs(v - away_from) > 0.1)
    if distinct:  # well-separated values, so max/min/sort have no near-ties
        size = int(np.prod(shape))
        return st.permutations(range(size)).map(
            lambda p: (np.asarray(p, dtype=np.float64).reshape(shape) * 0.37 - size * 0.1))
    return xps.arrays(np.float64, shape, elements=elements)


def broadcastable_pair(max_dims: int = 3):
    """Two shapes that broadcast together (some axes of size 1, different ranks)."""
    return xps.mutually_broadcastable_shapes(2, min_dims=0, max_dims=max_dims, max_side=3).map(
        lambda r: r.input_shapes)
