# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the finance subgraph: thin types over the services.

Entities: Invoice, Payment, JournalEntry (`@key(fields: "id")`) and the orders domain's `Order`
(same key) extended with `expectedEarnings` and `invoice`. Everything needs `finance:read`;
mutations `finance:write`. A caller from a buyer organization sees only its own units' data;
`creditLimit`/`exposure` need `finance:read` and that data scope too.
"""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.federation import Schema

from shared.errors import ForbiddenError, UserInputError
from shared.graphql import (
    CONNECTION_LIST_SIZE,
    FEDERATION_VERSION,
    TENANT_ID_DESCRIPTION,
    Connection,
    Info,
    Money,
    PageArgs,
    UserError,
    tenant_id_of,
    user_errors,
)
from shared.graphql.ids import graphql_id as _id
from shared.graphql.ids import optional_graphql_id as _opt
from shared.graphql.ids import parse_input_id as _parse_id
from shared.idempotency import run_once
from subgraphs.finance import (
    consolidation,
    credit,
    invoice_pdf,
    journal,
    payments,
    queries,
    reconciliation,
    settlement,
)
from subgraphs.finance.errors import refuse
from subgraphs.finance.ledger import AccountKind
from subgraphs.finance.models import (
    SCHEMA,
    ConsolidatedInvoiceRow,
    CreditNoteRow,
    InvoiceRow,
    JournalEntryRow,
    OrderRow,
    PaymentRow,
    ReconciliationRun,
    SettlementRow,
)
from subgraphs.finance.money import MoneyError, parse_amount
from subgraphs.finance.money import text as money_text
from subgraphs.finance.sharing import RemainderPolicy, SharingRule, SharingRuleError
from subgraphs.finance.terms import InvoicePeriod, Terms

READ = [["finance:read"]]
WRITE = [["finance:write"]]


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount=money_text(amount, currency), currency=currency)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _amount(value: str, currency: str, field: str = "amount") -> Decimal:
    try:
        return parse_amount(value, currency)
    except MoneyError as exc:
        raise refuse(field, str(exc), "INVALID_AMOUNT") from None


def _caller_org(info: Info) -> uuid.UUID | None:
    principal = info.context.principal
    return _uuid_or_none(principal.organization_id) if principal else None


def _actor(info: Info) -> uuid.UUID | None:
    principal = info.context.principal
    return _uuid_or_none(principal.user_id) if principal else None


# --------------------------------------------------------------------------- enums


@strawberry.enum(description="Payment terms of a buyer organization.")
class PaymentTerms(Enum):
    PREPAID = "PREPAID"
    NET_15 = "NET_15"
    NET_30 = "NET_30"
    NET_60 = "NET_60"
    ON_FULFILMENT = "ON_FULFILMENT"


@strawberry.enum
class InvoiceStatus(Enum):
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    VOID = "VOID"


@strawberry.enum(description="Where finance stands on an order's payment.")
class PaymentDecision(Enum):
    PLACED = "PLACED"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    HELD = "HELD"
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"
    CONFIRMED = "CONFIRMED"
    DELIVERED = "DELIVERED"


LedgerAccountKind = strawberry.enum(AccountKind, name="LedgerAccountKind")
InvoicingPeriod = strawberry.enum(
    InvoicePeriod,
    name="InvoicingPeriod",
    description="One invoice per order, or one consolidated invoice per ISO week or calendar month.",
)


@strawberry.enum(description="Who started a reconciliation run.")
class ReconciliationTrigger(Enum):
    MANUAL = "MANUAL"
    SCHEDULED = "SCHEDULED"


@strawberry.enum
class ConsolidatedInvoiceStatus(Enum):
    OPEN = "OPEN"
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    VOID = "VOID"


SharingRemainderPolicy = strawberry.enum(RemainderPolicy, name="SharingRemainderPolicy")


# --------------------------------------------------------------------------- types


def _price(value: Any, currency: str) -> Money | None:
    """A price as orders computed it (a unit price may have more decimals than the currency)."""
    if value in (None, ""):
        return None
    amount = Decimal(str(value))
    try:
        return _money(amount, currency)
    except MoneyError:
        return Money(amount=format(amount, "f"), currency=currency)


@strawberry.type(description="A line of an invoice, with the prices orders computed (never recomputed).")
class InvoiceLine:
    line_id: strawberry.ID
    sku_id: strawberry.ID
    sku_code: str | None
    product_name: str | None
    product_line: str | None = strawberry.field(description="The catalog category (sharing rules).")
    quantity: int
    unit_price: Money | None
    line_total: Money | None

    @classmethod
    def of(cls, line: dict[str, Any], currency: str) -> InvoiceLine:
        return cls(
            line_id=strawberry.ID(str(line.get("line_id"))),
            sku_id=strawberry.ID(str(line.get("sku_id"))),
            sku_code=line.get("sku_code"),
            product_name=line.get("product_name"),
            product_line=line.get("product_line"),
            quantity=int(line.get("quantity") or 0),
            unit_price=_price(line.get("unit_price"), currency),
            line_total=_price(line.get("line_total"), currency),
        )


@strawberry.type(description="A returned line and what it was credited.")
class CreditNoteLine:
    order_line_id: strawberry.ID
    quantity: int
    amount: Money


@strawberry.type(description="A credit note: returned goods taken off an invoice.")
class CreditNote:
    id: strawberry.ID
    number: str
    order_id: strawberry.ID
    invoice_id: strawberry.ID
    return_id: strawberry.ID
    amount: Money
    cash_refund: Money = strawberry.field(
        description="Paid back because the buyer had paid more than it owes."
    )
    clawback: Money = strawberry.field(description="Taken back from the parties' settled shares.")
    lines: list[CreditNoteLine]
    created_at: datetime

    @classmethod
    def of(cls, row: CreditNoteRow) -> CreditNote:
        c = row.currency
        return cls(
            id=_id(row.id),
            number=row.number,
            order_id=_id(row.order_id),
            invoice_id=_id(row.invoice_id),
            return_id=_id(row.return_id),
            amount=_money(row.amount, c),
            cash_refund=_money(row.cash_refund, c),
            clawback=_money(row.clawback, c),
            lines=[
                CreditNoteLine(
                    order_line_id=strawberry.ID(str(line["order_line_id"])),
                    quantity=int(line["quantity"]),
                    amount=_money(Decimal(line["amount"]), c),
                )
                for line in row.lines
            ],
            created_at=row.created_at,
        )


@strawberry.type(description="One invoice per buyer organization and period for its orders on NET terms.")
class ConsolidatedInvoice:
    id: strawberry.ID
    tenant_id: strawberry.ID
    number: str
    buyer_organization_id: strawberry.ID
    period: InvoicingPeriod  # type: ignore[valid-type]
    period_start: datetime
    period_end: datetime
    status: ConsolidatedInvoiceStatus
    terms: PaymentTerms
    total: Money = strawberry.field(description="Its lines' totals less their credit notes.")
    paid: Money
    outstanding: Money
    issued_at: datetime | None
    due_at: datetime
    invoices: list[Invoice]

    @classmethod
    def of(cls, row: ConsolidatedInvoiceRow, lines: list[InvoiceRow]) -> ConsolidatedInvoice:
        s = consolidation.standing(row, lines)
        c = row.currency
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            number=row.number,
            buyer_organization_id=_id(row.buyer_organization_id),
            period=InvoicePeriod(row.period),
            period_start=row.period_start,
            period_end=row.period_end,
            status=ConsolidatedInvoiceStatus(s.status),
            terms=PaymentTerms(row.terms),
            total=_money(s.total - s.credited, c),
            paid=_money(s.paid, c),
            outstanding=_money(s.outstanding, c),
            issued_at=row.issued_at,
            due_at=row.due_at,
            invoices=[Invoice.of(i) for i in lines],
        )


@strawberry.federation.type(keys=["id"], description="The invoice of one order.")
class Invoice:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    number: str
    order_id: strawberry.ID
    buyer_organization_id: strawberry.ID
    seller_organization_id: strawberry.ID
    status: InvoiceStatus
    terms: PaymentTerms
    total: Money
    credited: Money = strawberry.field(description="Taken off by credit notes (returns).")
    paid: Money
    outstanding: Money
    issued_at: datetime
    due_at: datetime
    paid_at: datetime | None
    lines: list[InvoiceLine]
    consolidated_invoice_id: strawberry.ID | None = strawberry.field(
        description="The consolidated invoice of the period this invoice is a line of."
    )
    row: strawberry.Private[InvoiceRow]

    @classmethod
    def of(cls, row: InvoiceRow) -> Invoice:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            number=row.number,
            order_id=_id(row.order_id),
            buyer_organization_id=_id(row.buyer_organization_id),
            seller_organization_id=_id(row.seller_organization_id),
            status=InvoiceStatus(row.status),
            terms=PaymentTerms(row.terms),
            total=_money(row.total, row.currency),
            credited=_money(row.credited, row.currency),
            paid=_money(row.paid, row.currency),
            outstanding=_money(max(row.payable - row.paid, Decimal(0)), row.currency),
            issued_at=row.issued_at,
            due_at=row.due_at,
            paid_at=row.paid_at,
            lines=[InvoiceLine.of(line, row.currency) for line in row.lines],
            consolidated_invoice_id=_opt(row.consolidated_id),
            row=row,
        )

    @strawberry.federation.field(requires_scopes=READ, description="Credit notes of returns, oldest first.")
    async def credit_notes(self, info: Info) -> list[CreditNote]:
        async with info.context.session() as session:
            query = (
                select(CreditNoteRow)
                .where(CreditNoteRow.invoice_id == self.row.id)
                .order_by(CreditNoteRow.created_at)
            )
            return [CreditNote.of(r) for r in (await session.execute(query)).scalars()]

    @strawberry.federation.field(requires_scopes=READ, description="The invoice as a PDF, base64-encoded.")
    async def pdf_base64(self, info: Info) -> str:
        names = {}
        async with info.context.session() as session:
            for org in (self.row.seller_organization_id, self.row.buyer_organization_id):
                names[org] = await queries.org_name(session, org)
            order = await session.get(OrderRow, (self.row.tenant_id, self.row.order_id))
        return base64.b64encode(render_invoice(self.row, names, order.number if order else "")).decode()

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Invoice | None:
        key = _uuid_or_none(id)
        if key is None:
            return None
        async with info.context.session() as session:
            row = await session.get(InvoiceRow, key)
            if row is None or not await queries.may_see_buyer(
                session, _caller_org(info), row.buyer_organization_id
            ):
                return None
        return cls.of(row)


def render_invoice(row: InvoiceRow, names: dict[uuid.UUID, str | None], order_number: str) -> bytes:
    return invoice_pdf.render(
        invoice_pdf.InvoiceDocument(
            number=row.number,
            order_number=order_number,
            status=row.status,
            issued_at=row.issued_at,
            due_at=row.due_at,
            terms=row.terms,
            currency=row.currency,
            total=row.total,
            paid=row.paid,
            credited=row.credited,
            seller_name=names.get(row.seller_organization_id) or str(row.seller_organization_id),
            buyer_name=names.get(row.buyer_organization_id) or str(row.buyer_organization_id),
            lines=list(row.lines),
        )
    )


@strawberry.federation.type(keys=["id"], description="Money received for an order, or refunded.")
class Payment:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    order_id: strawberry.ID
    kind: str = strawberry.field(description="PAYMENT or REFUND.")
    method: str = strawberry.field(description="BANK_TRANSFER or PROVIDER.")
    provider: str | None
    reference: str | None
    amount: Money
    created_at: datetime

    @classmethod
    def of(cls, row: PaymentRow) -> Payment:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            order_id=_id(row.order_id),
            kind=row.kind,
            method=row.method,
            provider=row.provider,
            reference=row.reference,
            amount=_money(row.amount, row.currency),
            created_at=row.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Payment | None:
        key = _uuid_or_none(id)
        if key is None:
            return None
        async with info.context.session() as session:
            row = await session.get(PaymentRow, key)
            if row is None or not await queries.may_see_buyer(
                session, _caller_org(info), row.buyer_organization_id
            ):
                return None
        return cls.of(row)


@strawberry.type(description="One line of a journal entry: a debit or a credit of one account.")
class JournalLine:
    account_id: strawberry.ID
    account_kind: LedgerAccountKind  # type: ignore[valid-type]
    party_id: strawberry.ID | None
    debit: Money
    credit: Money


@strawberry.federation.type(keys=["id"], description="A balanced, immutable journal entry.")
class JournalEntry:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    kind: str
    memo: str
    order_id: strawberry.ID | None
    reverses_id: strawberry.ID | None
    posted_at: datetime
    lines: list[JournalLine]

    @classmethod
    def of(cls, row: JournalEntryRow, lines: list[Any]) -> JournalEntry:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            kind=row.kind,
            memo=row.memo,
            order_id=_opt(row.order_id),
            reverses_id=_opt(row.reverses_id),
            posted_at=row.posted_at,
            lines=[
                JournalLine(
                    account_id=_id(line.account_id),
                    account_kind=AccountKind(line.kind),
                    party_id=_opt(line.party_id),
                    debit=_money(line.debit, line.currency),
                    credit=_money(line.credit, line.currency),
                )
                for line in lines
            ],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> JournalEntry | None:
        key = _uuid_or_none(id)
        if key is None:
            return None
        async with info.context.session() as session:
            if await queries.buyer_scope(session, _caller_org(info)) is not None:
                return None
            row = await session.get(JournalEntryRow, key)
            if row is None:
                return None
            lines = await queries.lines_of(session, [row.id])
        return cls.of(row, lines[row.id])


@strawberry.type(description="A ledger account and its balance (debits minus credits).")
class LedgerAccount:
    id: strawberry.ID
    tenant_id: strawberry.ID
    kind: LedgerAccountKind  # type: ignore[valid-type]
    party_id: strawberry.ID | None
    debits: Money
    credits: Money
    balance: Money
    entry_count: int


@strawberry.type(description="Who gets what of a sale under the tenant's sharing rule.")
class Earnings:
    platform: Money = strawberry.field(description="Platform revenue (fee + unheld distributor shares).")
    supplier: Money
    level1_distributor: Money
    level2_distributor: Money
    rounding: Money
    supplier_id: strawberry.ID
    level1_distributor_id: strawberry.ID | None
    level2_distributor_id: strawberry.ID | None

    @classmethod
    def of(cls, e: settlement.Earnings) -> Earnings:
        c = e.currency
        return cls(
            platform=_money(e.platform_total, c),
            supplier=_money(e.shares.supplier, c),
            level1_distributor=_money(e.shares.level1 if e.level1_id else Decimal(0), c),
            level2_distributor=_money(e.shares.level2 if e.level2_id else Decimal(0), c),
            rounding=_money(e.shares.rounding, c),
            supplier_id=_id(e.supplier_id),
            level1_distributor_id=_opt(e.level1_id),
            level2_distributor_id=_opt(e.level2_id),
        )


@strawberry.type(description="Finance's view of an order: its payment decision.")
class OrderPayment:
    order_id: strawberry.ID
    tenant_id: strawberry.ID
    number: str
    buyer_organization_id: strawberry.ID
    decision: PaymentDecision
    reason: str | None
    terms: PaymentTerms | None
    total: Money

    @classmethod
    def of(cls, row: OrderRow) -> OrderPayment:
        return cls(
            order_id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            number=row.number,
            buyer_organization_id=_id(row.buyer_organization_id),
            decision=PaymentDecision(row.status),
            reason=row.decision_reason,
            terms=PaymentTerms(row.terms) if row.terms else None,
            total=_money(row.total, row.currency),
        )


@strawberry.type
class Payout:
    party_kind: LedgerAccountKind  # type: ignore[valid-type]
    party_id: strawberry.ID
    amount: Money
    status: str


@strawberry.type(description="The sharing of one delivered order, due T+delay after delivery.")
class Settlement:
    id: strawberry.ID
    order_id: strawberry.ID
    status: str
    due_at: datetime
    settled_at: datetime | None
    amount: Money | None
    payouts: list[Payout]


@strawberry.type(description="A buyer organization's terms and credit line (inherited down the tree).")
class CreditAccount:
    organization_id: strawberry.ID
    tenant_id: strawberry.ID
    terms: PaymentTerms
    terms_inherited_from: strawberry.ID | None
    invoice_period: InvoicingPeriod  # type: ignore[valid-type]
    currency: str
    credit_organization_id: strawberry.ID | None = strawberry.field(
        description="The organization whose credit line covers this one (itself or an ancestor)."
    )
    _limit: strawberry.Private[Decimal | None]
    _exposure: strawberry.Private[Decimal]

    @strawberry.federation.field(requires_scopes=READ, description="Credit limit (null: no credit line).")
    def credit_limit(self) -> Money | None:
        return _money(self._limit, self.currency) if self._limit is not None else None

    @strawberry.federation.field(requires_scopes=READ, description="Open orders + unpaid invoices.")
    def exposure(self) -> Money:
        return _money(self._exposure, self.currency)

    @strawberry.federation.field(requires_scopes=READ, description="Limit minus exposure.")
    def available(self) -> Money:
        return _money((self._limit or Decimal(0)) - self._exposure, self.currency)


@strawberry.type
class SharingRuleType:
    product_line: str | None = strawberry.field(
        description="The product line (catalog category id) it applies to; null: the tenant's rule."
    )
    platform_fee_percent: str
    supplier_percent: str
    level1_distributor_percent: str
    level2_distributor_percent: str
    remainder_policy: SharingRemainderPolicy  # type: ignore[valid-type]


@strawberry.federation.type(keys=["id"], description="An order (owned by orders), seen by finance.")
class Order:
    id: strawberry.ID

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Order:
        return cls(id=id)

    async def _row(self, info: Info) -> OrderRow | None:
        key = _uuid_or_none(self.id)
        if key is None or info.context.tenant_id is None:
            return None
        async with info.context.session() as session:
            row = await session.get(OrderRow, (info.context.tenant_id, key))
            if row is None or not await queries.may_see_buyer(
                session, _caller_org(info), row.buyer_organization_id
            ):
                return None
            return row

    @strawberry.federation.field(requires_scopes=READ, description="The sharing preview of the sale.")
    async def expected_earnings(self, info: Info) -> Earnings | None:
        row = await self._row(info)
        if row is None:
            return None
        async with info.context.session() as session:
            return Earnings.of(await settlement.earnings(session, row))

    @strawberry.federation.field(requires_scopes=READ, description="The order's invoice, once issued.")
    async def invoice(self, info: Info) -> Invoice | None:
        row = await self._row(info)
        if row is None:
            return None
        async with info.context.session() as session:
            found = await queries.invoice_for_order(session, row.id)
        return Invoice.of(found) if found else None

    @strawberry.federation.field(requires_scopes=READ, description="Finance's payment decision.")
    async def payment(self, info: Info) -> OrderPayment | None:
        row = await self._row(info)
        return OrderPayment.of(row) if row else None


@strawberry.type(description="One difference found by a reconciliation run.")
class ReconciliationMismatch:
    kind: str = strawberry.field(
        description="LEDGER_MISMATCH, CASH_MISMATCH, MISSING_IN_STATEMENT, MISSING_IN_LEDGER, AMOUNT_MISMATCH"
    )
    reference: str | None
    payment_id: strawberry.ID | None
    expected: str | None
    actual: str | None


@strawberry.type(description="A reconciliation of one day: ledger vs payments vs provider statement.")
class ReconciliationReport:
    id: strawberry.ID
    tenant_id: strawberry.ID
    day: date
    provider: str
    ran_at: datetime
    payments_checked: int
    statement_lines: int
    trigger: ReconciliationTrigger
    statement_available: bool = strawberry.field(
        description="False when the provider offers no statement (only ledger vs payments was checked)."
    )
    mismatches: list[ReconciliationMismatch]

    @classmethod
    def of(cls, row: ReconciliationRun) -> ReconciliationReport:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            day=row.day,
            provider=row.provider,
            ran_at=row.ran_at,
            payments_checked=row.payments_checked,
            statement_lines=row.statement_lines,
            trigger=ReconciliationTrigger(row.trigger),
            statement_available=row.statement_available,
            mismatches=[
                ReconciliationMismatch(
                    kind=m["kind"],
                    reference=m.get("reference"),
                    payment_id=m.get("payment_id"),
                    expected=m.get("expected"),
                    actual=m.get("actual"),
                )
                for m in row.mismatches
            ],
        )


# --------------------------------------------------------------------------- queries


async def _credit_account(info: Info, org: uuid.UUID, currency: str) -> CreditAccount:
    async with info.context.session() as session:
        if not await queries.may_see_buyer(session, _caller_org(info), org):
            raise ForbiddenError("this organization's credit is outside your data scope")
        prof = await credit.profile(session, org)
        line = await credit.credit_line_for(session, org, currency)
        credit_org = line.organization_id if line else None
        exposure = await credit.exposure(session, credit_org, currency) if credit_org else Decimal(0)
    return CreditAccount(
        organization_id=_id(org),
        tenant_id=tenant_id_of(info.context.tenant_id),
        terms=PaymentTerms(prof.terms.value),
        terms_inherited_from=_opt(prof.terms_source if prof.terms_source != org else None),
        invoice_period=prof.invoice_period,
        currency=currency,
        credit_organization_id=_opt(credit_org),
        _limit=line.credit_limit if line else None,
        _exposure=exposure,
    )


@strawberry.type
class Query:
    @strawberry.federation.field(directives=[CONNECTION_LIST_SIZE], requires_scopes=READ)
    async def invoices(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: InvoiceStatus | None = None,
        order_id: strawberry.ID | None = None,
    ) -> Connection[Invoice]:
        args = PageArgs.of_request(info, first, after)
        async with info.context.session() as session:
            scope = await queries.buyer_scope(session, _caller_org(info))
            query = queries.invoice_query(status.value if status else None, scope, _uuid_or_none(order_id))
            cols = (InvoiceRow.issued_at, InvoiceRow.id)
            rows, total = await queries.page(session, query, cols, args.limit, args.after)
        return Connection.build(
            [(Invoice.of(r), [r.issued_at.isoformat(), str(r.id)]) for r in rows],
            limit=args.limit,
            total_count=total,
            has_previous=args.after is not None,
        )

    @strawberry.federation.field(requires_scopes=READ)
    async def invoice(self, info: Info, id: strawberry.ID) -> Invoice | None:
        return await Invoice.resolve_reference(info, id)

    @strawberry.federation.field(directives=[CONNECTION_LIST_SIZE], requires_scopes=READ)
    async def payments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_id: strawberry.ID | None = None,
    ) -> Connection[Payment]:
        args = PageArgs.of_request(info, first, after)
        async with info.context.session() as session:
            scope = await queries.buyer_scope(session, _caller_org(info))
            query = queries.payment_query(_uuid_or_none(order_id), scope)
            cols = (PaymentRow.created_at, PaymentRow.id)
            rows, total = await queries.page(session, query, cols, args.limit, args.after)
        return Connection.build(
            [(Payment.of(r), [r.created_at.isoformat(), str(r.id)]) for r in rows],
            limit=args.limit,
            total_count=total,
            has_previous=args.after is not None,
        )

    @strawberry.federation.field(
        directives=[CONNECTION_LIST_SIZE],
        requires_scopes=READ, description="The tenant's journal (finance staff).")
    async def journal_entries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_id: strawberry.ID | None = None,
    ) -> Connection[JournalEntry]:
        args = PageArgs.of_request(info, first, after)
        async with info.context.session() as session:
            if await queries.buyer_scope(session, _caller_org(info)) is not None:
                raise ForbiddenError("the journal is for the platform's finance staff")
            query = queries.entry_query(_uuid_or_none(order_id))
            rows, total = await queries.page(session, query, (JournalEntryRow.seq,), args.limit, args.after)
            lines = await queries.lines_of(session, [r.id for r in rows])
        return Connection.build(
            [(JournalEntry.of(r, lines[r.id]), [r.seq]) for r in rows],
            limit=args.limit,
            total_count=total,
            has_previous=args.after is not None,
        )

    @strawberry.federation.field(requires_scopes=READ, description="Accounts and balances (finance staff).")
    async def ledger_accounts(self, info: Info, currency: str | None = None) -> list[LedgerAccount]:
        async with info.context.session() as session:
            if await queries.buyer_scope(session, _caller_org(info)) is not None:
                raise ForbiddenError("the ledger is for the platform's finance staff")
            rows = await journal.balances(session, currency.upper() if currency else None)
        return [
            LedgerAccount(
                id=_id(b.account_id),
                tenant_id=tenant_id_of(info.context.tenant_id),
                kind=b.ref.kind,
                party_id=_opt(b.ref.party_id),
                debits=_money(b.debits, b.ref.currency),
                credits=_money(b.credits, b.ref.currency),
                balance=_money(b.balance, b.ref.currency),
                entry_count=b.entries,
            )
            for b in rows
        ]

    @strawberry.federation.field(requires_scopes=READ, description="Per currency: zero in a sound ledger.")
    async def trial_balance(self, info: Info) -> list[Money]:
        async with info.context.session() as session:
            if await queries.buyer_scope(session, _caller_org(info)) is not None:
                raise ForbiddenError("the ledger is for the platform's finance staff")
            totals = await journal.trial_balance(session)
        return [_money(v, c) for c, v in sorted(totals.items())]

    @strawberry.federation.field(requires_scopes=READ)
    async def credit_account(
        self, info: Info, organization_id: strawberry.ID, currency: str = "EUR"
    ) -> CreditAccount | None:
        org = _uuid_or_none(organization_id)
        if org is None:
            return None
        return await _credit_account(info, org, currency.upper()[:3])

    @strawberry.federation.field(requires_scopes=READ, description="Orders held over their credit limit.")
    async def credit_holds(self, info: Info) -> list[OrderPayment]:
        async with info.context.session() as session:
            scope = await queries.buyer_scope(session, _caller_org(info))
            rows = (await session.execute(queries.held_query().order_by(OrderRow.updated_at))).scalars()
            return [OrderPayment.of(r) for r in rows if scope is None or r.buyer_organization_id in scope]

    @strawberry.federation.field(requires_scopes=READ)
    async def sharing_rule(self, info: Info) -> SharingRuleType:
        async with info.context.session() as session:
            return _rule(await settlement.sharing_rule(session))

    @strawberry.federation.field(
        requires_scopes=READ, description="Sharing rules per product line (they win over the tenant's)."
    )
    async def product_line_sharing_rules(self, info: Info) -> list[SharingRuleType]:
        async with info.context.session() as session:
            rules = await settlement.product_line_rules(session)
        return [_rule(rule, line) for line, rule in sorted(rules.items())]

    @strawberry.federation.field(
        requires_scopes=READ, description="Consolidated invoices, newest period first."
    )
    async def consolidated_invoices(
        self, info: Info, buyer_organization_id: strawberry.ID | None = None, first: int = 20
    ) -> list[ConsolidatedInvoice]:
        async with info.context.session() as session:
            scope = await queries.buyer_scope(session, _caller_org(info))
            query = select(ConsolidatedInvoiceRow).order_by(
                ConsolidatedInvoiceRow.period_start.desc(), ConsolidatedInvoiceRow.id
            )
            buyer = _uuid_or_none(buyer_organization_id)
            if buyer_organization_id is not None:
                query = query.where(ConsolidatedInvoiceRow.buyer_organization_id == buyer)
            if scope is not None:
                query = query.where(ConsolidatedInvoiceRow.buyer_organization_id.in_(scope))
            rows = list((await session.execute(query.limit(min(max(first, 0), 100)))).scalars())
            return [ConsolidatedInvoice.of(r, await consolidation.members(session, r.id)) for r in rows]

    @strawberry.federation.field(requires_scopes=READ)
    async def consolidated_invoice(self, info: Info, id: strawberry.ID) -> ConsolidatedInvoice | None:
        key = _uuid_or_none(id)
        if key is None:
            return None
        async with info.context.session() as session:
            row = await session.get(ConsolidatedInvoiceRow, key)
            if row is None or not await queries.may_see_buyer(
                session, _caller_org(info), row.buyer_organization_id
            ):
                return None
            return ConsolidatedInvoice.of(row, await consolidation.members(session, row.id))

    @strawberry.federation.field(requires_scopes=READ, description="Latest reconciliation runs first.")
    async def reconciliation_reports(
        self,
        info: Info,
        first: int = 20,
        trigger: ReconciliationTrigger | None = None,
        day: date | None = None,
    ) -> list[ReconciliationReport]:
        async with info.context.session() as session:
            await _staff_only(info, session)
            query = (
                select(ReconciliationRun)
                .order_by(ReconciliationRun.ran_at.desc())
                .limit(min(max(first, 0), 100))
            )
            if trigger is not None:
                query = query.where(ReconciliationRun.trigger == trigger.value)
            if day is not None:
                query = query.where(ReconciliationRun.day == day)
            return [ReconciliationReport.of(r) for r in (await session.execute(query)).scalars()]

    @strawberry.federation.field(requires_scopes=READ)
    async def settlement(self, info: Info, order_id: strawberry.ID) -> Settlement | None:
        key = _uuid_or_none(order_id)
        if key is None:
            return None
        async with info.context.session() as session:
            if await queries.buyer_scope(session, _caller_org(info)) is not None:
                raise ForbiddenError("settlements are for the platform's finance staff")
            row = await queries.settlement_for_order(session, key)
            if row is None:
                return None
            payouts = await queries.payouts_of(session, row.id)
        return _settlement(row, payouts)


async def _staff_only(info: Info, session: Any) -> None:
    if await queries.buyer_scope(session, _caller_org(info)) is not None:
        raise ForbiddenError("reconciliation is for the platform's finance staff")


def _percent(value: Decimal) -> str:
    """60.0000 -> "60", 33.3330 -> "33.333" (no exponent notation)."""
    return format(value.normalize(), "f")


def _rule(rule: SharingRule, product_line: str | None = None) -> SharingRuleType:
    return SharingRuleType(
        product_line=product_line,
        platform_fee_percent=_percent(rule.platform_fee),
        supplier_percent=_percent(rule.supplier),
        level1_distributor_percent=_percent(rule.level1),
        level2_distributor_percent=_percent(rule.level2),
        remainder_policy=rule.remainder_policy,
    )


def _settlement(row: SettlementRow, payouts: list[Any]) -> Settlement:
    return Settlement(
        id=_id(row.id),
        order_id=_id(row.order_id),
        status=row.status,
        due_at=row.due_at,
        settled_at=row.settled_at,
        amount=_money(row.amount, row.currency) if row.amount is not None else None,
        payouts=[
            Payout(
                party_kind=AccountKind(p.party_kind),
                party_id=_id(p.party_id),
                amount=_money(p.amount, p.currency),
                status=p.status,
            )
            for p in payouts
        ],
    )


# --------------------------------------------------------------------------- mutations


@strawberry.input
class PaymentTermsSetInput:
    organization_id: strawberry.ID
    terms: PaymentTerms | None = strawberry.field(description="null: inherit from the parent unit.")


@strawberry.input
class CreditLimitSetInput:
    organization_id: strawberry.ID
    currency: str
    amount: str


@strawberry.input
class DistributorsSetInput:
    organization_id: strawberry.ID
    level1_distributor_id: strawberry.ID | None = None
    level2_distributor_id: strawberry.ID | None = None


@strawberry.type
class CreditAccountPayload:
    credit_account: CreditAccount | None
    user_errors: list[UserError]


@strawberry.input
class CreditHoldReleaseInput:
    order_id: strawberry.ID


@strawberry.input
class CreditHoldDeclineInput:
    order_id: strawberry.ID
    reason: str | None = None


@strawberry.type
class OrderPaymentPayload:
    order_payment: OrderPayment | None
    user_errors: list[UserError]


@strawberry.input
class BankTransferRecordInput:
    order_id: strawberry.ID
    amount: str
    currency: str
    reference: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class RefundRecordInput:
    order_id: strawberry.ID
    amount: str
    currency: str
    reference: str | None = None
    idempotency_key: str | None = None


@strawberry.type
class PaymentPayload:
    payment: Payment | None
    replayed: bool
    user_errors: list[UserError]


@strawberry.input
class InvoicePeriodSetInput:
    organization_id: strawberry.ID
    period: InvoicingPeriod | None = strawberry.field(  # type: ignore[valid-type]
        description="null: inherit from the parent unit (none anywhere: ORDER)."
    )


@strawberry.input
class ConsolidatedInvoicePayInput:
    consolidated_invoice_id: strawberry.ID
    amount: str
    currency: str
    reference: str | None = None
    idempotency_key: str | None = None


@strawberry.type
class ConsolidatedInvoicePayPayload:
    consolidated_invoice: ConsolidatedInvoice | None
    payments: list[Payment]
    replayed: bool
    user_errors: list[UserError]


@strawberry.input
class ProductLineSharingRuleRemoveInput:
    product_line: str


@strawberry.input
class SharingRuleSetInput:
    product_line: str | None = strawberry.field(
        default=None,
        description="A product line (catalog category id): the rule applies to its order lines only.",
    )
    platform_fee_percent: str
    supplier_percent: str
    level1_distributor_percent: str
    level2_distributor_percent: str
    remainder_policy: SharingRemainderPolicy = RemainderPolicy.LARGEST_REMAINDER  # type: ignore[valid-type]


@strawberry.type
class SharingRulePayload:
    sharing_rule: SharingRuleType | None
    user_errors: list[UserError]


@strawberry.input
class SettlementDelaySetInput:
    seconds: int


@strawberry.type
class SettlementDelayPayload:
    seconds: int | None
    user_errors: list[UserError]


async def _money_move(
    info: Info, operation: str, raw: BankTransferRecordInput | RefundRecordInput, refund: bool
) -> PaymentPayload:
    tenant = info.context.require_tenant()
    try:
        order_id = _parse_id(raw.order_id, "orderId")
        currency = raw.currency.upper()
        amount = _amount(raw.amount, currency)
        reference = (raw.reference or "").strip()[:200] or None

        async def produce(session: Any) -> dict[str, Any]:
            if refund:
                row = await payments.record_refund(
                    session, tenant, order_id, amount, currency, reference=reference, actor=_actor(info)
                )
            else:
                row = await payments.record_payment(
                    session,
                    tenant,
                    order_id,
                    amount,
                    currency,
                    method="BANK_TRANSFER",
                    reference=reference,
                    actor=_actor(info),
                )
            return {"payment_id": str(row.id)}

        async with info.context.session() as session:
            if raw.idempotency_key is not None:
                request = {
                    "order": str(order_id),
                    "amount": str(amount),
                    "currency": currency,
                    "ref": reference,
                }
                result = await run_once(
                    session,
                    schema=SCHEMA,
                    tenant_id=tenant,
                    key=raw.idempotency_key,
                    operation=operation,
                    request=request,
                    produce=lambda: produce(session),
                )
                response, replayed = result.response, result.replayed
            else:
                response, replayed = await produce(session), False
            row = await session.get(PaymentRow, uuid.UUID(response["payment_id"]))
    except UserInputError as exc:
        return PaymentPayload(payment=None, replayed=False, user_errors=user_errors(exc))
    return PaymentPayload(payment=Payment.of(row) if row else None, replayed=replayed, user_errors=[])


@strawberry.input
class StatementLineInput:
    reference: str
    amount: str
    currency: str


@strawberry.input
class ReconciliationRunInput:
    day: date
    provider: str = "sandbox"
    statement: list[StatementLineInput] = strawberry.field(description="The provider's statement of the day.")


@strawberry.type
class ReconciliationPayload:
    report: ReconciliationReport | None
    user_errors: list[UserError]


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        requires_scopes=WRITE, description="Reconcile one day against a statement."
    )
    async def reconciliation_run(self, info: Info, input: ReconciliationRunInput) -> ReconciliationPayload:
        tenant = info.context.require_tenant()
        try:
            lines = [
                reconciliation.StatementLine(
                    line.reference.strip()[:200],
                    _amount(line.amount, line.currency.upper(), f"statement.{i}.amount"),
                    line.currency.upper(),
                )
                for i, line in enumerate(input.statement)
            ]
            async with info.context.session() as session:
                await _staff_only(info, session)
                run = await reconciliation.reconcile(session, tenant, input.day, input.provider[:32], lines)
                report = ReconciliationReport.of(run)
        except UserInputError as exc:
            return ReconciliationPayload(report=None, user_errors=user_errors(exc))
        return ReconciliationPayload(report=report, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def payment_terms_set(self, info: Info, input: PaymentTermsSetInput) -> CreditAccountPayload:
        tenant = info.context.require_tenant()
        try:
            org = _parse_id(input.organization_id, "organizationId")
            async with info.context.session() as session:
                terms = Terms(input.terms.value) if input.terms else None
                await credit.set_terms(session, tenant, org, terms)
        except UserInputError as exc:
            return CreditAccountPayload(credit_account=None, user_errors=user_errors(exc))
        return CreditAccountPayload(credit_account=await _credit_account(info, org, "EUR"), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def credit_limit_set(self, info: Info, input: CreditLimitSetInput) -> CreditAccountPayload:
        tenant = info.context.require_tenant()
        try:
            org = _parse_id(input.organization_id, "organizationId")
            currency = input.currency.upper()
            try:
                limit = parse_amount(input.amount, currency, allow_zero=True)
            except MoneyError as exc:
                raise refuse("amount", str(exc), "INVALID_AMOUNT") from None
            async with info.context.session() as session:
                await credit.set_credit_limit(session, tenant, org, currency, limit)
        except UserInputError as exc:
            return CreditAccountPayload(credit_account=None, user_errors=user_errors(exc))
        return CreditAccountPayload(credit_account=await _credit_account(info, org, currency), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def distributors_set(self, info: Info, input: DistributorsSetInput) -> CreditAccountPayload:
        tenant = info.context.require_tenant()
        try:
            org = _parse_id(input.organization_id, "organizationId")
            l1 = (
                _parse_id(input.level1_distributor_id, "level1DistributorId")
                if input.level1_distributor_id
                else None
            )
            l2 = (
                _parse_id(input.level2_distributor_id, "level2DistributorId")
                if input.level2_distributor_id
                else None
            )
            async with info.context.session() as session:
                await credit.set_distributors(session, tenant, org, l1, l2)
        except UserInputError as exc:
            return CreditAccountPayload(credit_account=None, user_errors=user_errors(exc))
        return CreditAccountPayload(credit_account=await _credit_account(info, org, "EUR"), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE, description="Let a held order through.")
    async def credit_hold_release(self, info: Info, input: CreditHoldReleaseInput) -> OrderPaymentPayload:
        try:
            order_id = _parse_id(input.order_id, "orderId")
            async with info.context.session() as session:
                row = await credit.release_hold(session, order_id, _actor(info))
                result = OrderPayment.of(row)
        except UserInputError as exc:
            return OrderPaymentPayload(order_payment=None, user_errors=user_errors(exc))
        return OrderPaymentPayload(order_payment=result, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE, description="Refuse a held order.")
    async def credit_hold_decline(self, info: Info, input: CreditHoldDeclineInput) -> OrderPaymentPayload:
        try:
            order_id = _parse_id(input.order_id, "orderId")
            async with info.context.session() as session:
                row = await credit.decline_hold(session, order_id, _actor(info), input.reason)
                result = OrderPayment.of(row)
        except UserInputError as exc:
            return OrderPaymentPayload(order_payment=None, user_errors=user_errors(exc))
        return OrderPaymentPayload(order_payment=result, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE, description="Record a received bank transfer.")
    async def bank_transfer_record(self, info: Info, input: BankTransferRecordInput) -> PaymentPayload:
        return await _money_move(info, "bankTransferRecord", input, refund=False)

    @strawberry.federation.mutation(requires_scopes=WRITE, description="Record money paid back to the buyer.")
    async def refund_record(self, info: Info, input: RefundRecordInput) -> PaymentPayload:
        return await _money_move(info, "refundRecord", input, refund=True)

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def sharing_rule_set(self, info: Info, input: SharingRuleSetInput) -> SharingRulePayload:
        tenant = info.context.require_tenant()
        try:
            try:
                rule = SharingRule(
                    Decimal(input.platform_fee_percent),
                    Decimal(input.supplier_percent),
                    Decimal(input.level1_distributor_percent),
                    Decimal(input.level2_distributor_percent),
                    RemainderPolicy(input.remainder_policy),
                )
            except (SharingRuleError, ArithmeticError, ValueError) as exc:
                raise refuse("", str(exc) or "invalid percentages", "INVALID_RULE") from None
            line = (input.product_line or "").strip() or None
            if line is not None and len(line) > 64:
                raise refuse("productLine", "at most 64 characters", "INVALID")
            async with info.context.session() as session:
                if line is None:
                    await settlement.set_sharing_rule(session, tenant, rule)
                else:
                    await settlement.set_product_line_rule(session, tenant, line, rule)
        except UserInputError as exc:
            return SharingRulePayload(sharing_rule=None, user_errors=user_errors(exc))
        return SharingRulePayload(sharing_rule=_rule(rule, line), user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=WRITE, description="Drop a product line's rule (its lines use the tenant's again)."
    )
    async def product_line_sharing_rule_remove(
        self, info: Info, input: ProductLineSharingRuleRemoveInput
    ) -> SharingRulePayload:
        tenant = info.context.require_tenant()
        async with info.context.session() as session:
            await settlement.set_product_line_rule(session, tenant, input.product_line.strip(), None)
            rule = await settlement.sharing_rule(session)
        return SharingRulePayload(sharing_rule=_rule(rule), user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=WRITE, description="Invoice a buyer organization per order, week or month."
    )
    async def invoice_period_set(self, info: Info, input: InvoicePeriodSetInput) -> CreditAccountPayload:
        tenant = info.context.require_tenant()
        try:
            org = _parse_id(input.organization_id, "organizationId")
            async with info.context.session() as session:
                period = InvoicePeriod(input.period.value) if input.period is not None else None
                await credit.set_invoice_period(session, tenant, org, period)
        except UserInputError as exc:
            return CreditAccountPayload(credit_account=None, user_errors=user_errors(exc))
        return CreditAccountPayload(credit_account=await _credit_account(info, org, "EUR"), user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=WRITE, description="Record a bank transfer against a consolidated invoice."
    )
    async def consolidated_invoice_pay(
        self, info: Info, input: ConsolidatedInvoicePayInput
    ) -> ConsolidatedInvoicePayPayload:
        tenant = info.context.require_tenant()
        try:
            cid = _parse_id(input.consolidated_invoice_id, "consolidatedInvoiceId")
            currency = input.currency.upper()
            amount = _amount(input.amount, currency)
            reference = (input.reference or "").strip()[:200] or None

            async def produce(session: Any) -> dict[str, Any]:
                rows = await payments.pay_consolidated(
                    session, tenant, cid, amount, currency, reference=reference, actor=_actor(info)
                )
                return {"payment_ids": [str(r.id) for r in rows]}

            async with info.context.session() as session:
                if input.idempotency_key is not None:
                    result = await run_once(
                        session,
                        schema=SCHEMA,
                        tenant_id=tenant,
                        key=input.idempotency_key,
                        operation="consolidatedInvoicePay",
                        request={
                            "invoice": str(cid),
                            "amount": str(amount),
                            "currency": currency,
                            "ref": reference,
                        },
                        produce=lambda: produce(session),
                    )
                    response, replayed = result.response, result.replayed
                else:
                    response, replayed = await produce(session), False
                paid = [await session.get(PaymentRow, uuid.UUID(p)) for p in response["payment_ids"]]
                row = await session.get(ConsolidatedInvoiceRow, cid, populate_existing=True)
                found = (
                    ConsolidatedInvoice.of(row, await consolidation.members(session, cid)) if row else None
                )
        except UserInputError as exc:
            return ConsolidatedInvoicePayPayload(
                consolidated_invoice=None, payments=[], replayed=False, user_errors=user_errors(exc)
            )
        return ConsolidatedInvoicePayPayload(
            consolidated_invoice=found,
            payments=[Payment.of(p) for p in paid if p is not None],
            replayed=replayed,
            user_errors=[],
        )

    @strawberry.federation.mutation(requires_scopes=WRITE, description="Seconds from delivery to settlement.")
    async def settlement_delay_set(
        self, info: Info, input: SettlementDelaySetInput
    ) -> SettlementDelayPayload:
        tenant = info.context.require_tenant()
        if input.seconds < 0 or input.seconds > 366 * 24 * 3600:
            error = UserError(field=["seconds"], message="between 0 and one year", code="INVALID")
            return SettlementDelayPayload(seconds=None, user_errors=[error])
        async with info.context.session() as session:
            await settlement.set_settlement_delay(session, tenant, input.seconds)
        return SettlementDelayPayload(seconds=input.seconds, user_errors=[])


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[Invoice, Payment, JournalEntry, Order],
    federation_version=FEDERATION_VERSION,
)
