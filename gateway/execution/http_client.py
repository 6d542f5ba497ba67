"""Pooled keep-alive HTTP client for subgraph requests (one aiohttp session per gateway).

Identical in-flight queries are deduplicated: a call with a ``dedup_key`` (the caller's rights, see
``gateway.engine``) that finds a call with the same URL, body and key still running waits for that one
instead of sending its own, and parses the shared response bytes itself (every caller gets its own
objects: results are merged and mutated afterwards). Mutations are never given a key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from typing import Any

import aiohttp
import orjson

# (status, raw body) of one subgraph HTTP exchange.
RawResponse = tuple[int, bytes]


class SubgraphError(Exception):
    """A subgraph request failed; ``code`` is the GraphQL error code to report."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class SubgraphClient:
    def __init__(
        self,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        *,
        connections: int = 64,
        dedup: bool = True,
    ) -> None:
        self.timeout = timeout
        self.headers = {"content-type": "application/json", "accept": "application/json", **(headers or {})}
        self.connections = connections  # kept-alive connections per subgraph host
        self.dedup = dedup
        self.calls = 0  # HTTP requests actually sent (tests and diagnostics)
        self._session: aiohttp.ClientSession | None = None
        self._inflight: dict[tuple[str, bytes, Hashable], asyncio.Task[RawResponse]] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily: it must belong to the running event loop (uvicorn starts the loop).
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=self.connections, keepalive_timeout=30, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def post(
        self,
        url: str,
        payload: dict[str, Any],
        extra_headers: Mapping[str, str] | None = None,
        *,
        dedup_key: Hashable | None = None,
    ) -> dict[str, Any]:
        """The subgraph's GraphQL response; ``dedup_key`` (None: never shared) identifies the rights the
        request is made with: identical bodies with equal keys share one HTTP exchange."""
        body = orjson.dumps(payload)
        headers = self.headers if not extra_headers else {**self.headers, **extra_headers}
        if dedup_key is None or not self.dedup:
            status, raw = await self._exchange(url, body, headers)
        else:
            key = (url, body, dedup_key)
            task = self._inflight.get(key)
            if task is None:
                task = asyncio.ensure_future(self._exchange(url, body, headers))
                self._inflight[key] = task
                task.add_done_callback(lambda t: self._forget(key, t))
            # shield: a caller that goes away (client disconnect) does not cancel the others' call
            status, raw = await asyncio.shield(task)
        return _decode(status, raw)

    def _forget(self, key: tuple[str, bytes, Hashable], task: asyncio.Task[RawResponse]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone away

    async def _exchange(self, url: str, body: bytes, headers: Mapping[str, str]) -> RawResponse:
        session = self._get_session()
        self.calls += 1
        try:
            async with asyncio.timeout(self.timeout):
                async with session.post(url, data=body, headers=headers) as resp:
                    return resp.status, await resp.read()
        except TimeoutError as exc:
            raise SubgraphError(
                f"Timeout after {self.timeout}s waiting for subgraph", "GATEWAY_TIMEOUT"
            ) from exc
        except aiohttp.ClientError as exc:
            raise SubgraphError(f"HTTP fetch failed: {exc}", "SUBREQUEST_HTTP_ERROR") from exc

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _decode(status: int, raw: bytes) -> dict[str, Any]:
    try:
        result = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SubgraphError(
            f"Subgraph returned invalid JSON (HTTP {status})", "SUBREQUEST_HTTP_ERROR"
        ) from exc
    if not isinstance(result, dict) or ("data" not in result and "errors" not in result):
        raise SubgraphError(
            f"Subgraph returned HTTP {status} without a GraphQL response", "SUBREQUEST_HTTP_ERROR"
        )
    return result
