"""The gateway's subgraph client with breakers, retries, per-subgraph limits, metrics and tracing.

A ``SubgraphClient`` whose exchange (one HTTP call, after in-flight deduplication) goes through the
subgraph's circuit breaker, its own timeout and connection limit, a ``subgraph.fetch`` span carrying
``traceparent`` to the subgraph, and the latency histogram. Queries whose call failed fast
(connection refused or reset, HTTP 502/503/504) are retried with jittered backoff while the retry
budget and the request's timeout allow; mutations and timed-out calls never are.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from opentelemetry import trace

from gateway.execution.http_client import RawResponse, SubgraphClient, SubgraphError
from gateway.observability import metrics
from gateway.resilience.breaker import BreakerState, CircuitBreaker
from gateway.resilience.retry import RetryBudget, backoff
from shared.observability import tracing
from shared.observability.prometheus import child

SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"
_RETRY_STATUSES = frozenset({502, 503, 504})
_MUTATION = b'{"query":"mutation'  # orjson's encoding of a payload whose operation is a mutation
_tracer = tracing.tracer("gateway.subgraph")
_CALLER: contextvars.ContextVar[object] = contextvars.ContextVar("subgraph_caller", default=None)


@dataclass(frozen=True, slots=True)
class ResilienceSettings:
    timeouts: Mapping[str, float] = field(default_factory=dict)  # by subgraph name; default: the client's
    connection_limits: Mapping[str, int] = field(default_factory=dict)  # concurrent calls per subgraph
    failure_threshold: int = 5  # 0: breakers off
    window: float = 10.0
    open_seconds: float = 5.0
    retries: int = 2  # extra attempts for a query; 0: none
    retry_backoff: float = 0.05
    retry_backoff_max: float = 1.0
    retry_budget_ratio: float = 0.2


def _on_change(name: str, state: BreakerState) -> None:
    child(metrics.BREAKER_STATE, name).set(int(state))
    child(metrics.BREAKER_TRANSITIONS, name, state.name.lower()).inc()


class ResilientClient(SubgraphClient):
    def __init__(
        self,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        *,
        connections: int = 64,
        dedup: bool = True,
        subgraphs: Mapping[str, str] | None = None,
        settings: ResilienceSettings | None = None,
    ) -> None:
        super().__init__(timeout, headers, connections=connections, dedup=dedup)
        self.settings = settings or ResilienceSettings()
        self.names = dict(subgraphs or {})  # url -> subgraph name
        self.breakers: dict[str, CircuitBreaker] = {}
        self.budget = RetryBudget(self.settings.retry_budget_ratio)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._originated: set[object] = set()
        for name in self.names.values():
            self.breaker(name)

    def breaker(self, name: str) -> CircuitBreaker:
        found = self.breakers.get(name)
        if found is None:
            s = self.settings
            found = self.breakers[name] = CircuitBreaker(
                name,
                failure_threshold=s.failure_threshold,
                window=s.window,
                open_seconds=s.open_seconds,
                on_change=_on_change,
            )
            child(metrics.BREAKER_STATE, name).set(0)
        return found

    async def post(
        self,
        url: str,
        payload: dict[str, Any],
        extra_headers: Mapping[str, str] | None = None,
        *,
        dedup_key: Hashable | None = None,
    ) -> dict[str, Any]:
        # The exchange runs in this call's context, or in the task of the identical call it joined
        # (tasks copy the context they are created in): which one tells whether it was shared.
        token = object()
        reset = _CALLER.set(token)
        try:
            return await super().post(url, payload, extra_headers, dedup_key=dedup_key)
        finally:
            _CALLER.reset(reset)
            if token in self._originated:
                self._originated.discard(token)
            elif dedup_key is not None:
                child(metrics.DEDUPLICATED, "subgraph").inc()  # answered by an identical call in flight

    async def _exchange(self, url: str, body: bytes, headers: Mapping[str, str]) -> RawResponse:
        self._originated.add(_CALLER.get())
        name = self.names.get(url, url)
        breaker = self.breaker(name)
        timeout = self.settings.timeouts.get(name, self.timeout)
        retryable = self.settings.retries > 0 and not body.startswith(_MUTATION)
        started = time.monotonic()
        attempt = 0
        self.budget.deposit()
        while True:
            if not breaker.allow():
                child(metrics.SUBGRAPH_FETCHES, name, "circuit_open").inc()
                raise SubgraphError(
                    f"Subgraph {name} is unavailable (circuit open; retry in {breaker.retry_after():.1f}s)",
                    SUBGRAPH_UNAVAILABLE,
                )
            try:
                status, raw = await self._timed(name, url, body, headers, timeout)
            except SubgraphError as exc:
                breaker.record_failure()
                fast = exc.code != "GATEWAY_TIMEOUT"
                if not (retryable and fast and self._may_retry(attempt, started, timeout)):
                    raise
            except BaseException:
                breaker.release()  # cancelled: no verdict on the subgraph
                raise
            else:
                if status < 500:
                    breaker.record_success()
                    return status, raw
                breaker.record_failure()
                if not (
                    retryable and status in _RETRY_STATUSES and self._may_retry(attempt, started, timeout)
                ):
                    return status, raw
            child(metrics.SUBGRAPH_RETRIES, name).inc()
            await asyncio.sleep(
                backoff(attempt, self.settings.retry_backoff, self.settings.retry_backoff_max)
            )
            attempt += 1

    def _may_retry(self, attempt: int, started: float, timeout: float) -> bool:
        if attempt >= self.settings.retries:
            return False
        # A retry must still fit in the time a single call may take: the caller's wait stays bounded.
        if time.monotonic() - started + self.settings.retry_backoff * (2**attempt) >= timeout:
            return False
        return self.budget.withdraw()

    def _limit(self, name: str) -> asyncio.Semaphore | None:
        semaphore = self._limits.get(name)
        if semaphore is None:
            size = self.settings.connection_limits.get(name)
            if not size:
                return None
            semaphore = self._limits[name] = asyncio.Semaphore(size)
        return semaphore

    def _timed(
        self, name: str, url: str, body: bytes, headers: Mapping[str, str], seconds: float
    ) -> Awaitable[RawResponse]:
        """The measured call, behind the subgraph's connection limit when it has one (no extra frame
        on the common path)."""
        limit = self._limit(name) if self.settings.connection_limits else None
        if limit is None:
            return self._measured(name, url, body, headers, seconds)
        return self._limited(limit, name, url, body, headers, seconds)

    async def _limited(
        self,
        limit: asyncio.Semaphore,
        name: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        seconds: float,
    ) -> RawResponse:
        async with limit:
            return await self._measured(name, url, body, headers, seconds)

    async def _measured(
        self, name: str, url: str, body: bytes, headers: Mapping[str, str], seconds: float
    ) -> RawResponse:
        started = time.perf_counter()
        outcome = "error"
        try:
            if tracing.enabled():
                with _tracer.start_as_current_span(
                    "subgraph.fetch",
                    kind=trace.SpanKind.CLIENT,
                    attributes={"subgraph.name": name, "url.full": url},
                ) as span:
                    carrier = tracing.inject(dict(headers))
                    status, raw = await self._send(url, body, carrier, seconds)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(trace.StatusCode.ERROR)
            else:
                status, raw = await self._send(url, body, headers, seconds)
            outcome = "ok" if status < 500 else "http_5xx"
            return status, raw
        except SubgraphError as exc:
            outcome = "timeout" if exc.code == "GATEWAY_TIMEOUT" else "http_error"
            raise
        finally:
            child(metrics.SUBGRAPH_LATENCY, name).observe(time.perf_counter() - started)
            child(metrics.SUBGRAPH_FETCHES, name, outcome).inc()

    async def _send(self, url: str, body: bytes, headers: Mapping[str, str], seconds: float) -> RawResponse:
        session = self._get_session()
        self.calls += 1
        try:
            async with asyncio.timeout(seconds):
                async with session.post(url, data=body, headers=headers) as resp:
                    return resp.status, await resp.read()
        except TimeoutError as exc:
            raise SubgraphError(f"Timeout after {seconds}s waiting for subgraph", "GATEWAY_TIMEOUT") from exc
        except aiohttp.ClientError as exc:
            raise SubgraphError(f"HTTP fetch failed: {exc}", "SUBREQUEST_HTTP_ERROR") from exc
