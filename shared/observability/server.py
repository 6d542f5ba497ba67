"""A subgraph's request, observed: a server span continuing the caller's trace, counted and timed."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from opentelemetry import trace
from starlette.requests import Request
from starlette.responses import Response

from shared.observability import tracing
from shared.observability.http_metrics import SUBGRAPH_LATENCY, SUBGRAPH_REQUESTS
from shared.observability.prometheus import child

_tracer = tracing.tracer("shared.subgraph")


async def observed_request(
    subgraph: str, request: Request, handler: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    status = 500
    try:
        if not tracing.enabled():
            response = await handler(request)
        else:
            with _tracer.start_as_current_span(
                "subgraph.request",
                context=tracing.extract(request.headers),
                kind=trace.SpanKind.SERVER,
                attributes={"subgraph.name": subgraph},
            ) as span:
                response = await handler(request)
                span.set_attribute("http.response.status_code", response.status_code)
        status = response.status_code
        return response
    finally:
        child(SUBGRAPH_REQUESTS, subgraph, str(status)).inc()
        child(SUBGRAPH_LATENCY, subgraph).observe(time.perf_counter() - started)
