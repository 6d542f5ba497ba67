"""A JWKS (RFC 7517) key set fetched over HTTP, cached, refreshed when it ages or when a token names an
unknown ``kid`` (at most once per ``min_refresh_interval``, so forged kids cannot flood the issuer)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import jwt

logger = logging.getLogger("gateway.auth.jwks")

# Key types we can verify with the allowed algorithms (RSA for RS256, OKP Ed25519 for EdDSA).
_KEY_TYPES = frozenset({"RSA", "OKP"})


class JWKSUnavailableError(Exception):
    """The key set could not be fetched or holds no usable key."""


class JWKSCache:
    def __init__(
        self,
        url: str,
        *,
        max_age: float = 300.0,
        min_refresh_interval: float = 10.0,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = 0.0  # last successful fetch
        self._attempted_at = float("-inf")  # last attempt, successful or not (rate limit)
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self.fetches = 0  # how many times the key set was requested (tests, metrics)

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        """The key for ``kid`` (None: the only key of a single-key set), refreshing as allowed."""
        if not self._keys or time.monotonic() - self._fetched_at > self.max_age:
            await self._refresh()
        found = self._lookup(kid)
        if found is None:
            await self._refresh()
            found = self._lookup(kid)
        return found

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._attempted_at < self.min_refresh_interval:
                return  # refreshed (or tried) a moment ago: unknown kids must not flood the issuer
            self._attempted_at = time.monotonic()
            try:
                document = await self._fetch()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                logger.warning("JWKS fetch from %s failed: %s", self.url, exc)
                if not self._keys:
                    raise JWKSUnavailableError(f"JWKS unavailable: {exc}") from exc
                return  # keep the keys we have
            self._keys = parse_jwks(document)
            self._fetched_at = time.monotonic()

    async def _fetch(self) -> dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self.fetches += 1
        async with self._session.get(self.url, headers={"accept": "application/json"}) as resp:
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            document = await resp.json(content_type=None)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def parse_jwks(document: dict[str, Any]) -> dict[str | None, jwt.PyJWK]:
    """Signing keys by ``kid``; keys we cannot use (encryption keys, unknown types) are skipped."""
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in document.get("keys") or ():
        if not isinstance(entry, dict) or entry.get("kty") not in _KEY_TYPES:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            logger.warning("skipping unusable JWKS key %r", entry.get("kid"))
            continue
        kid = entry.get("kid")
        keys[kid if isinstance(kid, str) else None] = key
    return keys
