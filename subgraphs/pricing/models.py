"""Tables of the pricing subgraph, all in the `pricing` schema, all tenant-scoped under RLS.

Amounts are NUMERIC(19, 4) (`Decimal` in Python): unit prices carry four decimal places (see
money.py). Quote versions keep their requested items and offered lines as JSONB documents with
amounts as strings: a version is written once and read whole, never queried line by line.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base as SharedBase
from shared.db import TenantMixin, TimestampMixin, schema_metadata

SCHEMA = "pricing"
AMOUNT = Numeric(19, 4)


class Base(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class OrgUnit(Base):
    """Local projection of the orgs domain's organization tree (fed by its events and the seed):
    pricing needs a buyer's ancestor chain and must not read the orgs tables."""

    __tablename__ = "org_units"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    # Preferred pricing currency; None inherits the parent's (the nearest set one wins).
    currency: Mapped[str | None] = mapped_column(String(3))


class PriceList(TenantMixin, TimestampMixin, Base):
    __tablename__ = "price_lists"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint("kind IN ('BASE', 'STANDARD', 'CONTRACT')", name="kind"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="window"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[datetime | None]
    valid_to: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    # The seller organization that owns the list (informational; None: the platform).
    seller_organization_id: Mapped[uuid.UUID | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))


class PriceListAssignment(TenantMixin, TimestampMixin, Base):
    """A list applies to this buyer organization and, by inheritance, to the units below it."""

    __tablename__ = "price_list_assignments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "price_list_id"], ["price_lists.tenant_id", "price_lists.id"], ondelete="CASCADE"
        ),
        Index("ix_price_list_assignments_org", "tenant_id", "organization_id"),
    )

    price_list_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Price(TenantMixin, Base):
    """One price break of a SKU in a list: from `min_quantity` units on, `unit_amount` each."""

    __tablename__ = "prices"
    __table_args__ = (
        UniqueConstraint("price_list_id", "sku_id", "min_quantity"),
        ForeignKeyConstraint(
            ["tenant_id", "price_list_id"], ["price_lists.tenant_id", "price_lists.id"], ondelete="CASCADE"
        ),
        CheckConstraint("min_quantity >= 1", name="min_quantity"),
        CheckConstraint("unit_amount >= 0", name="unit_amount"),
        Index("ix_prices_sku", "tenant_id", "sku_id"),
        Index("ix_prices_product", "tenant_id", "product_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    price_list_id: Mapped[uuid.UUID]
    sku_id: Mapped[uuid.UUID]
    # The catalog product of the SKU (a reference given when the price is set), for priceRange.
    product_id: Mapped[uuid.UUID | None]
    min_quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[Decimal] = mapped_column(AMOUNT)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class QuantityRuleRow(TenantMixin, Base):
    """Minimum, maximum and increment for a SKU: in one list, or (price_list_id NULL) by default."""

    __tablename__ = "quantity_rules"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "price_list_id"], ["price_lists.tenant_id", "price_lists.id"], ondelete="CASCADE"
        ),
        Index(
            "uq_quantity_rules_list",
            "tenant_id",
            "sku_id",
            "price_list_id",
            unique=True,
            postgresql_where=text("price_list_id IS NOT NULL"),
        ),
        Index(
            "uq_quantity_rules_default",
            "tenant_id",
            "sku_id",
            unique=True,
            postgresql_where=text("price_list_id IS NULL"),
        ),
        CheckConstraint(
            "increment >= 1 AND minimum >= 1 AND mod(minimum, increment) = 0 AND "
            "(maximum IS NULL OR (maximum >= minimum AND mod(maximum, increment) = 0))",
            name="satisfiable",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sku_id: Mapped[uuid.UUID]
    price_list_id: Mapped[uuid.UUID | None]
    minimum: Mapped[int] = mapped_column(Integer, default=1)
    maximum: Mapped[int | None] = mapped_column(Integer)
    increment: Mapped[int] = mapped_column(Integer, default=1)


class QuoteRow(TenantMixin, Base):
    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        CheckConstraint(
            "status IN ('REQUESTED', 'QUOTED', 'ACCEPTED', 'REJECTED', 'EXPIRED')", name="status"
        ),
        Index("ix_quotes_buyer", "tenant_id", "buyer_organization_id"),
        Index("ix_quotes_seller", "tenant_id", "seller_organization_id"),
        Index("ix_quotes_page", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    buyer_organization_id: Mapped[uuid.UUID]
    seller_organization_id: Mapped[uuid.UUID | None]
    requested_by: Mapped[uuid.UUID | None]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    # Optimistic concurrency: every transition bumps it; a stale expectation is a VERSION_CONFLICT.
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))


class QuoteVersionRow(TenantMixin, Base):
    __tablename__ = "quote_versions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "quote_id"], ["quotes.tenant_id", "quotes.id"], ondelete="CASCADE"
        ),
    )

    quote_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    buyer_note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime]
    lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    valid_until: Mapped[datetime | None]
    terms: Mapped[str | None] = mapped_column(Text)
    seller_note: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None]


# Tenant tables; the migration enables RLS on each (column tenant_id).
RLS_TABLES: tuple[str, ...] = (
    "org_units",
    "price_lists",
    "price_list_assignments",
    "prices",
    "quantity_rules",
    "quotes",
    "quote_versions",
)
