"""The tree subgraph with our gateway in front, both on loopback, for the operations tests.

``serve_stack`` runs them in the test's event loop; ``ThreadedStack`` runs them in an event loop of
their own on a background thread, for synchronous tests (hypothesis) that call them with a blocking
client.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.applications import Starlette

from devstack.asgi import serve_asgi
from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.http.app import create_app
from tests.gateway.ops.tree_subgraph import TreeSubgraph, supergraph_sdl


@dataclass(frozen=True, slots=True)
class Stack:
    url: str
    subgraph: TreeSubgraph
    subgraph_url: str
    gateway: Gateway
    app: Starlette

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"


@contextlib.asynccontextmanager
async def serve_stack(
    config: GatewayConfig | None = None,
    *,
    build: Callable[[str], Gateway] | None = None,
    sdl: str | None = None,
) -> AsyncIterator[Stack]:
    """``sdl``: serve this supergraph instead of one pointing at the stack's own tree subgraph."""
    config = config or GatewayConfig(auth=False, subscriptions=False)
    subgraph = TreeSubgraph()
    async with serve_asgi(subgraph.app) as subgraph_url:
        sdl = sdl or supergraph_sdl(f"{subgraph_url}/graphql")
        gateway = build(sdl) if build is not None else Gateway.from_supergraph_sdl(sdl, subgraph_timeout=5.0)
        app = create_app(gateway, config)
        async with serve_asgi(app, lifespan="on") as url:
            yield Stack(url, subgraph, subgraph_url, gateway, app)


class ThreadedStack:
    """``with ThreadedStack(config) as stack: stack.post({...})`` from synchronous code."""

    def __init__(self, config: GatewayConfig | None = None) -> None:
        self.config = config
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="ops-stack", daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            try:
                async with serve_stack(self.config) as stack:
                    self.url = stack.url
                    self._ready.set()
                    await self._stop.wait()
            except BaseException as exc:  # reported to the test thread
                self._error = exc
                self._ready.set()

        asyncio.run(run())

    def __enter__(self) -> ThreadedStack:
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None or not self.url:
            raise RuntimeError("the gateway stack did not start") from self._error
        host = urlsplit(self.url)
        self._host, self._port = host.hostname or "127.0.0.1", host.port or 80
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()

    def post(self, body: Any, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        return self.request(
            "POST",
            "/graphql",
            raw,
            {
                "content-type": "application/json",
                "accept": "application/graphql-response+json",
                **(headers or {}),
            },
        )
