"""Persisted queries: Apollo's automatic persisted queries (APQ) and a trusted-documents-only mode.

APQ (``extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}``):

- hash only: the query is looked up (in-process LRU, then Redis); unknown -> ``PERSISTED_QUERY_NOT_FOUND``
  and the client resends with the query text;
- hash and query: the hash must be the query's SHA-256 (``PERSISTED_QUERY_HASH_MISMATCH`` otherwise); the
  query runs and, once it has passed validation and the limits, is registered under the hash.

Trusted documents (``persisted_only``): only documents of a manifest loaded at start-up run, by hash or
by identical text; anything else is refused with ``PERSISTED_QUERY_ONLY`` and nothing is registered.

Redis failures never fail a request: a lookup that cannot reach Redis is a miss (the client then sends
the query), a registration that cannot reach Redis stays in the local LRU. Both are logged and counted.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.http.errors import PERSISTED_QUERY_NOT_SUPPORTED, GraphQLRequestError, HTTPRequestError
from gateway.http.lru import LRUCache
from gateway.safety.metrics import SafetyMetrics

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
PERSISTED_QUERY_ONLY = "PERSISTED_QUERY_ONLY"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_log = logging.getLogger("gateway.safety.persisted")


def query_hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PersistedQuery:
    query: str
    register_hash: str | None = None  # register the query under this hash once it has been validated


class ApqStore:
    """Registered queries: an in-process LRU in front of Redis (``<prefix><sha256>`` -> query text)."""

    def __init__(self, redis_url: str | None, metrics: SafetyMetrics, *, cache_size: int = 1000,
                 ttl: int = 7 * 24 * 3600, prefix: str = "gateway:apq:", timeout: float = 0.5,
                 max_bytes: int = 8 << 20) -> None:
        self.local: LRUCache[str, str] = LRUCache(cache_size, max_bytes=max_bytes,
                                                  sizer=lambda k, v: sys.getsizeof(k) + sys.getsizeof(v))
        self.redis = (aioredis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
                      if redis_url else None)
        self.metrics = metrics
        self.ttl = ttl
        self.prefix = prefix

    async def get(self, sha256: str) -> str | None:
        query = self.local.get(sha256)
        if query is not None or self.redis is None:
            return query
        try:
            raw: bytes | None = await self.redis.get(self.prefix + sha256)
        except (RedisError, OSError) as exc:
            self._redis_failed("lookup", exc)
            return None
        if raw is None:
            return None
        query = raw.decode()
        if query_hash(query) != sha256:  # never trust a stored value blindly
            return None
        self.local.put(sha256, query)
        return query

    async def put(self, sha256: str, query: str) -> None:
        self.local.put(sha256, query)
        self.metrics.apq_registered += 1
        if self.redis is None:
            return
        try:
            await self.redis.set(self.prefix + sha256, query, ex=self.ttl or None)
        except (RedisError, OSError) as exc:
            self._redis_failed("registration", exc)

    def _redis_failed(self, what: str, exc: BaseException) -> None:
        self.metrics.apq_redis_errors += 1
        _log.warning("persisted query %s: Redis unavailable (%s); using the local cache only", what, exc)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag


def load_manifest(path: Path) -> dict[str, str]:
    """Hash -> query text from a manifest file.

    Apollo's format (``{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}``)
    or a plain JSON object ``{"<sha256>": "<query>"}``.
    """
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the persisted query manifest: {exc}") from None
    entries: dict[str, str] = {}
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        for operation in data["operations"]:
            if not isinstance(operation, dict) or "id" not in operation or "body" not in operation:
                raise ValueError(f"{path}: every manifest operation needs an 'id' and a 'body'")
            entries[str(operation["id"]).lower()] = str(operation["body"])
    elif isinstance(data, dict):
        entries = {str(key).lower(): str(value) for key, value in data.items()}
    else:
        raise ValueError(f"{path}: a persisted query manifest is a JSON object")
    return entries


class PersistedQueries:
    def __init__(self, store: ApqStore | None, metrics: SafetyMetrics, *,
                 manifest: Mapping[str, str] | None = None, only: bool = False) -> None:
        if only and manifest is None:
            raise ValueError("persisted-only mode needs a manifest (GATEWAY_PERSISTED_MANIFEST)")
        self.store = None if only else store
        self.metrics = metrics
        self.manifest = dict(manifest or {})
        self.trusted_hashes = frozenset(query_hash(body) for body in self.manifest.values())
        self.only = only

    async def resolve(self, query: str, extensions: Mapping[str, Any] | None) -> PersistedQuery:
        """The query to run for a request's ``query`` ("" when absent) and ``extensions``."""
        persisted = extensions.get("persistedQuery") if extensions else None
        if persisted is None:
            if self.only and query_hash(query) not in self.trusted_hashes:
                self._refuse_freeform()
            return PersistedQuery(query)
        sha256 = _requested_hash(persisted)
        if query:
            if query_hash(query) != sha256:
                raise HTTPRequestError(400, "The persisted query hash does not match the query's SHA-256.",
                                       PERSISTED_QUERY_HASH_MISMATCH)
            if self.only:
                if sha256 not in self.trusted_hashes:
                    self._refuse_freeform()
                return PersistedQuery(query)
            known = self.store is not None and self.store.local.get(sha256) is not None
            return PersistedQuery(query, None if known or self.store is None else sha256)
        trusted = self.manifest.get(sha256)
        if trusted is not None:
            self.metrics.apq_hits += 1
            return PersistedQuery(trusted)
        if self.store is None and not self.only:
            raise HTTPRequestError(400, "Persisted queries are not supported by this endpoint.",
                                   PERSISTED_QUERY_NOT_SUPPORTED)
        found = await self.store.get(sha256) if self.store is not None else None
        if found is None:
            self.metrics.apq_misses += 1
            error = graphql.GraphQLError("PersistedQueryNotFound",
                                         extensions={"code": PERSISTED_QUERY_NOT_FOUND})
            raise GraphQLRequestError([error], PERSISTED_QUERY_NOT_FOUND)
        self.metrics.apq_hits += 1
        return PersistedQuery(found)

    async def register(self, persisted: PersistedQuery) -> None:
        if persisted.register_hash is not None and self.store is not None:
            await self.store.put(persisted.register_hash, persisted.query)

    def _refuse_freeform(self) -> None:
        self.metrics.persisted_only_refused += 1
        raise HTTPRequestError(400, "Only trusted (persisted) documents are accepted: send the "
                                    "extensions.persistedQuery hash of a registered document.",
                               PERSISTED_QUERY_ONLY)

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()


def _requested_hash(persisted: Any) -> str:
    if not isinstance(persisted, dict):
        raise HTTPRequestError(400, "extensions.persistedQuery must be an object.")
    if persisted.get("version") != 1:
        raise HTTPRequestError(400, "Unsupported persisted query version: only version 1 is supported.")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
        raise HTTPRequestError(400, "extensions.persistedQuery.sha256Hash must be a hex SHA-256 digest.")
    return sha256.lower()
