"""Persistence of the catalog: reads, writes and the bulk import, over a tenant transaction.

Every function takes an `AsyncSession` that is already a tenant transaction
(`RequestContext.session()` / `Database.tenant_session`), so RLS scopes every statement. Rules
come from `service.py`; this module adds what needs the database (SKU codes unique in the tenant,
optimistic versions, who may see what) and writes the outbox event of every change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import add_event
from subgraphs.catalog import events
from subgraphs.catalog.importing import PlannedProduct, RowError
from subgraphs.catalog.models import (
    SCHEMA,
    Category,
    Product,
    Publication,
    PublicationBuyer,
    PublicationCategory,
    PublicationProduct,
    Sku,
)
from subgraphs.catalog.service import (
    AttributeDef,
    CategoryNode,
    CategoryTree,
    CleanProduct,
    CleanSku,
    Codes,
    DomainError,
    Issue,
    ProductInput,
    ProductStatus,
    SkuInput,
    Viewer,
    ViewerKind,
    check_publishable,
    check_transition,
    check_version,
    facet_values,
    validate_category,
    validate_product,
    viewer_for,
)

# --------------------------------------------------------------------------- categories


async def load_tree(session: AsyncSession) -> CategoryTree:
    rows = await session.scalars(select(Category).order_by(Category.position, Category.name))
    return CategoryTree(category_node(c) for c in rows)


def category_node(row: Category) -> CategoryNode:
    return CategoryNode(
        id=row.id,
        parent_id=row.parent_id,
        code=row.code,
        name=row.name,
        attributes=tuple(AttributeDef.from_json(a) for a in row.attribute_schema),
        tenant_id=row.tenant_id,
    )


async def save_category(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree: CategoryTree,
    *,
    category_id: uuid.UUID | None,
    code: str | None,
    name: str | None,
    parent_id: uuid.UUID | None,
    move: bool,
    attributes: Sequence[AttributeDef] | None,
) -> Category:
    """Create (`category_id` None) or change a category. `move`: set `parent_id` (None: make it a
    root). Validated against the whole tree: codes unique, no cycles, a sound attribute schema.
    Existing products keep their attribute values until their next change is validated."""
    row: Category | None = None
    if category_id is not None:
        row = await session.scalar(select(Category).where(Category.id == category_id).with_for_update())
        if row is None:
            raise DomainError.single(Codes.CATEGORY_NOT_FOUND, "no such category", "id")
    new_id = row.id if row is not None else uuid.uuid4()
    new_code = (code if code is not None else row.code if row is not None else "").strip().lower()
    new_name = (name if name is not None else row.name if row is not None else "").strip()
    new_parent = parent_id if (move or row is None) else row.parent_id
    new_attrs = (
        list(attributes)
        if attributes is not None
        else [AttributeDef.from_json(a) for a in row.attribute_schema]
        if row is not None
        else []
    )
    issues = validate_category(
        tree, category_id=new_id, code=new_code, name=new_name, parent_id=new_parent, attributes=new_attrs
    )
    if issues:
        raise DomainError(issues)
    schema = [a.to_json() for a in new_attrs]
    if row is None:
        row = Category(
            id=new_id,
            tenant_id=tenant_id,
            code=new_code,
            name=new_name,
            parent_id=new_parent,
            position=len(tree.nodes),
            attribute_schema=schema,
        )
        session.add(row)
    else:
        row.code, row.name, row.parent_id, row.attribute_schema = new_code, new_name, new_parent, schema
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent writer took the code
        raise DomainError.single(Codes.INVALID_VALUE, f"category code {new_code!r} is taken", "code") from exc
    return row


# --------------------------------------------------------------------------- viewers


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a viewer may see, as SQL-ready sets. `everything`: no restriction (admins)."""

    everything: bool = False
    vendor_id: uuid.UUID | None = None  # vendors: their own products, any status
    category_ids: tuple[uuid.UUID, ...] = ()  # buyers: active products in these categories...
    product_ids: tuple[uuid.UUID, ...] = ()  # ...or these products
    publication_ids: tuple[uuid.UUID, ...] = ()

    @property
    def nothing(self) -> bool:
        return (
            not self.everything and self.vendor_id is None and not self.category_ids and not self.product_ids
        )

    def allows(self, product: Product) -> bool:
        if self.everything:
            return True
        if self.vendor_id is not None:
            return product.vendor_id == self.vendor_id
        return product.status == ProductStatus.ACTIVE.value and (
            product.category_id in self.category_ids or product.id in self.product_ids
        )


_SCOPE_SQL = f"""
WITH RECURSIVE chain(id, kind, parent_id, depth) AS (
    SELECT id, kind, parent_id, 0 FROM {SCHEMA}.organizations WHERE id = :id
    UNION ALL
    SELECT o.id, o.kind, o.parent_id, c.depth + 1
    FROM {SCHEMA}.organizations o JOIN chain c ON o.id = c.parent_id
    WHERE c.depth < 16
),
pubs AS (
    SELECT p.id FROM {SCHEMA}.publications p
    WHERE p.all_buyers OR EXISTS (
        SELECT 1 FROM {SCHEMA}.publication_buyers b
        WHERE b.publication_id = p.id
          AND (b.organization_id = :id OR b.organization_id IN (SELECT id FROM chain))
    )
)
SELECT
    ARRAY(SELECT id FROM chain ORDER BY depth) AS chain_ids,
    (SELECT kind FROM chain WHERE depth = 0) AS kind,
    ARRAY(SELECT id FROM pubs) AS publication_ids,
    ARRAY(SELECT DISTINCT category_id FROM {SCHEMA}.publication_categories
          WHERE publication_id IN (SELECT id FROM pubs)) AS category_ids,
    ARRAY(SELECT DISTINCT product_id FROM {SCHEMA}.publication_products
          WHERE publication_id IN (SELECT id FROM pubs)) AS product_ids
"""


async def scope_for(
    session: AsyncSession, organization_id: str | None, scopes: Iterable[str]
) -> tuple[CategoryTree, Viewer, Visibility]:
    """The category tree, who is asking and what they may see, in two statements (every request
    needs them).

    The organization's kind and ancestors come from the orgs projection; an organization the
    catalog has not heard of yet is a supplier when it holds `catalog:write`, else a buyer.
    Admins see the tenant's catalog; vendors their own products; buyers the active products of
    the publications assigned to their organization, to any organization above it (business
    units inherit), or to all buyers. No publication, nothing visible (deny by default)."""
    scope_list = list(scopes)
    tree = await load_tree(session)
    org: uuid.UUID | None = None
    if organization_id:
        try:
            org = uuid.UUID(organization_id)
        except ValueError:
            org = None
    if org is None:
        viewer = viewer_for(organization_kind=None, organization_ids=[], scopes=scope_list)
        return tree, viewer, Visibility(everything=viewer.kind == ViewerKind.ADMIN)
    row = (await session.execute(text(_SCOPE_SQL), {"id": org})).one()
    if row.chain_ids:
        viewer = viewer_for(
            organization_kind=row.kind, organization_ids=list(row.chain_ids), scopes=scope_list
        )
    else:
        kind = "SUPPLIER" if "catalog:write" in scope_list else "BUYER"
        viewer = viewer_for(organization_kind=kind, organization_ids=[org], scopes=scope_list)
    if viewer.kind == ViewerKind.ADMIN:
        return tree, viewer, Visibility(everything=True)
    if viewer.kind == ViewerKind.VENDOR:
        return tree, viewer, Visibility(vendor_id=viewer.organization_ids[0])
    categories: set[uuid.UUID] = set()
    for root in row.category_ids:
        if root in tree.nodes:
            categories.update(tree.subtree_ids(root))
    return (
        tree,
        viewer,
        Visibility(
            category_ids=tuple(sorted(categories)),
            product_ids=tuple(sorted(set(row.product_ids))),
            publication_ids=tuple(row.publication_ids),
        ),
    )


# --------------------------------------------------------------------------- product reads


async def products_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Product]:
    if not ids:
        return {}
    rows = await session.scalars(select(Product).where(Product.id.in_(list(ids))))
    return {p.id: p for p in rows}


async def skus_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Sku]:
    if not ids:
        return {}
    rows = await session.scalars(select(Sku).where(Sku.id.in_(list(ids))))
    return {s.id: s for s in rows}


async def skus_of_products(
    session: AsyncSession, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Sku]]:
    out: dict[uuid.UUID, list[Sku]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return out
    rows = await session.scalars(
        select(Sku).where(Sku.product_id.in_(list(product_ids))).order_by(Sku.product_id, Sku.code)
    )
    for s in rows:
        out[s.product_id].append(s)
    return out


# --------------------------------------------------------------------------- writes


def _search_columns(product_attrs: dict[str, Any], skus: Sequence[Sku]) -> dict[str, Any]:
    """The denormalized search columns of a product: SKU codes for the text vector, `name=value`
    tags for filters and facets."""
    facets = facet_values(product_attrs, *(s.attributes for s in skus))
    return {
        "sku_codes": " ".join(sorted(s.code for s in skus)),
        "facet_tags": sorted(f"{name}={value}" for name, values in facets.items() for value in values),
    }


async def _codes_taken(
    session: AsyncSession, codes: Sequence[str], *, except_product: uuid.UUID | None
) -> dict[str, uuid.UUID]:
    """SKU codes already used in the tenant (by another product than `except_product`)."""
    if not codes:
        return {}
    rows = await session.execute(select(Sku.code, Sku.product_id).where(Sku.code.in_(list(codes))))
    return {r.code: r.product_id for r in rows if r.product_id != except_product}


def _sku_values(sku: CleanSku) -> dict[str, Any]:
    return {
        "name": sku.name,
        "attributes": dict(sku.attributes),
        "uom": sku.pack.uom.value,
        "pack_quantity": sku.pack.quantity,
        "content_uom": sku.pack.content_uom.value,
        "gtin": sku.gtin,
    }


async def _write_skus(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    product: Product,
    skus: Sequence[CleanSku],
    *,
    sku_ids: dict[str, uuid.UUID] | None = None,
) -> list[Sku]:
    """Insert new SKUs and update existing ones (matched by code) of `product`; others stay."""
    existing = {s.code: s for s in (await skus_of_products(session, [product.id]))[product.id]}
    for clean in skus:
        row = existing.get(clean.code)
        if row is None:
            row = Sku(
                id=(sku_ids or {}).get(clean.code) or uuid.uuid4(),
                tenant_id=tenant_id,
                product_id=product.id,
                code=clean.code,
                **_sku_values(clean),
            )
            session.add(row)
            existing[clean.code] = row
        else:
            for key, value in _sku_values(clean).items():
                setattr(row, key, value)
    await session.flush()
    return sorted(existing.values(), key=lambda s: s.code)


async def create_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    clean: CleanProduct,
    *,
    status: ProductStatus = ProductStatus.DRAFT,
    product_id: uuid.UUID | None = None,
    sku_ids: dict[str, uuid.UUID] | None = None,
    event: bool = True,
) -> tuple[Product, list[Sku]]:
    taken = await _codes_taken(session, [s.code for s in clean.skus], except_product=None)
    if taken:
        raise DomainError(
            [
                Issue(Codes.DUPLICATE_SKU_CODE, f"SKU code {s.code} is already used", f"skus.{i}.code")
                for i, s in enumerate(clean.skus)
                if s.code in taken
            ]
        )
    if clean.external_ref and await session.scalar(
        select(Product.id).where(Product.external_ref == clean.external_ref)
    ):
        raise DomainError.single(Codes.INVALID_VALUE, "externalRef is used by another product", "externalRef")
    if status == ProductStatus.ACTIVE:
        check_publishable(len(clean.skus))
    product = Product(
        id=product_id or uuid.uuid4(),
        tenant_id=tenant_id,
        category_id=clean.category_id,
        vendor_id=clean.vendor_id,
        name=clean.name,
        brand=clean.brand,
        description=clean.description,
        status=status.value,
        attributes=dict(clean.attributes),
        media_urls=list(clean.media_urls),
        external_ref=clean.external_ref,
        version=1,
        sku_codes="",
        facet_tags=[],
    )
    try:
        async with session.begin_nested():
            session.add(product)
            await session.flush()
            skus = await _write_skus(session, tenant_id, product, clean.skus, sku_ids=sku_ids)
            for key, value in _search_columns(product.attributes, skus).items():
                setattr(product, key, value)
            await session.flush()
    except IntegrityError as exc:  # a concurrent writer took a code or the reference
        raise DomainError.single(
            Codes.DUPLICATE_SKU_CODE, "a SKU code or externalRef is taken", "skus"
        ) from exc
    await _reload_timestamps(session, product)
    if event:
        await add_event(session, SCHEMA, events.product_created(product, skus))
    return product, skus


async def _reload_timestamps(session: AsyncSession, product: Product) -> None:
    """Server-side timestamps expire on flush; load them while the session is open so the API can
    read them after the transaction."""
    await session.refresh(product, ["created_at", "updated_at"])


@dataclass(slots=True)
class ProductPatch:
    """Fields of `productUpdate`; None leaves a field as it is. `skus` are upserted by code
    (SKUs not listed stay); `attributes` replaces the product attributes."""

    name: str | None = None
    brand: str | None = None
    description: str | None = None
    category_id: uuid.UUID | None = None
    attributes: dict[str, Any] | None = None
    media_urls: list[str] | None = None
    external_ref: str | None = None
    skus: list[SkuInput] = field(default_factory=list)


async def lock_product(session: AsyncSession, product_id: uuid.UUID) -> Product:
    product = await session.scalar(select(Product).where(Product.id == product_id).with_for_update())
    if product is None:
        raise DomainError.single(Codes.NOT_FOUND, "no such product", "id")
    return product


def _sku_input(row: Sku) -> SkuInput:
    return SkuInput(
        code=row.code,
        name=row.name,
        attributes=dict(row.attributes),
        uom=row.uom,
        pack_quantity=row.pack_quantity,
        content_uom=row.content_uom,
        gtin=row.gtin,
    )


async def update_product(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    product: Product,
    patch: ProductPatch,
    tree: CategoryTree,
    *,
    expected_version: int | None,
    change: str = "UPDATED",
) -> tuple[Product, list[Sku]]:
    """Validate the product as it would be after the patch (every SKU against the possibly new
    category schema), then write it with `version + 1`. The caller has locked the row."""
    check_version(expected_version, product.version)
    current_skus = (await skus_of_products(session, [product.id]))[product.id]
    merged = {s.code: _sku_input(s) for s in current_skus}
    for s in patch.skus:
        merged[(s.code or "").strip().upper()] = s
    candidate = ProductInput(
        name=patch.name if patch.name is not None else product.name,
        category_id=patch.category_id or product.category_id,
        vendor_id=product.vendor_id,
        brand=patch.brand if patch.brand is not None else product.brand,
        description=patch.description if patch.description is not None else product.description,
        attributes=patch.attributes if patch.attributes is not None else dict(product.attributes),
        media_urls=patch.media_urls if patch.media_urls is not None else list(product.media_urls),
        external_ref=patch.external_ref if patch.external_ref is not None else product.external_ref,
        skus=list(merged.values()),
    )
    clean, issues = validate_product(candidate, tree)
    if clean is None:
        # Report SKU issues against the patch's own indexes where the SKU came from the patch.
        index = {(s.code or "").strip().upper(): i for i, s in enumerate(patch.skus)}
        order = list(merged)
        raise DomainError([_reindex(issue, order, index) for issue in issues])
    taken = await _codes_taken(session, [s.code for s in clean.skus], except_product=product.id)
    if taken:
        raise DomainError.single(
            Codes.DUPLICATE_SKU_CODE, f"SKU codes used by other products: {', '.join(sorted(taken))}", "skus"
        )
    if clean.external_ref and clean.external_ref != product.external_ref:
        other = await session.scalar(select(Product.id).where(Product.external_ref == clean.external_ref))
        if other is not None and other != product.id:
            raise DomainError.single(
                Codes.INVALID_VALUE, "externalRef is used by another product", "externalRef"
            )
    product.name = clean.name
    product.category_id = clean.category_id
    product.brand = clean.brand
    product.description = clean.description
    product.attributes = dict(clean.attributes)
    product.media_urls = list(clean.media_urls)
    product.external_ref = clean.external_ref
    product.version += 1
    try:
        async with session.begin_nested():
            skus = await _write_skus(session, tenant_id, product, clean.skus)
            for key, value in _search_columns(product.attributes, skus).items():
                setattr(product, key, value)
            await session.flush()
    except IntegrityError as exc:
        raise DomainError.single(Codes.DUPLICATE_SKU_CODE, "a SKU code is taken", "skus") from exc
    await _reload_timestamps(session, product)
    await add_event(session, SCHEMA, events.product_updated(product, skus, change))
    return product, skus


def _reindex(issue: Issue, order: list[str], patch_index: dict[str, int]) -> Issue:
    if not issue.field or not issue.field.startswith("skus."):
        return issue
    parts = issue.field.split(".")
    try:
        code = order[int(parts[1])]
    except (ValueError, IndexError):
        return issue
    if code in patch_index:
        parts[1] = str(patch_index[code])
        return Issue(issue.code, issue.message, ".".join(parts))
    return Issue(issue.code, f"existing SKU {code}: {issue.message}", "skus")


_CHANGE_FOR = {
    ProductStatus.ACTIVE: "PUBLISHED",
    ProductStatus.ARCHIVED: "ARCHIVED",
    ProductStatus.DRAFT: "UNARCHIVED",
}


async def change_status(
    session: AsyncSession, product: Product, target: ProductStatus, *, expected_version: int | None
) -> tuple[Product, list[Sku]]:
    check_version(expected_version, product.version)
    current = ProductStatus(product.status)
    check_transition(current, target)
    skus = (await skus_of_products(session, [product.id]))[product.id]
    if current == target:
        return product, skus  # idempotent: publishing a live product changes nothing
    if target == ProductStatus.ACTIVE:
        check_publishable(len(skus))
    product.status = target.value
    product.version += 1
    await session.flush()
    await _reload_timestamps(session, product)
    await add_event(session, SCHEMA, events.product_updated(product, skus, _CHANGE_FOR[target]))
    return product, skus


# --------------------------------------------------------------------------- bulk import


@dataclass(slots=True)
class ImportOutcome:
    created_products: int = 0
    updated_products: int = 0
    created_skus: int = 0
    updated_skus: int = 0
    errors: list[RowError] = field(default_factory=list)
    product_ids: list[uuid.UUID] = field(default_factory=list)


async def import_products(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    planned: Sequence[PlannedProduct],
    tree: CategoryTree,
    *,
    vendor_guard: uuid.UUID | None,
) -> ImportOutcome:
    """Commit every planned product under its own savepoint: one product's database-side failure
    (a SKU code owned by another product, a status that cannot be reached) becomes row errors and
    leaves the others in. Idempotent: SKUs are matched by code, products by `product_ref`, and a
    row equal to what is stored changes nothing (no version bump, no event)."""
    outcome = ImportOutcome()
    refs = [p.product_ref for p in planned]
    existing = {
        p.external_ref: p
        for p in (await session.scalars(select(Product).where(Product.external_ref.in_(refs)))).all()
    }
    all_codes = [s.code for p in planned for s in p.product.skus]
    owners = await _codes_taken(session, all_codes, except_product=None)
    for item in planned:
        clean = item.product
        current = existing.get(item.product_ref)
        row_of = item.rows

        def fail(
            code: str,
            message: str,
            field_name: str | None,
            skus: list[str] | None = None,
            rows: dict[str, int] = row_of,
        ) -> None:
            for sku_code in skus if skus is not None else list(rows):
                outcome.errors.append(RowError(rows[sku_code], sku_code, code, message, field_name))

        if vendor_guard is not None and (
            clean.vendor_id != vendor_guard or (current is not None and current.vendor_id != vendor_guard)
        ):
            fail(Codes.FORBIDDEN, "a supplier imports only its own products", "vendor")
            continue
        foreign = [c for c in row_of if c in owners and (current is None or owners[c] != current.id)]
        if foreign:
            fail(
                Codes.SKU_BELONGS_TO_OTHER_PRODUCT, "this SKU code belongs to another product", "sku", foreign
            )
            ok_skus = tuple(s for s in clean.skus if s.code not in foreign)
            if not ok_skus:
                continue
            clean = CleanProduct(**{**_clean_fields(clean), "skus": ok_skus})
        try:
            async with session.begin_nested():
                if current is None:
                    product, skus = await create_product(
                        session, tenant_id, clean, status=ProductStatus.DRAFT, event=False
                    )
                    if item.status not in (None, ProductStatus.DRAFT):
                        check_transition(ProductStatus.DRAFT, item.status)
                        product.status = item.status.value
                    await session.flush()
                    await add_event(session, SCHEMA, events.product_created(product, skus))
                    outcome.created_products += 1
                    outcome.created_skus += len(skus)
                else:
                    before = {s.code: s for s in (await skus_of_products(session, [current.id]))[current.id]}
                    target = item.status or ProductStatus(current.status)
                    if _unchanged(current, clean, before, target):
                        outcome.product_ids.append(current.id)
                        continue
                    patch = ProductPatch(
                        name=clean.name,
                        brand=clean.brand or "",
                        description=clean.description,
                        category_id=clean.category_id,
                        attributes=dict(clean.attributes),
                        media_urls=list(clean.media_urls),
                        skus=[_sku_input_from_clean(s) for s in clean.skus],
                    )
                    if target != ProductStatus(current.status):
                        check_transition(ProductStatus(current.status), target)
                        if target == ProductStatus.ACTIVE:
                            check_publishable(len(clean.skus) + len(before))
                        current.status = target.value
                    product, skus = await update_product(
                        session, tenant_id, current, patch, tree, expected_version=None, change="IMPORTED"
                    )
                    outcome.updated_products += 1
                    outcome.created_skus += sum(1 for s in clean.skus if s.code not in before)
                    outcome.updated_skus += sum(1 for s in clean.skus if s.code in before)
                outcome.product_ids.append(product.id)
        except DomainError as exc:
            for issue in exc.issues:
                fail(issue.code, issue.message, issue.field)
    outcome.errors.sort(key=lambda e: e.row)
    return outcome


def _clean_fields(clean: CleanProduct) -> dict[str, Any]:
    return {name: getattr(clean, name) for name in CleanProduct.__dataclass_fields__}


def _sku_input_from_clean(s: CleanSku) -> SkuInput:
    return SkuInput(
        code=s.code,
        name=s.name,
        attributes=dict(s.attributes),
        uom=s.pack.uom.value,
        pack_quantity=s.pack.quantity,
        content_uom=s.pack.content_uom.value,
        gtin=s.gtin,
    )


def _unchanged(current: Product, clean: CleanProduct, before: dict[str, Sku], status: ProductStatus) -> bool:
    if (
        current.name != clean.name
        or (current.brand or None) != clean.brand
        or current.description != clean.description
        or current.category_id != clean.category_id
        or dict(current.attributes) != dict(clean.attributes)
        or list(current.media_urls) != list(clean.media_urls)
        or current.status != status.value
    ):
        return False
    for s in clean.skus:
        row = before.get(s.code)
        if row is None:
            return False
        if (
            row.name != s.name
            or dict(row.attributes) != dict(s.attributes)
            or row.uom != s.pack.uom.value
            or Decimal(row.pack_quantity) != s.pack.quantity
            or row.content_uom != s.pack.content_uom.value
            or row.gtin != s.gtin
        ):
            return False
    return True


# --------------------------------------------------------------------------- publications


async def publications(
    session: AsyncSession,
) -> list[tuple[Publication, list[uuid.UUID], list[uuid.UUID], list[uuid.UUID]]]:
    """Every publication with its category ids, product ids and buyer organization ids."""
    pubs = list((await session.scalars(select(Publication).order_by(Publication.code))).all())
    cats: dict[uuid.UUID, list[uuid.UUID]] = {p.id: [] for p in pubs}
    prods: dict[uuid.UUID, list[uuid.UUID]] = {p.id: [] for p in pubs}
    buyers: dict[uuid.UUID, list[uuid.UUID]] = {p.id: [] for p in pubs}
    for pub_id, cid in await session.execute(
        select(PublicationCategory.publication_id, PublicationCategory.category_id)
    ):
        cats[pub_id].append(cid)
    for pub_id, pid in await session.execute(
        select(PublicationProduct.publication_id, PublicationProduct.product_id)
    ):
        prods[pub_id].append(pid)
    for pub_id, oid in await session.execute(
        select(PublicationBuyer.publication_id, PublicationBuyer.organization_id)
    ):
        buyers[pub_id].append(oid)
    return [(p, cats[p.id], prods[p.id], buyers[p.id]) for p in pubs]


async def save_publication(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    tree: CategoryTree,
    *,
    code: str,
    name: str,
    all_buyers: bool,
    category_ids: Sequence[uuid.UUID],
    product_ids: Sequence[uuid.UUID],
    buyer_ids: Sequence[uuid.UUID],
) -> Publication:
    """Create or replace the publication with this code (its contents and assignments)."""
    issues: list[Issue] = []
    code = code.strip().lower()
    if not code or len(code) > 64:
        issues.append(Issue(Codes.INVALID_VALUE, "a publication code is 1-64 characters", "code"))
    if not name.strip():
        issues.append(Issue(Codes.REQUIRED, "a publication needs a name", "name"))
    for i, cid in enumerate(category_ids):
        if cid not in tree.nodes:
            issues.append(Issue(Codes.CATEGORY_NOT_FOUND, f"no category {cid}", f"categoryIds.{i}"))
    found = await products_by_id(session, list(product_ids))
    for i, pid in enumerate(product_ids):
        if pid not in found:
            issues.append(Issue(Codes.NOT_FOUND, f"no product {pid}", f"productIds.{i}"))
    if issues:
        raise DomainError(issues)
    existing = await session.scalar(select(Publication.id).where(Publication.code == code))
    return await upsert_publication(
        session,
        tenant_id,
        publication_id=existing or uuid.uuid4(),
        code=code,
        name=name.strip(),
        all_buyers=all_buyers,
        category_ids=category_ids,
        product_ids=product_ids,
        buyer_ids=buyer_ids,
    )


async def upsert_publication(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    publication_id: uuid.UUID,
    code: str,
    name: str,
    all_buyers: bool,
    category_ids: Sequence[uuid.UUID] = (),
    product_ids: Sequence[uuid.UUID] = (),
    buyer_ids: Sequence[uuid.UUID] = (),
) -> Publication:
    """Create or replace a publication and its contents and assignments (seed, admin tools)."""
    pub = await session.get(Publication, publication_id)
    if pub is None:
        pub = Publication(id=publication_id, tenant_id=tenant_id, code=code, name=name, all_buyers=all_buyers)
        session.add(pub)
    else:
        pub.code, pub.name, pub.all_buyers = code, name, all_buyers
    await session.flush()
    for model in (PublicationCategory, PublicationProduct, PublicationBuyer):
        await session.execute(model.__table__.delete().where(model.publication_id == publication_id))  # type: ignore[attr-defined]
    for cid in dict.fromkeys(category_ids):
        session.add(PublicationCategory(tenant_id=tenant_id, publication_id=publication_id, category_id=cid))
    for pid in dict.fromkeys(product_ids):
        session.add(PublicationProduct(tenant_id=tenant_id, publication_id=publication_id, product_id=pid))
    for oid in dict.fromkeys(buyer_ids):
        session.add(PublicationBuyer(tenant_id=tenant_id, publication_id=publication_id, organization_id=oid))
    await session.flush()
    return pub
