"""Login, the JWKS, key rotation and deactivation, verified with the gateway's own verifier
(`gateway.auth.authenticate.Authenticator`) on the real database and Redis."""

from __future__ import annotations

import base64
import time
from typing import Any

import aiohttp
import jwt
import orjson
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.auth.authenticate import Authenticator
from gateway.auth.jwks import JWKSCache
from gateway.auth.principal import AuthenticationError
from shared.db import Database
from subgraphs.orgs import keys
from subgraphs.orgs import seed as demo
from subgraphs.orgs.config import get_orgs_settings
from tests.subgraphs.orgs.helpers import PASSWORD, World, gql, login

SETTINGS = get_orgs_settings()


def verifier(orgs_url: str) -> Authenticator:
    jwks = JWKSCache(f"{orgs_url}/.well-known/jwks.json", min_refresh_interval=0)
    return Authenticator(jwks=jwks, issuer=SETTINGS.jwt_issuer, audience=SETTINGS.jwt_audience)


async def verify(orgs_url: str, token: str) -> Any:
    auth = verifier(orgs_url)
    try:
        return await auth.verify_token(token)
    finally:
        await auth.close()


async def refused(orgs_url: str, token: str) -> str:
    with pytest.raises(AuthenticationError) as caught:
        await verify(orgs_url, token)
    return str(caught.value)


async def test_login_issues_a_token_the_gateway_verifies(orgs_url: str) -> None:
    out = await login(orgs_url, "Bea@Northwind.example", demo.DEMO_PASSWORD, demo.DEMO_TENANT_SLUG)
    assert out["userErrors"] == [] and out["tokenType"] == "Bearer"
    # Bea is a member of Northwind and of its Plant 2: the top-most organization is the default.
    assert out["organizationId"] == str(demo.BUYER_ID) and out["roles"] == ["buyer"]
    assert "orders:place" in out["scopes"] and "orders:approve" not in out["scopes"]
    header = jwt.get_unverified_header(out["token"])
    assert header["alg"] == "EdDSA" and header["kid"]
    principal = await verify(orgs_url, out["token"])
    assert principal.tenant_id == str(demo.DEMO_TENANT_ID)
    assert principal.organization_id == str(demo.BUYER_ID)
    assert principal.user_id == str(demo.BUYER_USER_ID)
    assert principal.roles == frozenset({"buyer"}) and "orders:place" in principal.scopes
    claims = principal.claims
    assert claims["tid"] == str(demo.DEMO_TENANT_ID) and claims["org"] == str(demo.BUYER_ID)
    assert claims["sv"] == 1 and claims["exp"] - claims["iat"] == SETTINGS.token_ttl
    # Acting for the unit instead; by tenant id instead of slug.
    unit = await login(
        orgs_url,
        "bea@northwind.example",
        demo.DEMO_PASSWORD,
        str(demo.DEMO_TENANT_ID),
        organizationId=str(demo.BUYER_PLANT_ID),
    )
    assert unit["organizationId"] == str(demo.BUYER_PLANT_ID)
    other = await login(
        orgs_url,
        "bea@northwind.example",
        demo.DEMO_PASSWORD,
        demo.DEMO_TENANT_SLUG,
        organizationId=str(demo.BUYER2_ID),
    )
    assert other["token"] is None and other["userErrors"][0]["code"] == "NO_MEMBERSHIP"


async def test_wrong_credentials_are_one_user_error_with_the_same_cost(orgs_url: str) -> None:
    async def attempt(email: str, password: str, tenant: str = demo.DEMO_TENANT_SLUG) -> tuple[float, Any]:
        best = float("inf")
        for _ in range(3):  # the fastest of three: less noise from a busy machine
            started = time.perf_counter()
            out = await login(orgs_url, email, password, tenant)
            best = min(best, time.perf_counter() - started)
        return best, out

    results = {
        "wrong password": await attempt("bea@northwind.example", "not the password"),
        "unknown user": await attempt("nobody@northwind.example", "not the password"),
        "unknown tenant": await attempt("bea@northwind.example", demo.DEMO_PASSWORD, "no-such-tenant"),
        "other tenant's user": await attempt("admin@globex.example", demo.DEMO_PASSWORD),
    }
    for name, (_, out) in results.items():
        assert out["token"] is None, name
        assert out["userErrors"] == [
            {"field": ["email"], "code": "INVALID_CREDENTIALS", "message": "wrong email, password or tenant"}
        ], name
    # An unknown user costs an argon2 verification too (no fast path that reveals which emails exist).
    slow = results["wrong password"][0]
    assert results["unknown user"][0] > slow * 0.25, {k: v[0] for k, v in results.items()}


async def test_tokens_survive_rotation_and_forgeries_are_refused(orgs_url: str, app_db: Database) -> None:
    before = await login(orgs_url, "abe@northwind.example", demo.DEMO_PASSWORD, demo.DEMO_TENANT_SLUG)
    old_kid = jwt.get_unverified_header(before["token"])["kid"]
    async with app_db.session() as session:
        new = await keys.rotate(session)
    after = await login(orgs_url, "abe@northwind.example", demo.DEMO_PASSWORD, demo.DEMO_TENANT_SLUG)
    assert jwt.get_unverified_header(after["token"])["kid"] == new.kid != old_kid
    async with aiohttp.ClientSession() as client, client.get(f"{orgs_url}/.well-known/jwks.json") as resp:
        assert resp.status == 200
        published = {k["kid"]: k for k in (await resp.json())["keys"]}
    assert {old_kid, new.kid} <= set(published)
    assert all("d" not in k for k in published.values())  # public halves only
    assert (await verify(orgs_url, before["token"])).user_id == str(demo.APPROVER_USER_ID)
    assert (await verify(orgs_url, after["token"])).user_id == str(demo.APPROVER_USER_ID)

    head, payload, signature = after["token"].split(".")
    flipped = base64.urlsafe_b64encode(bytes([base64.urlsafe_b64decode(signature + "==")[0] ^ 1])).decode()[
        :2
    ]
    assert "Invalid token" in await refused(orgs_url, f"{head}.{payload}.{flipped}{signature[2:]}")
    claims = jwt.decode(after["token"], options={"verify_signature": False})
    # Same kid, signed by a key that is not ours.
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": new.kid})
    assert "Invalid token" in await refused(orgs_url, forged)
    # A genuine signature on an expired token.
    async with app_db.session() as session:
        active = await keys.active_key(session)
    expired = keys.sign({**claims, "iat": int(time.time()) - 4000, "exp": int(time.time()) - 3000}, active)
    assert "expired" in await refused(orgs_url, expired)
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    assert "not allowed" in await refused(orgs_url, unsigned)


async def test_rotated_out_keys_leave_the_jwks_after_their_tokens_expired(app_db: Database) -> None:
    from datetime import timedelta

    from shared.db import utcnow

    async with app_db.session() as session:
        retired = (await keys.active_key(session)).kid
        await keys.rotate(session)
        later = utcnow() + timedelta(seconds=SETTINGS.token_ttl + SETTINGS.jwks_grace + 1)
        assert retired in {k["kid"] for k in await keys.published_keys(session)}
        assert retired not in {k["kid"] for k in await keys.published_keys(session, later)}


async def test_private_keys_are_sealed_at_rest(app_db: Database) -> None:
    from sqlalchemy import text

    async with app_db.session() as session:
        key = await keys.active_key(session)
        raw = (
            await session.execute(
                text("SELECT private_key FROM orgs.signing_keys WHERE kid = :k"), {"k": key.kid}
            )
        ).scalar_one()
    assert b"PRIVATE KEY" not in raw
    with pytest.raises(RuntimeError, match="cannot be unsealed"):
        keys.unseal(raw, key.kid, SETTINGS.model_copy(update={"key_encryption_key": "another"}))
    with pytest.raises(RuntimeError):
        keys.unseal(raw, "another-kid", SETTINGS)  # bound to its row


DEACTIVATE = """mutation($input: UserDeactivateInput!) {
  userDeactivate(input: $input) { user { id active } userErrors { field code } } }"""


async def test_deactivated_user_cannot_log_in_and_its_tokens_are_refused(
    orgs_url: str, world: World, app_db: Database, service_urls: Any
) -> None:
    import uuid

    from subgraphs.orgs.models import Membership, User
    from subgraphs.orgs.passwords import hash_password

    member = uuid.uuid4()
    async with app_db.tenant_session(world.tenant) as s:
        s.add(
            User(
                id=member,
                tenant_id=world.tenant,
                email=f"m@{world.slug}.example",
                display_name="M",
                password_hash=hash_password(PASSWORD),
            )
        )
        await s.flush()
        s.add(Membership(tenant_id=world.tenant, user_id=member, organization_id=world.unit, roles=["buyer"]))
    out = await login(orgs_url, f"m@{world.slug}.example", PASSWORD, world.slug)
    token = out["token"]
    assert (await verify(orgs_url, token)).user_id == str(member)

    # A member of a sibling organization cannot deactivate them; the unit's parent admin can.
    sibling = {"organization_id": world.other, "roles": ["buyer_admin"], "scopes": ["orgs:admin"]}
    body = await gql(orgs_url, world.tenant, DEACTIVATE, {"input": {"userId": str(member)}}, **sibling)
    assert body["data"]["userDeactivate"]["userErrors"] == [{"field": ["userId"], "code": "NOT_FOUND"}]
    body = await gql(orgs_url, world.tenant, DEACTIVATE, {"input": {"userId": str(member)}}, **world.admin())
    assert body["data"]["userDeactivate"] == {"user": {"id": str(member), "active": False}, "userErrors": []}

    again = await login(orgs_url, f"m@{world.slug}.example", PASSWORD, world.slug)
    assert again["token"] is None and again["userErrors"][0]["code"] == "USER_DEACTIVATED"
    # The gateway's check (docs/auth-contract.md): refuse a token whose `sv` is below the published one.
    claims = (await verify(orgs_url, token)).claims
    redis = aioredis.from_url(service_urls.redis_url)
    try:
        published = await redis.hget(SETTINGS.session_versions_key, str(member))
    finally:
        await redis.aclose()
    assert published is not None and claims["sv"] < int(published)
    # Reactivated: new logins work and carry the current `sv`; the old token stays refused.
    reactivate = DEACTIVATE.replace("userDeactivate", "userReactivate")
    body = await gql(orgs_url, world.tenant, reactivate, {"input": {"userId": str(member)}}, **world.admin())
    assert body["data"]["userReactivate"]["user"]["active"] is True
    fresh = await login(orgs_url, f"m@{world.slug}.example", PASSWORD, world.slug)
    fresh_claims = (await verify(orgs_url, fresh["token"])).claims
    assert fresh_claims["sv"] == int(published) > claims["sv"]
    body = await gql(
        orgs_url, world.tenant, DEACTIVATE, {"input": {"userId": str(world.admin_id)}}, **world.admin()
    )
    assert body["data"]["userDeactivate"]["userErrors"] == [{"field": ["userId"], "code": "SELF"}]


async def test_jwks_needs_no_gateway_context(orgs_url: str) -> None:
    async with aiohttp.ClientSession() as client, client.get(f"{orgs_url}/.well-known/jwks.json") as resp:
        assert resp.status == 200
        body = orjson.loads(await resp.read())
    assert body["keys"] and all(k["kty"] == "OKP" and k["alg"] == "EdDSA" for k in body["keys"])


async def test_redis_sync_consumer_reapplies_events_and_never_lowers_a_version(
    app_db: Database, service_urls: Any, world: World
) -> None:
    import uuid
    from typing import cast

    from nats.js import JetStreamContext

    from shared.events import EventEnvelope
    from subgraphs.orgs.gateway_sync import GatewaySessionSync

    user = str(uuid.uuid4())
    consumer = GatewaySessionSync(app_db, cast(JetStreamContext, None))

    def deactivated(sv: int) -> EventEnvelope:
        data = {"id": user, "session_version": sv}
        return EventEnvelope.new(
            "orgs", "user_deactivated", tenant_id=world.tenant, subject_id=user, data=data
        )

    assert await consumer.process(deactivated(3))
    assert await consumer.process(deactivated(2))  # a late, older event
    event = deactivated(4)
    assert await consumer.process(event) and not await consumer.process(event)  # idempotent
    redis = aioredis.from_url(service_urls.redis_url)
    try:
        assert await redis.hget(SETTINGS.session_versions_key, user) == b"4"
    finally:
        await redis.aclose()


async def test_rotation_cli(seeded: str, app_db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert await keys._main(["rotate"]) == 0
    kid = capsys.readouterr().out.split()[-1]
    async with app_db.session() as session:
        assert (await keys.active_key(session)).kid == kid
    assert await keys._main(["list"]) == 0
    assert f"{kid}  EdDSA" in capsys.readouterr().out
    assert await keys._main(["bogus"]) == 2
