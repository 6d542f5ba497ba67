"""Consumers, observed: a span per message continuing the writer's trace, redeliveries, lag."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg
from opentelemetry import trace

from shared.observability import tracing
from shared.observability.event_metrics import CONSUMER_LAG, EVENT_HANDLE_SECONDS, EVENTS_REDELIVERED
from shared.observability.prometheus import child

log = logging.getLogger(__name__)
_tracer = tracing.tracer("shared.events")
_LAG_INTERVAL = 5.0  # seconds between consumer-info requests per consumer
_last_lag: dict[str, float] = {}


def _delivered(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # not a JetStream message (core NATS in tests): no metadata
        return 1


async def observed_message(consumer: str, msg: Msg, handle: Callable[[Msg], Awaitable[None]]) -> None:
    delivered = _delivered(msg)
    if delivered > 1:
        child(EVENTS_REDELIVERED, consumer).inc()
    started = time.perf_counter()
    try:
        if not tracing.enabled():
            await handle(msg)
            return
        with _tracer.start_as_current_span(
            f"event.consume {consumer}",
            context=tracing.extract(msg.headers or {}),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": consumer,
                "messaging.delivery": delivered,
            },
        ):
            await handle(msg)
    finally:
        child(EVENT_HANDLE_SECONDS, consumer).observe(time.perf_counter() - started)


async def report_lag(consumer: str, subscription: Any) -> None:
    """Messages waiting for ``consumer`` (JetStream's num_pending), at most every few seconds."""
    now = time.monotonic()
    if now - _last_lag.get(consumer, 0.0) < _LAG_INTERVAL:
        return
    _last_lag[consumer] = now
    try:
        info = await subscription.consumer_info()
        child(CONSUMER_LAG, consumer).set(int(info.num_pending or 0))
    except Exception as exc:  # informative only: never stop consuming for it
        log.debug("consumer %s: lag unknown (%s)", consumer, exc)
