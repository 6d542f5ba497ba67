"""What the orgs subgraph tells the gateway through Redis right after a commit (docs/auth-contract.md):

- `HSET gateway:session-versions <user id> <sv>` when a user is deactivated: the gateway refuses a
  token whose `sv` claim is lower (one HGET per request, or per cached token).
- `DEL gateway:api-key-cache:<sha256>` when a key is revoked: the gateway's cached answer goes at
  once instead of within its TTL (<= 5 s).

Best effort: the same facts are also published as events (`orgs.<tenant>.user_deactivated`,
`orgs.<tenant>.api_key_revoked`) through the outbox, so a gateway consumer can replay them.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from subgraphs.orgs.config import OrgsSettings, get_orgs_settings

log = logging.getLogger(__name__)

_clients: dict[str, aioredis.Redis[bytes]] = {}


def _client(url: str) -> aioredis.Redis[bytes]:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = aioredis.from_url(url, socket_timeout=2.0)
    return client


async def publish_session_version(
    redis_url: str, user_id: str, session_version: int, settings: OrgsSettings | None = None
) -> bool:
    settings = settings or get_orgs_settings()
    try:
        await _client(redis_url).hset(settings.session_versions_key, user_id, str(session_version))
    except (RedisError, OSError) as exc:
        log.warning("could not publish session version of %s: %s", user_id, exc)
        return False
    return True


async def evict_api_key(redis_url: str, key_hash: str, settings: OrgsSettings | None = None) -> bool:
    settings = settings or get_orgs_settings()
    try:
        await _client(redis_url).delete(settings.api_key_cache_prefix + key_hash)
    except (RedisError, OSError) as exc:
        log.warning("could not evict API key cache entry: %s", exc)
        return False
    return True


async def close() -> None:
    for client in list(_clients.values()):
        await client.aclose()  # type: ignore[attr-defined]
    _clients.clear()
