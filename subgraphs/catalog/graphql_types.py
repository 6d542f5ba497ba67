# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""GraphQL types of the catalog subgraph: entities, values, search results, publications.

Entities: `Product @key(id)`, `Sku @key(id)` (the pricing subgraph extends both with prices),
`Category @key(id)`; `Organization @key(id, resolvable: false)` is the reference stub for a
product's vendor (orgs resolves it). Every read applies the caller's catalog scope (buyer
publications, vendor ownership, admin) from the signed gateway context; a product outside it is
null, exactly as if it did not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from shared.errors import ForbiddenError
from shared.graphql import TENANT_ID_DESCRIPTION, Edge, Info, PageInfo, UserError, tenant_id_of, user_error_at
from subgraphs.catalog import models, service
from subgraphs.catalog.loaders import (
    CatalogScope,
    catalog_scope,
    product_loader,
    sku_loader,
    skus_of_product_loader,
)
from subgraphs.catalog.service import AttributeDef, CategoryNode, Issue, ViewerKind

WRITE = [["catalog:write"], ["catalog:admin"]]
ADMIN = [["catalog:admin"]]


def uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def user_errors_of(issues: list[Issue]) -> list[UserError]:
    return [user_error_at(issue.field, issue.message, issue.code) for issue in issues]


# --------------------------------------------------------------------------- enums and values


@strawberry.enum(description="draft -> active -> archived (an archived product may return to draft).")
class ProductStatus(Enum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


@strawberry.enum
class AttributeType(Enum):
    STRING = "STRING"
    INT = "INT"
    DECIMAL = "DECIMAL"
    BOOL = "BOOL"
    ENUM = "ENUM"


@strawberry.enum(description="PRODUCT: one value per product. SKU: one value per variant.")
class AttributeScope(Enum):
    PRODUCT = "PRODUCT"
    SKU = "SKU"


@strawberry.enum
class ImportFormat(Enum):
    CSV = "CSV"
    JSONL = "JSONL"


@strawberry.type(description="One typed attribute a category's products carry.")
class AttributeDefinition:
    name: str
    label: str
    type: AttributeType
    scope: AttributeScope
    required: bool
    allowed_values: list[str]
    unit: str | None

    @classmethod
    def from_def(cls, d: AttributeDef) -> AttributeDefinition:
        return cls(
            name=d.name,
            label=d.label or d.name,
            type=AttributeType(d.type.value),
            scope=AttributeScope(d.scope.value),
            required=d.required,
            allowed_values=list(d.allowed_values),
            unit=d.unit,
        )


@strawberry.type(description="An attribute value, as text (`18`, `1.2`, `true`, `S355J2`).")
class Attribute:
    name: str
    value: str
    label: str
    unit: str | None


def attribute_values(values: dict[str, Any], schema: list[AttributeDef]) -> list[Attribute]:
    defs = {d.name: d for d in schema}
    out = []
    for name, value in sorted(values.items()):
        d = defs.get(name)
        out.append(
            Attribute(
                name=name,
                value=service.attribute_text(value),
                label=(d.label if d and d.label else name),
                unit=d.unit if d else None,
            )
        )
    return out


@strawberry.type(description="What one selling unit holds: a BOX of 100 EA, a SPOOL of 25 KG, a BAR of 6 M.")
class PackSize:
    uom: str
    quantity: str
    content_uom: str
    label: str


# --------------------------------------------------------------------------- entities


@strawberry.federation.type(
    keys=[Key(fields=FieldSet("id"), resolvable=False)], description="Resolved by orgs."
)
class Organization:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"], description="A node of the tenant's category tree.")
class Category:
    id: strawberry.ID
    code: str
    name: str
    node: strawberry.Private[CategoryNode]
    scope: strawberry.Private[CatalogScope]

    @classmethod
    def build(cls, node: CategoryNode, scope: CatalogScope) -> Category:
        return cls(id=strawberry.ID(str(node.id)), code=node.code, name=node.name, node=node, scope=scope)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Category | None:
        scope = await catalog_scope(info.context)
        cid = uuid_or_none(id)
        node = scope.tree.nodes.get(cid) if cid else None
        return cls.build(node, scope) if node else None

    @strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    def tenant_id(self) -> strawberry.ID:
        return tenant_id_of(self.node.tenant_id)

    @strawberry.field
    def parent(self) -> Category | None:
        pid = self.node.parent_id
        return (
            Category.build(self.scope.tree.nodes[pid], self.scope) if pid in self.scope.tree.nodes else None
        )

    @strawberry.field
    def children(self) -> list[Category]:
        tree = self.scope.tree
        return [Category.build(tree.nodes[c], self.scope) for c in tree.children.get(self.node.id, [])]

    @strawberry.field(description="From the root down to this category.")
    def path(self) -> list[Category]:
        return [Category.build(n, self.scope) for n in self.scope.tree.path(self.node.id)]

    @strawberry.field(description="The attributes of products here: inherited ones plus this category's own.")
    def attribute_schema(self) -> list[AttributeDefinition]:
        return [AttributeDefinition.from_def(d) for d in self.scope.tree.effective_schema(self.node.id)]


@strawberry.federation.type(
    keys=["id"], description="A sellable variant of a product, unique by code in the tenant."
)
class Sku:
    id: strawberry.ID
    code: str
    name: str
    gtin: str | None
    row: strawberry.Private[models.Sku]

    @classmethod
    def from_model(cls, row: models.Sku) -> Sku:
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name, gtin=row.gtin, row=row)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Sku | None:
        sid = uuid_or_none(id)
        if sid is None:
            return None
        row = await info.context.loaders.get(sku_loader).load(sid)
        if row is None:
            return None
        product = await info.context.loaders.get(product_loader).load(row.product_id)
        scope = await catalog_scope(info.context)
        return cls.from_model(row) if scope.allows(product) else None

    @strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    def tenant_id(self) -> strawberry.ID:
        return tenant_id_of(self.row.tenant_id)

    @strawberry.field
    def uom(self) -> str:
        return self.row.uom

    @strawberry.field
    def pack(self) -> PackSize:
        pack = service.PackSize(
            service.Unit(self.row.uom), self.row.pack_quantity, service.Unit(self.row.content_uom)
        )
        return PackSize(
            uom=pack.uom.value,
            quantity=service.format_decimal(pack.quantity),
            content_uom=pack.content_uom.value,
            label=pack.describe(),
        )

    @strawberry.field
    async def attributes(self, info: Info) -> list[Attribute]:
        product = await info.context.loaders.get(product_loader).load(self.row.product_id)
        scope = await catalog_scope(info.context)
        schema = (
            scope.tree.effective_schema(product.category_id)
            if product and product.category_id in scope.tree.nodes
            else []
        )
        return attribute_values(dict(self.row.attributes), schema)

    @strawberry.field
    async def product(self, info: Info) -> Product | None:
        row = await info.context.loaders.get(product_loader).load(self.row.product_id)
        return Product.from_model(row) if row else None


@strawberry.federation.type(keys=["id"], description="A catalog product with its SKUs (variants).")
class Product:
    id: strawberry.ID
    name: str
    brand: str | None
    description: str
    status: ProductStatus
    version: int = strawberry.field(description="Send it back with productUpdate (optimistic concurrency).")
    media_urls: list[str]
    external_ref: str | None
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[models.Product]

    @classmethod
    def from_model(cls, row: models.Product) -> Product:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            brand=row.brand,
            description=row.description,
            status=ProductStatus(row.status),
            version=row.version,
            media_urls=list(row.media_urls),
            external_ref=row.external_ref,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Product | None:
        pid = uuid_or_none(id)
        if pid is None:
            return None
        row = await info.context.loaders.get(product_loader).load(pid)
        scope = await catalog_scope(info.context)
        return cls.from_model(row) if row is not None and scope.allows(row) else None

    @strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    def tenant_id(self) -> strawberry.ID:
        return tenant_id_of(self.row.tenant_id)

    @strawberry.field
    async def category(self, info: Info) -> Category | None:
        scope = await catalog_scope(info.context)
        node = scope.tree.nodes.get(self.row.category_id)
        return Category.build(node, scope) if node else None

    @strawberry.field(description="The supplier organization selling the product.")
    def vendor(self) -> Organization:
        return Organization(id=strawberry.ID(str(self.row.vendor_id)))

    @strawberry.field
    async def attributes(self, info: Info) -> list[Attribute]:
        scope = await catalog_scope(info.context)
        tree = scope.tree
        schema = tree.effective_schema(self.row.category_id) if self.row.category_id in tree.nodes else []
        return attribute_values(dict(self.row.attributes), schema)

    @strawberry.field
    async def skus(self, info: Info) -> list[Sku]:
        rows = await info.context.loaders.get(skus_of_product_loader).load(self.row.id)
        return [Sku.from_model(r) for r in rows]


# --------------------------------------------------------------------------- search


@strawberry.input
class AttributeValuesInput:
    name: str
    values: list[str] = strawberry.field(description="Any of these values (OR); attributes combine with AND.")


@strawberry.input(
    description="The buyer's unit price of at least one SKU, resolved by pricing for the caller, within "
    "[min, max] (inclusive). Amounts are decimal strings. Slower than the other filters; refused with "
    "PRICE_FILTER_TOO_BROAD when more than 5,000 products match the rest of the query."
)
class PriceRangeFilter:
    min: str | None = strawberry.field(default=None, description='Lowest unit price, e.g. "10.00".')
    max: str | None = strawberry.field(default=None, description='Highest unit price, e.g. "25.50".')
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; the buyer's own currency when omitted."
    )
    quantity: int = strawberry.field(default=1, description="Price at this quantity (price breaks).")


@strawberry.input
class ProductSearchFilter:
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="The category and its subtree."
    )
    vendor_id: strawberry.ID | None = None
    attributes: list[AttributeValuesInput] | None = None
    status: ProductStatus | None = None
    price: PriceRangeFilter | None = None


@strawberry.type
class FacetValue:
    value: str
    count: int


@strawberry.type
class AttributeFacet:
    name: str
    values: list[FacetValue]


@strawberry.type
class CategoryFacet:
    category: Category
    count: int = strawberry.field(description="Matching products in the category and its subtree.")


@strawberry.type
class VendorFacet:
    vendor: Organization
    count: int


@strawberry.type(
    description="Counts of the whole result (all pages) by category, vendor and attribute value."
)
class SearchFacets:
    categories: list[CategoryFacet]
    vendors: list[VendorFacet]
    attributes: list[AttributeFacet]


@strawberry.type
class ProductSearchConnection:
    edges: list[Edge[Product]]
    page_info: PageInfo
    total_count: int
    facets: SearchFacets


@strawberry.type(description="A buyer catalog: categories (with subtrees) and products, assigned to buyers.")
class Publication:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    code: str
    name: str
    all_buyers: bool = strawberry.field(description="Assigned to every buyer organization of the tenant.")
    category_ids: list[strawberry.ID]
    product_ids: list[strawberry.ID]
    buyers: list[Organization]


def publication_type(
    row: models.Publication, cats: list[uuid.UUID], prods: list[uuid.UUID], buyers: list[uuid.UUID]
) -> Publication:
    return Publication(
        id=strawberry.ID(str(row.id)),
        tenant_id=tenant_id_of(row.tenant_id),
        code=row.code,
        name=row.name,
        all_buyers=row.all_buyers,
        category_ids=[strawberry.ID(str(c)) for c in sorted(cats)],
        product_ids=[strawberry.ID(str(p)) for p in sorted(prods)],
        buyers=[Organization(id=strawberry.ID(str(b))) for b in sorted(buyers)],
    )


async def require_admin(info: Info) -> tuple[CatalogScope, uuid.UUID]:
    info.context.require_principal()
    scope = await catalog_scope(info.context)
    if scope.viewer.kind != ViewerKind.ADMIN:
        raise ForbiddenError("catalog administrators only")
    return scope, info.context.require_tenant()
