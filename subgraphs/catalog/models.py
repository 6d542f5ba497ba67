"""Tables of the catalog subgraph, all in the `catalog` schema, all tenant-scoped under RLS.

Search columns on `products` are denormalized from the product and its SKUs by the repository on
every write: `sku_codes` (space-separated codes, part of the full-text vector) and `facet_tags`
(`name=value` strings of product and SKU attributes, GIN-indexed for filters and facet counts).
`search` is a generated, stored `tsvector` (weights: name A, brand + SKU codes B, description C),
declared in the migration; the model only reads it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base as SharedBase
from shared.db import TenantMixin, TimestampMixin, schema_metadata

SCHEMA = "catalog"

# The generated full-text vector of a product. Name and description are stemmed (english: a
# search for "gloves" finds "glove"); brand and SKU codes are not (simple: codes stay codes).
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, "
    "coalesce(brand, '') || ' ' || coalesce(sku_codes, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')"
)


class Base(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class Category(TenantMixin, TimestampMixin, Base):
    """A node of the tenant's category tree with the attribute schema its products follow."""

    __tablename__ = "categories"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["categories.tenant_id", "categories.id"]),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # [AttributeDef.to_json(), ...]: the category's own attributes (inherited ones live upstream).
    attribute_schema: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class Product(TenantMixin, TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "external_ref"),
        ForeignKeyConstraint(["tenant_id", "category_id"], ["categories.tenant_id", "categories.id"]),
        CheckConstraint("status IN ('DRAFT', 'ACTIVE', 'ARCHIVED')", name="status"),
        CheckConstraint("version > 0", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    category_id: Mapped[uuid.UUID] = mapped_column(index=True)
    vendor_id: Mapped[uuid.UUID] = mapped_column(index=True)  # an orgs Organization (SUPPLIER)
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="DRAFT")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    media_urls: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    sku_codes: Mapped[str] = mapped_column(Text, default="")
    facet_tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), deferred=True)


class Sku(TenantMixin, TimestampMixin, Base):
    """A sellable variant: its code is unique in the tenant; it is sold per `uom`, one of which
    holds `pack_quantity` `content_uom` (a BOX of 100 EA, a SPOOL of 25 KG, a BAR of 6 M)."""

    __tablename__ = "skus"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="CASCADE"
        ),
        CheckConstraint("pack_quantity > 0", name="pack_quantity_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    product_id: Mapped[uuid.UUID] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    uom: Mapped[str] = mapped_column(String(8))
    pack_quantity: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    content_uom: Mapped[str] = mapped_column(String(8))
    gtin: Mapped[str | None] = mapped_column(String(14))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Publication(TenantMixin, TimestampMixin, Base):
    """A buyer catalog: categories (with subtrees) and single products made visible to the buyer
    organizations it is assigned to (or to every buyer when `all_buyers`)."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("tenant_id", "id"), UniqueConstraint("tenant_id", "code"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    all_buyers: Mapped[bool] = mapped_column(Boolean, default=False)


class PublicationCategory(TenantMixin, Base):
    __tablename__ = "publication_categories"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "publication_id"], ["publications.tenant_id", "publications.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "category_id"], ["categories.tenant_id", "categories.id"], ondelete="CASCADE"
        ),
    )

    publication_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    category_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class PublicationProduct(TenantMixin, Base):
    __tablename__ = "publication_products"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "publication_id"], ["publications.tenant_id", "publications.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="CASCADE"
        ),
    )

    publication_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class PublicationBuyer(TenantMixin, Base):
    """Assignment of a publication to a buyer organization; its business units inherit it."""

    __tablename__ = "publication_buyers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "publication_id"], ["publications.tenant_id", "publications.id"], ondelete="CASCADE"
        ),
    )

    publication_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)


class OrganizationRef(TenantMixin, Base):
    """The catalog's projection of orgs' organizations (kind and parent only), fed by the
    `orgs.organization_created` events: who is a supplier, a buyer, a unit of which buyer."""

    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[uuid.UUID | None] = mapped_column()


# Tenant tables (the migration enables RLS on each one).
RLS_TABLES: tuple[str, ...] = (
    "categories",
    "products",
    "skus",
    "publications",
    "publication_categories",
    "publication_products",
    "publication_buyers",
    "organizations",
)
