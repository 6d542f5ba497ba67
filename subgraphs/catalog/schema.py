# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""The catalog subgraph's schema: queries (product, sku, categories, publications, searchProducts)
and the Strawberry federation schema object. Types live in `graphql_types.py`, mutations in
`mutations.py`."""

from __future__ import annotations

import dataclasses
import uuid

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation import Schema
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from shared.errors import BadUserInputError
from shared.graphql import (
    CONNECTION_LIST_SIZE,
    FEDERATION_VERSION,
    Edge,
    Info,
    PageArgs,
    PageInfo,
    decode_cursor,
    encode_cursor,
)
from subgraphs.catalog import price_filter, repository, service
from subgraphs.catalog.graphql_types import (
    AttributeFacet,
    Category,
    CategoryFacet,
    FacetValue,
    Organization,
    Product,
    ProductSearchConnection,
    ProductSearchFilter,
    Publication,
    SearchFacets,
    Sku,
    VendorFacet,
    publication_type,
    require_admin,
    uuid_or_none,
)
from subgraphs.catalog.loaders import catalog_scope, product_loader
from subgraphs.catalog.mutations import Mutation
from subgraphs.catalog.search import AttributeFilter, SearchParams, candidate_skus, search_products


def _selects(info: Info, name: str) -> bool:
    """Whether the current field's selection (fragments included) asks for `name`."""
    pending: list[SelectedField | FragmentSpread | InlineFragment] = [*info.selected_fields]
    while pending:
        node = pending.pop()
        for child in node.selections:
            if isinstance(child, SelectedField):
                if child.name == name:
                    return True
            else:  # a fragment spread or inline fragment: look inside it
                pending.append(child)
    return False


def _offset(after: str | None) -> int:
    if not after:
        return 0
    key = decode_cursor(after)
    if len(key) != 1 or not isinstance(key[0], int) or key[0] < 0:
        raise BadUserInputError("invalid cursor", extensions={"argument": "after"})
    return key[0] + 1


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
        await require_admin(info)
        async with info.context.session() as session:
            rows = await repository.publications(session)
        return [publication_type(*row) for row in rows]

    @strawberry.field(
        directives=[CONNECTION_LIST_SIZE],
        description="Full-text search (prefix match, SKU code prefix) with filters and facets.")
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
        category_id = uuid_or_none(f.category_id) if f.category_id is not None else None
        vendor_id = uuid_or_none(f.vendor_id) if f.vendor_id is not None else None
        if (f.category_id is not None and category_id is None) or (
            f.vendor_id is not None and vendor_id is None
        ):
            raise BadUserInputError("not a valid id", extensions={"argument": "filter"})
        if query is not None and len(query) > 200:
            raise BadUserInputError("query is at most 200 characters", extensions={"argument": "query"})
        price = (
            price_filter.parse_price_range(f.price.min, f.price.max, f.price.currency, f.price.quantity)
            if f.price is not None
            else None
        )
        params = SearchParams(
            query=query,
            category_id=category_id,
            vendor_id=vendor_id,
            attributes=tuple(AttributeFilter(a.name, tuple(a.values)) for a in f.attributes or []),
            status=service.ProductStatus(f.status.value) if f.status else None,
            limit=page.limit,
            offset=offset,
            # Facets cost an aggregate over every match: only when the client asks for them.
            with_facets=_selects(info, "facets"),
        )
        if price is not None:
            # Candidates in SQL (every other filter), priced by pricing in batches, then the search
            # again over the survivors: paging, total and facets are those of the filtered set.
            async with info.context.session() as session:
                candidates = await candidate_skus(
                    session, params, scope.visibility, scope.tree, cap=price_filter.MAX_CANDIDATES
                )
            if candidates is None:
                cap = price_filter.MAX_CANDIDATES
                raise price_filter.PriceFilterTooBroadError(
                    f"more than {cap} products match before the price filter: narrow the "
                    "query (words, category, vendor or attributes)",
                    extensions={"argument": "filter.price", "maxCandidates": cap},
                )
            survivors = await price_filter.products_in_range(info.context, price, candidates)
            params = dataclasses.replace(params, product_ids=survivors)
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


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[Product, Sku, Category, Organization],
    federation_version=FEDERATION_VERSION,
    # The gateway sends the same few operations over and over: parse and validate each once.
    extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)],
)
