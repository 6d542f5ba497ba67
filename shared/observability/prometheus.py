"""prometheus_client set-up shared by the gateway and the subgraphs, single- or multi-process.

With ``PROMETHEUS_MULTIPROC_DIR`` set (several worker processes behind one port), every process writes
its samples to files in that folder and ``render`` aggregates them, so any worker answers /metrics
for all of them. Without it, the default registry of this process is rendered.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: half the output
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds: from a cached plan's sub-millisecond answer to a subgraph's 30 s timeout.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@functools.lru_cache(maxsize=8192)
def child(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, cached: the hot path skips prometheus_client's validation and lock."""
    return metric.labels(*values)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render() -> bytes:
    """The exposition text of every metric of this service (all its processes in multiprocess mode)."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exited(pid: int | None = None) -> None:
    """A worker is going away: drop its live gauges (in-flight, open subscriptions) from the sums."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
