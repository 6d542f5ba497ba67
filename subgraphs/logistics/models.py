"""Tables of the logistics subgraph, all in the `logistics` schema, tenant-scoped under RLS except
`job_tenants` (only tenant ids: the batch jobs' list of tenants to visit).

Orders and stock are known only through their events: `order_projections` keeps what logistics
needs of an order (lines, seller, buyer, delivery address, confirmation, stock's allocation).
Shipment lines are JSONB documents (written once by routing, read whole). Amounts are NUMERIC(19, 4).
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
    LargeBinary,
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

SCHEMA = "logistics"
AMOUNT = Numeric(19, 4)
SCORE = Numeric(6, 4)


class Base(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class JobTenant(Base):
    """Tenants that have logistics work; the wave and exception jobs visit each in its own tenant
    transaction (RLS hides everything else). No business data here."""

    __tablename__ = "job_tenants"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class TenantSettings(TenantMixin, Base):
    """Per-tenant rules: routing weights, pick wave thresholds, the no-progress exception threshold."""

    __tablename__ = "tenant_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("wave_size >= 1", name="wave_size"),
        CheckConstraint("wave_interval_seconds >= 0", name="wave_interval"),
        CheckConstraint("stale_after_seconds >= 60", name="stale_after"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    routing_weights: Mapped[dict[str, Any]] = mapped_column(JSONB)
    wave_size: Mapped[int] = mapped_column(Integer)
    wave_interval_seconds: Mapped[int] = mapped_column(Integer)
    stale_after_seconds: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Warehouse(TenantMixin, Base):
    """A stock location (stock's `location_id`) as logistics sees it: where it is and what a parcel
    from there costs."""

    __tablename__ = "warehouses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "location_id"),
        CheckConstraint("cost_per_parcel >= 0", name="cost"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    location_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    cost_per_parcel: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))


class Carrier(TenantMixin, TimestampMixin, Base):
    """A carrier or 3PL account of the tenant; `kind` picks the adapter (carriers.py)."""

    __tablename__ = "carriers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("quality >= 0 AND quality <= 1", name="quality"),
        CheckConstraint("price_per_parcel >= 0", name="price"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    quality: Mapped[Decimal] = mapped_column(SCORE)
    price_per_parcel: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    # ISO countries served; empty: everywhere.
    countries: Mapped[list[str]] = mapped_column(JSONB)
    webhook_secret: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)


class OrderProjection(TenantMixin, Base):
    """What logistics knows of an order, from orders.placed / orders.confirmed / stock.reserved
    (they may arrive in any order: each fills its part, routing runs once all are there)."""

    __tablename__ = "order_projections"
    __table_args__ = (UniqueConstraint("tenant_id", "order_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    number: Mapped[str | None] = mapped_column(String(64))
    buyer_organization_id: Mapped[uuid.UUID | None]
    seller_organization_id: Mapped[uuid.UUID | None]
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    allocations: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    routed_at: Mapped[datetime | None]
    routing_decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class PickWave(TenantMixin, Base):
    __tablename__ = "pick_waves"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_pick_waves_page", "tenant_id", "released_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    location_id: Mapped[uuid.UUID]
    released_at: Mapped[datetime]
    shipment_count: Mapped[int] = mapped_column(Integer)
    # Pick list: [{sku_id, quantity}] summed over the wave's shipments.
    pick_list: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    trigger: Mapped[str] = mapped_column(String(16))


class Shipment(TenantMixin, TimestampMixin, Base):
    """One parcel of an order from one location. `last_tracking_at` is the carrier timestamp of the
    newest tracking event applied (older ones never override it)."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "tracking_number"),
        UniqueConstraint("tenant_id", "replaces_id"),
        # Routing's replay guard: one original shipment per order and location (a re-routed
        # replacement has `replaces_id` and may leave from the same location).
        Index(
            "uq_shipments_routed",
            "tenant_id",
            "order_id",
            "location_id",
            unique=True,
            postgresql_where=text("replaces_id IS NULL"),
        ),
        ForeignKeyConstraint(["tenant_id", "carrier_id"], ["carriers.tenant_id", "carriers.id"]),
        ForeignKeyConstraint(["tenant_id", "wave_id"], ["pick_waves.tenant_id", "pick_waves.id"]),
        CheckConstraint(
            "status IN ('CREATED', 'LABELLED', 'DISPATCHED', 'IN_TRANSIT', 'DELIVERED', 'EXCEPTION', "
            "'CANCELLED', 'RETURNED', 'LOST')",
            name="status",
        ),
        Index("ix_shipments_page", "tenant_id", "created_at", "id"),
        Index("ix_shipments_order", "tenant_id", "order_id"),
        Index(
            "ix_shipments_wave_queue",
            "tenant_id",
            "location_id",
            "created_at",
            postgresql_where=text("wave_id IS NULL AND status <> 'CANCELLED'"),
        ),
        Index(
            "ix_shipments_progress",
            "tenant_id",
            "last_progress_at",
            postgresql_where=text("status IN ('DISPATCHED', 'IN_TRANSIT')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    carrier_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    label_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    label_zpl: Mapped[str | None] = mapped_column(Text, deferred=True)
    replaces_id: Mapped[uuid.UUID | None]  # the shipment this one re-routes
    replaced_by_id: Mapped[uuid.UUID | None]  # set once a re-routed shipment replaces this one
    wave_id: Mapped[uuid.UUID | None]
    dispatched_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    delivered_by: Mapped[str | None] = mapped_column(String(16))
    exception_reason: Mapped[str | None] = mapped_column(String(40))
    exception_at: Mapped[datetime | None]
    last_tracking_at: Mapped[datetime | None]
    last_progress_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ShipmentTransition(TenantMixin, Base):
    __tablename__ = "shipment_transitions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "shipment_id"], ["shipments.tenant_id", "shipments.id"], ondelete="CASCADE"
        ),
        Index("ix_shipment_transitions_shipment", "tenant_id", "shipment_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shipment_id: Mapped[uuid.UUID]
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class TrackingEvent(TenantMixin, Base):
    """Every tracking webhook accepted, applied or not: the replay guard (carrier, event id)."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "carrier_id", "carrier_event_id"),
        ForeignKeyConstraint(["tenant_id", "carrier_id"], ["carriers.tenant_id", "carriers.id"]),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    carrier_id: Mapped[uuid.UUID]
    carrier_event_id: Mapped[str] = mapped_column(String(200))
    shipment_id: Mapped[uuid.UUID | None]
    tracking_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    outcome: Mapped[str] = mapped_column(String(16))


RLS_TABLES: tuple[str, ...] = (
    "tenant_settings",
    "warehouses",
    "carriers",
    "order_projections",
    "pick_waves",
    "shipments",
    "shipment_transitions",
    "tracking_events",
)
