"""The demo seed priced through GraphQL, and the organization projection fed by orgs events over
real NATS JetStream."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import nats
import pytest
from sqlalchemy import select

from shared.db import Database
from shared.events import EventEnvelope, ensure_stream
from subgraphs.catalog.demo_data import DEMO_PRODUCTS
from subgraphs.catalog.demo_ids import sku_id
from subgraphs.orgs import seed as orgs_seed
from subgraphs.pricing import seed as pricing_seed
from subgraphs.pricing import service
from subgraphs.pricing.consumers import OrgUnitProjection
from subgraphs.pricing.models import OrgUnit
from tests.subgraphs.pricing.helpers import Tenant


def _first_sku(category: str) -> uuid.UUID:
    return next(sku_id(p.skus[0].code) for p in DEMO_PRODUCTS if p.category == category)


@pytest.fixture(scope="module")
async def seeded(service_urls: Any) -> None:
    owner = Database.from_url(service_urls.database_url, pool_size=2, max_overflow=0)
    try:
        await pricing_seed.seed(owner)
        await pricing_seed.seed(owner)  # idempotent
    finally:
        await owner.dispose()


PRICE = """query($reps: [_Any!]!, $q: Int!) { _entities(representations: $reps) { ... on Sku {
  price(quantity: $q) { unitPrice { amount currency } source priceListName userErrors { code } } } } }"""


async def test_demo_prices(seeded: None, tenant: Tenant) -> None:
    demo = Tenant(tenant.url, tenant.db, orgs_seed.DEMO_TENANT_ID, *(uuid.uuid4() for _ in range(6)))

    async def price(org: uuid.UUID, sku: uuid.UUID, qty: int) -> dict[str, Any]:
        data = await demo.gql(PRICE, {"reps": [{"__typename": "Sku", "id": str(sku)}], "q": qty}, org=org)
        result: dict[str, Any] = data["_entities"][0]["price"]
        return result

    gloves, work_gloves = _first_sku("disposable-gloves"), _first_sku("work-gloves")
    plant, northwind = orgs_seed.BUYER_PLANT_ID, orgs_seed.BUYER_ID
    assert (await price(plant, gloves, 10))["priceListName"] == "Northwind Plant 2 gloves"
    assert (await price(plant, gloves, 5))["userErrors"] == [{"code": "QUANTITY_BELOW_MINIMUM"}]
    assert (await price(plant, work_gloves, 1))["priceListName"] == "Northwind negotiated prices"  # inherited
    assert (await price(northwind, gloves, 1))["priceListName"] == "Northwind negotiated prices"
    welding = await price(northwind, _first_sku("welding-wire"), 1)
    assert (welding["source"], welding["priceListName"]) == ("CONTRACT", "Northwind welding wire contract")
    assert (await price(plant, _first_sku("cutting-discs"), 1))[
        "priceListName"
    ] == "Northwind abrasives promotion"
    steel = await price(orgs_seed.DISTRIBUTOR_ID, _first_sku("steel-bars"), 5)
    assert (steel["priceListName"], steel["unitPrice"]["currency"]) == ("Distributor resale prices", "USD")
    supplier = await price(orgs_seed.SUPPLIER_ID, _first_sku("steel-sheets"), 1)
    assert (supplier["source"], supplier["priceListName"]) == ("BASE", "List prices USD")
    assert (await price(orgs_seed.SUPPLIER_ID, _first_sku("steel-bars"), 3))["userErrors"] == [
        {"code": "QUANTITY_BELOW_MINIMUM"}
    ]

    quote = await demo.gql(
        "query($id: ID!) { quote(id: $id) { status currentVersion { total { amount currency } } } }",
        {"id": str(pricing_seed.DEMO_QUOTE_ID)},
        org=northwind,
    )
    assert quote["quote"] == {
        "status": "QUOTED",
        "currentVersion": {"total": {"amount": "8965.00", "currency": "USD"}},
    }
    # the other tenant's EUR base list is invisible here, and vice versa
    other = Tenant(tenant.url, tenant.db, orgs_seed.OTHER_TENANT_ID, *(uuid.uuid4() for _ in range(6)))
    lists = await other.gql("{ priceLists { edges { node { name } } } }", scopes=("pricing:write",))
    assert [e["node"]["name"] for e in lists["priceLists"]["edges"]] == ["Globex list prices EUR"]


async def test_org_projection_follows_orgs_events_over_jetstream(tenant: Tenant, service_urls: Any) -> None:
    t = tenant
    nc = await nats.connect(service_urls.nats_url)
    js = nc.jetstream()
    stream = await ensure_stream(js, "orgs")

    class Projection(OrgUnitProjection):
        name = f"pricing-org-units-test-{secrets.token_hex(4)}"

    consumer = Projection(t.db, js)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    new_unit = uuid.uuid4()
    created = EventEnvelope.new(
        "orgs",
        "organization_created",
        tenant_id=t.id,
        subject_id=new_unit,
        data={"id": str(new_unit), "kind": "BUYER", "name": "Plant 9", "parent_id": str(t.unit)},
    )
    try:
        await js.publish(created.subject, created.to_bytes(), headers={"Nats-Msg-Id": str(created.id)})
        for _ in range(100):
            async with t.db.tenant_session(t.id) as session:
                row = await session.scalar(select(OrgUnit).where(OrgUnit.id == new_unit))
            if row is not None:
                break
            await asyncio.sleep(0.1)
        assert row is not None and row.parent_id == t.unit and row.name == "Plant 9"
        async with t.db.tenant_session(t.id) as session:
            buyer = await service.buyer_context(session, new_unit)
        assert buyer.chain == (new_unit, t.unit, t.company) and buyer.currency == "EUR"
        assert await consumer.process(created) is False  # a redelivery is not applied twice
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await js.delete_consumer(stream, Projection.name)
        await nc.close()
