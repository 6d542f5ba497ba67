"""catalog: categories, products (full-text vector, facet tags), SKUs, publications, the
organizations projection, outbox and processed events; RLS on every tenant table.

Revision ID: 0001_catalog_initial
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.migrations_helpers import (
    create_outbox_table,
    create_processed_events_table,
    create_subgraph_schema,
    enable_tenant_rls,
    grant_app_access,
)

S = "catalog"
# Frozen copies (a migration must not change when models.py does).
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, "
    "coalesce(brand, '') || ' ' || coalesce(sku_codes, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')"
)
RLS_TABLES = (
    "categories",
    "products",
    "skus",
    "publications",
    "publication_categories",
    "publication_products",
    "publication_buyers",
    "organizations",
)

revision: str = "0001_catalog_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_subgraph_schema(S)
    op.create_table(
        "categories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("attribute_schema", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name=op.f("ck_categories_not_own_parent")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["catalog.categories.tenant_id", "catalog.categories.id"],
            name=op.f("fk_categories_tenant_id_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_categories_tenant_id_code")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_categories_tenant_id_id")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_categories_parent_id"), "categories", ["parent_id"], unique=False, schema="catalog"
    )
    op.create_index(
        op.f("ix_catalog_categories_tenant_id"), "categories", ["tenant_id"], unique=False, schema="catalog"
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_organizations_tenant_id"),
        "organizations",
        ["tenant_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("all_buyers", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_publications_tenant_id_code")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_publications_tenant_id_id")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_publications_tenant_id"),
        "publications",
        ["tenant_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("brand", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("media_urls", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sku_codes", sa.Text(), nullable=False),
        sa.Column("facet_tags", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                SEARCH_VECTOR_SQL,
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('DRAFT', 'ACTIVE', 'ARCHIVED')", name=op.f("ck_products_status")),
        sa.CheckConstraint("version > 0", name=op.f("ck_products_version_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "category_id"],
            ["catalog.categories.tenant_id", "catalog.categories.id"],
            name=op.f("fk_products_tenant_id_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("tenant_id", "external_ref", name=op.f("uq_products_tenant_id_external_ref")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_products_tenant_id_id")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_products_category_id"), "products", ["category_id"], unique=False, schema="catalog"
    )
    op.create_index(
        op.f("ix_catalog_products_tenant_id"), "products", ["tenant_id"], unique=False, schema="catalog"
    )
    op.create_index(
        op.f("ix_catalog_products_vendor_id"), "products", ["vendor_id"], unique=False, schema="catalog"
    )
    op.create_table(
        "publication_buyers",
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "publication_id"],
            ["catalog.publications.tenant_id", "catalog.publications.id"],
            name=op.f("fk_publication_buyers_tenant_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", "organization_id", name=op.f("pk_publication_buyers")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_publication_buyers_organization_id"),
        "publication_buyers",
        ["organization_id"],
        unique=False,
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_publication_buyers_tenant_id"),
        "publication_buyers",
        ["tenant_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "publication_categories",
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "category_id"],
            ["catalog.categories.tenant_id", "catalog.categories.id"],
            name=op.f("fk_publication_categories_tenant_id_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "publication_id"],
            ["catalog.publications.tenant_id", "catalog.publications.id"],
            name=op.f("fk_publication_categories_tenant_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", "category_id", name=op.f("pk_publication_categories")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_publication_categories_tenant_id"),
        "publication_categories",
        ["tenant_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "publication_products",
        sa.Column("publication_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["catalog.products.tenant_id", "catalog.products.id"],
            name=op.f("fk_publication_products_tenant_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "publication_id"],
            ["catalog.publications.tenant_id", "catalog.publications.id"],
            name=op.f("fk_publication_products_tenant_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", "product_id", name=op.f("pk_publication_products")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_publication_products_tenant_id"),
        "publication_products",
        ["tenant_id"],
        unique=False,
        schema="catalog",
    )
    op.create_table(
        "skus",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("uom", sa.String(length=8), nullable=False),
        sa.Column("pack_quantity", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("content_uom", sa.String(length=8), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("pack_quantity > 0", name=op.f("ck_skus_pack_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["catalog.products.tenant_id", "catalog.products.id"],
            name=op.f("fk_skus_tenant_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skus")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_skus_tenant_id_code")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_skus_tenant_id_id")),
        schema="catalog",
    )
    op.create_index(
        op.f("ix_catalog_skus_product_id"), "skus", ["product_id"], unique=False, schema="catalog"
    )
    op.create_index(op.f("ix_catalog_skus_tenant_id"), "skus", ["tenant_id"], unique=False, schema="catalog")

    # Search: the full-text vector, facet tags (filters use && / @>), SKU code prefixes (LIKE 'X%').
    op.create_index("ix_catalog_products_search", "products", ["search"], schema=S, postgresql_using="gin")
    op.create_index(
        "ix_catalog_products_facet_tags", "products", ["facet_tags"], schema=S, postgresql_using="gin"
    )
    op.execute(f"CREATE INDEX ix_catalog_skus_code_prefix ON {S}.skus (code text_pattern_ops)")
    op.create_index("ix_catalog_products_name", "products", ["tenant_id", "name", "id"], schema=S)
    op.create_index("ix_catalog_organizations_parent_id", "organizations", ["parent_id"], schema=S)
    for table in RLS_TABLES:
        enable_tenant_rls(f"{S}.{table}")
    create_outbox_table(S)
    create_processed_events_table(S)
    grant_app_access(S)


def downgrade() -> None:
    op.drop_table("processed_events", schema=S)
    op.drop_table("outbox", schema=S)
    op.drop_index(op.f("ix_catalog_skus_tenant_id"), table_name="skus", schema="catalog")
    op.drop_index(op.f("ix_catalog_skus_product_id"), table_name="skus", schema="catalog")
    op.drop_table("skus", schema="catalog")
    op.drop_index(
        op.f("ix_catalog_publication_products_tenant_id"), table_name="publication_products", schema="catalog"
    )
    op.drop_table("publication_products", schema="catalog")
    op.drop_index(
        op.f("ix_catalog_publication_categories_tenant_id"),
        table_name="publication_categories",
        schema="catalog",
    )
    op.drop_table("publication_categories", schema="catalog")
    op.drop_index(
        op.f("ix_catalog_publication_buyers_tenant_id"), table_name="publication_buyers", schema="catalog"
    )
    op.drop_index(
        op.f("ix_catalog_publication_buyers_organization_id"),
        table_name="publication_buyers",
        schema="catalog",
    )
    op.drop_table("publication_buyers", schema="catalog")
    op.drop_index(op.f("ix_catalog_products_vendor_id"), table_name="products", schema="catalog")
    op.drop_index(op.f("ix_catalog_products_tenant_id"), table_name="products", schema="catalog")
    op.drop_index(op.f("ix_catalog_products_category_id"), table_name="products", schema="catalog")
    op.drop_table("products", schema="catalog")
    op.drop_index(op.f("ix_catalog_publications_tenant_id"), table_name="publications", schema="catalog")
    op.drop_table("publications", schema="catalog")
    op.drop_index(op.f("ix_catalog_organizations_tenant_id"), table_name="organizations", schema="catalog")
    op.drop_table("organizations", schema="catalog")
    op.drop_index(op.f("ix_catalog_categories_tenant_id"), table_name="categories", schema="catalog")
    op.drop_index(op.f("ix_catalog_categories_parent_id"), table_name="categories", schema="catalog")
    op.drop_table("categories", schema="catalog")
