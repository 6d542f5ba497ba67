"""The pricing process with its NATS side on: the `svc.pricing` request-reply service and the
`quote_accepted` event reaching JetStream through the outbox relay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client as NatsClient

from shared.db import Database
from shared.gateway_context import Principal, sign_context
from shared.settings import get_settings
from subgraphs.pricing import rpc, service
from tests.subgraphs.pricing.helpers import Tenant, make_list


@pytest.fixture
async def live(
    pricing_db: Database, serve_app: Callable[[Any], Awaitable[str]], service_urls: Any
) -> AsyncIterator[tuple[Tenant, NatsClient]]:
    from subgraphs.pricing.app import create_app

    app = create_app(get_settings(), database=pricing_db)
    url = await serve_app(app)
    await asyncio.wait_for(app.state.pricing_responder.ready.wait(), timeout=15)
    t = Tenant(url, pricing_db, *(uuid.uuid4() for _ in range(7)))
    async with pricing_db.tenant_session(t.id) as session:
        await service.upsert_org_unit(session, t.id, t.company, parent_id=None, currency="EUR")
        await service.upsert_org_unit(session, t.id, t.unit, parent_id=t.company)
    nc = await nats.connect(service_urls.nats_url)
    try:
        yield t, nc
    finally:
        await nc.close()


def _context(t: Tenant, org: uuid.UUID | None) -> str:
    principal = Principal(tenant_id=str(t.id), organization_id=str(org) if org else None)
    return sign_context(principal, get_settings().gateway_secret_bytes)


async def test_cart_prices_over_request_reply(live: tuple[Tenant, NatsClient]) -> None:
    t, nc = live
    sku, other = uuid.uuid4(), uuid.uuid4()
    list_id = await make_list(t, "company", {1: "2.5000", 10: "2.2500"}, sku, to=(t.company,))
    reply = await rpc.request_pricing(
        nc,
        _context(t, t.unit),
        {
            "op": "cart_prices",
            "lines": [{"sku_id": str(sku), "quantity": 12}, {"sku_id": str(other), "quantity": 1}],
        },
    )
    assert reply["ok"] is True and reply["currency"] == "EUR" and reply["total"] == "27.00"
    first, second = reply["lines"]
    assert (first["unit_price"], first["line_total"], first["source"]) == ("2.2500", "27.00", "PRICE_LIST")
    assert (first["price_list_id"], first["break_min_quantity"], first["error"]) == (list_id, 10, None)
    assert second["error"]["code"] == "NO_PRICE"

    rules = await rpc.request_pricing(
        nc, _context(t, t.unit), {"op": "quantity_rules", "sku_ids": [str(sku)]}
    )
    assert rules == {"ok": True, "rules": {str(sku): {"minimum": 1, "maximum": None, "increment": 1}}}
    bad = await rpc.request_pricing(
        nc, _context(t, t.unit), {"op": "cart_prices", "lines": [{"sku_id": "x"}]}
    )
    assert bad == {"ok": False, "error": {"code": "BAD_REQUEST", "message": "malformed request"}}
    forged = await rpc.request_pricing(nc, "v1.e30.AAAA", {"op": "quantity_rules", "sku_ids": []})
    assert forged["error"]["code"] == "UNAUTHENTICATED"
    with pytest.raises(rpc.PricingUnavailable):
        await rpc.request_pricing(nc, "x", {}, reply_within=0.3, subject=f"svc.nobody-{uuid.uuid4().hex}")


async def test_accepted_quote_is_published_to_jetstream(live: tuple[Tenant, NatsClient]) -> None:
    t, nc = live
    sku = uuid.uuid4()
    js = nc.jetstream()
    requested = await t.gql(
        "mutation($i: QuoteRequestInput!) { quoteRequest(input: $i) { quote { id } userErrors { code } } }",
        {"i": {"items": [{"skuId": str(sku), "quantity": 3}]}},
        org=t.unit,
    )
    qid = requested["quoteRequest"]["quote"]["id"]
    valid_until = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    responded = await t.gql(
        "mutation($i: QuoteRespondInput!) { quoteRespond(input: $i) { userErrors { code } } }",
        {
            "i": {
                "quoteId": qid,
                "lines": [{"skuId": str(sku), "quantity": 3, "unitPrice": "9.99"}],
                "validUntil": valid_until,
            }
        },
        org=t.seller,
        scopes=("pricing:write",),
    )
    assert responded["quoteRespond"]["userErrors"] == []
    sub = await js.subscribe(f"pricing.{t.id}.quote_accepted", ordered_consumer=True)
    try:
        accepted = await t.gql(
            "mutation($i: QuoteDecisionInput!) { quoteAccept(input: $i) { quote { status } } }",
            {"i": {"quoteId": qid}},
            org=t.unit,
        )
        assert accepted["quoteAccept"]["quote"]["status"] == "ACCEPTED"
        msg = await sub.next_msg(timeout=10)
    finally:
        await sub.unsubscribe()
    envelope = orjson.loads(msg.data)
    assert msg.headers is not None and msg.headers.get("Nats-Msg-Id") == envelope["id"]
    assert envelope["type"] == "pricing.quote_accepted" and envelope["tenant_id"] == str(t.id)
    assert envelope["data"]["total"] == "29.97" and envelope["data"]["quote_id"] == qid
