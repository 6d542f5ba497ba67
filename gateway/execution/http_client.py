"""Pooled keep-alive HTTP client for subgraph requests (one aiohttp session per gateway)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson


class SubgraphError(Exception):
    """A subgraph request failed; ``code`` is the GraphQL error code to report."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class SubgraphClient:
    def __init__(self, timeout: float, headers: Mapping[str, str] | None = None) -> None:
        self.timeout = timeout
        self.headers = {"content-type": "application/json", "accept": "application/json", **(headers or {})}
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily: it must belong to the running event loop (uvicorn starts the loop).
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=256, limit_per_host=128, keepalive_timeout=30, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None)
            )
        return self._session

    async def post(
        self, url: str, payload: dict[str, Any], extra_headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        session = self._get_session()
        headers = self.headers if not extra_headers else {**self.headers, **extra_headers}
        body = orjson.dumps(payload)
        try:
            async with asyncio.timeout(self.timeout):
                async with session.post(url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    status = resp.status
        except TimeoutError as exc:
            raise SubgraphError(
                f"Timeout after {self.timeout}s waiting for subgraph", "GATEWAY_TIMEOUT"
            ) from exc
        except aiohttp.ClientError as exc:
            raise SubgraphError(f"HTTP fetch failed: {exc}", "SUBREQUEST_HTTP_ERROR") from exc
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

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
