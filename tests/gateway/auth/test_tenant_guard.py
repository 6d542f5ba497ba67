"""Tenant guard: tenant A's principal gets nothing of tenant B, whatever the path (root field, nested
reference, lists, _entities smuggled in a request), even from subgraphs that do not filter by tenant."""

from __future__ import annotations

from typing import Any

from tests.gateway.auth.conftest import Client, Market
from tests.gateway.auth.keys import claims

FORBIDDEN = "FORBIDDEN"


def _codes(body: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(e["extensions"]["code"], e.get("path")) for e in body.get("errors", ())]


def _no_tenant_b(value: Any) -> None:
    text = repr(value)
    for marker in ("tb", "ob1", "db1", "Beta Steel", "B-1", "secret-b", "99999.00"):
        assert marker not in text, (marker, value)


async def test_root_field_of_another_tenant(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="ta", scopes="finance:read"))
    status, body = await client.post('{ order(id: "db1") { id number total } }', token=token)
    assert status == 200
    assert body["data"] == {"order": None}
    assert _codes(body) == [(FORBIDDEN, ["order"])]
    _no_tenant_b(body)
    assert client.gateway.auth is not None and client.gateway.auth.metrics.tenant_guard_blocked == 1
    assert "\ngateway_tenant_guard_blocked_total " in await client.metrics()  # process-wide counter


async def test_own_tenant_passes_and_tenant_id_is_not_leaked(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="ta"))
    _, body = await client.post('{ order(id: "da1") { number } }', token=token)
    assert body == {"data": {"order": {"number": "A-1"}}}  # tenantId fetched for the guard, not shown
    sent = market_.subgraphs["orders"].received[0].query
    assert "tenantId" in sent
    _, body = await client.post('{ order(id: "da1") { number tenantId } }', token=token)
    assert body == {"data": {"order": {"number": "A-1", "tenantId": "ta"}}}


async def test_nested_reference_to_another_tenant(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="ta", scopes="finance:read"))
    query = '{ order(id: "da2") { number buyer { name creditLimit } } }'  # da2 (ta) -> buyer ob1 (tb)
    _, body = await client.post(query, token=token)
    assert body["data"] == {"order": {"number": "A-2", "buyer": None}}
    assert _codes(body) == [(FORBIDDEN, ["order", "buyer"])]
    _no_tenant_b(body)


async def test_nested_non_entity_path(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="ta"))
    _, body = await client.post('{ organization(id: "oa3") { name parent { name } } }', token=token)
    assert body["data"] == {"organization": {"name": "Acme Wire", "parent": None}}
    assert _codes(body) == [(FORBIDDEN, ["organization", "parent"])]


async def test_lists_keep_own_tenant_items(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="ta"))
    _, body = await client.post("{ orders { number } }", token=token)
    assert body["data"] == {"orders": [{"number": "A-1"}, {"number": "A-2"}, None]}
    assert _codes(body) == [(FORBIDDEN, ["orders", 2])]


async def test_tenant_b_sees_only_tenant_b(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="tb", org="ob1"))
    _, body = await client.post("{ orders { number } }", token=token)
    assert body["data"] == {"orders": [None, None, {"number": "B-1"}]}


async def test_anonymous_sees_no_tenant_data(client: Client, market_: Market) -> None:
    _, body = await client.post('{ organization(id: "oa1") { name } }')
    assert body["data"] == {"organization": None}
    assert _codes(body) == [(FORBIDDEN, ["organization"])]


async def test_union_members_are_guarded(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="tb", scopes="finance:read"))
    _, body = await client.post(
        "{ search { ... on Order { number } ... on Invoice { amount } } }", token=token
    )
    # search: [SearchResult!]! -> a forbidden item nulls the list, which nulls data (GraphQL rules)
    assert body["data"] is None
    assert (FORBIDDEN, ["search", 0]) in _codes(body)
    _no_tenant_b({"x": "A-1"})  # sanity of the helper


async def test_entities_smuggled_in_a_client_request(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="ta"))
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { number total } } }"""
    status, body = await client.post(query, {"r": [{"__typename": "Order", "id": "db1"}]}, token=token)
    assert status == 400
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert all(not s.received for s in market_.subgraphs.values())
    status, body = await client.post("{ _service { sdl } }", token=token)
    assert status == 400
    assert all(not s.received for s in market_.subgraphs.values())


async def test_reserved_alias_cannot_feed_the_guard(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(tenant="ta"))
    status, body = await client.post('{ order(id: "db1") { _gatewayTenantId: number number } }', token=token)
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert all(not s.received for s in market_.subgraphs.values())
