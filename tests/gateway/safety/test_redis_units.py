"""The rate limiter and the persisted-query store on a real Redis (the session's ``service_urls``)."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from gateway.auth.principal import Principal
from gateway.http.errors import GraphQLRequestError, HTTPRequestError
from gateway.safety.metrics import SafetyMetrics
from gateway.safety.persisted import (
    PERSISTED_QUERY_HASH_MISMATCH,
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_ONLY,
    ApqStore,
    PersistedQueries,
    query_hash,
)
from gateway.safety.rate_limit import RateLimiter, caller_key
from tests.conftest import ServiceUrls, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _prefix() -> str:
    return f"test:{secrets.token_hex(4)}:"


async def test_rate_limit_allows_the_budget_then_refuses_with_a_retry_time(service_urls: ServiceUrls) -> None:
    metrics = SafetyMetrics()
    limiter = RateLimiter(service_urls.redis_url, 5, metrics, prefix=_prefix())
    try:
        decisions = [await limiter.check("user:t1:alice") for _ in range(6)]
        assert [d.allowed for d in decisions] == [True] * 5 + [False]
        assert 10 < decisions[-1].retry_after <= 12  # one request per 12 s once the burst is spent
        assert decisions[-1].retry_after_header in ("11", "12")
        assert (await limiter.check("user:t1:bob")).allowed  # another caller has its own budget
        assert metrics.rate_limited == 1
    finally:
        await limiter.close()


async def test_rate_limit_is_atomic_under_concurrency(service_urls: ServiceUrls) -> None:
    # A generous timeout: on a loaded machine 50 concurrent scripts may pass 250 ms, and a timed-out call
    # is counted by the local fallback instead, which is not what this test is about.
    limiter = RateLimiter(service_urls.redis_url, 20, SafetyMetrics(), prefix=_prefix(), timeout=10.0)
    try:
        decisions = await asyncio.gather(*(limiter.check("key:k1") for _ in range(50)))
        assert sum(d.allowed for d in decisions) == 20
    finally:
        await limiter.close()


async def test_rate_limit_window_refills(service_urls: ServiceUrls) -> None:
    limiter = RateLimiter(service_urls.redis_url, 2, SafetyMetrics(), prefix=_prefix(), period=0.4)
    try:
        assert [(await limiter.check("ip:1.2.3.4")).allowed for _ in range(3)] == [True, True, False]
        await asyncio.sleep(0.25)  # one emission interval (0.2 s) later: one more request
        assert (await limiter.check("ip:1.2.3.4")).allowed
    finally:
        await limiter.close()


@pytest.mark.parametrize("fail_open", [True, False])
async def test_rate_limit_with_redis_down(fail_open: bool) -> None:
    metrics = SafetyMetrics()
    limiter = RateLimiter(f"redis://127.0.0.1:{free_port()}/0", 5, metrics, fail_open=fail_open)
    try:
        decision = await limiter.check("user:t1:alice")
        assert decision.allowed is fail_open
        assert decision.unavailable is not fail_open
        assert metrics.rate_limit_redis_errors == 1
    finally:
        await limiter.close()


async def test_caller_keys() -> None:
    user = Principal(tenant_id="t1", user_id="u1", method="jwt")
    key = Principal(tenant_id="t1", organization_id="o1", method="api_key", credential_id="k9")
    assert caller_key(user, "10.0.0.1") == "user:t1:u1"
    assert caller_key(key, "10.0.0.1") == "key:k9"
    assert caller_key(Principal(), "10.0.0.1") == "ip:10.0.0.1"
    assert caller_key(None, None) == "ip:unknown"


QUERY = "{ products { id } }"
PQ = {"persistedQuery": {"version": 1, "sha256Hash": query_hash(QUERY)}}


async def test_apq_round_trip_through_redis(service_urls: ServiceUrls) -> None:
    prefix = _prefix()
    metrics = SafetyMetrics()
    first = PersistedQueries(ApqStore(service_urls.redis_url, metrics, prefix=prefix), metrics)
    # A second store on the same Redis: another gateway process.
    second = PersistedQueries(ApqStore(service_urls.redis_url, metrics, prefix=prefix), metrics)
    try:
        with pytest.raises(GraphQLRequestError) as missing:
            await first.resolve("", PQ)
        assert missing.value.errors[0]["extensions"]["code"] == PERSISTED_QUERY_NOT_FOUND
        registration = await first.resolve(QUERY, PQ)
        assert registration.register_hash == query_hash(QUERY)
        await first.register(registration)
        assert (await first.resolve("", PQ)).query == QUERY  # local LRU
        assert (await second.resolve("", PQ)).query == QUERY  # from Redis
        assert (await second.resolve(QUERY, PQ)).register_hash is None  # already known: no second write
        with pytest.raises(HTTPRequestError) as mismatch:
            await first.resolve("{ products { name } }", PQ)
        assert mismatch.value.body["errors"][0]["extensions"]["code"] == PERSISTED_QUERY_HASH_MISMATCH
        assert metrics.apq_hits == 2 and metrics.apq_misses == 1 and metrics.apq_registered == 1
    finally:
        await first.close()
        await second.close()


async def test_apq_with_redis_down_keeps_working_locally() -> None:
    metrics = SafetyMetrics()
    persisted = PersistedQueries(ApqStore(f"redis://127.0.0.1:{free_port()}/0", metrics), metrics)
    try:
        with pytest.raises(GraphQLRequestError):
            await persisted.resolve("", PQ)
        await persisted.register(await persisted.resolve(QUERY, PQ))
        assert (await persisted.resolve("", PQ)).query == QUERY
        assert metrics.apq_redis_errors == 2
    finally:
        await persisted.close()


@pytest.mark.parametrize("extensions", [
    {"persistedQuery": {"version": 2, "sha256Hash": query_hash(QUERY)}},
    {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
    {"persistedQuery": "abc"},
])
async def test_apq_malformed_extension(extensions: dict[str, object]) -> None:
    persisted = PersistedQueries(ApqStore(None, SafetyMetrics()), SafetyMetrics())
    with pytest.raises(HTTPRequestError) as error:
        await persisted.resolve("", extensions)
    assert error.value.status == 400


async def test_trusted_documents_only() -> None:
    trusted = "query Trusted { products { id name } }"
    manifest = {query_hash(trusted): trusted}
    persisted = PersistedQueries(None, SafetyMetrics(), manifest=manifest, only=True)
    by_hash = {"persistedQuery": {"version": 1, "sha256Hash": query_hash(trusted)}}
    assert (await persisted.resolve("", by_hash)).query == trusted
    assert (await persisted.resolve(trusted, None)).query == trusted  # the same text is trusted too
    for query, extensions in ((QUERY, None), (QUERY, PQ)):
        with pytest.raises(HTTPRequestError) as refused:
            await persisted.resolve(query, extensions)
        assert refused.value.body["errors"][0]["extensions"]["code"] == PERSISTED_QUERY_ONLY
    with pytest.raises(GraphQLRequestError) as unknown:
        await persisted.resolve("", PQ)  # an unregistered hash is not found, and never registered
    assert unknown.value.errors[0]["extensions"]["code"] == PERSISTED_QUERY_NOT_FOUND


async def test_rate_limit_costs_one_redis_command_per_request(service_urls: ServiceUrls) -> None:
    import redis.asyncio as aioredis

    limiter = RateLimiter(service_urls.redis_url, 1000, SafetyMetrics(), prefix=_prefix())
    observer = aioredis.from_url(service_urls.redis_url)
    try:
        await limiter.check("user:t1:warm-up")  # loads the script once
        before = (await observer.info("commandstats"))["cmdstat_evalsha"]["calls"]
        processed = (await observer.info("stats"))["total_commands_processed"]
        for index in range(10):
            await limiter.check(f"user:t1:u{index}")
        after = (await observer.info("stats"))["total_commands_processed"]
        assert (await observer.info("commandstats"))["cmdstat_evalsha"]["calls"] - before == 10
        # Per check one EVALSHA from us; inside it TIME, GET, SET (Redis counts those too); plus one INFO.
        assert after - processed == 10 * (1 + 3) + 1
    finally:
        await observer.aclose()
        await limiter.close()
