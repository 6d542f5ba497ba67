"""Flow control: per-tenant and per-operation concurrency limits, load shedding on event-loop lag.

Each admitted GraphQL request holds a slot of its tenant (the principal's tenant, else the client
address) and of its operation name until its response is ready. A request over either limit, or any
request while the event loop lags more than the shedding threshold, is refused at once with 503 and
``Retry-After``: one tenant's burst fills its own slots, not the gateway. Liveness, readiness and
/metrics are not GraphQL requests and stay green.

The lag monitor wakes every ``interval`` seconds and measures how late it woke; the smoothed lag
(EWMA) above the threshold means the loop cannot keep up with the work it already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.http.errors import HTTPRequestError
from gateway.observability.metrics import SHED
from shared.observability.prometheus import child

TENANT_LIMIT = "TENANT_CONCURRENCY_LIMIT"
OPERATION_LIMIT = "OPERATION_CONCURRENCY_LIMIT"
OVERLOADED = "OVERLOADED"


@dataclass(frozen=True, slots=True)
class FlowSettings:
    tenant_concurrency: int = 0  # in-flight requests per tenant; 0: no limit
    operation_concurrency: int = 0  # in-flight requests per operation name; 0: no limit
    shed_loop_lag: float = 0.0  # seconds of smoothed event-loop lag that start shedding; 0: never
    retry_after: int = 1  # seconds, in the 503's Retry-After

    @property
    def active(self) -> bool:
        return bool(self.tenant_concurrency or self.operation_concurrency or self.shed_loop_lag)


class LoopLagMonitor:
    def __init__(self, interval: float = 0.05, smoothing: float = 0.3) -> None:
        self.interval = interval
        self.smoothing = smoothing
        self.lag = 0.0  # seconds, smoothed
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-monitor")

    async def _run(self) -> None:
        while True:
            expected = time.perf_counter() + self.interval
            await asyncio.sleep(self.interval)
            late = max(0.0, time.perf_counter() - expected)
            self.lag += self.smoothing * (late - self.lag)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class FlowControl:
    def __init__(self, settings: FlowSettings) -> None:
        self.settings = settings
        self.tenants: dict[str, int] = {}
        self.operations: dict[str, int] = {}
        self.monitor = LoopLagMonitor() if settings.shed_loop_lag else None
        self.refused = 0

    def _refuse(self, reason: str, message: str) -> HTTPRequestError:
        self.refused += 1
        child(SHED, reason).inc()
        return HTTPRequestError(503, message, reason, headers={"Retry-After": str(self.settings.retry_after)})

    @contextlib.contextmanager
    def admit(self, tenant: str, operation: str | None) -> Iterator[None]:
        """Hold a slot of ``tenant`` and ``operation`` for the block, or raise the 503."""
        s = self.settings
        if self.monitor is not None:
            self.monitor.start()
            if self.monitor.lag > s.shed_loop_lag:
                raise self._refuse(OVERLOADED, "The gateway is overloaded; retry later.")
        held_tenant = held_operation = False
        try:
            if s.tenant_concurrency:
                if self.tenants.get(tenant, 0) >= s.tenant_concurrency:
                    raise self._refuse(
                        TENANT_LIMIT,
                        f"Too many concurrent requests for this tenant (limit "
                        f"{s.tenant_concurrency}); retry later.",
                    )
                self.tenants[tenant] = self.tenants.get(tenant, 0) + 1
                held_tenant = True
            if s.operation_concurrency and operation:
                if self.operations.get(operation, 0) >= s.operation_concurrency:
                    raise self._refuse(
                        OPERATION_LIMIT,
                        f"Too many concurrent '{operation[:80]}' operations "
                        f"(limit {s.operation_concurrency}); retry later.",
                    )
                self.operations[operation] = self.operations.get(operation, 0) + 1
                held_operation = True
            yield
        finally:
            if held_tenant:
                _release(self.tenants, tenant)
            if held_operation and operation:
                _release(self.operations, operation)

    async def close(self) -> None:
        if self.monitor is not None:
            await self.monitor.close()


def _release(counts: dict[str, int], key: str) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]  # the table holds only keys with requests in flight
