"""A three-subgraph B2B market for the auth tests: orgs, finance, orders, composed by our composer.

Two tenants ("ta", "tb"). The subgraphs deliberately do NOT filter by tenant (a buggy or bypassed
subgraph): whatever they return, the gateway's tenant guard must stop the other tenant's objects.
Each subgraph verifies the gateway's signed context like ``shared.app_factory`` does (401 without it)
and records what it received (query, variables, verified principal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import graphql
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from shared.gateway_context import HEADER, GatewayContextError, Principal, verify_context
from tests.gateway.core.subgraph_kit import KitSubgraph

SECRET = b"auth-tests-gateway-secret"
LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", '
    'import: ["@key", "@shareable", "@authenticated", "@requiresScopes", "@policy"])'
)

ORGS: dict[str, dict[str, Any]] = {
    "oa1": {
        "id": "oa1",
        "tenantId": "ta",
        "name": "Acme Tools",
        "internalNotes": "pays late",
        "parent": None,
    },
    "oa2": {"id": "oa2", "tenantId": "ta", "name": "Acme Gloves", "internalNotes": "vip", "parent": "oa1"},
    "ob1": {"id": "ob1", "tenantId": "tb", "name": "Beta Steel", "internalNotes": "secret-b", "parent": None},
    # a reference across tenants (a data bug): tenant A's org whose parent is tenant B's
    "oa3": {"id": "oa3", "tenantId": "ta", "name": "Acme Wire", "internalNotes": "new", "parent": "ob1"},
}
FINANCE: dict[str, dict[str, Any]] = {
    "oa1": {"creditLimit": "10000.00", "balance": "250.00"},
    "oa2": {"creditLimit": "5000.00", "balance": "0.00"},
    "ob1": {"creditLimit": "99999.00", "balance": "12.00"},
    "oa3": {"creditLimit": "100.00", "balance": "1.00"},
}
ORDERS: dict[str, dict[str, Any]] = {
    "da1": {"id": "da1", "tenantId": "ta", "number": "A-1", "buyer": "oa1", "total": "120.00"},
    "da2": {"id": "da2", "tenantId": "ta", "number": "A-2", "buyer": "ob1", "total": "75.50"},
    "db1": {"id": "db1", "tenantId": "tb", "number": "B-1", "buyer": "ob1", "total": "999.00"},
}
INVOICES: dict[str, dict[str, Any]] = {
    "ia1": {"id": "ia1", "tenantId": "ta", "amount": "120.00"},
}
USERS = {"ua": {"id": "ua", "tenantId": "ta", "email": "ada@acme.test", "organization": "oa1"}}

ORGS_SDL = (
    LINK
    + """
type Query {
  organization(id: ID!): Organization
  organizations: [Organization]!
  me: User @authenticated
}
type Organization @key(fields: "id") {
  id: ID!
  tenantId: ID!
  name: String!
  internalNotes: String @policy(policies: [["tenant_admin"]])
  parent: Organization
}
type User @key(fields: "id") {
  id: ID!
  tenantId: ID!
  email: String!
  organization: Organization
}
"""
)

FINANCE_SDL = (
    LINK
    + """
type Organization @key(fields: "id") {
  id: ID!
  creditLimit: String @requiresScopes(scopes: [["finance:read"], ["finance:admin"]])
  balance: String! @requiresScopes(scopes: [["finance:read"]])
}
"""
)

ORDERS_SDL = (
    LINK
    + """
type Query {
  order(id: ID!): Order
  orders: [Order]! @authenticated
  search: [SearchResult!]!
}
type Mutation {
  placeOrder(number: String!): Order @requiresScopes(scopes: [["orders:write"]])
}
type Subscription {
  orderUpdated: Order
}
union SearchResult = Order | Invoice
type Order @key(fields: "id") {
  id: ID!
  tenantId: ID!
  number: String!
  total: String
  buyer: Organization
}
type Invoice @key(fields: "id") @requiresScopes(scopes: [["finance:read"]]) {
  id: ID!
  tenantId: ID!
  amount: String!
}
type Organization @key(fields: "id", resolvable: false) {
  id: ID!
}
"""
)


def _org(org_id: str | None) -> dict[str, Any] | None:
    org = ORGS.get(org_id or "")
    if org is None:
        return None
    return {**org, "parent": _org(org["parent"])}


def _org_ref(org_id: str | None) -> dict[str, Any] | None:
    return None if org_id is None else {"__typename": "Organization", "id": org_id}


def _order(order_id: str) -> dict[str, Any] | None:
    order = ORDERS.get(order_id)
    return None if order is None else {**order, "buyer": _org_ref(order["buyer"])}


@dataclass
class Received:
    query: str
    variables: dict[str, Any]
    principal: Principal


@dataclass
class GuardedSubgraph:
    """A KitSubgraph behind the same signed-context check as ``shared.app_factory``."""

    kit: KitSubgraph
    received: list[Received] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/graphql", self._handle, methods=["POST"])])

    async def _handle(self, request: Request) -> Response:
        try:
            context = verify_context(request.headers.get(HEADER, ""), SECRET)
        except GatewayContextError as exc:
            self.refused += 1
            body = {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]}
            return Response(orjson.dumps(body), status_code=401, media_type="application/json")
        body = orjson.loads(await request.body())
        self.received.append(Received(body["query"], body.get("variables") or {}, context.principal))
        result = await graphql.graphql(
            self.kit.schema, body["query"], variable_values=body.get("variables"), root_value={}
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return Response(orjson.dumps(payload), media_type="application/json")

    def reset(self) -> None:
        self.received.clear()
        self.refused = 0


def _typed(type_name: str, fn: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    def resolve(rep: dict[str, Any]) -> Any:
        value = fn(rep)
        return None if value is None else {**value, "__typename": type_name}

    return resolve


def make_subgraphs() -> dict[str, GuardedSubgraph]:
    orgs = KitSubgraph(
        "orgs",
        ORGS_SDL,
        root={
            "Query": {
                "organization": lambda id: _org(id),
                "organizations": lambda: [_org(o) for o in ORGS],
                "me": lambda: {**USERS["ua"], "organization": _org_ref("oa1")},
            }
        },
        entities={
            "Organization": _typed("Organization", lambda rep: _org(rep["id"])),
            "User": _typed("User", lambda rep: {**USERS["ua"], "organization": _org_ref("oa1")}),
        },
    )
    finance = KitSubgraph(
        "finance",
        FINANCE_SDL,
        entities={
            "Organization": _typed("Organization", lambda rep: {"id": rep["id"], **FINANCE[rep["id"]]})
        },
    )
    orders = KitSubgraph(
        "orders",
        ORDERS_SDL,
        root={
            "Query": {
                "order": lambda id: _order(id),
                "orders": lambda: [_order(o) for o in ORDERS],
                "search": lambda: [
                    {**_order("da1"), "__typename": "Order"},  # type: ignore[dict-item]
                    {**INVOICES["ia1"], "__typename": "Invoice"},
                ],
            },
            "Mutation": {"placeOrder": lambda number: {**_order("da1"), "number": number}},  # type: ignore[dict-item]
        },
        entities={
            "Order": _typed("Order", lambda rep: _order(rep["id"])),
            "Invoice": _typed("Invoice", lambda rep: INVOICES.get(rep["id"])),
        },
    )
    _resolve_union(orders)
    return {
        "orgs": GuardedSubgraph(orgs),
        "finance": GuardedSubgraph(finance),
        "orders": GuardedSubgraph(orders),
    }


def _resolve_union(orders: KitSubgraph) -> None:
    union = orders.schema.get_type("SearchResult")
    assert isinstance(union, graphql.GraphQLUnionType)
    union.resolve_type = lambda value, *_: value["__typename"]


def supergraph(urls: dict[str, str]) -> str:
    sources = [
        SubgraphSource("orgs", urls["orgs"], ORGS_SDL),
        SubgraphSource("finance", urls["finance"], FINANCE_SDL),
        SubgraphSource("orders", urls["orders"], ORDERS_SDL),
    ]
    return compose_supergraph(sources)
