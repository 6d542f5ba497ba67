"""Tables of the finance subgraph, all in the `finance` schema, all tenant-scoped under RLS
(except `known_tenants`, which holds only tenant ids, for the sweepers).

Amounts are NUMERIC(19, 4) (`Decimal`), always at the currency's minor unit (money.py). The
journal (`journal_entries`, `journal_lines`) is append-only: the application role may not
UPDATE or DELETE it and a trigger refuses both for everyone; a deferred constraint trigger
refuses, at commit, any entry whose lines do not balance.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Identity, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base as SharedBase
from shared.db import schema_metadata, utcnow

SCHEMA = "finance"
AMOUNT = Numeric(19, 4)
PERCENT = Numeric(7, 4)


class Base(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class KnownTenant(Base):
    """Tenants finance has seen (sweepers visit each in its own tenant transaction)."""

    __tablename__ = "known_tenants"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class OrgUnit(Base):
    """Projection of the orgs domain's organization tree (fed by orgs events and the seed)."""

    __tablename__ = "org_units"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    parent_id: Mapped[uuid.UUID | None]
    kind: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))


class BuyerProfile(Base):
    """Finance settings of a buyer organization; NULL inherits from the parent unit."""

    __tablename__ = "buyer_profiles"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    terms: Mapped[str | None] = mapped_column(String(16))
    level1_distributor_id: Mapped[uuid.UUID | None]
    level2_distributor_id: Mapped[uuid.UUID | None]
    invoice_period: Mapped[str | None] = mapped_column(String(8))  # ORDER | WEEK | MONTH
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditLine(Base):
    """A credit limit of an organization in one currency; the row decisions lock."""

    __tablename__ = "credit_lines"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    credit_limit: Mapped[Decimal] = mapped_column(AMOUNT)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantFinance(Base):
    """Per-tenant finance settings."""

    __tablename__ = "tenant_settings"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    settlement_delay_seconds: Mapped[int] = mapped_column(Integer, default=7 * 24 * 3600)


class SharingRuleRow(Base):
    __tablename__ = "sharing_rules"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    platform_fee: Mapped[Decimal] = mapped_column(PERCENT)
    supplier: Mapped[Decimal] = mapped_column(PERCENT)
    level1: Mapped[Decimal] = mapped_column(PERCENT)
    level2: Mapped[Decimal] = mapped_column(PERCENT)
    remainder_policy: Mapped[str] = mapped_column(String(24))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductLineRuleRow(Base):
    """A sharing rule for one product line (the catalog category id of the order line): it wins
    over the tenant's rule for the lines of that product line."""

    __tablename__ = "product_line_rules"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_line: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform_fee: Mapped[Decimal] = mapped_column(PERCENT)
    supplier: Mapped[Decimal] = mapped_column(PERCENT)
    level1: Mapped[Decimal] = mapped_column(PERCENT)
    level2: Mapped[Decimal] = mapped_column(PERCENT)
    remainder_policy: Mapped[str] = mapped_column(String(24))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    party_id: Mapped[uuid.UUID | None]


class JournalEntryRow(Base):
    __tablename__ = "journal_entries"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID]
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    order_id: Mapped[uuid.UUID | None]
    memo: Mapped[str] = mapped_column(Text, default="")
    reverses_id: Mapped[uuid.UUID | None]
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


class JournalLineRow(Base):
    __tablename__ = "journal_lines"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID]
    entry_id: Mapped[uuid.UUID]
    account_id: Mapped[uuid.UUID]
    debit: Mapped[Decimal] = mapped_column(AMOUNT)
    credit: Mapped[Decimal] = mapped_column(AMOUNT)


class OrderRow(Base):
    """What finance remembers of an order (from orders.placed) and its payment decision."""

    __tablename__ = "orders"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    buyer_organization_id: Mapped[uuid.UUID]
    seller_organization_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(24))
    terms: Mapped[str | None] = mapped_column(String(16))
    credit_organization_id: Mapped[uuid.UUID | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[uuid.UUID | None]
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceRow(Base):
    __tablename__ = "invoices"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID]
    number: Mapped[str] = mapped_column(String(80))
    order_id: Mapped[uuid.UUID]
    buyer_organization_id: Mapped[uuid.UUID]
    seller_organization_id: Mapped[uuid.UUID]
    credit_organization_id: Mapped[uuid.UUID | None]
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    paid: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal(0))
    credited: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal(0))  # credit notes (returns)
    status: Mapped[str] = mapped_column(String(16))
    terms: Mapped[str] = mapped_column(String(16))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    issued_at: Mapped[datetime]
    due_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    consolidated_id: Mapped[uuid.UUID | None]

    @property
    def payable(self) -> Decimal:
        """What the buyer owes on this invoice in all: its total less credit notes."""
        return self.total - self.credited


class ConsolidatedInvoiceRow(Base):
    """One invoice per buyer organization, currency and period for orders on NET terms: OPEN
    while the period runs (orders join it), ISSUED when the sweeper closes the period."""

    __tablename__ = "consolidated_invoices"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID]
    number: Mapped[str] = mapped_column(String(80))
    buyer_organization_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    terms: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # OPEN | ISSUED
    total: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal(0))
    issued_at: Mapped[datetime | None]
    due_at: Mapped[datetime]


class CreditNoteRow(Base):
    """A credit note: the value of returned lines taken off an invoice (once per return)."""

    __tablename__ = "credit_notes"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID]
    number: Mapped[str] = mapped_column(String(80))
    order_id: Mapped[uuid.UUID]
    invoice_id: Mapped[uuid.UUID]
    return_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    cash_refund: Mapped[Decimal] = mapped_column(AMOUNT)
    clawback: Mapped[Decimal] = mapped_column(AMOUNT)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    entry_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentRow(Base):
    __tablename__ = "payments"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID]
    buyer_organization_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))  # PAYMENT | REFUND
    method: Mapped[str] = mapped_column(String(24))  # BANK_TRANSFER | PROVIDER
    provider: Mapped[str | None] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    recorded_by: Mapped[uuid.UUID | None]
    entry_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderEventRow(Base):
    """Provider webhook ids already applied: a replayed webhook finds its id here."""

    __tablename__ = "provider_events"
    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[uuid.UUID | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SettlementRow(Base):
    __tablename__ = "settlements"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # SCHEDULED | SETTLED
    due_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    amount: Mapped[Decimal | None] = mapped_column(AMOUNT)
    shares: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    entry_id: Mapped[uuid.UUID | None]


class PayoutRow(Base):
    __tablename__ = "payouts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID]
    settlement_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID]
    party_kind: Mapped[str] = mapped_column(String(32))
    party_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


RLS_TABLES: tuple[str, ...] = (
    "org_units",
    "buyer_profiles",
    "credit_lines",
    "tenant_settings",
    "sharing_rules",
    "accounts",
    "journal_entries",
    "journal_lines",
    "orders",
    "invoices",
    "payments",
    "provider_events",
    "settlements",
    "payouts",
)


class ReconciliationRun(Base):
    """One reconciliation of a day: what was checked and what did not match."""

    __tablename__ = "reconciliation_runs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[uuid.UUID]
    day: Mapped[date]
    provider: Mapped[str] = mapped_column(String(32))
    ran_at: Mapped[datetime]
    payments_checked: Mapped[int] = mapped_column(Integer)
    statement_lines: Mapped[int] = mapped_column(Integer)
    mismatches: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    trigger: Mapped[str] = mapped_column(String(16), default="MANUAL")  # MANUAL | SCHEDULED
    statement_available: Mapped[bool] = mapped_column(default=True)


class JobLease(Base):
    """Which process runs a periodic job until when (not tenant data: no RLS)."""

    __tablename__ = "job_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    last_tick_at: Mapped[datetime | None]


RLS_TABLES = (
    *RLS_TABLES,
    "reconciliation_runs",
    "product_line_rules",
    "consolidated_invoices",
    "credit_notes",
)
