"""Tenant isolation: RLS on every logistics tenant table; another tenant sees none of a tenant's
shipments through the list, the entity lookup (`_entities`) or `Order.shipments`."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlalchemy import text

from shared.db import libpq_url
from subgraphs.logistics.models import RLS_TABLES
from tests.subgraphs.logistics.helpers import World, order_spec

ENTITIES = """
query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on Shipment { id tenantId status }
  ... on Order { id shipments { id locationId } }
  ... on Carrier { id code } } }"""


async def test_rls_on_every_tenant_table(service_urls: Any) -> None:
    conn = await asyncpg.connect(libpq_url(service_urls.database_url))
    try:
        rows = await conn.fetch(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'logistics' AND c.relkind = 'r'"
        )
    finally:
        await conn.close()
    flags = {r["relname"]: (r["relrowsecurity"], r["relforcerowsecurity"]) for r in rows}
    for table in (*RLS_TABLES, "outbox", "processed_events", "idempotency_keys"):
        assert flags[table] == (True, True), table
    assert set(flags) - set(RLS_TABLES) - {"outbox", "processed_events", "idempotency_keys"} == {
        "job_tenants",
        "alembic_version",
    }


async def test_another_tenant_sees_nothing(http_world: World) -> None:
    w = http_world
    spec = order_spec(w, [(uuid.uuid4(), 1, w.main), (uuid.uuid4(), 2, w.south)])
    await w.apply("orders", "placed", spec.id, spec.placed)
    await w.apply("stock", "reserved", spec.id, {"order_id": str(spec.id), "allocations": spec.allocations})
    await w.apply("orders", "confirmed", spec.id, {"order_id": str(spec.id)})
    shipments = await w.shipments(spec.id)
    reps = [
        *({"__typename": "Shipment", "id": str(s.id)} for s in shipments),
        {"__typename": "Order", "id": str(spec.id)},
        {"__typename": "Carrier", "id": str(w.standard)},
    ]
    mine = (await w.gql(ENTITIES, {"reps": reps}))["_entities"]
    assert [e["tenantId"] for e in mine[:2]] == [str(w.tenant)] * 2
    assert len(mine[2]["shipments"]) == 2 and mine[3]["code"] == "STD"

    other = uuid.uuid4()
    theirs = (await w.gql(ENTITIES, {"reps": reps}, tenant=other))["_entities"]
    assert theirs[:2] == [None, None] and theirs[2]["shipments"] == [] and theirs[3] is None
    listing = await w.gql(
        "{ shipments { totalCount } carriers { totalCount } pickWaves { totalCount } }", tenant=other
    )
    assert {k: v["totalCount"] for k, v in listing.items()} == {"shipments": 0, "carriers": 0, "pickWaves": 0}
    page = await w.gql(
        "query($o: ID!) { shipments(orderId: $o, first: 1) { totalCount pageInfo { hasNextPage endCursor } "
        "edges { node { id } } } }",
        {"o": str(spec.id)},
    )
    assert page["shipments"]["totalCount"] == 2 and page["shipments"]["pageInfo"]["hasNextPage"] is True
    after = page["shipments"]["pageInfo"]["endCursor"]
    rest = await w.gql(
        "query($o: ID!, $a: String) { shipments(orderId: $o, after: $a) { edges { node { id } } } }",
        {"o": str(spec.id), "a": after},
    )
    ids = {page["shipments"]["edges"][0]["node"]["id"], rest["shipments"]["edges"][0]["node"]["id"]}
    assert ids == {str(s.id) for s in shipments}

    # Through the app role without a tenant the tables look empty.
    async with w.db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM logistics.shipments"))).scalar_one() == 0


async def test_scopes_and_bad_ids(http_world: World) -> None:
    from shared.testing import gateway_headers, graphql

    w = http_world
    headers = gateway_headers(w.tenant, scopes=("catalog:read",))
    status, body = await graphql(w.url, "{ shipments { totalCount } }", headers=headers)
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    out = await w.gql(
        'mutation { shipmentDispatch(input: {shipmentId: "x"}) '
        "{ shipment { id } userErrors { field code } } }"
    )
    assert out["shipmentDispatch"]["userErrors"] == [{"field": ["shipmentId"], "code": "INVALID"}]
    created = await w.gql(
        'mutation { carrierCreate(input: {code: "STD", name: "dup"}) { carrier { id } webhookSecret '
        "userErrors { field code } } }"
    )
    assert created["carrierCreate"]["userErrors"] == [{"field": ["code"], "code": "TAKEN"}]
    fresh = await w.gql(
        'mutation { carrierCreate(input: {code: "NEW", name: "New", quality: "0.5", '
        'pricePerParcel: "3.25", countries: ["ch"]}) { carrier { code quality countries '
        "pricePerParcel { amount currency } } webhookSecret userErrors { code } } }"
    )
    payload = fresh["carrierCreate"]
    assert payload["carrier"]["countries"] == ["CH"] and len(payload["webhookSecret"]) > 30
    status, body = await graphql(
        w.url,
        '{ shipments(after: "garbage") { totalCount } }',
        headers=gateway_headers(w.tenant, scopes=("orders:read",)),
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_seed_is_idempotent(service_urls: Any) -> None:
    from shared.db import Database
    from subgraphs.logistics import seed

    owner = Database.from_url(service_urls.database_url, pool_size=1)
    try:
        await seed.seed(owner)
        await seed.seed(owner)
        async with owner.tenant_session(seed.TENANT_ID) as session:
            carriers = (
                await session.execute(
                    text("SELECT count(*) FROM logistics.carriers WHERE tenant_id = :t"),
                    {"t": seed.TENANT_ID},
                )
            ).scalar_one()
    finally:
        await owner.dispose()
    assert carriers == 2
