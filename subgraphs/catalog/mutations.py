# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""Mutations of the catalog subgraph: products, status changes, bulk import, categories and
publications. Each takes one `input` and returns a payload with `userErrors`; nothing is written
when there is any error (the import commits its valid rows and reports the others)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from shared.errors import ForbiddenError
from shared.graphql import Info, UserError
from subgraphs.catalog import models, repository, service
from subgraphs.catalog.graphql_types import (
    ADMIN,
    WRITE,
    AttributeScope,
    AttributeType,
    Category,
    ImportFormat,
    Product,
    Publication,
    publication_type,
    require_admin,
    user_errors_of,
    uuid_or_none,
)
from subgraphs.catalog.importing import ImportFormat as ImportFormatValue
from subgraphs.catalog.importing import parse_import, plan_import
from subgraphs.catalog.loaders import CatalogScope, catalog_scope
from subgraphs.catalog.service import AttributeDef, DomainError, Issue, ViewerKind


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
        parsed = uuid_or_none(value)
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
    scope, tenant_id = await require_admin(info)
    parent_id = uuid_or_none(parent) if parent is not None else None
    if parent is not None and parent_id is None:
        return CategoryPayload(
            category=None,
            user_errors=user_errors_of(
                [Issue(service.Codes.CATEGORY_NOT_FOUND, "not a category id", "parentId")]
            ),
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
        return CategoryPayload(category=None, user_errors=user_errors_of(exc.issues))
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
            product = await _locked_editable(session, scope, uuid_or_none(input.id))
            product, _skus = await repository.change_status(
                session, product, target, expected_version=input.version
            )
    except DomainError as exc:
        return ProductPayload(product=None, user_errors=user_errors_of(exc.issues))
    info.context.wake_relay()
    return ProductPayload(product=Product.from_model(product), user_errors=[])


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def product_create(self, info: Info, input: ProductCreateInput) -> ProductPayload:
        scope, tenant_id = await _writer(info)
        own = scope.viewer.organization_ids[0] if scope.viewer.organization_ids else None
        vendor_id = uuid_or_none(input.vendor_id) if input.vendor_id is not None else own
        category_id = uuid_or_none(input.category_id)
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
            return ProductPayload(product=None, user_errors=user_errors_of(issues))
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
            return ProductPayload(product=None, user_errors=user_errors_of(issues))
        try:
            async with info.context.session() as session:
                product, _skus = await repository.create_product(session, tenant_id, clean)
        except DomainError as exc:
            return ProductPayload(product=None, user_errors=user_errors_of(exc.issues))
        info.context.wake_relay()
        return ProductPayload(product=Product.from_model(product), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def product_update(self, info: Info, input: ProductUpdateInput) -> ProductPayload:
        scope, tenant_id = await _writer(info)
        category_id = None
        if input.category_id is not None:
            category_id = uuid_or_none(input.category_id)
            if category_id is None:
                return ProductPayload(
                    product=None,
                    user_errors=user_errors_of(
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
                product = await _locked_editable(session, scope, uuid_or_none(input.id))
                product, _skus = await repository.update_product(
                    session, tenant_id, product, patch, scope.tree, expected_version=input.version
                )
        except DomainError as exc:
            return ProductPayload(product=None, user_errors=user_errors_of(exc.issues))
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
        category_id = uuid_or_none(input.id)
        if category_id is None:
            return CategoryPayload(
                category=None,
                user_errors=user_errors_of(
                    [Issue(service.Codes.CATEGORY_NOT_FOUND, "not a category id", "id")]
                ),
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
        scope, tenant_id = await require_admin(info)
        issues: list[Issue] = []
        cats = _ids(input.category_ids, "categoryIds", issues)
        prods = _ids(input.product_ids, "productIds", issues)
        buyers = _ids(input.buyer_ids, "buyerIds", issues)
        if issues:
            return PublicationPayload(publication=None, user_errors=user_errors_of(issues))
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
            return PublicationPayload(publication=None, user_errors=user_errors_of(exc.issues))
        return PublicationPayload(
            publication=publication_type(
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
