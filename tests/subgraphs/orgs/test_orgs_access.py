"""API keys (shown once, hashed at rest, looked up by the gateway, revoked), the data scope rule,
tenant isolation, custom roles, invitations, the audit log and inherited business-unit settings."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from gateway.auth.api_keys import HttpKeyResolver, principal_for_key
from gateway.auth.principal import AuthenticationError
from shared.db import Database
from shared.gateway_context import HEADER, Principal, sign_context
from shared.settings import get_settings
from shared.testing import gateway_headers
from subgraphs.orgs import seed as demo
from subgraphs.orgs import service
from subgraphs.orgs.access import Actor, scope_of
from subgraphs.orgs.models import AuditEntry, Membership
from tests.subgraphs.orgs.helpers import PASSWORD, World, gql, login

CREATE_KEY = """mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) {
  key apiKey { id prefix scopes organizationId revokedAt lastUsedAt } userErrors { field code } } }"""
REVOKE_KEY = """mutation($id: ID!) { apiKeyRevoke(input: {id: $id}) {
  apiKey { id revokedAt } userErrors { field code } } }"""


def gateway_context() -> dict[str, str]:
    principal = Principal(roles=("gateway",))
    return {HEADER: sign_context(principal, get_settings().gateway_secret_bytes, ttl=30)}


async def lookup(url: str, key_hash: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{url}/internal/api-keys", params={"hash": key_hash}, headers=headers or {}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_api_key_shown_once_hashed_at_rest_resolved_and_revoked(
    orgs_url: str, world: World, app_db: Database, service_urls: Any
) -> None:
    variables = {"input": {"organizationId": str(world.unit), "name": "ERP", "scopes": ["catalog:read"]}}
    body = await gql(orgs_url, world.tenant, CREATE_KEY, variables, **world.admin())
    created = body["data"]["apiKeyCreate"]
    key, api_key = created["key"], created["apiKey"]
    assert created["userErrors"] == [] and key.startswith(api_key["prefix"] + "_") and len(key) > 40
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    async with app_db.tenant_session(world.tenant) as s:
        row = (await s.execute(text("SELECT * FROM orgs.api_keys WHERE id = :i"), {"i": api_key["id"]})).one()
    assert row.key_hash == key_hash and key not in repr(tuple(row))  # only the hash is stored
    listed = await gql(
        orgs_url,
        world.tenant,
        "query($id: ID!) { organization(id: $id) { apiKeys { id prefix } } }",
        {"id": str(world.unit)},
        **world.admin(),
    )
    assert listed["data"]["organization"]["apiKeys"] == [{"id": api_key["id"], "prefix": api_key["prefix"]}]

    # The lookup is for the gateway only.
    assert (await lookup(orgs_url, key_hash))[0] == 401
    other = gateway_headers(world.tenant, roles=["buyer_admin"])
    assert (await lookup(orgs_url, key_hash, other))[0] == 403
    status, record = await lookup(orgs_url, key_hash, gateway_context())
    assert status == 200 and record == {
        "key_id": api_key["id"],
        "tenant_id": str(world.tenant),
        "organization_id": str(world.unit),
        "roles": [],
        "scopes": ["catalog:read"],
        "expires_at": None,
        "revoked": False,
    }
    assert (await lookup(orgs_url, "0" * 64, gateway_context()))[0] == 404
    assert (await lookup(orgs_url, "garbage", gateway_context()))[0] == 404

    # The gateway's resolver against this endpoint, with its Redis cache.
    resolver = HttpKeyResolver(
        f"{orgs_url}/internal/api-keys", service_urls.redis_url, get_settings().gateway_secret_bytes
    )
    try:
        principal = await principal_for_key(resolver, key)
        assert principal.organization_id == str(world.unit) and principal.scopes == frozenset(
            {"catalog:read"}
        )
        async with app_db.tenant_session(world.tenant) as s:
            used = (
                await s.execute(
                    text("SELECT last_used_at FROM orgs.api_keys WHERE id = :i"), {"i": api_key["id"]}
                )
            ).scalar()
        assert used is not None
        body = await gql(orgs_url, world.tenant, REVOKE_KEY, {"id": api_key["id"]}, **world.admin())
        assert body["data"]["apiKeyRevoke"]["apiKey"]["revokedAt"] is not None
        # Revocation evicted the gateway's cached answer: refused now, not within 5 s.
        with pytest.raises(AuthenticationError):
            await principal_for_key(resolver, key)
    finally:
        await resolver.close()
    assert (await lookup(orgs_url, key_hash, gateway_context()))[0] == 404


async def test_api_key_rules(orgs_url: str, world: World) -> None:
    async def create(**input: Any) -> list[tuple[str, str]]:
        body = await gql(
            orgs_url, world.tenant, CREATE_KEY, {"input": {"name": "k", **input}}, **world.admin()
        )
        payload = body["data"]["apiKeyCreate"]
        assert payload["key"] is None
        return [(e["field"][0], e["code"]) for e in payload["userErrors"]]

    org = str(world.org)
    assert await create(organizationId=org, scopes=["finance:write"]) == [("scopes", "FORBIDDEN_SCOPE")]
    assert await create(organizationId=org, scopes=["made:up"]) == [("scopes", "INVALID")]
    assert await create(organizationId=str(world.other), scopes=["catalog:read"]) == [
        ("organizationId", "NOT_FOUND")
    ]
    assert await create(organizationId=str(demo.BUYER_ID), scopes=["catalog:read"]) == [
        ("organizationId", "NOT_FOUND")
    ]
    # Without orgs:admin the subgraph refuses too (the gateway would have removed the field).
    body = await gql(
        orgs_url,
        world.tenant,
        CREATE_KEY,
        {"input": {"name": "k", "organizationId": org, "scopes": ["catalog:read"]}},
        **world.admin("catalog:read"),
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


ORGS = "{ organizations(first: 50) { totalCount edges { node { id } } } }"
ORG = "query($id: ID!) { organization(id: $id) { id children { id } memberships { id } } }"


async def test_data_scope_rule(orgs_url: str) -> None:
    async def ids(**principal: Any) -> set[str]:
        body = await gql(orgs_url, demo.DEMO_TENANT_ID, ORGS, **principal)
        return {e["node"]["id"] for e in body["data"]["organizations"]["edges"]}

    northwind = {"organization_id": demo.BUYER_ID, "roles": ["buyer"]}
    assert await ids(**northwind) == {str(demo.BUYER_ID), str(demo.BUYER_PLANT_ID), str(demo.BUYER_PLANT3_ID)}
    assert await ids(organization_id=demo.BUYER_PLANT_ID, roles=["buyer"]) == {str(demo.BUYER_PLANT_ID)}
    assert len(await ids(roles=["platform_admin"])) == 9
    assert await ids() == set()  # no organization, not an admin: nothing (fail closed)

    # A member of a sibling buyer cannot list Northwind's units or members.
    harbor = {"organization_id": demo.BUYER2_ID, "roles": ["buyer_admin"]}
    body = await gql(orgs_url, demo.DEMO_TENANT_ID, ORG, {"id": str(demo.BUYER_ID)}, **harbor)
    assert body["data"]["organization"] is None
    body = await gql(
        orgs_url,
        demo.DEMO_TENANT_ID,
        "query($p: ID) { organizations(parentId: $p) { totalCount } }",
        {"p": str(demo.BUYER_ID)},
        **harbor,
    )
    assert body["data"]["organizations"]["totalCount"] == 0
    body = await gql(orgs_url, demo.DEMO_TENANT_ID, ORG, {"id": str(demo.BUYER_ID)}, **northwind)
    assert (
        len(body["data"]["organization"]["children"]) == 2
        and len(body["data"]["organization"]["memberships"]) == 4
    )
    admin = {"roles": ["platform_admin"], "organization_id": demo.PLATFORM_ID}
    body = await gql(orgs_url, demo.DEMO_TENANT_ID, ORG, {"id": str(demo.BUYER_ID)}, **admin)
    assert len(body["data"]["organization"]["children"]) == 2


async def test_another_tenants_anything_is_invisible(orgs_url: str, world: World) -> None:
    # Globex's platform admin (a real login) sees Globex only.
    out = await login(orgs_url, "admin@globex.example", demo.DEMO_PASSWORD, "globex")
    assert out["userErrors"] == [] and "orgs:admin" in out["scopes"]
    globex = {"roles": ["platform_admin"], "scopes": out["scopes"]}
    body = await gql(orgs_url, demo.OTHER_TENANT_ID, ORGS, **globex)
    assert {e["node"]["id"] for e in body["data"]["organizations"]["edges"]} == {str(demo.OTHER_SUPPLIER_ID)}
    body = await gql(orgs_url, demo.OTHER_TENANT_ID, ORG, {"id": str(world.org)}, **globex)
    assert body["data"]["organization"] is None
    # Keys, roles, audit entries and memberships of the fresh tenant do not exist for Globex.
    created = await gql(
        orgs_url,
        world.tenant,
        CREATE_KEY,
        {"input": {"organizationId": str(world.org), "name": "ERP", "scopes": ["catalog:read"]}},
        **world.admin(),
    )
    key_id = created["data"]["apiKeyCreate"]["apiKey"]["id"]
    body = await gql(orgs_url, demo.OTHER_TENANT_ID, REVOKE_KEY, {"id": key_id}, **globex)
    assert body["data"]["apiKeyRevoke"]["userErrors"] == [{"field": ["id"], "code": "NOT_FOUND"}]
    await gql(
        orgs_url,
        world.tenant,
        ROLE_CREATE,
        {"input": {"code": "secret_role", "name": "S", "scopes": ["catalog:read"]}},
        **world.admin(),
    )
    body = await gql(
        orgs_url,
        demo.OTHER_TENANT_ID,
        "{ roles { code } auditLog { totalCount edges { node { subjectId } } } }",
        **globex,
    )
    assert "secret_role" not in {r["code"] for r in body["data"]["roles"]}
    assert key_id not in {e["node"]["subjectId"] for e in body["data"]["auditLog"]["edges"]}
    # A user of the fresh tenant cannot log in to Globex.
    wrong = await login(orgs_url, world.admin_email, PASSWORD, "globex")
    assert wrong["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


ROLE_CREATE = """mutation($input: RoleCreateInput!) { roleCreate(input: $input) {
  role { code name scopes builtIn } userErrors { field code } } }"""
ROLE_UPDATE = """mutation($input: RoleUpdateInput!) { roleUpdate(input: $input) {
  role { code scopes } userErrors { field code } } }"""
MEMBERSHIP_UPDATE = """mutation($input: MembershipUpdateInput!) { membershipUpdate(input: $input) {
  membership { id roles } userErrors { field code } } }"""


async def test_custom_roles(orgs_url: str, world: World, app_db: Database) -> None:
    admin = world.admin()
    body = await gql(
        orgs_url,
        world.tenant,
        ROLE_CREATE,
        {
            "input": {
                "code": "purchasing_lead",
                "name": "Purchasing lead",
                "scopes": ["orders:approve", "catalog:read"],
            }
        },
        **admin,
    )
    assert body["data"]["roleCreate"] == {
        "role": {
            "code": "purchasing_lead",
            "name": "Purchasing lead",
            "scopes": ["catalog:read", "orders:approve"],
            "builtIn": False,
        },
        "userErrors": [],
    }
    for bad, expected in (
        ({"code": "buyer", "name": "x", "scopes": []}, [("code", "TAKEN")]),
        ({"code": "purchasing_lead", "name": "x", "scopes": []}, [("code", "TAKEN")]),
        ({"code": "Bad Code", "name": "x", "scopes": []}, [("code", "INVALID")]),
        ({"code": "ok_code", "name": "x", "scopes": ["nope:nope"]}, [("scopes", "INVALID")]),
    ):
        body = await gql(orgs_url, world.tenant, ROLE_CREATE, {"input": bad}, **admin)
        assert [(e["field"][0], e["code"]) for e in body["data"]["roleCreate"]["userErrors"]] == expected, bad

    async with app_db.tenant_session(world.tenant) as s:
        membership = await s.scalar(select(Membership).where(Membership.user_id == world.admin_id))
    assert membership is not None
    body = await gql(
        orgs_url,
        world.tenant,
        MEMBERSHIP_UPDATE,
        {"input": {"id": str(membership.id), "roles": ["buyer_admin", "purchasing_lead"]}},
        **admin,
    )
    assert body["data"]["membershipUpdate"]["membership"]["roles"] == ["buyer_admin", "purchasing_lead"]
    body = await gql(
        orgs_url,
        world.tenant,
        MEMBERSHIP_UPDATE,
        {"input": {"id": str(membership.id), "roles": ["ghost"]}},
        **admin,
    )
    assert body["data"]["membershipUpdate"]["userErrors"] == [{"field": ["roles"], "code": "UNKNOWN_ROLE"}]

    out = await login(orgs_url, world.admin_email, PASSWORD, world.slug)
    assert "orders:approve" in out["scopes"] and "stock:adjust" not in out["scopes"]
    body = await gql(
        orgs_url,
        world.tenant,
        ROLE_UPDATE,
        {"input": {"code": "purchasing_lead", "scopes": ["stock:adjust"]}},
        **admin,
    )
    assert body["data"]["roleUpdate"]["role"] == {"code": "purchasing_lead", "scopes": ["stock:adjust"]}
    out = await login(orgs_url, world.admin_email, PASSWORD, world.slug)
    assert "stock:adjust" in out["scopes"]
    body = await gql(orgs_url, world.tenant, ROLE_UPDATE, {"input": {"code": "buyer", "scopes": []}}, **admin)
    assert body["data"]["roleUpdate"]["userErrors"] == [{"field": ["code"], "code": "BUILTIN_ROLE"}]
    body = await gql(orgs_url, world.tenant, "{ roles { code builtIn } permissionScopes }", **admin)
    codes = {r["code"]: r["builtIn"] for r in body["data"]["roles"]}
    assert codes["platform_admin"] is True and codes["purchasing_lead"] is False
    assert "orgs:admin" in body["data"]["permissionScopes"]


INVITE = """mutation($input: InvitationCreateInput!) { invitationCreate(input: $input) {
  token invitation { id email roles } userErrors { field code } } }"""
ACCEPT = """mutation($input: InvitationAcceptInput!) { invitationAccept(input: $input) {
  user { email displayName } membership { roles } userErrors { field code } } }"""


async def test_invitation_accept(orgs_url: str, world: World) -> None:
    body = await gql(
        orgs_url,
        world.tenant,
        INVITE,
        {"input": {"email": "New.Person@Example.com", "organizationId": str(world.unit), "roles": ["buyer"]}},
        **world.admin(),
    )
    created = body["data"]["invitationCreate"]
    assert created["userErrors"] == [] and created["invitation"]["email"] == "new.person@example.com"
    token = created["token"]
    bad = await gql(
        orgs_url,
        world.tenant,
        INVITE,
        {"input": {"email": "x@example.com", "organizationId": str(world.other), "roles": ["ghost"]}},
        **world.admin(),
    )
    assert [e["code"] for e in bad["data"]["invitationCreate"]["userErrors"]] == ["NOT_FOUND", "UNKNOWN_ROLE"]

    async def accept(**input: Any) -> dict[str, Any]:
        base = {"tenant": world.slug, "token": token, "displayName": "New Person", "password": PASSWORD}
        result: dict[str, Any] = (await gql(orgs_url, None, ACCEPT, {"input": {**base, **input}}))["data"][
            "invitationAccept"
        ]
        return result

    assert (await accept(password="short"))["userErrors"] == [
        {"field": ["password"], "code": "WEAK_PASSWORD"}
    ]
    assert (await accept(token="wrong"))["userErrors"] == [{"field": ["token"], "code": "INVALID_TOKEN"}]
    assert (await accept(tenant="globex"))["userErrors"] == [{"field": ["token"], "code": "INVALID_TOKEN"}]
    done = await accept()
    assert done["userErrors"] == [] and done["user"]["email"] == "new.person@example.com"
    assert done["membership"] == {"roles": ["buyer"]}
    assert (await accept())["userErrors"] == [{"field": ["token"], "code": "INVALID_TOKEN"}]  # used once
    out = await login(orgs_url, "new.person@example.com", PASSWORD, world.slug)
    assert out["organizationId"] == str(world.unit) and out["roles"] == ["buyer"]


AUDIT = "{ auditLog(first: 50) { totalCount edges { node { action subjectId actorUserId data } } } }"


async def test_audit_log_is_written_with_the_change(orgs_url: str, world: World, app_db: Database) -> None:
    async with app_db.tenant_session(world.tenant) as s:
        membership = await s.scalar(select(Membership).where(Membership.user_id == world.admin_id))
    assert membership is not None
    body = await gql(
        orgs_url,
        world.tenant,
        MEMBERSHIP_UPDATE,
        {"input": {"id": str(membership.id), "roles": ["buyer_admin", "approver"]}},
        **world.admin(),
    )
    assert body["data"]["membershipUpdate"]["userErrors"] == []
    body = await gql(orgs_url, world.tenant, AUDIT, **world.admin())
    entries = [e["node"] for e in body["data"]["auditLog"]["edges"]]
    assert entries[0]["action"] == "membership_roles_changed" and entries[0]["subjectId"] == str(
        membership.id
    )
    assert entries[0]["actorUserId"] == str(world.admin_id)
    assert '"previous_roles":["buyer_admin"]' in entries[0]["data"]

    # The entry is part of the change's transaction: when the transaction fails, neither exists.
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with app_db.tenant_session(world.tenant) as s:
            scope = await scope_of(s, Principal(tenant_id=str(world.tenant), roles=("platform_admin",)))
            await service.update_membership_roles(
                s, world.tenant, Actor(world.admin_id, world.org), scope, str(membership.id), ["buyer"]
            )
            raise Boom
    async with app_db.tenant_session(world.tenant) as s:
        count = await s.scalar(select(AuditEntry.id).where(AuditEntry.data["roles"].astext == '["buyer"]'))
        current = await s.get(Membership, membership.id)
    assert count is None and current is not None and current.roles == ["approver", "buyer_admin"]
    # Admins only.
    body = await gql(orgs_url, world.tenant, AUDIT, **world.admin("catalog:read"))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_business_unit_settings_are_inherited(orgs_url: str, world: World) -> None:
    query = """query($id: ID!) { organization(id: $id) {
        currency paymentTerms effectiveSettings { currency currencyFrom paymentTerms paymentTermsFrom } } }"""
    admin = {"roles": ["platform_admin"]}
    body = await gql(orgs_url, demo.DEMO_TENANT_ID, query, {"id": str(demo.BUYER_PLANT3_ID)}, **admin)
    assert body["data"]["organization"] == {
        "currency": None,
        "paymentTerms": "NET45",
        "effectiveSettings": {
            "currency": "USD",
            "currencyFrom": str(demo.BUYER_ID),
            "paymentTerms": "NET45",
            "paymentTermsFrom": str(demo.BUYER_PLANT3_ID),
        },
    }
    update = """mutation($input: OrganizationSettingsUpdateInput!) {
      organizationSettingsUpdate(input: $input) { organization { currency } userErrors { field code } } }"""
    body = await gql(
        orgs_url,
        world.tenant,
        update,
        {"input": {"organizationId": str(world.org), "currency": "eur"}},
        **world.admin(),
    )
    assert body["data"]["organizationSettingsUpdate"] == {
        "organization": {"currency": "EUR"},
        "userErrors": [],
    }
    body = await gql(
        orgs_url,
        world.tenant,
        update,
        {"input": {"organizationId": str(world.org), "currency": "EURO"}},
        **world.admin(),
    )
    assert body["data"]["organizationSettingsUpdate"]["userErrors"] == [
        {"field": ["currency"], "code": "INVALID"}
    ]
    body = await gql(orgs_url, world.tenant, query, {"id": str(world.unit)}, **world.admin())
    assert body["data"]["organization"]["effectiveSettings"]["currency"] == "EUR"
    body = await gql(
        orgs_url,
        world.tenant,
        update,
        {"input": {"organizationId": str(world.other), "currency": "USD"}},
        **world.admin(),
    )
    assert body["data"]["organizationSettingsUpdate"]["userErrors"] == [
        {"field": ["organizationId"], "code": "NOT_FOUND"}
    ]


def test_ids_of_other_subgraphs_are_stable() -> None:
    from shared.ids import stable_id

    assert stable_id("org", "acme-mro", "northwind") == demo.BUYER_ID
    assert [o["id"] for o in demo.ORGANIZATIONS[:6]] == [
        demo.PLATFORM_ID,
        demo.SUPPLIER_ID,
        demo.BUYER_ID,
        demo.BUYER_PLANT_ID,
        demo.DISTRIBUTOR_ID,
        demo.OTHER_SUPPLIER_ID,
    ]
    assert isinstance(uuid.UUID(str(demo.SUPPLIER2_ID)), uuid.UUID)


async def test_every_tenant_table_is_under_forced_rls(seeded: str, app_db: Database, world: World) -> None:
    from subgraphs.orgs.models import RLS_TABLES

    async with app_db.session() as s:
        flags = {
            row.relname: (row.relrowsecurity, row.relforcerowsecurity)
            for row in await s.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'orgs' AND c.relkind = 'r'"
                )
            )
        }
        # Without a tenant, tenant tables look empty (the directories are the documented exceptions).
        for table in RLS_TABLES:
            assert flags[table] == (True, True), table
            assert await s.scalar(text(f"SELECT count(*) FROM orgs.{table}")) == 0, table
    # The fresh tenant's rows are invisible from the demo tenant.
    async with app_db.tenant_session(demo.DEMO_TENANT_ID) as s:
        assert (
            await s.scalar(
                text("SELECT count(*) FROM orgs.organizations WHERE tenant_id = :t"), {"t": world.tenant}
            )
            == 0
        )
