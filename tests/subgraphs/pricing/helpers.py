"""GraphQL helpers of the pricing tests: a tenant with its organizations, requests signed the way
the gateway signs them, and shortcuts to build price lists through the mutations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shared.db import Database
from shared.testing import gateway_headers, graphql


@dataclass
class Tenant:
    """A fresh tenant: SELLER (supplier), COMPANY (buyer) > UNIT > SUBUNIT, and OTHER (buyer)."""

    url: str
    db: Database
    id: uuid.UUID
    seller: uuid.UUID
    company: uuid.UUID
    unit: uuid.UUID
    subunit: uuid.UUID
    other: uuid.UUID
    platform: uuid.UUID

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        org: uuid.UUID | None = None,
        scopes: tuple[str, ...] = (),
        tenant: uuid.UUID | None = None,
        user: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        headers = gateway_headers(
            tenant or self.id, organization_id=org, scopes=scopes, user_id=user or uuid.uuid4()
        )
        status, body = await graphql(self.url, query, variables, headers=headers)
        assert status == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def as_seller(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.gql(query, variables, org=self.seller, scopes=("pricing:write",))


CREATE_LIST = """
mutation($input: PriceListCreateInput!) {
  priceListCreate(input: $input) { priceList { id name kind currency } userErrors { field message code } }
}"""
ASSIGN = """
mutation($input: PriceListAssignInput!) {
  priceListAssign(input: $input) {
    priceList { id assignedOrganizationIds } userErrors { field message code }
  }
}"""
SET_BREAK = """
mutation($input: PriceBreakSetInput!) {
  priceBreakSet(input: $input) {
    price { minQuantity unitPrice { amount currency } } userErrors { field code }
  }
}"""
SET_RULE = """
mutation($input: QuantityRuleSetInput!) {
  quantityRuleSet(input: $input) { quantityRule { minimum maximum increment } userErrors { field code } }
}"""


async def make_list(
    t: Tenant,
    name: str,
    breaks: dict[int, str],
    sku: uuid.UUID,
    *,
    kind: str = "STANDARD",
    to: tuple[uuid.UUID, ...] = (),
    priority: int = 0,
    valid_from: str | None = None,
    valid_to: str | None = None,
    currency: str = "EUR",
    product: uuid.UUID | None = None,
) -> str:
    data = await t.as_seller(
        CREATE_LIST,
        {
            "input": {
                "name": name,
                "currency": currency,
                "kind": kind,
                "priority": priority,
                "validFrom": valid_from,
                "validTo": valid_to,
            }
        },
    )
    payload = data["priceListCreate"]
    assert payload["userErrors"] == [], payload
    list_id: str = payload["priceList"]["id"]
    if to:
        assigned = await t.as_seller(
            ASSIGN, {"input": {"priceListId": list_id, "organizationIds": [str(o) for o in to]}}
        )
        assert assigned["priceListAssign"]["userErrors"] == []
    for min_qty, amount in breaks.items():
        await add_break(t, list_id, sku, min_qty, amount, product)
    return list_id


async def add_break(
    t: Tenant, list_id: str, sku: uuid.UUID, min_qty: int, amount: str, product: uuid.UUID | None = None
) -> None:
    result = await t.as_seller(
        SET_BREAK,
        {
            "input": {
                "priceListId": list_id,
                "skuId": str(sku),
                "minQuantity": min_qty,
                "amount": amount,
                "productId": str(product) if product else None,
            }
        },
    )
    assert result["priceBreakSet"]["userErrors"] == [], result
