"""A buyer through the real stack: login, catalog search priced by the pricing subgraph, quantity rules."""

from __future__ import annotations

from typing import Any

from subgraphs.catalog.demo_ids import category_id
from subgraphs.orgs import seed as orgs
from tests.e2e.conftest import Stack

SEARCH = """
query Search($q: String, $filter: ProductSearchFilter, $first: Int) {
  searchProducts(query: $q, filter: $filter, first: $first) {
    totalCount
    edges { node {
      id name status tenantId
      category { code path { code } }
      price(quantity: 50) { skuId unitPrice { amount currency } explanation }
      skus {
        id code
        price(quantity: 50) {
          skuId quantity
          unitPrice { amount currency } lineTotal { amount currency }
          source priceListName breakMinQuantity assignedOrganizationId explanation
          userErrors { field code message }
        }
      }
    } }
  }
}
"""


def _nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data["searchProducts"]["edges"]]


async def test_login_issues_a_token_the_gateway_accepts(e2e: Stack) -> None:
    token = await e2e.login("bea@northwind.example", cached=False)
    reply = await e2e.query("{ me { email tenantId } tenant { slug } }", token=token)
    assert reply.status == 200 and not reply.errors, reply.body
    assert reply.data["me"]["email"] == "bea@northwind.example"
    assert reply.data["me"]["tenantId"] == str(orgs.DEMO_TENANT_ID)
    assert reply.data["tenant"]["slug"] == "acme-mro"


async def test_wrong_password_is_a_user_error(e2e: Stack) -> None:
    reply = await e2e.query(
        """mutation { login(input: {email: "bea@northwind.example", password: "nope", tenant: "acme-mro"})
             { token userErrors { code } } }"""
    )
    assert reply.status == 200, reply.body
    assert reply.data["login"]["token"] is None and reply.data["login"]["userErrors"], reply.body


async def test_search_prices_each_sku_for_the_buyer_with_the_rule_that_applied(e2e: Stack) -> None:
    token = await e2e.login("bea@northwind.example")  # Northwind Fabrication, role buyer
    reply = await e2e.query(SEARCH, {"q": "gloves", "first": 10}, token=token)
    assert reply.status == 200 and not reply.errors, reply.body
    products = _nodes(reply.data)
    assert products, reply.body
    negotiated = []
    for product in products:
        assert product["status"] == "ACTIVE" and product["tenantId"] == str(orgs.DEMO_TENANT_ID)
        assert product["skus"], product
        for sku in product["skus"]:
            price = sku["price"]  # resolved by the pricing subgraph through an _entities fetch
            assert price["skuId"] == sku["id"] and price["quantity"] == 50
            assert price["userErrors"] == [], sku
            assert price["unitPrice"]["currency"] == "USD" and price["explanation"], sku
            assert price["source"] in {"CONTRACT", "PRICE_LIST", "BASE"}
            if price["priceListName"] == "Northwind negotiated prices":
                negotiated.append(price)
        # Product.price = the default (first) SKU's price, with the same explanation.
        first = product["skus"][0]["price"]
        assert product["price"]["skuId"] == product["skus"][0]["id"]
        assert product["price"]["unitPrice"] == first["unitPrice"]
        assert product["price"]["explanation"] == first["explanation"]
    # Northwind's negotiated list (gloves, breaks 1/25/100): at 50 the 25 break applies, by assignment.
    assert negotiated, [s["price"]["priceListName"] for p in products for s in p["skus"]]
    for price in negotiated:
        assert price["source"] == "PRICE_LIST" and price["breakMinQuantity"] == 25
        assert price["assignedOrganizationId"] == str(orgs.BUYER_ID)
    # The pricing subgraph was asked once, for every SKU of the page together (batched).
    pricing_calls = [q for q in e2e.logs["pricing"].queries() if "_entities" in q]
    assert len(pricing_calls) >= 1 and len(pricing_calls) <= 2, pricing_calls


async def test_the_same_skus_are_priced_differently_for_another_buyer(e2e: Stack) -> None:
    bea = await e2e.login("bea@northwind.example")
    hal = await e2e.login("hal@harbor-shipyards.example")  # Harbor Shipyards: no negotiated list
    a = await e2e.query(SEARCH, {"q": "gloves", "first": 5}, token=bea)
    b = await e2e.query(SEARCH, {"q": "gloves", "first": 5}, token=hal)
    assert not a.errors and not b.errors, (a.body, b.body)
    names_b = {s["price"]["priceListName"] for p in _nodes(b.data) for s in p["skus"]}
    assert "Northwind negotiated prices" not in names_b, names_b


async def test_a_buyer_sees_only_products_of_its_catalogs(e2e: Stack) -> None:
    steel = {"categoryId": str(category_id("steel"))}
    # Northwind has the "Steel contract catalog"; Harbor Shipyards only the standard MRO catalog.
    bea = await e2e.login("bea@northwind.example")
    hal = await e2e.login("hal@harbor-shipyards.example")
    with_steel = await e2e.query(SEARCH, {"filter": steel, "first": 3}, token=bea)
    without = await e2e.query(SEARCH, {"filter": steel, "first": 3}, token=hal)
    assert not with_steel.errors and not without.errors, (with_steel.body, without.body)
    assert with_steel.data["searchProducts"]["totalCount"] > 0
    assert without.data["searchProducts"]["totalCount"] == 0 and _nodes(without.data) == []
    # Drafts and archived products are never in a buyer's results, even when asked for.
    drafts = await e2e.query(SEARCH, {"filter": {"status": "DRAFT"}, "first": 3}, token=bea)
    assert not drafts.errors and drafts.data["searchProducts"]["totalCount"] == 0, drafts.body
    # A steel product id asked for directly is null for the buyer without that catalog.
    steel_product = _nodes(with_steel.data)[0]["id"]
    direct = await e2e.query(
        "query($id: ID!) { product(id: $id) { id name } }", {"id": steel_product}, token=hal
    )
    assert direct.status == 200 and direct.data == {"product": None}, direct.body


async def test_anonymous_sees_no_product(e2e: Stack) -> None:
    reply = await e2e.query(SEARCH, {"q": "gloves", "first": 3})
    assert reply.status == 200, reply.body
    # No principal, no tenant: the catalog refuses, and the non-null root makes `data` null.
    assert reply.data is None and reply.codes() == ["FORBIDDEN"], reply.body


async def test_quantity_rule_violation_is_a_user_error_through_the_gateway(e2e: Stack) -> None:
    # Steel bars: SKU default rule minimum 5, steps of 5.
    bea = await e2e.login("bea@northwind.example")
    found = await e2e.query(
        SEARCH, {"filter": {"categoryId": str(category_id("steel-bars"))}, "first": 1}, token=bea
    )
    assert not found.errors, found.body
    sku = _nodes(found.data)[0]["skus"][0]["id"]
    query = """query($sku: ID!, $q: Int!) { sku(id: $sku) { code
      price(quantity: $q) { unitPrice { amount } quantityRule { minimum increment }
                            userErrors { field message code } } } }"""
    below = await e2e.query(query, {"sku": sku, "q": 3}, token=bea)
    step = await e2e.query(query, {"sku": sku, "q": 7}, token=bea)
    fine = await e2e.query(query, {"sku": sku, "q": 10}, token=bea)
    for reply in (below, step, fine):
        assert reply.status == 200 and not reply.errors, reply.body
    assert [e["code"] for e in below.data["sku"]["price"]["userErrors"]] == ["QUANTITY_BELOW_MINIMUM"]
    assert below.data["sku"]["price"]["userErrors"][0]["field"] == ["quantity"]
    assert below.data["sku"]["price"]["unitPrice"] is None
    codes = [e["code"] for e in step.data["sku"]["price"]["userErrors"]]
    assert codes == ["QUANTITY_NOT_MULTIPLE_OF_INCREMENT"]
    assert fine.data["sku"]["price"]["userErrors"] == [] and fine.data["sku"]["price"]["unitPrice"]

    cart = await e2e.query(
        """query($lines: [CartLineInput!]!) { cartPrices(lines: $lines) {
             total { amount } lines { index price { userErrors { field code } } } } }""",
        {"lines": [{"skuId": sku, "quantity": 10}, {"skuId": sku, "quantity": 12}]},
        token=bea,
    )
    assert cart.status == 200 and not cart.errors, cart.body
    lines = cart.data["cartPrices"]["lines"]
    assert lines[0]["price"]["userErrors"] == []
    assert [e["code"] for e in lines[1]["price"]["userErrors"]] == ["QUANTITY_NOT_MULTIPLE_OF_INCREMENT"]
