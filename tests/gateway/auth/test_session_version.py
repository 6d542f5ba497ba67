"""Deactivated users (docs/auth-contract.md): on a real Redis, a token whose ``sv`` is below the session
version stored in ``gateway:session-versions`` for its ``sub`` is refused (401 UNAUTHENTICATED); equal or
higher passes; a raised version takes effect within the cache TTL (<= 1 s); other users are unaffected;
Redis down is 503; without Redis the check is skipped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from devstack.ports import free_port
from gateway.auth.session_versions import SessionVersions
from tests.conftest import ServiceUrls
from tests.gateway.auth.conftest import Client, Market, ServeGateway
from tests.gateway.auth.keys import claims

ME = "{ me { id email } }"


def _refused(status: int, body: dict[str, Any]) -> None:
    assert status == 401, body
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "Session revoked."


@pytest_asyncio.fixture(loop_scope="session")
async def store(service_urls: ServiceUrls) -> AsyncIterator[tuple[aioredis.Redis[bytes], str]]:
    """A Redis client and a session-versions hash of this test only (removed afterwards)."""
    redis: aioredis.Redis[bytes] = aioredis.from_url(service_urls.redis_url)
    key = f"test-session-versions-{time.time_ns()}"
    try:
        yield redis, key
    finally:
        await redis.delete(key)
        await redis.aclose()  # type: ignore[attr-defined]


def _gateway_options(service_urls: ServiceUrls, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "api_key_source": "redis",
        "api_key_table": f"{key}-api-keys",
        "redis_url": service_urls.redis_url,
        "session_versions_key": key,
        **extra,
    }


def _versions(client: Client) -> SessionVersions:
    assert client.gateway.auth is not None
    versions = client.gateway.auth.authenticator.session_versions
    assert versions is not None
    return versions


async def test_lower_sv_refused_equal_or_higher_accepted(
    service_urls: ServiceUrls,
    serve_gateway: ServeGateway,
    market_: Market,
    store: tuple[aioredis.Redis[bytes], str],
) -> None:
    redis, key = store
    await redis.hset(key, "ua", "3")
    async with serve_gateway(**_gateway_options(service_urls, key)) as c:
        _refused(*await c.post(ME, token=market_.rsa.sign(claims(sv=2))))
        _refused(*await c.post(ME, token=market_.ed.sign(claims(sv=0))))
        _refused(*await c.post(ME, token=market_.rsa.sign(claims())))  # no sv: 0, below 3
        for sv in (3, 4):
            status, body = await c.post(ME, token=market_.rsa.sign(claims(sv=sv)))
            assert (status, body) == (200, {"data": {"me": {"id": "ua", "email": "ada@acme.test"}}})
        # One Redis client for the API keys and the session versions: no second pool.
        auth = c.gateway.auth
        assert auth is not None and auth.authenticator.api_keys is not None
        assert _versions(c).redis is auth.authenticator.api_keys.redis  # type: ignore[attr-defined]


async def test_no_entry_means_never_deactivated(
    service_urls: ServiceUrls,
    serve_gateway: ServeGateway,
    market_: Market,
    store: tuple[aioredis.Redis[bytes], str],
) -> None:
    _, key = store
    async with serve_gateway(**_gateway_options(service_urls, key)) as c:
        assert (await c.post(ME, token=market_.rsa.sign(claims())))[0] == 200
        assert (await c.post(ME, token=market_.rsa.sign(claims(sv=1))))[0] == 200


async def test_a_raised_version_takes_effect_within_the_cache_ttl(
    service_urls: ServiceUrls,
    serve_gateway: ServeGateway,
    market_: Market,
    store: tuple[aioredis.Redis[bytes], str],
) -> None:
    redis, key = store
    await redis.hset(key, "ua", "1")
    token = market_.rsa.sign(claims(sv=1))  # the same token throughout: it sits in the verified-token LRU
    other = market_.ed.sign(claims(sub="ub", sv=1))
    async with serve_gateway(**_gateway_options(service_urls, key)) as c:
        assert (await c.post(ME, token=token))[0] == 200
        assert (await c.post("{ __typename }", token=other))[0] == 200
        await redis.hset(key, "ua", "2")  # what orgs does when it deactivates "ua"
        raised = time.monotonic()
        while True:
            status, body = await c.post(ME, token=token)
            if status != 200 or time.monotonic() - raised > 6.0:
                break
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - raised
        _refused(status, body)
        assert elapsed <= 3.0, elapsed  # cache TTL (1 s) + a round trip, with room for a busy machine
        # Another user is unaffected; the deactivated user's new token (current sv) works again.
        assert (await c.post("{ __typename }", token=other))[0] == 200
        assert (await c.post(ME, token=market_.rsa.sign(claims(sv=2))))[0] == 200


async def test_a_burst_of_one_user_costs_one_lookup(
    service_urls: ServiceUrls,
    serve_gateway: ServeGateway,
    market_: Market,
    store: tuple[aioredis.Redis[bytes], str],
) -> None:
    redis, key = store
    await redis.hset(key, "ua", "5")
    good, old = market_.rsa.sign(claims(sv=5)), market_.rsa.sign(claims(sv=4))
    async with serve_gateway(**_gateway_options(service_urls, key)) as c:
        versions = _versions(c)
        # Verify the tokens once first (the signature check is not what this test counts).
        assert (await c.post("{ __typename }", token=good))[0] == 200
        await asyncio.sleep(versions.cache_ttl + 0.05)
        before = versions.lookups
        results = await asyncio.gather(
            *(c.post("{ __typename }", token=good if i % 2 else old) for i in range(20))
        )
        assert [status for status, _ in results] == [401 if i % 2 == 0 else 200 for i in range(20)]
        assert versions.lookups - before == 1


async def test_redis_down_is_503(serve_gateway: ServeGateway, market_: Market) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    async with serve_gateway(api_key_source="redis", redis_url=down) as c:
        status, body = await c.post(ME, token=market_.rsa.sign(claims(sv=1)))
        assert status == 503, body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await c.post("{ __typename }"))[0] == 200  # anonymous still served


async def test_malformed_stored_version_refuses_that_user_only(
    service_urls: ServiceUrls,
    serve_gateway: ServeGateway,
    market_: Market,
    store: tuple[aioredis.Redis[bytes], str],
) -> None:
    redis, key = store
    await redis.hset(key, "ua", "not-a-number")
    async with serve_gateway(**_gateway_options(service_urls, key)) as c:
        _refused(*await c.post(ME, token=market_.rsa.sign(claims(sv=9))))
        assert (await c.post("{ __typename }", token=market_.rsa.sign(claims(sub="ub"))))[0] == 200


async def test_without_redis_the_check_is_skipped(
    serve_gateway: ServeGateway, market_: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.scratch import clear_settings_cache

    for name in ("REDIS_URL", "B2B_REDIS_URL", "GATEWAY_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    clear_settings_cache()
    try:
        async with serve_gateway() as c:  # no API-key source, no Redis URL
            assert c.gateway.auth is not None
            assert c.gateway.auth.authenticator.session_versions is None
            assert (await c.post(ME, token=market_.rsa.sign(claims(sv=0))))[0] == 200
        async with serve_gateway(session_versions_key="") as c:  # explicitly off
            assert c.gateway.auth is not None
            assert c.gateway.auth.authenticator.session_versions is None
    finally:
        monkeypatch.undo()
        clear_settings_cache()


async def test_a_redis_url_without_api_keys_gets_its_own_client(
    service_urls: ServiceUrls,
    serve_gateway: ServeGateway,
    market_: Market,
    store: tuple[aioredis.Redis[bytes], str],
) -> None:
    redis, key = store
    await redis.hset(key, "ua", "2")
    async with serve_gateway(redis_url=service_urls.redis_url, session_versions_key=key) as c:
        assert _versions(c).owns_client
        _refused(*await c.post(ME, token=market_.rsa.sign(claims(sv=1))))
        assert (await c.post(ME, token=market_.rsa.sign(claims(sv=2))))[0] == 200

