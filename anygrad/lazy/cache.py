"""The plan cache: a loop that builds the same graph every step plans it once."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

SIZE = 256


@dataclass
class Stats:
    """Counters of the plan cache (``anygrad.lazy.stats``).

    Attributes:
        hits: Look-ups that found an entry (a realization's plan, or a backward's).
        misses: Look-ups that found none.
    """

    hits: int = 0
    misses: int = 0

    def reset(self) -> None:
        """Set both counters to zero."""
        self.hits = self.misses = 0


stats = Stats()
_plans: OrderedDict[tuple, Any] = OrderedDict()


def lookup(signature: tuple) -> Any:
    """The plan built for ``signature`` before, or None."""
    plan = _plans.get(signature)
    if plan is None:
        stats.misses += 1
    else:
        stats.hits += 1
        _plans.move_to_end(signature)
    return plan


def store(signature: tuple, plan: Any) -> None:
    """Keep ``plan`` for ``signature``, evicting the least recently used past ``SIZE`` plans."""
    _plans[signature] = plan
    if len(_plans) > SIZE:
        _plans.popitem(last=False)


def clear() -> None:
    """Forget every plan (and reset the counters)."""
    _plans.clear()
    stats.reset()
