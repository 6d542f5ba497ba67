"""What the orgs subgraph tells the gateway through Redis right after a commit (docs/auth-contract.md):

- `HSET gateway:session-versions <user id> <sv>` when a user is deactivated: the gateway refuses a
  token whose `sv` claim is lower (one HGET per request, or per cached token).
- `DEL gateway:api-key-cache:<sha256>` when a key is revoked: the gateway's cached answer goes at
  once instead of within its TTL (<= 5 s).

The write right after the commit is best effort (Redis may be down for a moment); the same facts
go to the outbox as events (`orgs.<tenant>.user_deactivated`, `orgs.<tenant>.api_key_revoked`) and
`GatewaySessionSync` / `GatewayKeySync` (durable consumers run by the orgs app) apply them again,
retrying until Redis takes them. Both writes are idempotent; a session version only ever grows.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, IdempotentConsumer
from shared.settings import get_settings
from subgraphs.orgs.config import OrgsSettings, get_orgs_settings
from subgraphs.orgs.models import SCHEMA

log = logging.getLogger(__name__)

_clients: dict[str, aioredis.Redis[bytes]] = {}


def _client(url: str) -> aioredis.Redis[bytes]:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = aioredis.from_url(url, socket_timeout=2.0)
    return client


# HSET only upward: a late or replayed event never lowers a user's session version.
_RAISE_TO = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (not current) or tonumber(current) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
"""


async def set_session_version(
    redis_url: str, user_id: str, session_version: int, settings: OrgsSettings | None = None
) -> None:
    settings = settings or get_orgs_settings()
    await _client(redis_url).eval(  # type: ignore[no-untyped-call]
        _RAISE_TO, 1, settings.session_versions_key, user_id, str(session_version)
    )


async def delete_api_key_cache(redis_url: str, key_hash: str, settings: OrgsSettings | None = None) -> None:
    settings = settings or get_orgs_settings()
    await _client(redis_url).delete(settings.api_key_cache_prefix + key_hash)


async def publish_session_version(redis_url: str, user_id: str, session_version: int) -> bool:
    """Best effort, right after the commit (the consumer below is the durable path)."""
    try:
        await set_session_version(redis_url, user_id, session_version)
    except (RedisError, OSError) as exc:
        log.warning("could not publish session version of %s: %s", user_id, exc)
        return False
    return True


async def evict_api_key(redis_url: str, key_hash: str) -> bool:
    try:
        await delete_api_key_cache(redis_url, key_hash)
    except (RedisError, OSError) as exc:
        log.warning("could not evict API key cache entry: %s", exc)
        return False
    return True


class GatewaySessionSync(IdempotentConsumer):
    """Re-applies `user_deactivated` to Redis (raises on a Redis failure: the event is redelivered)."""

    name: ClassVar[str] = "orgs-gateway-session-sync"
    schema: ClassVar[str] = SCHEMA
    domain: ClassVar[str] = "orgs"
    filter_subject: ClassVar[str] = "orgs.*.user_deactivated"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        data = event.data
        await set_session_version(get_settings().redis_url, str(data["id"]), int(data["session_version"]))


class GatewayKeySync(IdempotentConsumer):
    """Re-applies `api_key_revoked` (drops the gateway's cached answer for the key)."""

    name: ClassVar[str] = "orgs-gateway-key-sync"
    schema: ClassVar[str] = SCHEMA
    domain: ClassVar[str] = "orgs"
    filter_subject: ClassVar[str] = "orgs.*.api_key_revoked"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await delete_api_key_cache(get_settings().redis_url, str(event.data["key_hash"]))


async def close() -> None:
    for client in list(_clients.values()):
        await client.aclose()  # type: ignore[attr-defined]
    _clients.clear()
