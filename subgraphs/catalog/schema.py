# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the catalog subgraph: thin types over `service.py` / `repository.py`.

Entities: `Product @key(id)`, `Sku @key(id)` (the pricing subgraph extends both with prices),
`Category @key(id)`; `Organization @key(id, resolvable: false)` is the reference stub for a
product's vendor (orgs resolves it). Every read applies the caller's catalog scope (buyer
publications, vendor ownership, admin) from the signed gateway context; a product outside it is
null, exactly as if it did not exist. Mutations take one `input` and return `userErrors`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation import Schema
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from shared.errors import BadUserInputError, ForbiddenError
from shared.graphql import (
    FEDERATION_VERSION,
    Edge,
    Info,
    PageArgs,
    PageInfo,
    UserError,
    decode_cursor,
    encode_cursor,
)
from subgraphs.catalog import models, repository, service
from subgraphs.catalog.importing import ImportFormat as ImportFormatValue
from subgraphs.catalog.importing import parse_import, plan_import
from subgraphs.catalog.loaders import (
    CatalogScope,
    catalog_scope,
    product_loader,
    sku_loader,
    skus_of_product_loader,
)
from subgraphs.catalog.search import AttributeFilter, SearchParams, search_products
from subgraphs.catalog.service import AttributeDef, CategoryNode, DomainError, Issue, ViewerKind

WRITE = [["catalog:write"], ["catalog:admin"]]
ADMIN = [["catalog:admin"]]


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _errors(issues: list[Issue]) -> list[UserError]:
    return [
        UserError(
            field=issue.field.split(".") if issue.field else None, message=issue.message, code=issue.code
        )
        for issue in issues
    ]


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


def _attributes(values: dict[str, Any], schema: list[AttributeDef]) -> list[Attribute]:
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
        cid = _uuid_or_none(id)
        node = scope.tree.nodes.get(cid) if cid else None
        return cls.build(node, scope) if node else None

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
        sid = _uuid_or_none(id)
        if sid is None:
            return None
        row = await info.context.loaders.get(sku_loader).load(sid)
        if row is None:
            return None
        product = await info.context.loaders.get(product_loader).load(row.product_id)
        scope = await catalog_scope(info.context)
        return cls.from_model(row) if scope.allows(product) else None

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
        return _attributes(dict(self.row.attributes), schema)

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
        pid = _uuid_or_none(id)
        if pid is None:
            return None
        row = await info.context.loaders.get(product_loader).load(pid)
        scope = await catalog_scope(info.context)
        return cls.from_model(row) if row is not None and scope.allows(row) else None

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
        return _attributes(dict(self.row.attributes), schema)

    @strawberry.field
    async def skus(self, info: Info) -> list[Sku]:
        rows = await info.context.loaders.get(skus_of_product_loader).load(self.row.id)
        return [Sku.from_model(r) for r in rows]


# --------------------------------------------------------------------------- search


@strawberry.input
class AttributeValuesInput:
    name: str
    values: list[str] = strawberry.field(description="Any of these values (OR); attributes combine with AND.")


@strawberry.input
class ProductSearchFilter:
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="The category and its subtree."
    )
    vendor_id: strawberry.ID | None = None
    attributes: list[AttributeValuesInput] | None = None
    status: ProductStatus | None = None


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


def _offset(after: str | None) -> int:
    if not after:
        return 0
    key = decode_cursor(after)
    if len(key) != 1 or not isinstance(key[0], int) or key[0] < 0:
        raise BadUserInputError("invalid cursor", extensions={"argument": "after"})
    return key[0] + 1


@strawberry.type(description="A buyer catalog: categories (with subtrees) and products, assigned to buyers.")
class Publication:
    id: strawberry.ID
    code: str
    name: str
    all_buyers: bool = strawberry.field(description="Assigned to every buyer organization of the tenant.")
    category_ids: list[strawberry.ID]
    product_ids: list[strawberry.ID]
    buyers: list[Organization]


def _publication(
    row: models.Publication, cats: list[uuid.UUID], prods: list[uuid.UUID], buyers: list[uuid.UUID]
) -> Publication:
    return Publication(
        id=strawberry.ID(str(row.id)),
        code=row.code,
        name=row.name,
        all_buyers=row.all_buyers,
        category_ids=[strawberry.ID(str(c)) for c in sorted(cats)],
        product_ids=[strawberry.ID(str(p)) for p in sorted(prods)],
        buyers=[Organization(id=strawberry.ID(str(b))) for b in sorted(buyers)],
    )


async def _admin(info: Info) -> tuple[CatalogScope, uuid.UUID]:
    info.context.require_principal()
    scope = await catalog_scope(info.context)
    if scope.viewer.kind != ViewerKind.ADMIN:
        raise ForbiddenError("catalog administrators only")
    return scope, info.context.require_tenant()


# --------------------------------------------------------------------------- queries


@strawberry.type
class Query:
    @strawberry.field(description="A product the caller may see, or null.")
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await Product.resolve_reference(info, id)

    @strawberry.field(description="A SKU whose product the caller may see, or null.")
    async def sku(self, info: Info, id: strawberry.ID) -> Sku | None:
        return await Sku.resolve_reference(info, id)

    @strawberry.field(description="Every category of the tenant, roots first, in display order.")
    async def categories(self, info: Info) -> list[Category]:
        scope = await catalog_scope(info.context)
        tree = scope.tree
        out: list[Category] = []
        queue = [n.id for n in tree.roots()]
        while queue:
            node = tree.nodes[queue.pop(0)]
            out.append(Category.build(node, scope))
            queue.extend(tree.children.get(node.id, []))
        return out

    @strawberry.federation.field(
        requires_scopes=[["catalog:admin"]], description="Every buyer catalog of the tenant (catalog admins)."
    )
    async def publications(self, info: Info) -> list[Publication]:
        await _admin(info)
        async with info.context.session() as session:
            rows = await repository.publications(session)
        return [_publication(*row) for row in rows]

    @strawberry.field(description="Full-text search (prefix match, SKU code prefix) with filters and facets.")
    async def search_products(
        self,
        info: Info,
        query: str | None = None,
        filter: ProductSearchFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ProductSearchConnection:
        settings = info.context.settings
        page = PageArgs.parse(first, None, default=settings.page_size_default, maximum=settings.page_size_max)
        offset = _offset(after)
        scope = await catalog_scope(info.context)
        f = filter or ProductSearchFilter()
        category_id = _uuid_or_none(f.category_id) if f.category_id is not None else None
        vendor_id = _uuid_or_none(f.vendor_id) if f.vendor_id is not None else None
        if (f.category_id is not None and category_id is None) or (
            f.vendor_id is not None and vendor_id is None
        ):
            raise BadUserInputError("not a valid id", extensions={"argument": "filter"})
        if query is not None and len(query) > 200:
            raise BadUserInputError("query is at most 200 characters", extensions={"argument": "query"})
        params = SearchParams(
            query=query,
            category_id=category_id,
            vendor_id=vendor_id,
            attributes=tuple(AttributeFilter(a.name, tuple(a.values)) for a in f.attributes or []),
            status=service.ProductStatus(f.status.value) if f.status else None,
            limit=page.limit,
            offset=offset,
        )
        async with info.context.session() as session:
            result = await search_products(session, params, scope.visibility, scope.tree)
            rows = await repository.products_by_id(session, result.ids)
        loader = info.context.loaders.get(product_loader)
        for row in rows.values():
            loader.prime(row.id, row)
        edges = [
            Edge(node=Product.from_model(rows[pid]), cursor=encode_cursor([offset + i]))
            for i, pid in enumerate(result.ids)
            if pid in rows
        ]
        facets = SearchFacets(
            categories=[
                CategoryFacet(
                    category=Category.build(scope.tree.nodes[uuid.UUID(c.value)], scope), count=c.count
                )
                for c in result.categories
                if uuid.UUID(c.value) in scope.tree.nodes
            ],
            vendors=[
                VendorFacet(vendor=Organization(id=strawberry.ID(v.value)), count=v.count)
                for v in result.vendors
            ],
            attributes=[
                AttributeFacet(name=name, values=[FacetValue(value=v.value, count=v.count) for v in values])
                for name, values in sorted(result.attributes.items())
            ],
        )
        return ProductSearchConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=result.has_next,
                has_previous_page=offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=result.total,
            facets=facets,
        )


# --------------------------------------------------------------------------- mutations


@strawberry.input
class AttributeInput:
    name: str
    value: str


@strawberry.input
class SkuInput:
    code: str
    name: str | None = None
    attributes: list[AttributeInput] = strawberry.field(default_factory=list)
    uom: str = strawberry.field(
        default="EA", description="Selling unit: EA, PR, BOX, PACK, CASE, SPOOL, BAR..."
    )
    pack_quantity: str | None = strawberry.field(
        default=None, description="Content of one selling unit (decimal)."
    )
    content_uom: str | None = strawberry.field(
        default=None, description="Unit of the content: EA, PR, KG, M, M2..."
    )
    gtin: str | None = None

    def to_domain(self) -> service.SkuInput:
        return service.SkuInput(
            code=self.code,
            name=self.name,
            attributes={a.name: a.value for a in self.attributes},
            uom=self.uom,
            pack_quantity=self.pack_quantity,
            content_uom=self.content_uom,
            gtin=self.gtin,
        )


@strawberry.input
class ProductCreateInput:
    name: str
    category_id: strawberry.ID
    vendor_id: strawberry.ID | None = strawberry.field(
        default=None, description="The supplier; defaults to the caller's organization."
    )
    brand: str | None = None
    description: str | None = None
    attributes: list[AttributeInput] = strawberry.field(default_factory=list)
    media_urls: list[str] = strawberry.field(default_factory=list)
    external_ref: str | None = None
    skus: list[SkuInput] = strawberry.field(default_factory=list)


@strawberry.input
class ProductUpdateInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version read; a stale one fails with VERSION_CONFLICT.")
    name: str | None = None
    category_id: strawberry.ID | None = None
    brand: str | None = None
    description: str | None = None
    attributes: list[AttributeInput] | None = strawberry.field(
        default=None, description="Replaces all of them."
    )
    media_urls: list[str] | None = None
    external_ref: str | None = None
    skus: list[SkuInput] = strawberry.field(
        default_factory=list, description="Added or updated by code; SKUs not listed stay."
    )


@strawberry.input
class ProductStatusInput:
    id: strawberry.ID
    version: int | None = strawberry.field(default=None, description="If given, must be the current version.")


@strawberry.type
class ProductPayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.input
class CatalogImportInput:
    format: ImportFormat
    data: str = strawberry.field(description="CSV with a header row, or one JSON object per line.")


@strawberry.type
class ImportRowError:
    row: int = strawberry.field(description="1-based data row (CSV header excluded) or JSONL line.")
    sku: str | None
    field: str | None
    message: str
    code: str


@strawberry.type
class CatalogImportPayload:
    created_products: int
    updated_products: int
    created_skus: int
    updated_skus: int
    row_errors: list[ImportRowError]
    user_errors: list[UserError]


@strawberry.input
class AttributeDefinitionInput:
    name: str = strawberry.field(description="lower_snake_case, unique in the category and its ancestors.")
    type: AttributeType
    label: str | None = None
    scope: AttributeScope = AttributeScope.PRODUCT
    required: bool = False
    allowed_values: list[str] = strawberry.field(default_factory=list)
    unit: str | None = None

    def to_domain(self) -> AttributeDef:
        return AttributeDef(
            name=self.name.strip(),
            type=service.AttributeType(self.type.value),
            label=(self.label or "").strip(),
            required=self.required,
            scope=service.AttributeScope(self.scope.value),
            allowed_values=tuple(v.strip() for v in self.allowed_values),
            unit=self.unit,
        )


@strawberry.input
class CategoryCreateInput:
    code: str
    name: str
    parent_id: strawberry.ID | None = None
    attributes: list[AttributeDefinitionInput] = strawberry.field(default_factory=list)


@strawberry.input
class CategoryUpdateInput:
    id: strawberry.ID
    code: str | None = None
    name: str | None = None
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Move under this category.")
    make_root: bool = strawberry.field(default=False, description="Move to the top of the tree.")
    attributes: list[AttributeDefinitionInput] | None = strawberry.field(
        default=None, description="Replaces the category's own attributes."
    )


@strawberry.type
class CategoryPayload:
    category: Category | None
    user_errors: list[UserError]


@strawberry.input
class PublicationUpsertInput:
    code: str = strawberry.field(description="Creates the publication, or replaces the one with this code.")
    name: str
    all_buyers: bool = False
    category_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    product_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    buyer_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.type
class PublicationPayload:
    publication: Publication | None
    user_errors: list[UserError]


def _ids(values: list[strawberry.ID], field_name: str, issues: list[Issue]) -> list[uuid.UUID]:
    out = []
    for i, value in enumerate(values):
        parsed = _uuid_or_none(value)
        if parsed is None:
            issues.append(Issue(service.Codes.INVALID_VALUE, "not a valid id", f"{field_name}.{i}"))
        else:
            out.append(parsed)
    return out


async def _save_category(
    info: Info,
    *,
    category_id: uuid.UUID | None,
    code: str | None,
    name: str | None,
    parent: strawberry.ID | None,
    move: bool,
    attributes: list[AttributeDefinitionInput] | None,
) -> CategoryPayload:
    scope, tenant_id = await _admin(info)
    parent_id = _uuid_or_none(parent) if parent is not None else None
    if parent is not None and parent_id is None:
        return CategoryPayload(
            category=None,
            user_errors=_errors([Issue(service.Codes.CATEGORY_NOT_FOUND, "not a category id", "parentId")]),
        )
    try:
        async with info.context.session() as session:
            row = await repository.save_category(
                session,
                tenant_id,
                scope.tree,
                category_id=category_id,
                code=code,
                name=name,
                parent_id=parent_id,
                move=move,
                attributes=[a.to_domain() for a in attributes] if attributes is not None else None,
            )
            tree = await repository.load_tree(session)
    except DomainError as exc:
        return CategoryPayload(category=None, user_errors=_errors(exc.issues))
    fresh = CatalogScope(tree, scope.viewer, scope.visibility)
    return CategoryPayload(category=Category.build(tree.nodes[row.id], fresh), user_errors=[])


async def _writer(info: Info) -> tuple[CatalogScope, uuid.UUID]:
    principal = info.context.require_principal()
    if not (principal.has_scope("catalog:write") or principal.has_scope("catalog:admin")):
        raise ForbiddenError("missing scope catalog:write")
    scope = await catalog_scope(info.context)
    if scope.viewer.kind not in (ViewerKind.ADMIN, ViewerKind.VENDOR):
        raise ForbiddenError("only the platform and suppliers edit the catalog")
    return scope, info.context.require_tenant()


async def _locked_editable(session: Any, scope: CatalogScope, product_id: uuid.UUID | None) -> models.Product:
    """The product, locked for update, if the caller may edit it (else NOT_FOUND: a vendor does not
    learn about other vendors' products)."""
    if product_id is None:
        raise DomainError.single(service.Codes.NOT_FOUND, "no such product", "id")
    product = await repository.lock_product(session, product_id)
    if not scope.allows(product):
        raise DomainError.single(service.Codes.NOT_FOUND, "no such product", "id")
    return product


async def _set_status(info: Info, input: ProductStatusInput, target: service.ProductStatus) -> ProductPayload:
    scope, _ = await _writer(info)
    try:
        async with info.context.session() as session:
            product = await _locked_editable(session, scope, _uuid_or_none(input.id))
            product, _skus = await repository.change_status(
                session, product, target, expected_version=input.version
            )
    except DomainError as exc:
        return ProductPayload(product=None, user_errors=_errors(exc.issues))
    info.context.wake_relay()
    return ProductPayload(product=Product.from_model(product), user_errors=[])


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def product_create(self, info: Info, input: ProductCreateInput) -> ProductPayload:
        scope, tenant_id = await _writer(info)
        own = scope.viewer.organization_ids[0] if scope.viewer.organization_ids else None
        vendor_id = _uuid_or_none(input.vendor_id) if input.vendor_id is not None else own
        category_id = _uuid_or_none(input.category_id)
        issues: list[Issue] = []
        if vendor_id is None:
            issues.append(Issue(service.Codes.REQUIRED, "vendorId is required", "vendorId"))
        elif scope.viewer.kind == ViewerKind.VENDOR and vendor_id != own:
            issues.append(
                Issue(service.Codes.FORBIDDEN, "a supplier creates only its own products", "vendorId")
            )
        if category_id is None:
            issues.append(Issue(service.Codes.CATEGORY_NOT_FOUND, "not a category id", "categoryId"))
        if issues:
            return ProductPayload(product=None, user_errors=_errors(issues))
        assert vendor_id is not None and category_id is not None
        data = service.ProductInput(
            name=input.name,
            category_id=category_id,
            vendor_id=vendor_id,
            brand=input.brand,
            description=input.description,
            attributes={a.name: a.value for a in input.attributes},
            media_urls=list(input.media_urls),
            external_ref=input.external_ref,
            skus=[s.to_domain() for s in input.skus],
        )
        clean, issues = service.validate_product(data, scope.tree)
        if clean is None:
            return ProductPayload(product=None, user_errors=_errors(issues))
        try:
            async with info.context.session() as session:
                product, _skus = await repository.create_product(session, tenant_id, clean)
        except DomainError as exc:
            return ProductPayload(product=None, user_errors=_errors(exc.issues))
        info.context.wake_relay()
        return ProductPayload(product=Product.from_model(product), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def product_update(self, info: Info, input: ProductUpdateInput) -> ProductPayload:
        scope, tenant_id = await _writer(info)
        category_id = None
        if input.category_id is not None:
            category_id = _uuid_or_none(input.category_id)
            if category_id is None:
                return ProductPayload(
                    product=None,
                    user_errors=_errors(
                        [Issue(service.Codes.CATEGORY_NOT_FOUND, "not a category id", "categoryId")]
                    ),
                )
        patch = repository.ProductPatch(
            name=input.name,
            brand=input.brand,
            description=input.description,
            category_id=category_id,
            attributes={a.name: a.value for a in input.attributes} if input.attributes is not None else None,
            media_urls=list(input.media_urls) if input.media_urls is not None else None,
            external_ref=input.external_ref,
            skus=[s.to_domain() for s in input.skus],
        )
        try:
            async with info.context.session() as session:
                product = await _locked_editable(session, scope, _uuid_or_none(input.id))
                product, _skus = await repository.update_product(
                    session, tenant_id, product, patch, scope.tree, expected_version=input.version
                )
        except DomainError as exc:
            return ProductPayload(product=None, user_errors=_errors(exc.issues))
        info.context.wake_relay()
        return ProductPayload(product=Product.from_model(product), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE, description="draft -> active.")
    async def product_publish(self, info: Info, input: ProductStatusInput) -> ProductPayload:
        return await _set_status(info, input, service.ProductStatus.ACTIVE)

    @strawberry.federation.mutation(requires_scopes=WRITE, description="draft or active -> archived.")
    async def product_archive(self, info: Info, input: ProductStatusInput) -> ProductPayload:
        return await _set_status(info, input, service.ProductStatus.ARCHIVED)

    @strawberry.federation.mutation(requires_scopes=ADMIN)
    async def category_create(self, info: Info, input: CategoryCreateInput) -> CategoryPayload:
        return await _save_category(
            info,
            category_id=None,
            code=input.code,
            name=input.name,
            parent=input.parent_id,
            move=True,
            attributes=input.attributes,
        )

    @strawberry.federation.mutation(requires_scopes=ADMIN)
    async def category_update(self, info: Info, input: CategoryUpdateInput) -> CategoryPayload:
        category_id = _uuid_or_none(input.id)
        if category_id is None:
            return CategoryPayload(
                category=None,
                user_errors=_errors([Issue(service.Codes.CATEGORY_NOT_FOUND, "not a category id", "id")]),
            )
        return await _save_category(
            info,
            category_id=category_id,
            code=input.code,
            name=input.name,
            parent=input.parent_id,
            move=input.make_root or input.parent_id is not None,
            attributes=input.attributes,
        )

    @strawberry.federation.mutation(requires_scopes=ADMIN, description="Create or replace a buyer catalog.")
    async def publication_upsert(self, info: Info, input: PublicationUpsertInput) -> PublicationPayload:
        scope, tenant_id = await _admin(info)
        issues: list[Issue] = []
        cats = _ids(input.category_ids, "categoryIds", issues)
        prods = _ids(input.product_ids, "productIds", issues)
        buyers = _ids(input.buyer_ids, "buyerIds", issues)
        if issues:
            return PublicationPayload(publication=None, user_errors=_errors(issues))
        try:
            async with info.context.session() as session:
                row = await repository.save_publication(
                    session,
                    tenant_id,
                    scope.tree,
                    code=input.code,
                    name=input.name,
                    all_buyers=input.all_buyers,
                    category_ids=cats,
                    product_ids=prods,
                    buyer_ids=buyers,
                )
        except DomainError as exc:
            return PublicationPayload(publication=None, user_errors=_errors(exc.issues))
        return PublicationPayload(
            publication=_publication(
                row, list(dict.fromkeys(cats)), list(dict.fromkeys(prods)), list(dict.fromkeys(buyers))
            ),
            user_errors=[],
        )

    @strawberry.federation.mutation(
        requires_scopes=WRITE,
        description="Bulk import, one row per SKU: valid rows are committed, each bad row is reported. "
        "Idempotent on the SKU code.",
    )
    async def catalog_import(self, info: Info, input: CatalogImportInput) -> CatalogImportPayload:
        scope, tenant_id = await _writer(info)
        rows, errors = parse_import(ImportFormatValue(input.format.value), input.data)
        own = scope.viewer.organization_ids[0] if scope.viewer.organization_ids else None
        planned, plan_errors = plan_import(rows, scope.tree, default_vendor=own)
        errors = errors + plan_errors
        outcome = repository.ImportOutcome()
        if planned:
            async with info.context.session() as session:
                outcome = await repository.import_products(
                    session,
                    tenant_id,
                    planned,
                    scope.tree,
                    vendor_guard=own if scope.viewer.kind == ViewerKind.VENDOR else None,
                )
            info.context.wake_relay()
        all_errors = sorted(errors + outcome.errors, key=lambda e: (e.row, e.sku or ""))
        return CatalogImportPayload(
            created_products=outcome.created_products,
            updated_products=outcome.updated_products,
            created_skus=outcome.created_skus,
            updated_skus=outcome.updated_skus,
            row_errors=[
                ImportRowError(row=e.row, sku=e.sku, field=e.field, message=e.message, code=e.code)
                for e in all_errors
            ],
            user_errors=[],
        )


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[Product, Sku, Category, Organization],
    federation_version=FEDERATION_VERSION,
    # The gateway sends the same few operations over and over: parse and validate each once.
    extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)],
)
