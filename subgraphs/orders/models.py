"""Tables of the orders subgraph, all in the `orders` schema, all tenant-scoped under RLS.

Amounts are NUMERIC(19, 4) (`Decimal`); order lines snapshot the price and the SKU facts at
placement, so an order never changes when the catalog or a price list does.
`order_transitions` is append-only: the migration revokes UPDATE and DELETE from the app role.
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

SCHEMA = "orders"
AMOUNT = Numeric(19, 4)
STATES_SQL = (
    "'draft', 'pending_approval', 'placed', 'reserved', 'confirmed', 'partially_shipped', 'shipped', "
    "'delivered', 'completed', 'cancelled', 'rejected', 'expired', 'reservation_failed'"
)


class Base(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class OrgUnit(Base):
    """Local projection of the orgs domain's organization tree (fed by its events and the seed):
    data scope and inherited approval rules walk it; orders never reads the orgs tables."""

    __tablename__ = "org_units"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))


class OrderSettings(Base):
    """Per-tenant settings; no row means the defaults (see service.DEFAULT_SETTINGS)."""

    __tablename__ = "settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The payment gate until finance exists: approve payment as soon as stock has reserved.
    approve_payment_on_placement: Mapped[bool] = mapped_column(default=True)
    # Sent as `reserve_for_seconds` in orders.placed; None: stock's own tenant setting.
    reserve_for_seconds: Mapped[int | None] = mapped_column(Integer)


class Cart(TenantMixin, TimestampMixin, Base):
    __tablename__ = "carts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("status IN ('open', 'ordered')", name="status"),
        # One open cart per buyer business unit.
        Index(
            "uq_carts_open",
            "tenant_id",
            "buyer_organization_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    buyer_organization_id: Mapped[uuid.UUID]
    created_by: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class CartLine(TenantMixin, Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "cart_id"], ["carts.tenant_id", "carts.id"], ondelete="CASCADE"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    cart_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sku_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Purchase(TenantMixin, TimestampMixin, Base):
    """What the buyer placed in one go: one order per seller."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "quote_id"),
        Index("ix_purchases_page", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    buyer_organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    placed_by: Mapped[uuid.UUID | None]
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    cart_id: Mapped[uuid.UUID | None]
    quote_id: Mapped[uuid.UUID | None]
    po_number: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Order(TenantMixin, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "purchase_id"], ["purchases.tenant_id", "purchases.id"]),
        CheckConstraint(f"state IN ({STATES_SQL})", name="state"),
        CheckConstraint("source IN ('cart', 'quote')", name="source"),
        Index("ix_orders_buyer", "tenant_id", "buyer_organization_id"),
        Index("ix_orders_seller", "tenant_id", "seller_organization_id"),
        Index("ix_orders_page", "tenant_id", "created_at", "id"),
        Index("ix_orders_state", "tenant_id", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    purchase_id: Mapped[uuid.UUID]
    number: Mapped[str] = mapped_column(String(32))
    buyer_organization_id: Mapped[uuid.UUID]
    seller_organization_id: Mapped[uuid.UUID]
    placed_by: Mapped[uuid.UUID | None]
    state: Mapped[str] = mapped_column(String(24))
    state_reason: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(AMOUNT)
    source: Mapped[str] = mapped_column(String(8), default="cart")
    quote_id: Mapped[uuid.UUID | None]
    po_number: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The approver roles in order, and the index of the tier that decides next.
    approval_tiers: Mapped[list[str]] = mapped_column(JSONB, default=list)
    approval_tier: Mapped[int] = mapped_column(Integer, default=0)
    reservation_id: Mapped[uuid.UUID | None]
    reservation_expires_at: Mapped[datetime | None]
    payment_approved_at: Mapped[datetime | None]
    payment_approved_by: Mapped[uuid.UUID | None]
    payment_method: Mapped[str | None] = mapped_column(String(32))
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # e.g. stock's per-line shortfall
    placed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class OrderLine(TenantMixin, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"
        ),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_order_lines_order", "tenant_id", "order_id"),
        Index("ix_order_lines_sku", "tenant_id", "sku_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(AMOUNT)
    line_total: Mapped[Decimal] = mapped_column(AMOUNT)
    sku_code: Mapped[str | None] = mapped_column(String(64))
    product_name: Mapped[str | None] = mapped_column(String(200))
    category_id: Mapped[uuid.UUID | None]
    price_source: Mapped[str | None] = mapped_column(String(16))
    price_list_id: Mapped[uuid.UUID | None]


class OrderTransition(TenantMixin, Base):
    """Append-only history: who moved the order from which state to which, when and why."""

    __tablename__ = "order_transitions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"
        ),
        Index("ix_order_transitions_order", "tenant_id", "order_id", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64))  # a user id, or "stock" / "system" / "pricing"
    actor_organization_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime]


class ApprovalRule(TenantMixin, TimestampMixin, Base):
    """Defined on a buyer organization, applies to it and every unit below it. All conditions set
    must hold (total over `min_total`, a line in `category_id`, the seller); `tiers` are roles."""

    __tablename__ = "approval_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(
            "min_total IS NOT NULL OR category_id IS NOT NULL OR seller_organization_id IS NOT NULL",
            name="condition",
        ),
        Index("ix_approval_rules_org", "tenant_id", "organization_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    min_total: Mapped[Decimal | None] = mapped_column(AMOUNT)
    currency: Mapped[str | None] = mapped_column(String(3))
    category_id: Mapped[uuid.UUID | None]
    seller_organization_id: Mapped[uuid.UUID | None]
    tiers: Mapped[list[str]] = mapped_column(JSONB)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)


class OrderApproval(TenantMixin, Base):
    __tablename__ = "order_approvals"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("order_id", "tier"),
        CheckConstraint("decision IN ('approved', 'rejected')", name="decision"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    tier: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[uuid.UUID | None]
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime]


class QuantityLimit(TenantMixin, Base):
    """At most `max_units` of a SKU per calendar `period` for a buyer organization (and, when no
    nearer limit exists, the units below it), counting that unit's orders not given up."""

    __tablename__ = "quantity_limits"
    __table_args__ = (
        UniqueConstraint("tenant_id", "organization_id", "sku_id", "period"),
        CheckConstraint("period IN ('month', 'week')", name="period"),
        CheckConstraint("max_units >= 0", name="max_units"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID]
    sku_id: Mapped[uuid.UUID]
    period: Mapped[str] = mapped_column(String(8))
    max_units: Mapped[int] = mapped_column(Integer)


class ReturnRequest(TenantMixin, TimestampMixin, Base):
    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"]),
        CheckConstraint(
            "state IN ('requested', 'approved', 'rejected', 'received', 'refund_requested', 'refunded')",
            name="state",
        ),
        Index("ix_returns_order", "tenant_id", "order_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    state: Mapped[str] = mapped_column(String(24), default="requested")
    requested_by: Mapped[uuid.UUID | None]
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ReturnLine(TenantMixin, Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "return_id"], ["returns.tenant_id", "returns.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "order_line_id"], ["order_lines.tenant_id", "order_lines.id"]),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    return_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_line_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))


# Tenant tables; the migration enables RLS on each (column tenant_id).
RLS_TABLES: tuple[str, ...] = (
    "org_units",
    "settings",
    "carts",
    "cart_lines",
    "purchases",
    "orders",
    "order_lines",
    "order_transitions",
    "approval_rules",
    "order_approvals",
    "quantity_limits",
    "returns",
    "return_lines",
)
