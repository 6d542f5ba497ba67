"""`svc.catalog` request-reply handlers (shared/rpc.py): other domains ask catalog right now.

- `sku_info` {sku_ids: [<= 500 ids]} -> {skus: {sku_id: {seller_organization_id, sku_code,
  product_name, category_id, status}}}: only SKUs whose product the caller's catalog shows
  (the buyer-catalog visibility of every catalog read: repository.scope_for); unknown or
  invisible ids are simply absent. Orders snapshots these facts on its order lines.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.rpc import RpcError, RpcRequest
from subgraphs.catalog import repository

MAX_SKUS = 500


async def sku_info(request: RpcRequest) -> dict[str, Any]:
    raw = request.body.get("sku_ids")
    if not isinstance(raw, list) or len(raw) > MAX_SKUS:
        raise RpcError("BAD_REQUEST", f"sku_ids must be a list of at most {MAX_SKUS} ids")
    try:
        ids = list(dict.fromkeys(uuid.UUID(str(s)) for s in raw))
    except ValueError:
        raise RpcError("BAD_REQUEST", "sku_ids must be ids") from None
    principal = request.principal
    async with request.session() as session:
        _tree, _viewer, visibility = await repository.scope_for(
            session, principal.organization_id, principal.scopes
        )
        skus = await repository.skus_by_id(session, ids)
        products = await repository.products_by_id(session, list({s.product_id for s in skus.values()}))
    out: dict[str, Any] = {}
    for sku_id, sku in skus.items():
        product = products.get(sku.product_id)
        if product is None or not visibility.allows(product):
            continue
        out[str(sku_id)] = {
            "seller_organization_id": str(product.vendor_id),
            "sku_code": sku.code,
            "product_name": product.name,
            "category_id": str(product.category_id),
            "status": product.status,
        }
    return {"skus": out}
