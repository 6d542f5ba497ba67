"""Run an ASGI app with uvicorn inside the current event loop, on a free loopback port.

    async with serve_asgi(app) as base_url:   # "http://127.0.0.1:PORT"
        ...

Used by the tests (a subgraph or the gateway in-process) so no subprocess is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator
from typing import Any, Literal

import uvicorn

from devstack.ports import LOOPBACK, free_port


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the host process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve_asgi(
    app: Any,
    *,
    port: int | None = None,
    lifespan: Literal["auto", "on", "off"] = "auto",
    startup_timeout: float = 30.0,
) -> AsyncIterator[str]:
    """Serve `app` until the block ends; yields its base URL (no trailing slash)."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host=LOOPBACK, port=port, lifespan=lifespan, log_level="warning", access_log=False,
        proxy_headers=False,  # the peer as it is: the gateway decides which proxies to believe
    )
    server = _QuietServer(config)

    async def run() -> None:
        try:
            await server.serve()
        except SystemExit:
            # uvicorn exits the process when it cannot bind or the app's startup fails; a task must not
            raise RuntimeError(f"uvicorn could not start the app on {LOOPBACK}:{port}") from None

    task = asyncio.create_task(run())
    try:
        async with asyncio.timeout(startup_timeout):
            while not server.started:
                if task.done():
                    # serve() returns (or raises) early when the app's startup or the bind fails
                    await task
                    raise RuntimeError(f"uvicorn did not start on {LOOPBACK}:{port}")
                await asyncio.sleep(0.01)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            try:
                async with asyncio.timeout(15):
                    await task
            except TimeoutError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
