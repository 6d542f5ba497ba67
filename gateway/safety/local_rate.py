"""The rate limit kept in this process while Redis cannot be reached (the degraded mode).

Same GCRA as the Redis script, on the monotonic clock: a caller may spend ``limit`` requests at once,
then one per ``period / limit``. Each gateway process counts on its own, so with N processes a caller
gets at most N times its budget while Redis is down (documented in docs/operations.md); memory is
bounded by evicting the least recently seen callers.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class LocalGcra:
    def __init__(self, per_minute: int, *, period: float = 60.0, max_callers: int = 100_000) -> None:
        self.period = period
        self.interval = period / per_minute
        self.max_callers = max_callers
        self._tat: OrderedDict[str, float] = OrderedDict()

    def wait(self, key: str, now: float | None = None) -> float:
        """0 when the request is allowed (and counted), else the seconds until it would be."""
        now = time.monotonic() if now is None else now
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + self.interval
        allow_at = new_tat - self.period
        if allow_at > now:
            return allow_at - now
        self._tat[key] = new_tat
        self._tat.move_to_end(key)
        if len(self._tat) > self.max_callers:
            self._tat.popitem(last=False)
        return 0.0

    def __len__(self) -> int:
        return len(self._tat)
