"""API keys for partner ERPs (``x-api-key``), looked up by their SHA-256 and never stored in clear.

Lookup contract (the orgs subgraph implements the publishing side):

* Redis key table (``api_key_source="redis"``): a Redis hash (default ``gateway:api-keys``) whose fields
  are ``sha256(key)`` in hex and whose values are JSON records (below). Issuing a key is ``HSET``,
  revoking it is ``HDEL``: the gateway reads the table on every request, so a revocation is effective
  at once.
* HTTP (``api_key_source="http"``): ``GET {api_key_url}?hash=<sha256 hex>`` carrying the gateway's
  signed ``x-gateway-context`` (principal with role ``gateway``); 200 with a JSON record, 404 when the
  key is unknown or revoked. Answers (also "unknown") are cached in Redis for ``cache_ttl`` seconds
  (at most 5), so a revocation is effective within that time.

Record: ``{"key_id", "tenant_id", "organization_id", "roles": [...], "scopes": [...],
"expires_at": unix seconds or null, "revoked": false}``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.auth.principal import AuthenticationError, AuthUnavailableError, Principal
from shared.gateway_context import HEADER, sign_context
from shared.gateway_context import Principal as ContextPrincipal

logger = logging.getLogger("gateway.auth.api_keys")

MAX_CACHE_TTL = 5.0
_UNKNOWN = b"-"  # cached "no such key"


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    tenant_id: str | None
    organization_id: str | None
    roles: frozenset[str]
    scopes: frozenset[str]
    expires_at: float | None = None
    revoked: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiKeyRecord:
        def opt_str(name: str) -> str | None:
            value = data.get(name)
            return str(value) if value is not None else None

        expires = data.get("expires_at")
        return cls(
            key_id=str(data.get("key_id") or ""),
            tenant_id=opt_str("tenant_id"),
            organization_id=opt_str("organization_id"),
            roles=frozenset(str(r) for r in data.get("roles") or ()),
            scopes=frozenset(str(s) for s in data.get("scopes") or ()),
            expires_at=float(expires) if isinstance(expires, int | float) else None,
            revoked=bool(data.get("revoked", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "tenant_id": self.tenant_id,
            "organization_id": self.organization_id,
            "roles": sorted(self.roles),
            "scopes": sorted(self.scopes),
            "expires_at": self.expires_at,
            "revoked": self.revoked,
        }

    def principal(self) -> Principal:
        return Principal(
            tenant_id=self.tenant_id,
            organization_id=self.organization_id,
            roles=self.roles,
            scopes=self.scopes,
            method="api_key",
            credential_id=self.key_id,
            claims={"key_id": self.key_id},
        )


class ApiKeyResolver(Protocol):
    async def resolve(self, key_hash: str) -> ApiKeyRecord | None: ...

    async def close(self) -> None: ...


def _decode(raw: bytes | str | None) -> ApiKeyRecord | None:
    if raw is None:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        logger.warning("malformed API key record ignored")
        return None
    return ApiKeyRecord.from_json(data) if isinstance(data, dict) else None


class RedisKeyTable:
    """Keys published by the orgs subgraph in a Redis hash: read on every request (one HGET)."""

    def __init__(self, redis_url: str, table: str = "gateway:api-keys") -> None:
        self.redis = aioredis.from_url(redis_url)
        self.table = table

    async def resolve(self, key_hash: str) -> ApiKeyRecord | None:
        raw: bytes | None = await self.redis.hget(self.table, key_hash)
        return _decode(raw)

    async def publish(self, key: str, record: ApiKeyRecord) -> None:
        """Issue a key (what the orgs subgraph does; used by tests and the dev stack)."""
        await self.redis.hset(self.table, hash_api_key(key), orjson.dumps(record.to_json()))

    async def revoke(self, key: str) -> None:
        await self.redis.hdel(self.table, hash_api_key(key))

    async def close(self) -> None:
        await self.redis.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag


class HttpKeyResolver:
    """Asks the orgs subgraph; answers cached briefly in Redis (shared by every gateway process)."""

    def __init__(
        self,
        url: str,
        redis_url: str,
        secret: bytes,
        *,
        cache_ttl: float = 4.0,
        timeout: float = 3.0,
        cache_prefix: str = "gateway:api-key-cache:",
    ) -> None:
        self.url = url
        self.redis = aioredis.from_url(redis_url)
        self.secret = secret
        self.cache_ttl_ms = int(min(cache_ttl, MAX_CACHE_TTL) * 1000)
        self.timeout = timeout
        self.prefix = cache_prefix
        self._session: aiohttp.ClientSession | None = None

    async def resolve(self, key_hash: str) -> ApiKeyRecord | None:
        cache_key = self.prefix + key_hash
        cached: bytes | None = await self.redis.get(cache_key)
        if cached is not None:
            return None if cached == _UNKNOWN else _decode(cached)
        record = await self._ask(key_hash)
        value = _UNKNOWN if record is None else orjson.dumps(record.to_json())
        await self.redis.set(cache_key, value, px=self.cache_ttl_ms)
        return record

    async def _ask(self, key_hash: str) -> ApiKeyRecord | None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        context = sign_context(ContextPrincipal(roles=("gateway",)), self.secret, ttl=30.0)
        try:
            async with self._session.get(
                self.url, params={"hash": key_hash}, headers={HEADER: context}
            ) as resp:
                if resp.status == 404:
                    return None
                if resp.status != 200:
                    raise AuthUnavailableError(f"API key lookup failed (HTTP {resp.status})")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AuthUnavailableError("API key lookup is unavailable") from exc
        return ApiKeyRecord.from_json(data) if isinstance(data, dict) else None

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        await self.redis.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag


async def principal_for_key(resolver: ApiKeyResolver, key: str) -> Principal:
    try:
        record = await resolver.resolve(hash_api_key(key))
    except RedisError as exc:
        logger.warning("API key store unavailable: %s", exc)
        raise AuthUnavailableError("API keys cannot be checked right now.") from None
    if record is None or record.revoked:
        raise AuthenticationError("Invalid API key")
    if record.expires_at is not None and record.expires_at <= time.time():
        raise AuthenticationError("API key expired")
    return record.principal()
