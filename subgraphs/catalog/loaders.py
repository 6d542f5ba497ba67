"""Per-request DataLoaders of the catalog: `info.context.loaders.get(product_loader)`.

`scope_loader` computes once per request what the caller may see (category tree, viewer,
visibility) so every resolver and entity reference applies the same buyer-catalog rules. Loaders
return raw rows; visibility is checked by the caller with `CatalogScope.allows`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader

from shared.context import RequestContext
from shared.loaders import groups_by_key, rows_by_key
from subgraphs.catalog import repository
from subgraphs.catalog.models import Product, Sku
from subgraphs.catalog.repository import Visibility
from subgraphs.catalog.service import CategoryTree, Viewer


@dataclass(frozen=True, slots=True)
class CatalogScope:
    tree: CategoryTree
    viewer: Viewer
    visibility: Visibility

    def allows(self, product: Product | None) -> bool:
        return product is not None and self.visibility.allows(product)


SCOPE_KEY = "scope"


def scope_loader(ctx: RequestContext) -> DataLoader[str, CatalogScope]:
    async def load(keys: Sequence[str]) -> list[CatalogScope]:
        principal = ctx.principal
        async with ctx.session() as session:
            tree, viewer, visibility = await repository.scope_for(
                session,
                principal.organization_id if principal else None,
                principal.scopes if principal else (),
            )
        scope = CatalogScope(tree, viewer, visibility)
        return [scope for _ in keys]

    return DataLoader(load)


async def catalog_scope(ctx: RequestContext) -> CatalogScope:
    return await ctx.loaders.get(scope_loader).load(SCOPE_KEY)


def product_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Product | None]:
    return rows_by_key(ctx, repository.products_by_id)


def sku_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Sku | None]:
    return rows_by_key(ctx, repository.skus_by_id)


def skus_of_product_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Sku]]:
    return groups_by_key(ctx, repository.skus_of_products)
