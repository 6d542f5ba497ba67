"""The finance app over HTTP: signed webhooks (duplicated, replayed, forged: nothing changes),
bank transfers with idempotency keys, refunds, scopes and data scope on credit fields, the
invoice PDF, and tenant isolation."""

from __future__ import annotations

import asyncio
import base64
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.db import Database
from shared.testing import gateway_headers, graphql
from subgraphs.finance import credit, journal
from subgraphs.finance.providers import FAILED, SandboxProvider
from subgraphs.finance.terms import Terms
from tests.subgraphs.finance.helpers import Org, deliver, oid, placed, transition

FIN = ("finance:read", "finance:write")


@pytest.fixture
async def finance_url(finance_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    from shared.settings import get_settings
    from subgraphs.finance.app import create_app

    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    return await serve_app(create_app(settings, database=finance_db))


async def gql(
    url: str, org: Org, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    headers = gateway_headers(
        kw.get("tenant", org.id),
        organization_id=kw.get("as_org", org.platform),
        user_id=uuid.uuid4(),
        scopes=kw.get("scopes", FIN),
    )
    status, body = await graphql(url, query, variables, headers=headers)
    assert status == 200, body
    if kw.get("errors"):
        return body
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def confirmed_order(db: Database, org: Org, total: str, terms: Terms = Terms.NET_30) -> uuid.UUID:
    async with db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, terms)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("100000.00"))
    event = placed(org, total)
    await deliver(db, event)
    await deliver(db, transition(org, oid(event), "reserved"))
    await deliver(db, transition(org, oid(event), "confirmed", "reserved"))
    return oid(event)


INVOICE = """query($o: ID) { invoices(orderId: $o) { totalCount edges { node {
  id tenantId number status total { amount currency } paid { amount } outstanding { amount } terms } } } }"""


async def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{url}/webhooks/sandbox", data=body, headers=headers) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_webhooks_duplicated_replayed_and_forged_change_nothing(
    finance_db: Database, finance_url: str
) -> None:
    org = await Org(finance_db).setup()
    order = await confirmed_order(finance_db, org, "120.00")
    sandbox = SandboxProvider()
    body = sandbox.payment_event(tenant_id=org.id, order_id=order, amount=Decimal("120.00"), currency="EUR")

    assert await post_webhook(finance_url, body, sandbox.sign(body)) == (200, {"status": "applied"})
    # Duplicated (same event id, fresh signature) and replayed (the very same request).
    assert await post_webhook(finance_url, body, sandbox.sign(body)) == (200, {"status": "duplicate"})
    headers = sandbox.sign(body)
    assert (await post_webhook(finance_url, body, headers))[1] == {"status": "duplicate"}
    # Forged: another secret; tampered body; stale timestamp; no signature.
    forged = SandboxProvider(secret="attacker").payment_event(
        tenant_id=org.id, order_id=order, amount=Decimal("999.00"), currency="EUR"
    )
    assert (await post_webhook(finance_url, forged, SandboxProvider(secret="attacker").sign(forged)))[
        0
    ] == 401
    tampered = body.replace(b"120.00", b"999.00")
    assert (await post_webhook(finance_url, tampered, headers))[0] == 401
    assert (await post_webhook(finance_url, forged, sandbox.sign(forged, int(time.time()) - 3600)))[0] == 401
    assert (await post_webhook(finance_url, forged, {"content-type": "application/json"}))[0] == 401
    assert (await post_webhook(finance_url, b"{}", sandbox.sign(b"{}")))[0] == 400
    failed = sandbox.payment_event(
        tenant_id=org.id, order_id=order, amount=Decimal("1.00"), currency="EUR", event_type=FAILED
    )
    assert (await post_webhook(finance_url, failed, sandbox.sign(failed)))[1] == {"status": "failed_recorded"}

    data = await gql(finance_url, org, INVOICE, {"o": str(order)})
    node = data["invoices"]["edges"][0]["node"]
    assert (node["status"], node["paid"]["amount"], node["outstanding"]["amount"]) == (
        "PAID",
        "120.00",
        "0.00",
    )
    payments = await gql(
        finance_url, org, "query($o: ID) { payments(orderId: $o) { totalCount } }", {"o": str(order)}
    )
    assert payments["payments"]["totalCount"] == 1
    async with finance_db.tenant_session(org.id) as s:
        assert all(v == 0 for v in (await journal.trial_balance(s)).values())


BANK = """mutation($i: BankTransferRecordInput!) { bankTransferRecord(input: $i) {
  payment { id amount { amount currency } method } replayed userErrors { field code } } }"""
REFUND = """mutation($i: RefundRecordInput!) { refundRecord(input: $i) {
  payment { id kind amount { amount } } replayed userErrors { field code } } }"""


async def test_bank_transfers_partial_idempotent_and_refunds(finance_db: Database, finance_url: str) -> None:
    org = await Org(finance_db).setup()
    order = await confirmed_order(finance_db, org, "250.00")
    first = {
        "orderId": str(order),
        "amount": "100.00",
        "currency": "EUR",
        "reference": "BT-1",
        "idempotencyKey": "k1",
    }
    a = (await gql(finance_url, org, BANK, {"i": first}))["bankTransferRecord"]
    b = (await gql(finance_url, org, BANK, {"i": first}))["bankTransferRecord"]
    assert a["userErrors"] == [] and (a["replayed"], b["replayed"]) == (False, True)
    assert a["payment"]["id"] == b["payment"]["id"] and a["payment"]["amount"]["amount"] == "100.00"
    reused = (await gql(finance_url, org, BANK, {"i": {**first, "amount": "5.00"}}))["bankTransferRecord"]
    assert reused["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    bad = await gql(finance_url, org, BANK, {"i": {**first, "amount": "1.001", "idempotencyKey": None}})
    assert bad["bankTransferRecord"]["userErrors"][0]["code"] == "INVALID_AMOUNT"
    nobody = {**first, "orderId": str(uuid.uuid4()), "idempotencyKey": None}
    assert (await gql(finance_url, org, BANK, {"i": nobody}))["bankTransferRecord"]["userErrors"][0][
        "code"
    ] == ("NOT_FOUND")
    node = (await gql(finance_url, org, INVOICE, {"o": str(order)}))["invoices"]["edges"][0]["node"]
    assert (node["status"], node["outstanding"]["amount"]) == ("PARTIALLY_PAID", "150.00")

    too_much = {"orderId": str(order), "amount": "100.01", "currency": "EUR"}
    err = (await gql(finance_url, org, REFUND, {"i": too_much}))["refundRecord"]["userErrors"]
    assert err[0]["code"] == "REFUND_EXCEEDS_PAYMENTS"
    ok = (await gql(finance_url, org, REFUND, {"i": {**too_much, "amount": "40.00"}}))["refundRecord"]
    assert ok["payment"]["kind"] == "REFUND" and ok["userErrors"] == []
    # Without finance:write the gateway would refuse; the subgraph declares it in the SDL.
    trial = await gql(finance_url, org, "{ trialBalance { amount currency } }")
    assert trial["trialBalance"] == [{"amount": "0.00", "currency": "EUR"}]


CREDIT = """query($o: ID!) { creditAccount(organizationId: $o) {
  organizationId terms termsInheritedFrom creditLimit { amount } exposure { amount }
  available { amount } } }"""


async def test_credit_account_data_scope_and_tenant_isolation(finance_db: Database, finance_url: str) -> None:
    org = await Org(finance_db).setup()
    order = await confirmed_order(finance_db, org, "300.00")
    # Platform finance staff and the buyer's own admins see the line; the unit inherits NET_30.
    for caller in (org.platform, org.company):
        data = (await gql(finance_url, org, CREDIT, {"o": str(org.unit)}, as_org=caller))["creditAccount"]
        assert data["terms"] == "NET_30" and data["termsInheritedFrom"] == str(org.company)
        assert (data["creditLimit"]["amount"], data["exposure"]["amount"]) == ("100000.00", "300.00")
    # Another buyer organization of the same tenant is outside the data scope.
    stranger = uuid.uuid4()
    async with finance_db.tenant_session(org.id) as s:
        from subgraphs.finance import orgtree

        await orgtree.upsert_org_unit(s, org.id, stranger, parent_id=None, kind="BUYER")
    body = await gql(finance_url, org, CREDIT, {"o": str(org.unit)}, as_org=stranger, errors=True)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await gql(finance_url, org, INVOICE, {"o": None}, as_org=stranger))["invoices"]["totalCount"] == 0
    # Another tenant sees none of it.
    other = uuid.uuid4()
    assert (await gql(finance_url, org, INVOICE, {"o": None}, tenant=other))["invoices"]["totalCount"] == 0
    invoice_id = (await gql(finance_url, org, INVOICE, {"o": str(order)}))["invoices"]["edges"][0]["node"][
        "id"
    ]
    ref = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id } } }"""
    rep = {"r": [{"__typename": "Invoice", "id": invoice_id}]}
    assert (await gql(finance_url, org, ref, rep, tenant=other))["_entities"] == [None]
    assert (await gql(finance_url, org, ref, rep))["_entities"] == [{"id": invoice_id}]
    earnings = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Order {
      expectedEarnings { platform { amount } supplier { amount } level1Distributor { amount } }
      invoice { number } payment { decision terms } } } }"""
    got = (await gql(finance_url, org, earnings, {"r": [{"__typename": "Order", "id": str(order)}]}))[
        "_entities"
    ][0]
    assert got["expectedEarnings"] == {
        "platform": {"amount": "120.00"},  # 5 % + both distributor shares (no distributors set)
        "supplier": {"amount": "180.00"},
        "level1Distributor": {"amount": "0.00"},
    }
    assert got["payment"] == {"decision": "CONFIRMED", "terms": "NET_30"}


async def test_invoice_pdf_route_and_field(finance_db: Database, finance_url: str, tmp_path: Path) -> None:
    org = await Org(finance_db).setup()
    order = await confirmed_order(finance_db, org, "1234.50")
    invoice_id = (await gql(finance_url, org, INVOICE, {"o": str(order)}))["invoices"]["edges"][0]["node"][
        "id"
    ]
    pdf_field = await gql(
        finance_url, org, "query($i: ID!) { invoice(id: $i) { pdfBase64 } }", {"i": invoice_id}
    )
    pdf = base64.b64decode(pdf_field["invoice"]["pdfBase64"])
    assert pdf.startswith(b"%PDF-")
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{finance_url}/invoices/{invoice_id}.pdf") as r:
            assert r.status == 401
        headers = gateway_headers(org.id, organization_id=org.platform, scopes=["finance:read"])
        async with client.get(f"{finance_url}/invoices/{invoice_id}.pdf", headers=headers) as r:
            assert r.status == 200 and r.content_type == "application/pdf"
            assert (await r.read()).startswith(b"%PDF-")
        other = gateway_headers(uuid.uuid4(), scopes=["finance:read"])
        async with client.get(f"{finance_url}/invoices/{invoice_id}.pdf", headers=other) as r:
            assert r.status == 404
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext") is None:
        return  # poppler-utils not installed: the bytes above are all we can check
    proc = await asyncio.create_subprocess_exec("pdftotext", str(path), "-", stdout=asyncio.subprocess.PIPE)
    text = (await proc.communicate())[0].decode()
    if text:  # poppler-utils present: the document says what an invoice says
        assert "INVOICE" in text and "1,234.50 EUR" in text and "Net 30" in text


async def test_connections_page_and_refuse_bad_cursors(finance_db: Database, finance_url: str) -> None:
    org = await Org(finance_db).setup()
    order = await confirmed_order(finance_db, org, "90.00")
    for amount in ("10.00", "20.00", "30.00"):
        await gql(finance_url, org, BANK, {"i": {"orderId": str(order), "amount": amount, "currency": "EUR"}})
    page = """query($a: String) { payments(first: 2, after: $a) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { amount { amount } } } } }"""
    first = (await gql(finance_url, org, page, {"a": None}))["payments"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    rest = (await gql(finance_url, org, page, {"a": first["pageInfo"]["endCursor"]}))["payments"]
    amounts = [e["node"]["amount"]["amount"] for e in first["edges"] + rest["edges"]]
    assert sorted(amounts) == ["10.00", "20.00", "30.00"] and rest["pageInfo"]["hasNextPage"] is False
    entries = "query($a: String) { journalEntries(first: 1, after: $a) { totalCount edges { cursor } } }"
    assert (await gql(finance_url, org, entries, {"a": None}))["journalEntries"]["totalCount"] == 4
    for cursor in ("garbage", first["pageInfo"]["endCursor"]):  # a payments cursor is not an entries one
        body = await gql(finance_url, org, entries, {"a": cursor}, errors=True)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
