"""The pricing subgraph end to end on the real PostgreSQL (application role, RLS): price choice
through `Sku.price`, quantity rules as userErrors, cart batch resolution, tenant isolation."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
from sqlalchemy import event

from tests.subgraphs.pricing.helpers import (
    ASSIGN,
    CREATE_LIST,
    SET_RULE,
    Tenant,
    add_break,
    make_list,
)

PRICE = """
query($reps: [_Any!]!, $q: Int!) {
  _entities(representations: $reps) {
    ... on Sku {
      id
      price(quantity: $q) {
        unitPrice { amount currency } lineTotal { amount currency } source priceListName
        breakMinQuantity assignedOrganizationId explanation quantityRule { minimum maximum increment }
        userErrors { field message code }
      }
    }
  }
}"""
CART = """
query($lines: [CartLineInput!]!, $currency: String) {
  cartPrices(lines: $lines, currency: $currency) {
    currency total { amount currency }
    lines { index skuId quantity price { unitPrice { amount } lineTotal { amount } source priceListName } }
    userErrors { field message code }
  }
}"""


async def price_of(t: Tenant, buyer: uuid.UUID, sku: uuid.UUID, quantity: int) -> dict[str, Any]:
    data = await t.gql(PRICE, {"reps": [{"__typename": "Sku", "id": str(sku)}], "q": quantity}, org=buyer)
    result: dict[str, Any] = data["_entities"][0]["price"]
    return result


async def test_price_choice_for_every_hierarchy_priority_validity_and_break(tenant: Tenant) -> None:
    t = tenant
    sku, contract_sku, base_only = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await make_list(t, "base", {1: "20", 10: "19", 100: "18"}, sku, kind="BASE", priority=1000)
    base = await t.as_seller(CREATE_LIST, {"input": {"name": "base2", "currency": "EUR", "kind": "BASE"}})
    base2 = base["priceListCreate"]["priceList"]["id"]
    await add_break(t, base2, base_only, 1, "30")
    await add_break(t, base2, contract_sku, 1, "31")
    await make_list(t, "company low", {1: "15", 10: "14.5", 100: "14"}, sku, to=(t.company,), priority=3)
    await make_list(t, "company high", {1: "16", 10: "15.5"}, sku, to=(t.company,), priority=5)
    await make_list(
        t, "company expired", {1: "1"}, sku, to=(t.company,), priority=99,
        valid_from="2020-01-01T00:00:00Z", valid_to="2021-01-01T00:00:00Z",
    )  # fmt: skip
    await make_list(
        t, "company future", {1: "2"}, sku, to=(t.company,), priority=99, valid_from="2999-01-01T00:00:00Z"
    )
    await make_list(t, "company usd", {1: "3"}, sku, to=(t.company,), priority=99, currency="USD")
    await make_list(t, "unit", {1: "17", 100: "12"}, sku, to=(t.unit,), priority=0)
    await make_list(t, "contract", {1: "9.9900"}, contract_sku, kind="CONTRACT", to=(t.company,))
    await make_list(t, "other buyer", {1: "5"}, sku, to=(t.other,), priority=50)

    # (buyer, sku, quantity) -> (list, unit price, source, break)
    expected = {
        # the unit's own list beats the company lists whatever their priority; its break at 100
        (t.subunit, sku, 1): ("unit", "17.0000", "PRICE_LIST", 1),
        (t.subunit, sku, 10): ("unit", "17.0000", "PRICE_LIST", 1),
        (t.subunit, sku, 100): ("unit", "12.0000", "PRICE_LIST", 100),
        (t.unit, sku, 99): ("unit", "17.0000", "PRICE_LIST", 1),
        # the company: the higher priority of the valid lists (expired/future/USD ones skipped)
        (t.company, sku, 1): ("company high", "16.0000", "PRICE_LIST", 1),
        (t.company, sku, 10): ("company high", "15.5000", "PRICE_LIST", 10),
        (t.company, sku, 100): ("company high", "15.5000", "PRICE_LIST", 10),
        # a contract beats everything, inherited down the tree
        (t.subunit, contract_sku, 1): ("contract", "9.9900", "CONTRACT", 1),
        (t.company, contract_sku, 50): ("contract", "9.9900", "CONTRACT", 1),
        # another buyer gets its own list, and the contract of the company does not reach it
        (t.other, sku, 1): ("other buyer", "5.0000", "PRICE_LIST", 1),
        (t.other, contract_sku, 1): ("base2", "31.0000", "BASE", 1),
        # no assigned list has the SKU: the base list, its breaks
        (t.company, base_only, 1): ("base2", "30.0000", "BASE", 1),
        (t.seller, sku, 10): ("base", "19.0000", "BASE", 10),
        (t.seller, sku, 100): ("base", "18.0000", "BASE", 100),
    }
    for (buyer, sku_id, qty), (name, amount, source, brk) in expected.items():
        price = await price_of(t, buyer, sku_id, qty)
        assert price["userErrors"] == [], (name, price)
        got = (
            price["priceListName"],
            price["unitPrice"]["amount"],
            price["source"],
            price["breakMinQuantity"],
        )
        assert got == (name, amount, source, brk), (buyer, qty, got)
        assert price["unitPrice"]["currency"] == "EUR"
    unit_price = await price_of(t, t.subunit, sku, 100)
    assert unit_price["lineTotal"] == {"amount": "1200.00", "currency": "EUR"}
    assert unit_price["assignedOrganizationId"] == str(t.unit)
    assert "inherited" in unit_price["explanation"]


async def test_quantity_rule_violation_is_a_user_error(tenant: Tenant) -> None:
    t = tenant
    sku = uuid.uuid4()
    list_id = await make_list(t, "list", {1: "2.50"}, sku, to=(t.company,))
    rule = await t.as_seller(
        SET_RULE,
        {"input": {"skuId": str(sku), "priceListId": list_id, "minimum": 10, "maximum": 100, "increment": 5}},
    )
    assert rule["quantityRuleSet"] == {
        "quantityRule": {"minimum": 10, "maximum": 100, "increment": 5},
        "userErrors": [],
    }
    bad_rule = await t.as_seller(SET_RULE, {"input": {"skuId": str(sku), "minimum": 3, "increment": 2}})
    assert bad_rule["quantityRuleSet"]["userErrors"] == [
        {"field": ["minimum"], "code": "INVALID_QUANTITY_RULE"}
    ]

    for qty, code in [
        (5, "QUANTITY_BELOW_MINIMUM"),
        (105, "QUANTITY_ABOVE_MAXIMUM"),
        (12, "QUANTITY_NOT_MULTIPLE_OF_INCREMENT"),
    ]:
        price = await price_of(t, t.unit, sku, qty)
        assert price["unitPrice"] is None
        assert [(e["code"], e["field"]) for e in price["userErrors"]] == [(code, ["quantity"])]
    ok = await price_of(t, t.unit, sku, 15)
    assert ok["lineTotal"]["amount"] == "37.50" and ok["quantityRule"]["increment"] == 5

    cart = (
        await t.gql(
            CART,
            {"lines": [{"skuId": str(sku), "quantity": 20}, {"skuId": str(sku), "quantity": 7},
                       {"skuId": str(uuid.uuid4()), "quantity": 1}]},
            org=t.company,
        )
    )["cartPrices"]  # fmt: skip
    assert cart["total"] == {"amount": "50.00", "currency": "EUR"}
    assert [(e["code"], e["field"]) for e in cart["userErrors"]] == [
        ("QUANTITY_BELOW_MINIMUM", ["lines", "1", "quantity"]),
        ("NO_PRICE", ["lines", "2", "skuId"]),
    ]
    # a seller without the scope cannot set rules (the gateway checks @requiresScopes too)
    denied = await t.gql(SET_RULE, {"input": {"skuId": str(sku)}}, org=t.seller)
    assert denied["quantityRuleSet"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_price_list_admin_errors_and_idempotency(tenant: Tenant) -> None:
    t = tenant
    first = await t.as_seller(
        CREATE_LIST, {"input": {"name": "Spring", "currency": "eur", "idempotencyKey": "k1"}}
    )
    again = await t.as_seller(
        CREATE_LIST, {"input": {"name": "Spring", "currency": "EUR", "idempotencyKey": "k1"}}
    )
    assert first["priceListCreate"]["priceList"]["id"] == again["priceListCreate"]["priceList"]["id"]
    assert first["priceListCreate"]["priceList"]["currency"] == "EUR"
    cases = [
        ({"name": "x", "currency": "ABC"}, "UNSUPPORTED_CURRENCY", ["currency"]),
        ({"name": " ", "currency": "EUR"}, "INVALID_INPUT", ["name"]),
        (
            {
                "name": "x",
                "currency": "EUR",
                "validFrom": "2027-01-01T00:00:00Z",
                "validTo": "2026-01-01T00:00:00Z",
            },
            "INVALID_VALIDITY",
            ["validTo"],
        ),
    ]
    for payload, code, field in cases:
        result = await t.as_seller(CREATE_LIST, {"input": payload})
        assert result["priceListCreate"]["priceList"] is None
        assert [(e["code"], e["field"]) for e in result["priceListCreate"]["userErrors"]] == [(code, field)]

    base = await t.as_seller(CREATE_LIST, {"input": {"name": "b", "currency": "EUR", "kind": "BASE"}})
    base_id = base["priceListCreate"]["priceList"]["id"]
    res = await t.as_seller(ASSIGN, {"input": {"priceListId": base_id, "organizationIds": [str(t.company)]}})
    assert res["priceListAssign"]["userErrors"][0]["code"] == "BASE_LIST_NOT_ASSIGNABLE"
    contract = await t.as_seller(CREATE_LIST, {"input": {"name": "c", "currency": "EUR", "kind": "CONTRACT"}})
    contract_id = contract["priceListCreate"]["priceList"]["id"]
    res = await t.as_seller(
        ASSIGN, {"input": {"priceListId": contract_id, "organizationIds": [str(t.company), str(t.other)]}}
    )
    assert res["priceListAssign"]["userErrors"][0]["code"] == "CONTRACT_ALREADY_ASSIGNED"
    res = await t.as_seller(
        ASSIGN, {"input": {"priceListId": contract_id, "organizationIds": [str(uuid.uuid4())]}}
    )
    assert res["priceListAssign"]["userErrors"][0] == {
        "field": ["organizationIds", "0"],
        "message": "Unknown organization.",
        "code": "ORGANIZATION_NOT_FOUND",
    }
    res = await t.as_seller(ASSIGN, {"input": {"priceListId": "nope", "organizationIds": []}})
    assert res["priceListAssign"]["userErrors"][0]["code"] == "INVALID_INPUT"
    brk = await t.as_seller(
        "mutation($i: PriceBreakSetInput!) { priceBreakSet(input: $i) { userErrors { field code } } }",
        {"i": {"priceListId": base_id, "skuId": str(uuid.uuid4()), "amount": "1.23456"}},
    )
    assert brk["priceBreakSet"]["userErrors"] == [{"field": ["amount"], "code": "AMOUNT_PRECISION"}]
    # nothing half-written: the failed contract assignment left no assignment behind
    lists = await t.as_seller(
        "{ priceLists(first: 50) { totalCount edges { node { name assignedOrganizationIds } } } }"
    )
    by_name = {e["node"]["name"]: e["node"]["assignedOrganizationIds"] for e in lists["priceLists"]["edges"]}
    assert by_name["c"] == [] and lists["priceLists"]["totalCount"] == 3


async def test_buyer_sees_only_its_lists_and_other_tenants_see_nothing(tenant: Tenant) -> None:
    t = tenant
    sku = uuid.uuid4()
    await make_list(t, "mine", {1: "1"}, sku, to=(t.company,))
    await make_list(t, "theirs", {1: "1"}, sku, to=(t.other,))
    await make_list(t, "base", {1: "2"}, sku, kind="BASE")
    query = "{ priceLists { totalCount edges { node { name } } } }"
    names = [e["node"]["name"] for e in (await t.gql(query, org=t.unit))["priceLists"]["edges"]]
    assert names == ["base", "mine"]
    assert (await t.as_seller(query))["priceLists"]["totalCount"] == 3
    stranger = uuid.uuid4()
    other_tenant = await t.gql(query, org=t.company, tenant=stranger, scopes=("pricing:write",))
    assert other_tenant["priceLists"] == {"totalCount": 0, "edges": []}
    price = await t.gql(
        PRICE, {"reps": [{"__typename": "Sku", "id": str(sku)}], "q": 1}, org=t.company, tenant=stranger
    )
    assert price["_entities"][0]["price"]["userErrors"][0]["code"] == "NO_PRICE"


async def test_cart_batch_resolution_uses_a_bounded_number_of_statements(tenant: Tenant) -> None:
    t = tenant
    skus = [uuid.uuid4() for _ in range(40)]
    base = await t.as_seller(CREATE_LIST, {"input": {"name": "base", "currency": "EUR", "kind": "BASE"}})
    base_id = base["priceListCreate"]["priceList"]["id"]
    list_id = await make_list(t, "unit", {}, skus[0], to=(t.unit,))
    for i, sku in enumerate(skus):
        await add_break(t, base_id, sku, 1, f"{10 + i}.25")
        if i % 2:
            await add_break(t, list_id, sku, 1, f"{5 + i}.50")
            await add_break(t, list_id, sku, 10, f"{4 + i}.50")

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = t.db.engine.sync_engine

    async def run(n: int) -> tuple[int, dict[str, Any]]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            lines = [{"skuId": str(s), "quantity": 10} for s in skus[:n]]
            data = await t.gql(CART, {"lines": lines}, org=t.subunit)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(
            [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
        ), data

    small, small_data = await run(2)
    large, large_data = await run(40)
    assert small == large <= 6, statements
    cart = large_data["cartPrices"]
    assert cart["userErrors"] == [] and len(cart["lines"]) == 40
    assert cart["lines"][1]["price"]["priceListName"] == "unit"
    assert cart["lines"][1]["price"]["unitPrice"]["amount"] == "5.5000"
    assert cart["lines"][0]["price"]["source"] == "BASE"
    expected_total = sum(
        ((4 + i + 0.5) if i % 2 else (10 + i + 0.25)) * 10 for i in range(40)
    )  # exact here: quarter values times ten
    assert cart["total"]["amount"] == f"{expected_total:.2f}"
    assert small_data["cartPrices"]["total"]["amount"] == "157.50"  # 10.25 x 10 + 5.50 x 10


async def test_product_price_range(tenant: Tenant) -> None:
    t = tenant
    product = uuid.uuid4()
    skus = [uuid.uuid4() for _ in range(3)]
    base = await t.as_seller(CREATE_LIST, {"input": {"name": "base", "currency": "EUR", "kind": "BASE"}})
    base_id = base["priceListCreate"]["priceList"]["id"]
    for sku, amount in zip(skus, ["3.10", "7.25", "5"], strict=True):
        await add_break(t, base_id, sku, 1, amount, product)
    await make_list(t, "unit", {1: "1.99"}, skus[2], to=(t.unit,), product=product)
    query = """query($reps: [_Any!]!) { _entities(representations: $reps) {
        ... on Product { priceRange { min { amount currency } max { amount } } } } }"""
    reps = {
        "reps": [
            {"__typename": "Product", "id": str(product)},
            {"__typename": "Product", "id": str(uuid.uuid4())},
        ]
    }
    company = (await t.gql(query, reps, org=t.company))["_entities"]
    assert company[0]["priceRange"] == {
        "min": {"amount": "3.1000", "currency": "EUR"},
        "max": {"amount": "7.2500"},
    }
    assert company[1]["priceRange"] is None
    unit = (await t.gql(query, reps, org=t.unit))["_entities"]
    assert unit[0]["priceRange"]["min"]["amount"] == "1.9900"


async def test_bad_arguments_are_client_errors_and_entities_resolve(tenant: Tenant) -> None:
    t = tenant
    from shared.testing import gateway_headers, graphql

    list_id = await make_list(t, "l", {1: "1"}, uuid.uuid4(), to=(t.company,))
    headers = gateway_headers(t.id, organization_id=t.seller, scopes=["pricing:write"])
    garbage_cursor = base64.urlsafe_b64encode(orjson.dumps(["x", "not-a-uuid"])).decode()
    for query in (
        f'{{ priceLists(after: "{garbage_cursor}") {{ totalCount }} }}',
        f'{{ quotes(after: "{garbage_cursor}") {{ totalCount }} }}',
        '{ priceLists(after: "%%%") { totalCount } }',
        "{ priceLists(first: 1000) { totalCount } }",
    ):
        status, body = await graphql(t.url, query, headers=headers)
        assert status == 200 and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    entities = await t.as_seller(
        """query($reps: [_Any!]!) { _entities(representations: $reps) {
             ... on PriceList { id name assignedOrganizationIds prices { minQuantity unitPrice { amount } } }
             ... on Quote { id } } }""",
        {
            "reps": [
                {"__typename": "PriceList", "id": list_id},
                {"__typename": "PriceList", "id": "garbage"},
                {"__typename": "Quote", "id": str(uuid.uuid4())},
            ]
        },
    )
    first, missing, quote = entities["_entities"]
    assert first["name"] == "l" and first["assignedOrganizationIds"] == [str(t.company)]
    assert first["prices"] == [{"minQuantity": 1, "unitPrice": {"amount": "1.0000"}}]
    assert missing is None and quote is None
    assert (await t.gql('{ quote(id: "nope") { id } }', org=t.company))["quote"] is None
    negative = await price_of(t, t.company, uuid.uuid4(), 0)
    assert negative["userErrors"][0]["code"] == "INVALID_QUANTITY"
    no_principal_org = await t.gql(
        "query($l: [CartLineInput!]!) { cartPrices(lines: $l) { userErrors { field code } } }",
        {"l": [{"skuId": "bad", "quantity": 1}]},
    )
    assert no_principal_org["cartPrices"]["userErrors"] == [
        {"field": ["lines", "0", "skuId"], "code": "INVALID_INPUT"}
    ]
