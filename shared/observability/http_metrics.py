"""Request metrics of a subgraph's /graphql endpoint."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from shared.observability.prometheus import LATENCY_BUCKETS

SUBGRAPH_REQUESTS = Counter(
    "subgraph_requests_total", "GraphQL requests a subgraph answered, by HTTP status.", ["subgraph", "status"]
)
SUBGRAPH_LATENCY = Histogram(
    "subgraph_request_duration_seconds",
    "Time a subgraph took to answer.",
    ["subgraph"],
    buckets=LATENCY_BUCKETS,
)
