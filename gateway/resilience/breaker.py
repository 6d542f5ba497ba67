"""A circuit breaker per subgraph: closed -> open after N failures in a window -> half-open probe.

Closed: calls go through; failures (timeouts, connection errors, HTTP 5xx) are remembered for
``window`` seconds and ``failure_threshold`` of them open the breaker. Open: calls fail at once for
``open_seconds``. Then half-open: one probe call goes through; its success closes the breaker, its
failure opens it again for another ``open_seconds``.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import deque
from collections.abc import Callable

_log = logging.getLogger("gateway.resilience")


class BreakerState(enum.IntEnum):  # the values are the gauge's (gateway_circuit_breaker_state)
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        window: float = 10.0,
        open_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold  # 0: never opens
        self.window = window
        self.open_seconds = open_seconds
        self.state = BreakerState.CLOSED
        self._clock = clock
        self._on_change = on_change
        self._failures: deque[float] = deque()
        self._opened_at = 0.0
        self._probing = False

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if self._clock() - self._opened_at < self.open_seconds:
                return False
            self._set(BreakerState.HALF_OPEN)
        if self._probing:
            return False
        self._probing = True
        return True

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a probe through."""
        return max(0.0, self._opened_at + self.open_seconds - self._clock())

    def record_success(self) -> None:
        if self.state is not BreakerState.CLOSED:
            self._probing = False
            self._failures.clear()
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        now = self._clock()
        if self.state is BreakerState.HALF_OPEN:
            self._probing = False
            self._open(now)
            return
        if self.state is BreakerState.OPEN or not self.failure_threshold:
            return
        self._failures.append(now)
        while self._failures and self._failures[0] < now - self.window:
            self._failures.popleft()
        if len(self._failures) >= self.failure_threshold:
            self._open(now)

    def release(self) -> None:
        """A probe that ended without a verdict (cancelled): let another one try."""
        self._probing = False

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._failures.clear()
        self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        if state is self.state:
            return
        self.state = state
        _log.warning("circuit breaker for subgraph %s is %s", self.name, state.name.lower().replace("_", "-"))
        if self._on_change is not None:
            self._on_change(self.name, state)
