"""Retries of subgraph queries: full-jitter exponential backoff, bounded by a retry budget.

The budget earns ``ratio`` of a retry per request and spends one per retry (plus ``min_per_second``
always available), so under a broad outage retries add at most ``ratio`` more load instead of
multiplying it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class RetryBudget:
    def __init__(
        self,
        ratio: float = 0.2,
        *,
        min_per_second: float = 2.0,
        capacity: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._last = clock()

    def deposit(self) -> None:
        """One request went out."""
        self._tokens = min(self.capacity, self._tokens + self.ratio)

    def withdraw(self) -> bool:
        """May one retry go out now?"""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.min_per_second)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
    return random.uniform(0.0, min(cap, base * (2**attempt)))
