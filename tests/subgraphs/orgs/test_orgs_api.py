"""The orgs subgraph end to end over HTTP, as the gateway calls it (signed context), on the real
PostgreSQL (RLS, app role) and NATS (outbox relay)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import nats
import pytest

from devstack.seed import seed_all
from shared.db import Database, libpq_url
from shared.testing import gateway_headers, graphql
from subgraphs.orgs import seed as demo
from subgraphs.orgs.models import Tenant

WRITE = ["orgs:write"]


async def _admin(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@pytest.fixture
async def fresh_tenant(app_db: Database) -> uuid.UUID:
    tenant = uuid.uuid4()
    async with app_db.tenant_session(tenant) as s:
        s.add(Tenant(id=tenant, slug=f"t-{tenant.hex[:16]}", name="Test tenant"))
    return tenant


async def _gql(
    url: str, tenant: uuid.UUID | None, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> Any:
    """As a platform admin of `tenant` (sees the whole tenant) unless `roles`/`organization_id` say."""
    kw.setdefault("roles", ["platform_admin"])
    status, body = await graphql(url, query, variables, headers=gateway_headers(tenant, **kw))
    assert status == 200, body
    return body


async def test_seeding_twice_changes_nothing(seeded: str) -> None:
    tables = ("tenants", "organizations", "users", "memberships")

    async def counts() -> dict[str, int]:
        return {t: (await _admin(seeded, f"SELECT count(*) AS n FROM orgs.{t}"))[0]["n"] for t in tables}

    before = await counts()
    await seed_all(seeded)
    assert await counts() == before
    assert before["organizations"] >= len(demo.ORGANIZATIONS)


async def test_requests_without_gateway_context_are_refused(orgs_url: str) -> None:
    status, body = await graphql(orgs_url, "{ organizations { totalCount } }")
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    status, body = await graphql(orgs_url, "{ _service { sdl } }")
    assert status == 200 and "type Organization @key" in body["data"]["_service"]["sdl"]


async def test_organizations_connection_pages_through_the_tenant(orgs_url: str) -> None:
    query = """query($first: Int, $after: String) {
      organizations(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id name kind } }
      }
    }"""
    names: list[str] = []
    after = None
    pages = 0
    while True:
        body = await _gql(orgs_url, demo.DEMO_TENANT_ID, query, {"first": 2, "after": after})
        conn = body["data"]["organizations"]
        assert conn["totalCount"] == 9
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        names += [e["node"]["name"] for e in conn["edges"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    expected = sorted(o["name"] for o in demo.ORGANIZATIONS if o["tenant_id"] == demo.DEMO_TENANT_ID)
    assert names == expected and pages == 5
    other = await _gql(
        orgs_url, demo.OTHER_TENANT_ID, "{ organizations { totalCount edges { node { name } } } }"
    )
    assert other["data"]["organizations"]["totalCount"] == 1
    assert other["data"]["organizations"]["edges"][0]["node"]["name"] == "Globex Steel"


async def test_connection_arguments_are_validated(orgs_url: str) -> None:
    body = await _gql(orgs_url, demo.DEMO_TENANT_ID, "{ organizations(first: 1000) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await _gql(
        orgs_url, demo.DEMO_TENANT_ID, '{ organizations(after: "not-a-cursor") { totalCount } }'
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await _gql(orgs_url, demo.DEMO_TENANT_ID, "{ organizations(kind: BUYER) { totalCount } }")
    assert body["data"]["organizations"]["totalCount"] == 5


async def test_hierarchy_and_memberships(orgs_url: str) -> None:
    body = await _gql(
        orgs_url,
        demo.DEMO_TENANT_ID,
        """query($id: ID!) { organization(id: $id) {
            name children { name parent { name } }
            memberships { roles user { email } }
        } }""",
        {"id": str(demo.BUYER_ID)},
    )
    org = body["data"]["organization"]
    assert org["children"] == [
        {"name": "Northwind Fabrication - Plant 2", "parent": {"name": "Northwind Fabrication"}},
        {"name": "Northwind Fabrication - Plant 3", "parent": {"name": "Northwind Fabrication"}},
    ]
    assert sorted((m["user"]["email"], tuple(m["roles"])) for m in org["memberships"]) == [
        ("abe@northwind.example", ("approver", "buyer")),
        ("bea@northwind.example", ("buyer",)),
        ("fin@northwind.example", ("finance",)),
        ("nora@northwind.example", ("buyer_admin",)),
    ]


async def test_other_tenants_entities_are_invisible(orgs_url: str) -> None:
    query = "query($id: ID!) { organization(id: $id) { id name } }"
    body = await _gql(orgs_url, demo.OTHER_TENANT_ID, query, {"id": str(demo.BUYER_ID)})
    assert body["data"]["organization"] is None
    entities = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Organization { id name } ... on User { id email } } }"""
    reps = [
        {"__typename": "Organization", "id": str(demo.BUYER_ID)},
        {"__typename": "User", "id": str(demo.BUYER_USER_ID)},
        {"__typename": "Organization", "id": str(demo.OTHER_SUPPLIER_ID)},
        {"__typename": "Organization", "id": "not-a-uuid"},
    ]
    body = await _gql(orgs_url, demo.OTHER_TENANT_ID, entities, {"r": reps})
    assert body["data"]["_entities"] == [
        None,
        None,
        {"id": str(demo.OTHER_SUPPLIER_ID), "name": "Globex Steel"},
        None,
    ]
    body = await _gql(orgs_url, demo.DEMO_TENANT_ID, entities, {"r": reps[:2]})
    assert body["data"]["_entities"] == [
        {"id": str(demo.BUYER_ID), "name": "Northwind Fabrication"},
        {"id": str(demo.BUYER_USER_ID), "email": "bea@northwind.example"},
    ]


async def test_me(orgs_url: str) -> None:
    body = await _gql(
        orgs_url, demo.DEMO_TENANT_ID, "{ me { email } tenant { slug } }", user_id=demo.BUYER_USER_ID
    )
    assert body["data"] == {
        "me": {"email": "bea@northwind.example"},
        "tenant": {"slug": demo.DEMO_TENANT_SLUG},
    }
    body = await _gql(orgs_url, demo.DEMO_TENANT_ID, "{ me { email } }")
    assert body["data"] == {"me": None}


CREATE_ORG = """mutation($input: OrganizationCreateInput!) {
  organizationCreate(input: $input) {
    organization { id name kind externalRef parent { id } }
    userErrors { field message code }
  }
}"""


async def test_organization_create_and_user_errors(orgs_url: str, fresh_tenant: uuid.UUID) -> None:
    async def create(**input: Any) -> dict[str, Any]:
        body = await _gql(orgs_url, fresh_tenant, CREATE_ORG, {"input": input}, scopes=WRITE)
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["organizationCreate"]
        return payload

    made = await create(name="  Tool Depot ", kind="DISTRIBUTOR", externalRef="ERP-1")
    assert made["userErrors"] == []
    parent = made["organization"]
    assert (
        parent["name"] == "Tool Depot"
        and parent["kind"] == "DISTRIBUTOR"
        and parent["externalRef"] == "ERP-1"
    )

    unit = await create(name="Tool Depot East", kind="DISTRIBUTOR", parentId=parent["id"])
    assert unit["organization"]["parent"] == {"id": parent["id"]}

    def codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
        assert payload["organization"] is None
        return [(".".join(e["field"]), e["code"]) for e in payload["userErrors"]]

    assert codes(await create(name="   ", kind="BUYER")) == [("name", "BLANK")]
    assert codes(await create(name="Dup", kind="BUYER", externalRef="ERP-1")) == [("externalRef", "TAKEN")]
    assert codes(await create(name="X", kind="BUYER", parentId=parent["id"])) == [
        ("parentId", "KIND_MISMATCH")
    ]
    assert codes(await create(name="X", kind="BUYER", parentId="nope")) == [("parentId", "INVALID")]
    # Another tenant's organization does not exist for this tenant.
    assert codes(await create(name="X", kind="BUYER", parentId=str(demo.BUYER_ID))) == [
        ("parentId", "NOT_FOUND")
    ]

    body = await _gql(orgs_url, fresh_tenant, "{ organizations { totalCount } }")
    assert body["data"]["organizations"]["totalCount"] == 2
    body = await _gql(orgs_url, demo.DEMO_TENANT_ID, "{ organizations { totalCount } }")
    assert body["data"]["organizations"]["totalCount"] == 9


async def test_user_and_membership_create(orgs_url: str, fresh_tenant: uuid.UUID) -> None:
    org = await _gql(orgs_url, fresh_tenant, CREATE_ORG, {"input": {"name": "Acme Buyer", "kind": "BUYER"}})
    org_id = org["data"]["organizationCreate"]["organization"]["id"]
    user_mutation = """mutation($input: UserCreateInput!) {
      userCreate(input: $input) { user { id email displayName } userErrors { field code } } }"""
    body = await _gql(
        orgs_url, fresh_tenant, user_mutation, {"input": {"email": "Pat@Example.COM", "displayName": "Pat"}}
    )
    user = body["data"]["userCreate"]["user"]
    assert user["email"] == "pat@example.com"
    body = await _gql(
        orgs_url, fresh_tenant, user_mutation, {"input": {"email": "pat@example.com", "displayName": "P"}}
    )
    assert body["data"]["userCreate"] == {"user": None, "userErrors": [{"field": ["email"], "code": "TAKEN"}]}
    body = await _gql(orgs_url, fresh_tenant, user_mutation, {"input": {"email": "nope", "displayName": ""}})
    assert [e["code"] for e in body["data"]["userCreate"]["userErrors"]] == ["INVALID", "BLANK"]

    membership_mutation = """mutation($input: MembershipCreateInput!) {
      membershipCreate(input: $input) {
        membership { roles user { email } organization { name } } userErrors { field code } } }"""
    variables = {
        "input": {"userId": user["id"], "organizationId": org_id, "roles": ["buyer", "approver", "buyer"]}
    }
    body = await _gql(orgs_url, fresh_tenant, membership_mutation, variables)
    assert body["data"]["membershipCreate"] == {
        "membership": {
            "roles": ["approver", "buyer"],
            "user": {"email": "pat@example.com"},
            "organization": {"name": "Acme Buyer"},
        },
        "userErrors": [],
    }
    body = await _gql(orgs_url, fresh_tenant, membership_mutation, variables)
    assert body["data"]["membershipCreate"]["userErrors"] == [{"field": ["userId"], "code": "TAKEN"}]
    foreign = {"input": {"userId": str(demo.BUYER_USER_ID), "organizationId": org_id, "roles": ["Bad Role"]}}
    body = await _gql(orgs_url, fresh_tenant, membership_mutation, foreign)
    assert body["data"]["membershipCreate"]["userErrors"] == [
        {"field": ["roles"], "code": "INVALID"},
        {"field": ["userId"], "code": "NOT_FOUND"},
    ]


async def test_created_organization_is_published_once(
    orgs_url: str,
    fresh_tenant: uuid.UUID,
    service_urls,  # type: ignore[no-untyped-def]
) -> None:
    body = await _gql(orgs_url, fresh_tenant, CREATE_ORG, {"input": {"name": "Evented", "kind": "SUPPLIER"}})
    org_id = body["data"]["organizationCreate"]["organization"]["id"]
    subject = f"orgs.{fresh_tenant}.organization_created"
    async with asyncio.timeout(15):
        while True:
            rows = await _admin(
                service_urls.database_url,
                "SELECT id, published_at FROM orgs.outbox WHERE subject = $1",
                subject,
            )
            if rows and rows[0]["published_at"] is not None:
                break
            await asyncio.sleep(0.1)
    assert len(rows) == 1
    nc = await nats.connect(service_urls.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("ORGS", subjects_filter=subject)
        assert sum((info.state.subjects or {}).values()) == 1
        msg = await js.get_last_msg("ORGS", subject)
    finally:
        await nc.close()
    assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == str(rows[0]["id"])
    from shared.events import EventEnvelope

    event = EventEnvelope.from_bytes(msg.data)
    assert event.type == "orgs.organization_created" and event.subject_id == org_id
    assert event.data["name"] == "Evented" and str(event.tenant_id) == str(fresh_tenant)


async def test_healthz_reports_database_and_events(orgs_url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as client, asyncio.timeout(15):
        while True:
            async with client.get(f"{orgs_url}/healthz") as response:
                body = await response.json()
            assert response.status == 200 and body["database"] == "ok" and body["subgraph"] == "orgs"
            if body["events"] == "connected":
                break
            await asyncio.sleep(0.1)
