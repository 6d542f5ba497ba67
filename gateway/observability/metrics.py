"""The gateway's Prometheus metrics (prometheus_client; multiprocess-safe, see shared.observability).

Operation names come from clients: at most ``MAX_OPERATION_NAMES`` distinct ones get their own label
per process, the rest are counted as ``other`` so a client cannot grow the series without bound.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.observability.prometheus import LATENCY_BUCKETS

MAX_OPERATION_NAMES = 200
_MAX_NAME_LENGTH = 80

REQUESTS = Counter("gateway_requests_total", "GraphQL requests answered.", ["operation_type", "status"])
ERRORS = Counter("gateway_errors_total", "GraphQL errors in responses, by code.", ["code"])
REQUEST_LATENCY = Histogram(
    "gateway_request_duration_seconds",
    "Time to answer a GraphQL request.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "gateway_requests_in_flight", "GraphQL requests being answered.", multiprocess_mode="livesum"
)
SUBGRAPH_LATENCY = Histogram(
    "gateway_subgraph_request_duration_seconds",
    "Time of one subgraph fetch.",
    ["subgraph"],
    buckets=LATENCY_BUCKETS,
)
SUBGRAPH_FETCHES = Counter(
    "gateway_subgraph_requests_total", "Subgraph fetches, by outcome.", ["subgraph", "outcome"]
)
SUBGRAPH_RETRIES = Counter("gateway_subgraph_retries_total", "Subgraph query fetches retried.", ["subgraph"])
PLAN_CACHE = Counter("gateway_plan_cache_total", "Query plan cache lookups.", ["result"])
DEDUPLICATED = Counter(
    "gateway_deduplicated_total",
    "Operations or subgraph fetches answered by an identical one in flight.",
    ["layer"],
)
SUBSCRIPTIONS_OPEN = Gauge(
    "gateway_subscriptions_open", "Subscriptions open to subgraphs.", multiprocess_mode="livesum"
)
BREAKER_STATE = Gauge(
    "gateway_circuit_breaker_state",
    "Circuit breaker per subgraph: 0 closed, 1 half-open, 2 open.",
    ["subgraph"],
    multiprocess_mode="max",
)
BREAKER_TRANSITIONS = Counter(
    "gateway_circuit_breaker_transitions_total", "Circuit breaker state changes.", ["subgraph", "state"]
)
SHED = Counter("gateway_shed_total", "Requests refused by flow control (503).", ["reason"])

_names: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    name = name[:_MAX_NAME_LENGTH]
    if name in _names:
        return name
    if len(_names) >= MAX_OPERATION_NAMES:
        return "other"
    _names.add(name)
    return name
