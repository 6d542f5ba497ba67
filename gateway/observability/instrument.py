"""Attach the operational layer to a ``Gateway``: resilient subgraph client, plan/shaping spans, counters.

Done from the outside (``create_app`` calls ``instrument_gateway``) so the engine, planner and executor
stay free of it: the client is swapped for a ``ResilientClient`` before any request, ``plan`` and the
shape compiler are wrapped on the instance to time and trace them and to count plan cache hits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.config import GatewayConfig
from gateway.observability import metrics
from gateway.observability.counters import mirror
from gateway.resilience.client import ResilienceSettings, ResilientClient
from shared.observability import tracing
from shared.observability.prometheus import child

if TYPE_CHECKING:
    from gateway.engine import Gateway

_tracer = tracing.tracer("gateway")
_MARK = "_ops_instrumented"
_SEEN = "_ops_inbound_shared_seen"


def resilience_settings(config: GatewayConfig) -> ResilienceSettings:
    return ResilienceSettings(
        timeouts=dict(config.subgraph_timeouts),
        connection_limits=dict(config.subgraph_connection_limits),
        failure_threshold=config.breaker_failure_threshold,
        window=config.breaker_window,
        open_seconds=config.breaker_open_seconds,
        retries=config.subgraph_retries,
        retry_backoff=config.subgraph_retry_backoff,
        retry_budget_ratio=config.subgraph_retry_budget,
    )


def instrument_gateway(gateway: Gateway, config: GatewayConfig) -> None:
    if getattr(gateway, _MARK, False):
        return
    setattr(gateway, _MARK, True)
    old = gateway.client
    urls = {info.url: info.name for info in gateway.supergraph.subgraphs.values()}
    client = ResilientClient(
        old.timeout,
        {k: v for k, v in old.headers.items() if k not in ("content-type", "accept")},
        connections=old.connections,
        dedup=old.dedup,
        subgraphs=urls,
        settings=resilience_settings(config),
    )
    gateway.client = gateway.executor.client = client
    if gateway.auth is not None:
        gateway.auth.metrics = mirror(gateway.auth.metrics)
    _wrap_plan(gateway)
    _wrap_shapes(gateway)


def _wrap_plan(gateway: Gateway) -> None:
    plan, planner_plan = gateway.plan, gateway.planner.plan
    misses = [0]

    def counted_planner_plan(*args: Any, **kwargs: Any) -> Any:
        misses[0] += 1
        return planner_plan(*args, **kwargs)

    def traced_plan(*args: Any, **kwargs: Any) -> Any:
        before = misses[0]
        if not tracing.enabled():
            result = plan(*args, **kwargs)
            child(metrics.PLAN_CACHE, "miss" if misses[0] != before else "hit").inc()
            return result
        with _tracer.start_as_current_span("graphql.plan") as span:
            result = plan(*args, **kwargs)
            hit = misses[0] == before
            span.set_attribute("graphql.plan.cache_hit", hit)
        child(metrics.PLAN_CACHE, "hit" if hit else "miss").inc()
        return result

    gateway.planner.plan = counted_planner_plan  # type: ignore[method-assign]
    gateway.plan = traced_plan  # type: ignore[method-assign]


class _TracedShape:
    __slots__ = ("_shape",)

    def __init__(self, shape: Any) -> None:
        self._shape = shape

    def shape(self, data: Any, errors: Any) -> Any:
        with _tracer.start_as_current_span("graphql.shape"):
            return self._shape.shape(data, errors)


class _TracedShapes:
    """The shape compiler, with a ``graphql.shape`` span around each shaping when tracing is on."""

    __slots__ = ("_shapes",)

    def __init__(self, shapes: Any) -> None:
        self._shapes = shapes

    def get(self, *args: Any, **kwargs: Any) -> Any:
        shape = self._shapes.get(*args, **kwargs)
        return _TracedShape(shape) if tracing.enabled() else shape

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shapes, name)


def _wrap_shapes(gateway: Gateway) -> None:
    gateway.shapes = _TracedShapes(gateway.shapes)  # type: ignore[assignment]


def count_inbound_shared(gateway: Gateway) -> None:
    """After a response: operations the engine answered with another one's run since last time (its
    own counter, read here rather than wrapping ``execute``: no extra frame per request)."""
    shared = gateway.inbound_shared - getattr(gateway, _SEEN, 0)
    if shared > 0:
        setattr(gateway, _SEEN, gateway.inbound_shared)
        child(metrics.DEDUPLICATED, "inbound").inc(shared)
