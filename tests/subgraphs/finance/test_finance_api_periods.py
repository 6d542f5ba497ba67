"""The finance app over HTTP for what came with returns and consolidation: product-line sharing
rules, per-period invoicing with a consolidated invoice paid by one transfer (idempotent),
invoice lines with orders' prices and credit notes, and scheduled reconciliation reports."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from shared.db import Database, utcnow
from subgraphs.finance import consolidation, credit, sweeper
from subgraphs.finance.terms import Terms
from tests.subgraphs.finance.helpers import Org, deliver, transition
from tests.subgraphs.finance.test_finance_api import finance_url, gql  # noqa: F401  (fixture)
from tests.subgraphs.finance.test_finance_returns_db import placed_lines, return_event

RULE = """mutation($l: String) { sharingRuleSet(input: {productLine: $l, platformFeePercent: "10",
  supplierPercent: "70", level1DistributorPercent: "10", level2DistributorPercent: "10"}) {
  sharingRule { productLine supplierPercent } userErrors { code } } }"""
RULES = """{ productLineSharingRules { productLine platformFeePercent }
  sharingRule { productLine supplierPercent } }"""
PERIOD = """mutation($o: ID!) { invoicePeriodSet(input: {organizationId: $o, period: MONTH}) {
  creditAccount { invoicePeriod } userErrors { code } } }"""
CONSOLIDATED = """query($b: ID) { consolidatedInvoices(buyerOrganizationId: $b) { id number status period
  total { amount } outstanding { amount } invoices { number lines { productName unitPrice { amount }
  lineTotal { amount } quantity } credited { amount } creditNotes { number amount { amount } } } } }"""
PAY = """mutation($i: ConsolidatedInvoicePayInput!) { consolidatedInvoicePay(input: $i) {
  consolidatedInvoice { status outstanding { amount } } payments { amount { amount } } replayed
  userErrors { code } } }"""
REPORTS = """{ reconciliationReports(trigger: SCHEDULED) { trigger statementAvailable provider day } }"""


async def test_product_lines_periods_and_scheduled_reports(finance_db: Database, finance_url: str) -> None:  # noqa: F811
    org = await Org(finance_db).setup()
    tools = str(uuid.uuid4())
    out = await gql(finance_url, org, RULE, {"l": tools})
    assert out["sharingRuleSet"] == {
        "sharingRule": {"productLine": tools, "supplierPercent": "70"},
        "userErrors": [],
    }
    rules = await gql(finance_url, org, RULES)
    assert rules["productLineSharingRules"] == [{"productLine": tools, "platformFeePercent": "10"}]
    assert rules["sharingRule"] == {"productLine": None, "supplierPercent": "60"}  # the tenant's stays

    async with finance_db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, Terms.NET_30)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("100000.00"))
    period = await gql(finance_url, org, PERIOD, {"o": str(org.company)})
    assert period["invoicePeriodSet"] == {"creditAccount": {"invoicePeriod": "MONTH"}, "userErrors": []}
    event = placed_lines(org, [(2, "12.50", tools), (1, "5.00", None)])
    order_id = uuid.UUID(event.data["order_id"])
    for e in (
        event,
        transition(org, order_id, "reserved"),
        transition(org, order_id, "confirmed", "reserved"),
    ):
        await deliver(finance_db, e)
    await deliver(finance_db, transition(org, order_id, "delivered", "shipped"))
    await deliver(finance_db, return_event(org, order_id, [(event.data["lines"][1]["line_id"], 1)]))
    async with finance_db.tenant_session(org.id) as s:
        await consolidation.close_due(s, utcnow() + timedelta(days=32))

    [inv] = (await gql(finance_url, org, CONSOLIDATED, {"b": str(org.unit)}))["consolidatedInvoices"]
    assert (inv["status"], inv["period"], inv["total"]["amount"]) == ("ISSUED", "MONTH", "25.00")
    [line_invoice] = inv["invoices"]
    assert line_invoice["lines"][0] == {
        "productName": "Product 0",
        "unitPrice": {"amount": "12.50"},
        "lineTotal": {"amount": "25.00"},
        "quantity": 2,
    }
    assert line_invoice["credited"]["amount"] == "5.00"
    assert [n["amount"]["amount"] for n in line_invoice["creditNotes"]] == ["5.00"]
    transfer = {
        "consolidatedInvoiceId": inv["id"],
        "amount": "25.00",
        "currency": "EUR",
        "idempotencyKey": "k1",
    }
    paid = (await gql(finance_url, org, PAY, {"i": transfer}))["consolidatedInvoicePay"]
    assert paid["userErrors"] == [] and paid["replayed"] is False
    assert paid["consolidatedInvoice"] == {"status": "PAID", "outstanding": {"amount": "0.00"}}
    again = (await gql(finance_url, org, PAY, {"i": transfer}))["consolidatedInvoicePay"]
    assert again["replayed"] is True and [p["amount"]["amount"] for p in again["payments"]] == ["25.00"]
    over = (await gql(finance_url, org, PAY, {"i": {**transfer, "idempotencyKey": "k2"}}))[
        "consolidatedInvoicePay"
    ]
    assert over["userErrors"][0]["code"] == "OVERPAYMENT"
    # A buyer of another organization does not see it; another tenant neither.
    assert (await gql(finance_url, org, CONSOLIDATED, {"b": None}, as_org=org.seller))["consolidatedInvoices"]
    other = Org(finance_db)
    assert (await gql(finance_url, org, CONSOLIDATED, {"b": None}, tenant=other.id))[
        "consolidatedInvoices"
    ] == []

    await sweeper.reconcile_days(finance_db, utcnow().date() - timedelta(days=1))
    reports = (await gql(finance_url, org, REPORTS))["reconciliationReports"]
    assert {(r["trigger"], r["statementAvailable"], r["provider"]) for r in reports} == {
        ("SCHEDULED", False, "sandbox")
    }
