"""Tables of the stock subgraph, all in the `stock` schema, all tenant-scoped under RLS.

- `locations`: where stock is (a supplier's warehouse, the platform's allocatable stock) or is
  displayed (an S2B2C distributor shop, derived from a source location; a shop holds no levels).
- `levels`: one row per (SKU, location) with the quantities in each state; CHECK constraints keep
  the invariants whatever the code does (on_hand >= 0, reserved + committed <= on_hand).
- `movements`: the append-only log of every on_hand change (the app role may not UPDATE/DELETE;
  a trigger refuses it for everybody). Per (SKU, location) the deltas sum to `on_hand`.
- `reservations` (one per tenant and order) and their `reservation_lines` (line -> level, qty).
- `settings`: per-tenant reservation TTL.

SKU ids are the catalog's, without a foreign key (another schema, another subgraph).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base as SharedBase
from shared.db import TenantMixin, TimestampMixin, schema_metadata, utcnow
from shared.versioning import VersionedMixin

SCHEMA = "stock"

LOCATION_KINDS = ("warehouse", "platform", "shop")
RESERVATION_STATUSES = ("active", "committed", "released", "failed")
MOVEMENT_KINDS = ("receipt", "count", "damage", "transfer_in", "transfer_out", "shipment")


class Base(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class Location(TenantMixin, TimestampMixin, Base):
    __tablename__ = "locations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("kind IN ('warehouse', 'platform', 'shop')", name="kind"),
        CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude"),
        CheckConstraint("longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude"),
        CheckConstraint("(kind = 'shop') = (source_location_id IS NOT NULL)", name="shop_source"),
        CheckConstraint(
            "display_share_percent IS NULL OR (display_share_percent BETWEEN 0 AND 100)",
            name="display_share",
        ),
        CheckConstraint("display_cap IS NULL OR display_cap >= 0", name="display_cap"),
        ForeignKeyConstraint(
            ["tenant_id", "source_location_id"],
            ["stock.locations.tenant_id", "stock.locations.id"],
            name="fk_locations_source",
        ),
        Index("ix_locations_org", "tenant_id", "organization_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID]
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # Lower is tried first by the allocation strategy.
    priority: Mapped[int] = mapped_column(Integer, default=100)
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(64))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(default=True)
    # Shops only: the location whose stock the shop displays, and how much of it.
    source_location_id: Mapped[uuid.UUID | None]
    display_share_percent: Mapped[int | None] = mapped_column(Integer)
    display_cap: Mapped[int | None] = mapped_column(Integer)


class Level(VersionedMixin, TenantMixin, Base):
    """Quantities of one SKU at one location. `version` counts on_hand/threshold changes
    (adjustments); reservations do not bump it, so a count during a flash sale is not refused."""

    __tablename__ = "levels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "sku_id", "location_id"),
        ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["stock.locations.tenant_id", "stock.locations.id"],
            name="fk_levels_location",
        ),
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0", name="reserved"),
        CheckConstraint("committed >= 0", name="committed"),
        CheckConstraint("reserved + committed <= on_hand", name="allocated"),
        CheckConstraint("incoming >= 0", name="incoming"),
        CheckConstraint("safety_stock >= 0", name="safety_stock"),
        CheckConstraint("low_threshold >= 0", name="low_threshold"),
        Index("ix_levels_location", "tenant_id", "location_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sku_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    committed: Mapped[int] = mapped_column(Integer, default=0)
    incoming: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    low_threshold: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Movement(TenantMixin, TimestampMixin, Base):
    """One on_hand change. Append-only: never updated, never deleted."""

    __tablename__ = "movements"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('receipt', 'count', 'damage', 'transfer_in', 'transfer_out', 'shipment')", name="kind"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "level_id"],
            ["stock.levels.tenant_id", "stock.levels.id"],
            name="fk_movements_level",
        ),
        Index("ix_movements_level", "tenant_id", "level_id", "seq"),
        Index("ix_movements_reference", "reference"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, unique=True)
    level_id: Mapped[uuid.UUID]
    sku_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # Groups the two movements of a transfer, or the lines of a bulk receipt.
    reference: Mapped[uuid.UUID | None]
    actor_user_id: Mapped[uuid.UUID | None]


class Reservation(TenantMixin, TimestampMixin, Base):
    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "order_id"),
        CheckConstraint("status IN ('active', 'committed', 'released', 'failed')", name="status"),
        Index(
            "ix_reservations_expiry",
            "expires_at",
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID]
    seller_organization_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    release_reason: Mapped[str | None] = mapped_column(String(32))
    committed_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]


class ReservationLine(TenantMixin, Base):
    __tablename__ = "reservation_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "reservation_id"],
            ["stock.reservations.tenant_id", "stock.reservations.id"],
            name="fk_reservation_lines_reservation",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "level_id"],
            ["stock.levels.tenant_id", "stock.levels.id"],
            name="fk_reservation_lines_level",
        ),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_reservation_lines_reservation", "reservation_id"),
        Index("ix_reservation_lines_level", "level_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reservation_id: Mapped[uuid.UUID]
    line_id: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID]
    level_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)


class TenantSettings(Base):
    __tablename__ = "settings"
    __table_args__ = (
        CheckConstraint("reservation_ttl_seconds BETWEEN 10 AND 604800", name="reservation_ttl"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reservation_ttl_seconds: Mapped[int] = mapped_column(Integer, default=1800)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
