"""Finance with its NATS side on: orders events published to JetStream drive the seam, finance's
events reach JetStream through the outbox relay, the sweeper settles after the shortened delay;
and the demo seed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from shared.db import Database
from shared.events import EventEnvelope, ensure_stream
from shared.testing import gateway_headers, graphql
from subgraphs.finance import credit, settlement
from subgraphs.finance.config import get_finance_settings
from subgraphs.finance.terms import Terms
from tests.subgraphs.finance.helpers import Org, oid, placed, transition


@pytest.fixture
async def live(
    finance_db: Database,
    serve_app: Callable[[Any], Awaitable[str]],
    service_urls: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[str, Any, NatsClient]]:
    from shared.settings import get_settings
    from subgraphs.finance.app import create_app

    monkeypatch.setenv("B2B_FINANCE_SWEEP_INTERVAL", "0.3")
    get_finance_settings.cache_clear()
    app = create_app(get_settings(), database=finance_db)
    get_finance_settings.cache_clear()
    url = await serve_app(app)
    await asyncio.wait_for(app.state.runtime.events_ready.wait(), timeout=20)
    nc = await nats.connect(service_urls.nats_url)
    try:
        yield url, app, nc
    finally:
        await nc.close()


async def test_orders_events_through_jetstream_to_settlement(
    finance_db: Database, live: tuple[str, Any, NatsClient]
) -> None:
    url, _app, nc = live
    org = await Org(finance_db).setup()
    async with finance_db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, Terms.NET_30)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("10000.00"))
        await credit.set_distributors(s, org.id, org.company, org.dist1, org.dist2)
        await settlement.set_settlement_delay(s, org.id, 1)
    seen: list[EventEnvelope] = []

    async def on_msg(msg: Msg) -> None:
        seen.append(EventEnvelope.from_bytes(msg.data))

    await nc.subscribe(f"finance.{org.id}.>", cb=on_msg)
    js = nc.jetstream()
    await ensure_stream(js, "orders")

    async def publish(event: EventEnvelope) -> None:
        await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})

    async def wait_for(kind: str) -> EventEnvelope:
        async def poll() -> EventEnvelope:
            while True:
                for e in seen:
                    if e.type == kind:
                        return e
                await asyncio.sleep(0.05)

        return await asyncio.wait_for(poll(), 20.0)

    order = placed(org, "100.00")
    await publish(order)
    reserved = transition(org, oid(order), "reserved")
    await publish(reserved)
    await publish(reserved)  # duplicate message id: JetStream drops it; the consumer would skip it
    authorized = await wait_for("finance.payment_authorized")
    assert authorized.data["method"] == "credit" and authorized.subject_id == str(oid(order))
    await publish(transition(org, oid(order), "confirmed", "reserved"))
    issued = await wait_for("finance.invoice_issued")
    assert issued.data["total"] == "100.00"

    headers = gateway_headers(org.id, organization_id=org.platform, scopes=["finance:read", "finance:write"])
    mutation = (
        """mutation($i: BankTransferRecordInput!) { bankTransferRecord(input: $i) { userErrors { code } } }"""
    )
    status, body = await graphql(
        url,
        mutation,
        {"i": {"orderId": str(oid(order)), "amount": "100.00", "currency": "EUR"}},
        headers=headers,
    )
    assert status == 200 and body["data"]["bankTransferRecord"]["userErrors"] == [], body
    await wait_for("finance.invoice_paid")
    await publish(transition(org, oid(order), "delivered", "shipped"))
    done = await wait_for("finance.settlement_done")
    assert done.data["shares"] == {
        "platform": "5.00",
        "supplier": "60.00",
        "level1": "20.00",
        "level2": "15.00",
        "rounding": "0.00",
        "supplier_id": str(org.seller),
        "level1_id": str(org.dist1),
        "level2_id": str(org.dist2),
    }
    assert sorted(p["amount"] for p in done.data["payouts"]) == ["15.00", "20.00", "60.00"]
    query = """query($o: ID!) { settlement(orderId: $o) { status payouts { amount { amount } } }
      trialBalance { amount } }"""
    status, body = await graphql(
        url,
        query,
        {"o": str(oid(order))},
        headers=headers,
    )
    assert (
        body["data"]["settlement"]["status"] == "SETTLED" and len(body["data"]["settlement"]["payouts"]) == 3
    )
    assert body["data"]["trialBalance"] == [{"amount": "0.00"}]
    # Another tenant's subscription saw nothing of it; every finance event carried this tenant.
    assert {e.tenant_id for e in seen} == {org.id}
    kinds = [e.type for e in seen]
    for kind in ("payment_captured", "invoice_issued", "invoice_paid", "settlement_done"):
        assert f"finance.{kind}" in kinds
    assert orjson.dumps(done.data)


async def test_demo_seed_is_idempotent(service_urls: Any, finance_db: Database) -> None:
    from subgraphs.finance import seed as finance_seed
    from subgraphs.orgs import seed as orgs_seed

    owner = Database.from_url(service_urls.database_url, pool_size=1, max_overflow=0)
    try:
        await finance_seed.seed(owner)
        await finance_seed.seed(owner)
    finally:
        await owner.dispose()
    async with finance_db.tenant_session(orgs_seed.DEMO_TENANT_ID) as s:
        plant = await credit.profile(s, orgs_seed.BUYER_PLANT_ID)
        assert plant.terms is Terms.NET_30 and plant.terms_source == orgs_seed.BUYER_ID
        assert plant.level1_distributor_id == orgs_seed.DISTRIBUTOR_ID
        line = await credit.credit_line_for(s, orgs_seed.BUYER_PLANT_ID, "EUR")
        assert line is not None and line.credit_limit == Decimal("50000.00")
    assert uuid.UUID(str(orgs_seed.DEMO_TENANT_ID))
