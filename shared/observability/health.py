"""Liveness, readiness and metrics routes, the same on the gateway and every subgraph.

``/livez``: the process answers (its event loop runs); a failure means restart it. ``/readyz``: it can
serve: every dependency check passes (a subgraph's database and NATS; the gateway's subgraphs are not
its dependencies for this: it serves partial results and coded errors without them); a failure means
take it out of the load balancer, not restart it. ``/metrics``: Prometheus exposition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.observability.prometheus import CONTENT_TYPE, render

log = logging.getLogger(__name__)
Check = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT = 2.0


async def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    async def one(name: str, check: Check) -> tuple[str, str]:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                return name, "ok" if await check() else "down"
        except Exception as exc:
            log.warning("readiness: %s is unreachable (%s)", name, type(exc).__name__)
            return name, "down"

    return dict(await asyncio.gather(*(one(name, check) for name, check in checks.items())))


def health_routes(
    service: str, checks: Callable[[Request], Mapping[str, Check]], *, metrics: bool = True
) -> list[Route]:
    async def livez(request: Request) -> Response:
        return Response(orjson.dumps({"status": "alive", "service": service}), media_type="application/json")

    async def readyz(request: Request) -> Response:
        results = await run_checks(checks(request))
        ready = all(state == "ok" for state in results.values())
        body = {"status": "ready" if ready else "not ready", "service": service, "checks": results}
        return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")

    async def exposition(request: Request) -> Response:
        return Response(render(), media_type=CONTENT_TYPE)

    routes = [Route("/livez", livez, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
    if metrics:
        routes.append(Route("/metrics", exposition, methods=["GET"]))
    return routes
