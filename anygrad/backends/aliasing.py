"""Who else holds an array: the question an in-place write asks before it writes.

A write into a tensor's memory may only happen in place when nothing but the tensors of that
memory (its base and their views) holds the arrays: a graph node that saved one of them for
backward, or an array aliasing the memory that anygrad does not track, would see the new
values. Python's reference counts answer exactly, at no cost to the ops that save arrays;
the count one array held by one tensor has is measured here once, so the test does not
depend on how the interpreter counts a call's own references.
"""

from __future__ import annotations

from collections.abc import Callable
from sys import getrefcount
from typing import Any


def _counts(items: list) -> list[int]:
    return [getrefcount(it) for it in items]


_FREE = _counts([object()])[0]  # the count of an object that only ``items`` holds
_HELD = _FREE + 2  # one of ``arrays``, held by its tensor too


def exclusive_by_base(arrays: list, base_of: Callable[[Any], Any]) -> bool:
    """Whether ``arrays`` (each held by one tensor) are held by nothing else and their memory
    owners only by them. ``base_of(a)`` is the object whose memory ``a`` views (NumPy's and
    CuPy's ``.base``, which names the owner, not an intermediate view), or None."""
    items, held = _owners(arrays, base_of)
    return _counts(items) == held


def _owners(arrays: list, base_of: Callable[[Any], Any]) -> tuple[list, list[int]]:
    """``arrays`` and the owners they view, each with the count it has if nothing else
    holds it (a function of its own, so that no loop variable here holds an array)."""
    items = list(arrays)
    held = [_HELD] * len(items)
    for a in arrays:
        owner = base_of(a)
        if owner is None:
            continue
        for i, it in enumerate(items):
            if it is owner:
                held[i] += 1  # a view holds its owner once
                break
        else:
            items.append(owner)
            held.append(_FREE + 1)
    return items, held


def exclusive_objects(arrays: list, first_extra: int = 0) -> bool:
    """Whether each of ``arrays`` is held by its tensor alone (memory sharing not checked);
    the first may hold ``first_extra`` references more (torch: a tensor with views holds
    itself once)."""
    items = list(arrays)
    return _counts(items) == [_HELD + first_extra] + [_HELD] * (len(items) - 1)
