"""Bearer JWTs against the JWKS: good tokens pass; expired, wrongly signed, alg none, HMAC, unknown kid,
wrong issuer/audience are refused with UNAUTHENTICATED (HTTP 401)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import serialization

from devstack.ports import free_port
from gateway.auth.principal import ANONYMOUS
from tests.gateway.auth.conftest import Client, Market, ServeGateway
from tests.gateway.auth.keys import claims, rsa_key, unsigned_token

ME = "{ me { id email } }"


def b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _unauthenticated(status: int, body: dict[str, object]) -> None:
    assert status == 401, body
    assert "data" not in body
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_rs256_and_eddsa_tokens_are_accepted(client: Client, market_: Market) -> None:
    for key in (market_.rsa, market_.ed):
        status, body = await client.post(ME, token=key.sign(claims()))
        assert status == 200, body
        assert body == {"data": {"me": {"id": "ua", "email": "ada@acme.test"}}}
    principal = market_.subgraphs["orgs"].received[-1].principal
    assert (principal.tenant_id, principal.organization_id, principal.user_id) == ("ta", "oa1", "ua")


async def test_expired_token(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(ttl=-120))  # beyond the 30 s clock skew
    _unauthenticated(*await client.post(ME, token=token))


async def test_expiry_within_clock_skew_is_tolerated(client: Client, market_: Market) -> None:
    status, _ = await client.post(ME, token=market_.rsa.sign(claims(ttl=-5)))
    assert status == 200


async def test_wrongly_signed_token(client: Client, market_: Market) -> None:
    token = market_.stranger.sign(claims())  # right kid, wrong private key
    _unauthenticated(*await client.post(ME, token=token))


async def test_tampered_claims(client: Client, market_: Market) -> None:
    header, _, signature = market_.rsa.sign(claims(tenant="ta")).split(".")
    other_payload = market_.rsa.sign(claims(tenant="tb")).split(".")[1]
    _unauthenticated(*await client.post(ME, token=f"{header}.{other_payload}.{signature}"))


async def test_alg_none_token(client: Client, market_: Market) -> None:
    _unauthenticated(*await client.post(ME, token=unsigned_token(claims(), market_.rsa.kid)))


async def test_hmac_token_signed_with_the_public_key(client: Client, market_: Market) -> None:
    public_pem = market_.rsa.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # PyJWT refuses to do this for us: the classic key-confusion forgery, built by hand.
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': market_.rsa.kid})}.{b64(claims())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    _unauthenticated(*await client.post(ME, token=token))


async def test_unknown_kid_is_refused_and_refetches_are_rate_limited(client: Client, market_: Market) -> None:
    stray = rsa_key("never-published")
    before = market_.jwks.fetches
    for _ in range(5):
        _unauthenticated(*await client.post(ME, token=stray.sign(claims())))
    # 5 unknown-kid tokens at once: at most one refetch per interval (plus the first load).
    assert market_.jwks.fetches - before <= 2


async def test_rotated_key_is_picked_up_on_unknown_kid(client: Client, market_: Market) -> None:
    assert (await client.post(ME, token=market_.rsa.sign(claims())))[0] == 200
    new_key = rsa_key("rsa-2")
    market_.jwks.keys.append(new_key)
    try:
        await asyncio.sleep(0.6)  # past the refresh rate limit of this gateway
        status, body = await client.post(ME, token=new_key.sign(claims()))
        assert status == 200, body
    finally:
        market_.jwks.keys.remove(new_key)


async def test_wrong_issuer_and_audience(client: Client, market_: Market) -> None:
    _unauthenticated(*await client.post(ME, token=market_.rsa.sign(claims(iss="https://evil.test"))))
    _unauthenticated(*await client.post(ME, token=market_.rsa.sign(claims(aud="another-api"))))


async def test_token_without_expiry(client: Client, market_: Market) -> None:
    payload = claims()
    del payload["exp"]
    _unauthenticated(*await client.post(ME, token=market_.rsa.sign(payload)))


async def test_malformed_authorization_headers(client: Client) -> None:
    _unauthenticated(*await client.post(ME, token="not-a-jwt"))
    _unauthenticated(*await client.post(ME, headers={"authorization": "Basic dXNlcjpwYXNz"}))


async def test_no_subgraph_is_called_for_a_refused_token(client: Client, market_: Market) -> None:
    await client.post('{ organization(id: "oa1") { name } }', token=market_.stranger.sign(claims()))
    assert all(not s.received for s in market_.subgraphs.values())


async def test_client_sent_gateway_context_is_forbidden(client: Client, market_: Market) -> None:
    """A client must never reach subgraphs with its own x-gateway-context: refused outright (403)."""
    status, body = await client.post(ME, headers={"x-gateway-context": "v1.forged.sig"})
    assert status == 403
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert all(not s.received for s in market_.subgraphs.values())
    assert "gateway_authentication_failures_total" in await client.metrics()


async def test_anonymous_gets_public_fields_only(client: Client, market_: Market) -> None:
    status, body = await client.post("{ me { id } }")
    assert status == 200
    assert body["data"] == {"me": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert body["errors"][0]["path"] == ["me"]
    assert not market_.subgraphs["orgs"].received


async def test_require_authentication_refuses_anonymous(serve_gateway: ServeGateway) -> None:
    async with serve_gateway(require_authentication=True) as c:
        _unauthenticated(*await c.post("{ __typename }"))


async def test_verified_tokens_are_cached_until_expiry(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(ttl=2))
    authenticator = client.gateway.auth.authenticator  # type: ignore[union-attr]
    first = await authenticator.verify_token(token)
    assert await authenticator.verify_token(token) is first
    assert first is not ANONYMOUS


async def test_unreachable_key_set_or_key_store_is_503(serve_gateway: ServeGateway, market_: Market) -> None:
    closed = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    async with serve_gateway(
        jwks_url=closed, api_key_source="redis", redis_url=f"redis://127.0.0.1:{free_port()}/0"
    ) as c:
        status, body = await c.post(ME, token=market_.rsa.sign(claims()))
        assert status == 503
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        status, _ = await c.post(ME, headers={"x-api-key": "some-key"})
        assert status == 503
        assert (await c.post("{ __typename }"))[0] == 200  # anonymous still served
