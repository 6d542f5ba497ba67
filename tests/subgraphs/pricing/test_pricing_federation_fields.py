"""`Product.price` (the default SKU's price, `@requires(skus { id })`), `Sku.priceBreaks` (pricing
managers only) and `tenantId` on PriceList / Quote, on the real database."""

from __future__ import annotations

import uuid

from tests.subgraphs.pricing.helpers import Tenant, make_list

PRODUCT_PRICE = """
query($reps: [_Any!]!, $q: Int!) {
  _entities(representations: $reps) {
    ... on Product { id price(quantity: $q) { skuId unitPrice { amount currency } priceListName explanation
                                            userErrors { code } } }
  }
}"""
SKU_PRICE = """
query($reps: [_Any!]!, $q: Int!) {
  _entities(representations: $reps) {
    ... on Sku { id price(quantity: $q) { unitPrice { amount } explanation } }
  }
}"""
BREAKS = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Sku { id priceBreaks { priceListId skuId minQuantity unitPrice { amount currency } } }
  }
}"""


async def test_product_price_is_the_first_skus_price_with_its_explanation(tenant: Tenant) -> None:
    t = tenant
    product, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await make_list(t, "company", {1: "10", 50: "8"}, first, to=(t.company,), product=product)
    await make_list(t, "company 2", {1: "99"}, second, to=(t.company,), product=product)
    reps = [{"__typename": "Product", "id": str(product), "skus": [{"id": str(first)}, {"id": str(second)}]}]
    data = await t.gql(PRODUCT_PRICE, {"reps": reps, "q": 60}, org=t.company)
    price = data["_entities"][0]["price"]
    sku = await t.gql(SKU_PRICE, {"reps": [{"__typename": "Sku", "id": str(first)}], "q": 60}, org=t.company)
    assert price["skuId"] == str(first) and price["unitPrice"] == {"amount": "8.0000", "currency": "EUR"}
    assert price["explanation"] == sku["_entities"][0]["price"]["explanation"] and price["userErrors"] == []

    # A product without SKUs has no price; a quantity rule violation is the same userError as Sku.price.
    empty = await t.gql(
        PRODUCT_PRICE, {"reps": [{"__typename": "Product", "id": str(product), "skus": []}], "q": 1}
    )
    assert empty["_entities"][0]["price"] is None
    zero = await t.gql(PRODUCT_PRICE, {"reps": reps, "q": 0}, org=t.company)
    assert [e["code"] for e in zero["_entities"][0]["price"]["userErrors"]] == ["INVALID_QUANTITY"]


async def test_price_breaks_only_for_pricing_managers(tenant: Tenant) -> None:
    t = tenant
    sku = uuid.uuid4()
    list_id = await make_list(t, "company", {1: "10", 50: "8"}, sku, to=(t.company,))
    reps = {"reps": [{"__typename": "Sku", "id": str(sku)}]}
    manager = await t.as_seller(BREAKS, reps)
    breaks = manager["_entities"][0]["priceBreaks"]
    assert [(b["priceListId"], b["minQuantity"], b["unitPrice"]["amount"]) for b in breaks] == [
        (list_id, 1, "10.0000"),
        (list_id, 50, "8.0000"),
    ]
    # The gateway removes the field for others; the subgraph refuses anyway.
    buyer = await t.gql(BREAKS, reps, org=t.company, scopes=("catalog:read",))
    assert buyer["_entities"][0]["priceBreaks"] is None
    # Another tenant's seller sees none of them (row-level security).
    other = await t.gql(BREAKS, reps, org=t.seller, scopes=("pricing:write",), tenant=uuid.uuid4())
    assert other["_entities"][0]["priceBreaks"] == []


async def test_price_lists_carry_their_tenant(tenant: Tenant) -> None:
    t = tenant
    list_id = await make_list(t, "company", {1: "10"}, uuid.uuid4(), to=(t.company,))
    data = await t.as_seller("query($id: ID!) { priceList(id: $id) { id tenantId } }", {"id": list_id})
    assert data["priceList"] == {"id": list_id, "tenantId": str(t.id)}
