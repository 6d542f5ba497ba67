"""`svc.catalog` op `sku_info` on the real PostgreSQL (demo data) and over NATS: the facts orders
snapshots, only for SKUs the caller's buyer catalog shows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest

from devstack.asgi import serve_asgi
from devstack.seed import seed_all
from shared.db import Database, app_database_url
from shared.rpc import RpcError, RpcRequest, rpc_call
from shared.settings import Settings
from shared.testing import gateway_headers
from subgraphs.catalog import demo_ids, rpc
from subgraphs.catalog.app import create_app
from subgraphs.orgs import seed as orgs_seed

TENANT = orgs_seed.DEMO_TENANT_ID
GLOVES = demo_ids.sku_id("GLV-WRK01-DX-M")
STEEL = demo_ids.sku_id("STL-BAR-RO-S235JR-B-D10")  # the steel catalog is published to Northwind only


@pytest.fixture(scope="module")
async def db(service_urls: Any) -> AsyncIterator[Database]:
    await seed_all(service_urls.database_url, ["orgs", "catalog"])
    database = Database.from_url(app_database_url(service_urls.database_url), pool_size=2)
    yield database
    await database.dispose()


def _request(
    db: Database, body: dict[str, Any], *, org: uuid.UUID | None, tenant: uuid.UUID = TENANT
) -> RpcRequest:
    from shared.gateway_context import Principal

    principal = Principal(
        tenant_id=str(tenant), organization_id=str(org) if org else None, scopes=("catalog:read",)
    )
    return RpcRequest("sku_info", body, principal, tenant, db)


async def test_sku_info_honours_buyer_visibility(db: Database) -> None:
    ids = [str(GLOVES), str(STEEL), str(uuid.uuid4())]
    northwind = (await rpc.sku_info(_request(db, {"sku_ids": ids}, org=orgs_seed.BUYER_ID)))["skus"]
    assert set(northwind) == {str(GLOVES), str(STEEL)}  # Northwind holds the steel contract catalog
    seen = (await rpc.sku_info(_request(db, {"sku_ids": ids}, org=orgs_seed.BUYER2_ID)))["skus"]
    assert set(seen) == {str(GLOVES)}
    facts = seen[str(GLOVES)]
    assert (
        facts["seller_organization_id"] == str(orgs_seed.SUPPLIER_ID)
        and facts["sku_code"] == "GLV-WRK01-DX-M"
    )
    assert facts["status"] == "ACTIVE" and facts["product_name"] and facts["category_id"]
    assert (await rpc.sku_info(_request(db, {"sku_ids": ids}, org=None)))["skus"] == {}
    other = await rpc.sku_info(
        _request(db, {"sku_ids": ids}, org=orgs_seed.BUYER_ID, tenant=orgs_seed.OTHER_TENANT_ID)
    )
    assert other["skus"] == {}
    with pytest.raises(RpcError) as too_many:
        await rpc.sku_info(_request(db, {"sku_ids": [str(uuid.uuid4())] * 501}, org=orgs_seed.BUYER_ID))
    assert too_many.value.code == "BAD_REQUEST"
    with pytest.raises(RpcError):
        await rpc.sku_info(_request(db, {"sku_ids": ["nope"]}, org=orgs_seed.BUYER_ID))


async def test_sku_info_over_nats(db: Database, service_urls: Any) -> None:
    app = create_app(Settings(), database=db)
    nc = await nats.connect(service_urls.nats_url)
    try:
        async with serve_asgi(app):
            await asyncio.wait_for(app.state.runtime.events_ready.wait(), timeout=20)
            reply = await rpc_call(
                nc,
                "catalog",
                "sku_info",
                {"sku_ids": [str(GLOVES)]},
                headers=gateway_headers(TENANT, organization_id=orgs_seed.BUYER_ID, scopes=["catalog:read"]),
            )
    finally:
        await nc.close()
    assert list(reply["skus"]) == [str(GLOVES)]
