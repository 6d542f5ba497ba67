"""Hot reload of the supergraph: build the new one beside the old, swap, let the old one drain.

``SupergraphReloader.reload(sdl)`` builds a complete new endpoint (gateway, auth, safety layer,
document caches) for the new supergraph while the old one keeps serving; a supergraph that fails to
build is refused: the old one stays, the failure is logged and counted. The swap is one assignment:
requests already running finish on the endpoint they started on, which is closed once its last
request is done. Triggers: ``python -m gateway`` reloads its supergraph file on SIGHUP and, with
``GATEWAY_SUPERGRAPH_POLL_INTERVAL``, when the file changes. Subscriptions are not moved: open ones
keep the supergraph they started with, new ones too until the process restarts (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response

from gateway.config import GatewayConfig

if TYPE_CHECKING:
    from gateway.engine import Gateway
    from gateway.safety.layer import SafetyLayer


class GraphQLEndpoint(Protocol):
    """What the reloader needs of an endpoint (`gateway.http.app.GraphQLEndpoint` is one): it
    serves, counts its requests in flight, and owns the gateway and safety layer it closes."""

    active: int
    gateway: Gateway
    safety: SafetyLayer

    async def handle(self, request: Request) -> Response: ...


log = logging.getLogger("gateway.reload")
RELOADS = Counter("gateway_supergraph_reloads_total", "Supergraph reloads, by result.", ["result"])
_DRAIN_POLL = 0.05


E = TypeVar("E", bound=GraphQLEndpoint)


class SupergraphReloader(Generic[E]):
    def __init__(
        self,
        endpoint: E,
        config: GatewayConfig,
        build: Callable[[str], E],
        on_swap: Callable[[E], None],
    ) -> None:
        self.current = endpoint
        self.config = config
        self._build = build
        self._on_swap = on_swap
        self._lock = asyncio.Lock()
        self._draining: set[asyncio.Task[None]] = set()
        self.reloads = 0
        self.failures = 0

    async def handle(self, request: Request) -> Response:
        return await self.current.handle(request)

    async def reload(self, sdl: str) -> bool:
        """Swap to the supergraph ``sdl``; False (the old one kept) when it does not build."""
        async with self._lock:
            try:
                endpoint = self._build(sdl)
            except Exception as exc:
                self.failures += 1
                RELOADS.labels("failed").inc()
                log.error("supergraph reload refused, the current one keeps serving: %s", exc)
                return False
            old, self.current = self.current, endpoint
            self._on_swap(endpoint)
            self.reloads += 1
            RELOADS.labels("ok").inc()
            log.info("supergraph reloaded")
            task = asyncio.get_running_loop().create_task(self._drain(old))
            self._draining.add(task)
            task.add_done_callback(self._draining.discard)
            return True

    async def reload_file(self, path: Path) -> bool:
        try:
            sdl = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except OSError as exc:
            self.failures += 1
            RELOADS.labels("failed").inc()
            log.error("supergraph reload refused: cannot read %s: %s", path, exc)
            return False
        return await self.reload(sdl)

    async def watch(self, path: Path, interval: float) -> None:
        """Reload when the file's modification time or size changes."""

        def signature() -> tuple[float, int] | None:
            try:
                stat = path.stat()
            except OSError:
                return None
            return stat.st_mtime, stat.st_size

        last = signature()
        while True:
            await asyncio.sleep(interval)
            now = signature()
            if now is not None and now != last:
                last = now
                await self.reload_file(path)

    async def _drain(self, endpoint: E) -> None:
        """Close ``endpoint`` once its requests are done (at most the shutdown timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.shutdown_timeout
        while True:
            if not endpoint.active or loop.time() >= deadline:
                break
            await asyncio.sleep(_DRAIN_POLL)
        await close_endpoint(endpoint)

    async def close(self) -> None:
        for task in list(self._draining):
            task.cancel()
        await asyncio.gather(*self._draining, return_exceptions=True)
        await close_endpoint(self.current)


async def close_endpoint(endpoint: GraphQLEndpoint) -> None:
    gateway: Gateway = endpoint.gateway
    with contextlib.suppress(Exception):
        await gateway.close()
    if gateway.auth is not None:
        with contextlib.suppress(Exception):
            await gateway.auth.close()
    with contextlib.suppress(Exception):
        await endpoint.safety.close()
