"""Metrics of the event pipeline every subgraph runs: outbox relay and idempotent consumers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.observability.prometheus import LATENCY_BUCKETS

EVENTS_PUBLISHED = Counter(
    "events_published_total", "Events the outbox relay published to JetStream.", ["schema", "type"]
)
EVENTS_CONSUMED = Counter(
    "events_consumed_total",
    "Events a consumer finished with, by outcome (applied, duplicate, failed, malformed).",
    ["consumer", "outcome"],
)
EVENTS_REDELIVERED = Counter(
    "events_redelivered_total", "Messages a consumer received more than once.", ["consumer"]
)
EVENT_HANDLE_SECONDS = Histogram(
    "event_handle_duration_seconds", "Time to apply one event.", ["consumer"], buckets=LATENCY_BUCKETS
)
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog", "Outbox rows not yet published.", ["schema"], multiprocess_mode="max"
)
CONSUMER_LAG = Gauge(
    "consumer_lag_messages",
    "Messages in the stream the consumer has not yet received.",
    ["consumer"],
    multiprocess_mode="max",
)
