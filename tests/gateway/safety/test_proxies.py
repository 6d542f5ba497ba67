"""The client address behind trusted proxies (gateway/safety/proxies.py), and the rate limit keyed on it."""

from __future__ import annotations

import secrets

import pytest
import redis.asyncio as aioredis

from gateway.auth.layer import GatewayAuth
from gateway.auth.principal import Principal
from gateway.safety.proxies import TrustedProxies
from shared.gateway_context import HEADER, verify_context
from tests.conftest import ServiceUrls
from tests.gateway.safety.test_http_safety import codes, gateway, post

LB = TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        # An untrusted peer is the client, whatever it claims.
        ("198.51.100.1", {"x-forwarded-for": "1.2.3.4"}, "198.51.100.1"),
        ("198.51.100.1", {"forwarded": "for=1.2.3.4"}, "198.51.100.1"),
        # Behind our balancer: the hop it saw.
        ("10.0.0.5", {"x-forwarded-for": "203.0.113.9"}, "203.0.113.9"),
        ("10.0.0.5", {"x-forwarded-for": "6.6.6.6, 203.0.113.9"}, "203.0.113.9"),  # forged prefix ignored
        ("10.0.0.5", {"x-forwarded-for": "203.0.113.9, 10.1.1.1"}, "203.0.113.9"),  # two balancers
        ("10.0.0.5", {"x-forwarded-for": "203.0.113.9:5555"}, "203.0.113.9"),
        ("10.0.0.5", {"forwarded": 'for=192.0.2.60;proto=http;by=10.0.0.5'}, "192.0.2.60"),
        ("10.0.0.5", {"forwarded": 'for="[2001:db8::1]:4711", for=10.2.2.2'}, "2001:db8::1"),
        # RFC 7239's header wins over the de-facto one.
        ("10.0.0.5", {"forwarded": "for=192.0.2.1", "x-forwarded-for": "6.6.6.6"}, "192.0.2.1"),
        ("10.0.0.5", {"x-forwarded-for": "unknown"}, "10.0.0.5"),  # not attributable: the proxy
        ("10.0.0.5", {"forwarded": "for=_hidden, for=10.3.3.3"}, "10.3.3.3"),
        ("10.0.0.5", {}, "10.0.0.5"),
        ("10.0.0.5", {"x-forwarded-for": "10.9.9.9, 10.8.8.8"}, "10.9.9.9"),  # all trusted: the leftmost
        ("::ffff:10.0.0.5", {"x-forwarded-for": "203.0.113.9"}, "203.0.113.9"),  # v4-mapped peer
        ("2001:db8:ffff::1", {"x-forwarded-for": "2001:db8::42"}, "2001:db8::42"),
    ],
)
def test_client_address(peer: str, headers: dict[str, str], client: str) -> None:
    assert LB.client_address(peer, headers) == client


def test_no_trusted_proxies_means_the_peer() -> None:
    assert TrustedProxies([]).client_address("10.0.0.5", {"x-forwarded-for": "1.2.3.4"}) == "10.0.0.5"
    assert TrustedProxies([]).client_address(None, {"x-forwarded-for": "1.2.3.4"}) is None


def test_the_client_address_is_signed_into_the_subgraph_context() -> None:
    secret = secrets.token_bytes(32)
    auth = GatewayAuth.__new__(GatewayAuth)  # only the signing part
    auth.secret, auth.context_ttl = secret, 30.0
    headers = auth.subgraph_headers(Principal(), client_address="203.0.113.9")
    assert verify_context(headers[HEADER], secret).client_address == "203.0.113.9"
    assert verify_context(auth.subgraph_headers(Principal())[HEADER], secret).client_address is None


async def _rate_keys(redis_url: str, address: str) -> int:
    redis = aioredis.from_url(redis_url)
    try:
        return int(await redis.exists(f"gateway:rl:ip:{address}"))
    finally:
        await redis.aclose()


async def test_rate_limits_key_on_the_forwarded_address_only_from_a_trusted_peer(
    service_urls: ServiceUrls,
) -> None:
    forged = f"198.18.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    query = {"query": "{ __typename }"}
    redis_url = service_urls.redis_url
    async with gateway(redis_url=redis_url, rate_limit_per_minute=2, apq=False) as (server, http):
        # The loopback peer is not a trusted proxy: its forged header changes nothing.
        await post(http, server, query, headers={"x-forwarded-for": forged})
        assert await _rate_keys(service_urls.redis_url, forged) == 0
    async with gateway(redis_url=service_urls.redis_url, rate_limit_per_minute=2, apq=False,
                       trusted_proxies=["127.0.0.1/32"]) as (server, http):
        statuses = []
        for _ in range(3):
            status, body, _ = await post(http, server, query, headers={"x-forwarded-for": forged})
            statuses.append((status, codes(body)))
        assert await _rate_keys(service_urls.redis_url, forged) == 1
        assert statuses[:2] == [(200, [])] * 2 and statuses[2] == (429, ["RATE_LIMITED"])
        # Another client behind the same balancer has its own budget.
        other = f"198.19.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        status, _, _ = await post(http, server, query, headers={"x-forwarded-for": other})
        assert status == 200
