"""Quotes through GraphQL on the real database: the state machine, versions, idempotency,
optimistic concurrency, visibility, and the `quote_accepted` event in the outbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text, update

from subgraphs.pricing.models import QuoteVersionRow
from tests.subgraphs.pricing.helpers import Tenant

QUOTE_FIELDS = """
  id status version currency buyerOrganizationId sellerOrganizationId rejectReason
  currentVersion { number total { amount currency } validUntil terms
    items { skuId quantity targetUnitPrice { amount } note }
    lines { skuId quantity unitPrice { amount } lineTotal { amount } } }
  versions { number buyerNote lines { unitPrice { amount } } }
"""
REQUEST = f"""mutation($input: QuoteRequestInput!) {{
  quoteRequest(input: $input) {{ quote {{ {QUOTE_FIELDS} }} userErrors {{ field message code }} }} }}"""
RESPOND = f"""mutation($input: QuoteRespondInput!) {{
  quoteRespond(input: $input) {{ quote {{ {QUOTE_FIELDS} }} userErrors {{ field message code }} }} }}"""
ACCEPT = f"""mutation($input: QuoteDecisionInput!) {{
  quoteAccept(input: $input) {{ quote {{ {QUOTE_FIELDS} }} userErrors {{ field message code }} }} }}"""
REJECT = f"""mutation($input: QuoteRejectInput!) {{
  quoteReject(input: $input) {{ quote {{ {QUOTE_FIELDS} }} userErrors {{ field message code }} }} }}"""
REVISE = f"""mutation($input: QuoteReviseInput!) {{
  quoteRevise(input: $input) {{ quote {{ {QUOTE_FIELDS} }} userErrors {{ field message code }} }} }}"""
GET = f"query($id: ID!) {{ quote(id: $id) {{ {QUOTE_FIELDS} }} }}"


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _request(t: Tenant, sku: uuid.UUID, *, key: str | None = None, org: uuid.UUID | None = None) -> Any:
    data = await t.gql(
        REQUEST,
        {
            "input": {
                "items": [{"skuId": str(sku), "quantity": 100, "targetUnitPrice": "4.5", "note": "urgent"}],
                "note": "Please quote",
                "sellerOrganizationId": str(t.seller),
                "idempotencyKey": key,
            }
        },
        org=org or t.unit,
    )
    return data["quoteRequest"]


async def _respond(t: Tenant, quote_id: str, sku: uuid.UUID, price: str, days: float = 7) -> Any:
    data = await t.as_seller(
        RESPOND,
        {
            "input": {
                "quoteId": quote_id,
                "lines": [{"skuId": str(sku), "quantity": 100, "unitPrice": price}],
                "validUntil": _in(days),
                "terms": "Net 30",
            }
        },
    )
    return data["quoteRespond"]


def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_request_respond_revise_accept_keeps_versions_and_publishes(tenant: Tenant) -> None:
    t = tenant
    sku = uuid.uuid4()
    requested = await _request(t, sku, key="rfq-1")
    assert requested["userErrors"] == []
    quote = requested["quote"]
    assert (quote["status"], quote["currency"], quote["version"]) == ("REQUESTED", "EUR", 1)
    assert quote["currentVersion"]["items"][0]["targetUnitPrice"] == {"amount": "4.5000"}
    replay = await _request(t, sku, key="rfq-1")
    assert replay["quote"]["id"] == quote["id"]  # idempotent

    qid = quote["id"]
    # the buyer cannot respond (no pricing:write), nor accept before an offer
    assert _codes((await t.gql(ACCEPT, {"input": {"quoteId": qid}}, org=t.unit))["quoteAccept"]) == [
        "ILLEGAL_TRANSITION"
    ]
    offered = await _respond(t, qid, sku, "4.7550")
    assert offered["userErrors"] == []
    assert offered["quote"]["status"] == "QUOTED"
    assert offered["quote"]["currentVersion"]["total"] == {"amount": "475.50", "currency": "EUR"}
    assert offered["quote"]["currentVersion"]["lines"][0]["lineTotal"] == {"amount": "475.50"}

    # the seller cannot accept its own offer; a stale version is a conflict
    seller_accept = await t.as_seller(ACCEPT, {"input": {"quoteId": qid}})
    assert _codes(seller_accept["quoteAccept"]) == ["NOT_QUOTE_BUYER"]
    stale = await t.gql(ACCEPT, {"input": {"quoteId": qid, "expectedVersion": 1}}, org=t.unit)
    assert _codes(stale["quoteAccept"]) == ["VERSION_CONFLICT"]

    revised = await t.gql(
        REVISE,
        {"input": {"quoteId": qid, "items": [{"skuId": str(sku), "quantity": 200}], "note": "bigger"}},
        org=t.company,  # an ancestor of the buyer unit acts as the buyer too
    )
    assert revised["quoteRevise"]["userErrors"] == []
    assert revised["quoteRevise"]["quote"]["status"] == "REQUESTED"
    versions = revised["quoteRevise"]["quote"]["versions"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["lines"] == [{"unitPrice": {"amount": "4.7550"}}]  # the old offer is kept
    assert versions[1]["lines"] is None

    second = await _respond(t, qid, sku, "4.40")
    version = second["quote"]["version"]
    accepted = await t.gql(ACCEPT, {"input": {"quoteId": qid, "expectedVersion": version}}, org=t.unit)
    assert accepted["quoteAccept"]["userErrors"] == []
    assert accepted["quoteAccept"]["quote"]["status"] == "ACCEPTED"
    again = await t.gql(ACCEPT, {"input": {"quoteId": qid}}, org=t.unit)
    assert _codes(again["quoteAccept"]) == ["ILLEGAL_TRANSITION"]
    rejected = await t.gql(REJECT, {"input": {"quoteId": qid}}, org=t.unit)
    assert _codes(rejected["quoteReject"]) == ["ILLEGAL_TRANSITION"]

    # the accepted quote's event is in the outbox, in the same transaction as the change
    async with t.db.tenant_session(t.id) as session:
        await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
        rows = (
            await session.execute(
                text("SELECT subject, type, envelope FROM pricing.outbox WHERE tenant_id = :t ORDER BY seq"),
                {"t": t.id},
            )
        ).all()
    types = [r.type for r in rows]
    assert types == [
        "pricing.quote_requested",
        "pricing.quote_responded",
        "pricing.quote_revised",
        "pricing.quote_responded",
        "pricing.quote_accepted",
    ]
    accepted_event = rows[-1]
    assert accepted_event.subject == f"pricing.{t.id}.quote_accepted"
    data = accepted_event.envelope["data"]
    assert data["quote_id"] == qid and data["version"] == 2
    assert data["buyer_organization_id"] == str(t.unit)
    assert data["total"] == "440.00"
    assert data["lines"] == [
        {"sku_id": str(sku), "quantity": 100, "unit_price": "4.4000", "line_total": "440.00"}
    ]


async def test_reject_decline_and_expiry(tenant: Tenant) -> None:
    t = tenant
    sku = uuid.uuid4()
    declined_id = (await _request(t, sku))["quote"]["id"]
    declined = await t.as_seller(REJECT, {"input": {"quoteId": declined_id, "reason": "Discontinued"}})
    assert declined["quoteReject"]["quote"]["status"] == "REJECTED"
    assert declined["quoteReject"]["quote"]["rejectReason"] == "Discontinued"

    qid = (await _request(t, sku))["quote"]["id"]
    bad = await t.as_seller(
        RESPOND,
        {
            "input": {
                "quoteId": qid,
                "lines": [{"skuId": str(sku), "quantity": 1, "unitPrice": "x"}],
                "validUntil": _in(1),
            }
        },
    )
    assert bad["quoteRespond"]["userErrors"] == [
        {
            "field": ["lines", "0", "unitPrice"],
            "message": "'x' is not a decimal amount.",
            "code": "INVALID_AMOUNT",
        }
    ]
    past = await t.as_seller(
        RESPOND,
        {
            "input": {
                "quoteId": qid,
                "lines": [{"skuId": str(sku), "quantity": 1, "unitPrice": "1"}],
                "validUntil": _in(-1),
            }
        },
    )
    assert _codes(past["quoteRespond"]) == ["INVALID_VALIDITY"]
    assert (await _respond(t, qid, sku, "5"))["userErrors"] == []
    # let the offer run out (as time would)
    async with t.db.tenant_session(t.id) as session:
        await session.execute(
            update(QuoteVersionRow)
            .where(QuoteVersionRow.quote_id == uuid.UUID(qid))
            .values(valid_until=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert (await t.gql(GET, {"id": qid}, org=t.unit))["quote"]["status"] == "EXPIRED"
    expired = await t.gql(ACCEPT, {"input": {"quoteId": qid}}, org=t.unit)
    assert _codes(expired["quoteAccept"]) == ["QUOTE_EXPIRED"]
    renewed = await t.gql(
        REVISE, {"input": {"quoteId": qid, "items": [{"skuId": str(sku), "quantity": 1}]}}, org=t.unit
    )
    assert renewed["quoteRevise"]["quote"]["status"] == "REQUESTED"
    assert len(renewed["quoteRevise"]["quote"]["versions"]) == 2


async def test_quote_visibility(tenant: Tenant) -> None:
    t = tenant
    sku = uuid.uuid4()
    qid = (await _request(t, sku, org=t.subunit))["quote"]["id"]
    listing = "{ quotes(first: 10) { totalCount edges { node { id } } } }"
    # the requesting unit and the units above it see it; the other buyer and other tenants do not
    for org in (t.subunit, t.unit, t.company, t.seller, t.platform):
        assert (await t.gql(GET, {"id": qid}, org=org))["quote"]["id"] == qid, org
        assert (await t.gql(listing, org=org))["quotes"]["totalCount"] == 1
    assert (await t.gql(GET, {"id": qid}, org=t.other))["quote"] is None
    assert (await t.gql(listing, org=t.other))["quotes"]["totalCount"] == 0
    assert (await t.gql(GET, {"id": qid}, org=t.company, tenant=uuid.uuid4()))["quote"] is None
    # another buyer cannot act on it: the quote does not exist for it
    foreign = await t.gql(REJECT, {"input": {"quoteId": qid}}, org=t.other)
    assert _codes(foreign["quoteReject"]) == ["QUOTE_NOT_FOUND"]
    # a buyer can request for its own units only
    other_unit = await t.gql(
        REQUEST,
        {"input": {"items": [{"skuId": str(sku), "quantity": 1}], "buyerOrganizationId": str(t.company)}},
        org=t.unit,
    )
    assert _codes(other_unit["quoteRequest"]) == ["FORBIDDEN"]
    empty = await t.gql(REQUEST, {"input": {"items": []}}, org=t.unit)
    assert empty["quoteRequest"]["userErrors"] == [
        {"field": ["items"], "message": "A quote request needs at least one item.", "code": "INVALID_INPUT"}
    ]


async def test_quotes_pagination(tenant: Tenant) -> None:
    t = tenant
    ids = [(await _request(t, uuid.uuid4()))["quote"]["id"] for _ in range(5)]
    seen: list[str] = []
    after = None
    while True:
        page = (
            await t.gql(
                "query($a: String) { quotes(first: 2, after: $a) { totalCount "
                "pageInfo { hasNextPage endCursor } edges { node { id } } } }",
                {"a": after},
                org=t.unit,
            )
        )["quotes"]
        assert page["totalCount"] == 5
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))


async def test_concurrent_decisions_apply_once(tenant: Tenant) -> None:
    t = tenant
    sku = uuid.uuid4()
    qid = (await _request(t, sku))["quote"]["id"]
    await _respond(t, qid, sku, "3")
    results = await asyncio.gather(
        t.gql(ACCEPT, {"input": {"quoteId": qid}}, org=t.unit),
        t.gql(ACCEPT, {"input": {"quoteId": qid}}, org=t.company),
        t.gql(REJECT, {"input": {"quoteId": qid}}, org=t.unit),
    )
    payloads: list[dict[str, Any]] = [r.get("quoteAccept") or r["quoteReject"] for r in results]
    winners = [p for p in payloads if p["userErrors"] == []]
    assert len(winners) == 1, payloads
    assert all(_codes(p) == ["ILLEGAL_TRANSITION"] for p in payloads if p not in winners)
    async with t.db.tenant_session(t.id) as session:
        decided = await session.scalar(
            text(
                "SELECT count(*) FROM pricing.outbox "
                "WHERE type IN ('pricing.quote_accepted', 'pricing.quote_rejected')"
            )
        )
    # the outbox is unreadable outside the relay: count through the relay flag
    assert decided == 0
    async with t.db.tenant_session(t.id) as session:
        await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
        decided = await session.scalar(
            text(
                "SELECT count(*) FROM pricing.outbox WHERE tenant_id = :t "
                "AND type IN ('pricing.quote_accepted', 'pricing.quote_rejected')"
            ),
            {"t": t.id},
        )
    assert decided == 1
