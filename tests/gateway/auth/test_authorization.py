"""@authenticated / @requiresScopes / @policy: unauthorized fields are removed before planning (the
subgraph owning them is never asked), come back null with UNAUTHORIZED_FIELD_OR_TYPE at their path, and
siblings keep their data; reject_unauthorized refuses the whole operation."""

from __future__ import annotations

from typing import Any

from tests.gateway.auth.conftest import Client, Market, ServeGateway
from tests.gateway.auth.keys import claims

UNAUTHORIZED = "UNAUTHORIZED_FIELD_OR_TYPE"


def _codes(body: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    return [(e["extensions"]["code"], e.get("path")) for e in body.get("errors", ())]


async def test_credit_limit_without_finance_read(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(scopes="orders:read"))
    status, body = await client.post('{ organization(id: "oa1") { name creditLimit } }', token=token)
    assert status == 200
    assert body["data"] == {"organization": {"name": "Acme Tools", "creditLimit": None}}
    assert _codes(body) == [(UNAUTHORIZED, ["organization", "creditLimit"])]
    assert market_.subgraphs["finance"].received == []  # never asked: removed before planning
    assert len(market_.subgraphs["orgs"].received) == 1


async def test_credit_limit_with_finance_read(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(scopes="finance:read"))
    _, body = await client.post('{ organization(id: "oa1") { name creditLimit } }', token=token)
    assert body == {"data": {"organization": {"name": "Acme Tools", "creditLimit": "10000.00"}}}
    assert len(market_.subgraphs["finance"].received) == 1


async def test_or_of_ands_scopes(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(scopes="finance:admin"))  # the second alternative of creditLimit
    _, body = await client.post('{ organization(id: "oa1") { creditLimit balance } }', token=token)
    # balance needs finance:read (non-null): its parent becomes null, creditLimit's value goes with it
    assert body["data"] == {"organization": None}
    assert _codes(body) == [(UNAUTHORIZED, ["organization", "balance"])]


async def test_list_paths_and_fragments(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims())
    query = """
      query { organizations { ...Money ... on Organization { alias: creditLimit } name } }
      fragment Money on Organization { creditLimit }
    """
    _, body = await client.post(query, token=token)
    assert sorted(c for c in _codes(body) if c[0] == UNAUTHORIZED) == [
        (UNAUTHORIZED, ["organizations", "@", "alias"]),
        (UNAUTHORIZED, ["organizations", "@", "creditLimit"]),
    ]
    items = [o for o in body["data"]["organizations"] if o is not None]
    assert items and all(o["creditLimit"] is None and o["alias"] is None and o["name"] for o in items)
    assert market_.subgraphs["finance"].received == []


async def test_same_field_allowed_elsewhere_in_the_operation(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims())
    _, body = await client.post('{ a: organization(id: "oa1") { creditLimit } b: me { id } }', token=token)
    assert body["data"] == {"a": {"creditLimit": None}, "b": {"id": "ua"}}


async def test_policy_tenant_admin(client: Client, market_: Market) -> None:
    query = '{ organization(id: "oa1") { name internalNotes } }'
    _, body = await client.post(query, token=market_.rsa.sign(claims(roles=["buyer"])))
    assert body["data"]["organization"] == {"name": "Acme Tools", "internalNotes": None}
    assert _codes(body) == [(UNAUTHORIZED, ["organization", "internalNotes"])]
    _, body = await client.post(query, token=market_.rsa.sign(claims(roles=["tenant_admin"])))
    assert body == {"data": {"organization": {"name": "Acme Tools", "internalNotes": "pays late"}}}


async def test_unregistered_policy_is_never_granted(serve_gateway: ServeGateway, market_: Market) -> None:
    async with serve_gateway() as c:
        c.gateway.auth.policies.register("tenant_admin", lambda p: True)  # type: ignore[union-attr]
        _, body = await c.post(
            '{ organization(id: "oa1") { internalNotes } }', token=market_.rsa.sign(claims())
        )
        assert body == {"data": {"organization": {"internalNotes": "pays late"}}}


async def test_type_level_rule_on_a_union_member(client: Client, market_: Market) -> None:
    """Invoice requires finance:read, so a field returning a union containing it is removed."""
    query = "{ search { ... on Order { number } ... on Invoice { amount } } }"
    _, body = await client.post(query, token=market_.rsa.sign(claims()))
    assert body["data"] == {"search": None} or body["data"] is None
    assert (UNAUTHORIZED, ["search"]) in _codes(body)
    assert market_.subgraphs["orders"].received == []
    _, body = await client.post(query, token=market_.rsa.sign(claims(scopes="finance:read")))
    assert body["data"] == {"search": [{"number": "A-1"}, {"amount": "120.00"}]}


async def test_mutation_requires_scope(client: Client, market_: Market) -> None:
    mutation = 'mutation { placeOrder(number: "A-9") { number } }'
    _, body = await client.post(mutation, token=market_.rsa.sign(claims()))
    assert body["data"] == {"placeOrder": None}
    assert _codes(body) == [(UNAUTHORIZED, ["placeOrder"])]
    assert market_.subgraphs["orders"].received == []  # the mutation never ran
    _, body = await client.post(mutation, token=market_.rsa.sign(claims(scopes="orders:write")))
    assert body == {"data": {"placeOrder": {"number": "A-9"}}}


async def test_reject_unauthorized_mode(serve_gateway: ServeGateway, market_: Market) -> None:
    async with serve_gateway(reject_unauthorized=True) as c:
        status, body = await c.post(
            '{ organization(id: "oa1") { name creditLimit } }', token=market_.rsa.sign(claims())
        )
        assert status == 403
        assert "data" not in body
        assert _codes(body) == [(UNAUTHORIZED, ["organization", "creditLimit"])]
        assert all(not s.received for s in market_.subgraphs.values())
        status, body = await c.post('{ organization(id: "oa1") { name } }', token=market_.rsa.sign(claims()))
        assert body == {"data": {"organization": {"name": "Acme Tools"}}}


async def test_skipped_unauthorized_field_reports_nothing(client: Client, market_: Market) -> None:
    query = 'query($x: Boolean!) { organization(id: "oa1") { name creditLimit @include(if: $x) } }'
    _, body = await client.post(query, {"x": False}, token=market_.rsa.sign(claims()))
    assert body == {"data": {"organization": {"name": "Acme Tools"}}}
    _, body = await client.post(query, {"x": True}, token=market_.rsa.sign(claims()))
    assert _codes(body) == [(UNAUTHORIZED, ["organization", "creditLimit"])]


async def test_plans_are_shared_between_principals_with_the_same_rights(
    client: Client, market_: Market
) -> None:
    query = '{ organization(id: "oa1") { name creditLimit } }'
    gateway = client.gateway
    await client.post(query, token=market_.rsa.sign(claims(sub="u1", scopes="orders:read")))
    plans = len(gateway._plans)
    await client.post(query, token=market_.rsa.sign(claims(sub="u2", scopes="orders:read catalog:read")))
    assert len(gateway._plans) == plans  # scopes the schema never mentions do not split the cache
    await client.post(query, token=market_.rsa.sign(claims(sub="u3", scopes="finance:read")))
    assert len(gateway._plans) == plans + 1


async def test_every_subgraph_request_carries_the_signed_context(client: Client, market_: Market) -> None:
    token = market_.rsa.sign(claims(scopes="finance:read", roles=["buyer"]))
    _, body = await client.post('{ order(id: "da1") { number buyer { name creditLimit } } }', token=token)
    assert body["data"]["order"]["buyer"] == {"name": "Acme Tools", "creditLimit": "10000.00"}
    received = [r for s in market_.subgraphs.values() for r in s.received]
    assert len(received) == 3
    for r in received:
        assert r.principal.tenant_id == "ta"
        assert r.principal.user_id == "ua"
        assert r.principal.scopes == ("finance:read",)
    assert all(s.refused == 0 for s in market_.subgraphs.values())


async def test_include_with_a_default_variable(client: Client, market_: Market) -> None:
    query = 'query($x: Boolean = true) { organization(id: "oa1") { name creditLimit @include(if: $x) } }'
    _, body = await client.post(query, token=market_.rsa.sign(claims()))
    assert body["data"] == {"organization": {"name": "Acme Tools", "creditLimit": None}}
    assert _codes(body) == [(UNAUTHORIZED, ["organization", "creditLimit"])]
