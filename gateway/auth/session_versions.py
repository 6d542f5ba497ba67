"""Deactivated users: the session versions the orgs subgraph publishes in Redis (docs/auth-contract.md).

When a user is deactivated, orgs raises their session version and writes ``HSET gateway:session-versions
<user id> <sv>`` (only ever upward). A JWT carries the version it was issued under (``sv``); the gateway
refuses a token whose ``sv`` is lower than the stored value for its ``sub``. No entry: never deactivated.

One ``HGET`` per user at most every ``cache_ttl`` seconds (<= 1) in this process: the answer, "no entry"
included, is kept in a small bounded LRU, and concurrent requests of one user share one in-flight lookup.
A deactivation therefore takes effect within ``cache_ttl`` plus one Redis round trip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.auth.principal import AuthUnavailableError
from gateway.http.lru import LRUCache

logger = logging.getLogger("gateway.auth.session_versions")

DEFAULT_KEY = "gateway:session-versions"
MAX_CACHE_TTL = 1.0


class MalformedSessionVersionError(Exception):
    """The stored value is not an integer (refused: fail closed for that user only)."""


def token_session_version(claims: Mapping[str, Any]) -> int:
    """The token's ``sv`` claim; missing (or not an integer) counts as 0, as the contract says."""
    value = claims.get("sv")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return 0


class SessionVersions:
    """Stored session versions per user id, read through a tiny in-process cache."""

    def __init__(
        self,
        redis: aioredis.Redis[Any],
        key: str = DEFAULT_KEY,
        *,
        cache_ttl: float = MAX_CACHE_TTL,
        cache_size: int = 10_000,
        timeout: float = 2.0,
        owns_client: bool = False,
    ) -> None:
        self.redis = redis
        self.key = key
        self.cache_ttl = max(0.0, min(cache_ttl, MAX_CACHE_TTL))
        self.timeout = timeout
        self.owns_client = owns_client
        self.lookups = 0  # Redis round trips made (for tests and metrics)
        self._cache: LRUCache[str, tuple[int | None, float]] = LRUCache(cache_size)
        self._inflight: dict[str, asyncio.Task[int | None]] = {}

    async def stored(self, user_id: str) -> int | None:
        """The user's published session version, None when there is none.

        Raises AuthUnavailableError when Redis cannot answer, MalformedSessionVersionError on garbage."""
        hit = self._cache.get(user_id)
        if hit is not None and time.monotonic() - hit[1] < self.cache_ttl:
            return hit[0]
        task = self._inflight.get(user_id)
        if task is None:
            task = asyncio.ensure_future(self._fetch(user_id))
            self._inflight[user_id] = task
            task.add_done_callback(lambda t: self._done(user_id, t))
        # Shielded: a waiter that goes away (client disconnect) does not cancel the others' lookup.
        return await asyncio.shield(task)

    def _done(self, user_id: str, task: asyncio.Task[int | None]) -> None:
        if self._inflight.get(user_id) is task:
            del self._inflight[user_id]
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited any more is not reported as lost

    async def _fetch(self, user_id: str) -> int | None:
        started = time.monotonic()  # the answer is at least this old: deactivation within cache_ttl
        self.lookups += 1
        try:
            async with asyncio.timeout(self.timeout):
                raw: bytes | str | None = await self.redis.hget(self.key, user_id)
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning("session versions unavailable (%s): bearer tokens refused with 503", exc)
            raise AuthUnavailableError("Sessions cannot be checked right now.") from None
        value: int | None = None
        if raw is not None:
            try:
                value = int(raw)
            except ValueError:
                logger.error("malformed session version %r for user %s: its tokens are refused", raw, user_id)
                raise MalformedSessionVersionError(user_id) from None
        self._cache.put(user_id, (value, started))
        return value

    async def close(self) -> None:
        if self.owns_client:
            await self.redis.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag
