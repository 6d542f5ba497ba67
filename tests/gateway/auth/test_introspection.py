"""Introspection shows a principal only what it may use, or is off (GATEWAY_INTROSPECTION=false)."""

from __future__ import annotations

from tests.gateway.auth.conftest import Client, Market, ServeGateway
from tests.gateway.auth.keys import claims

ORG_FIELDS = '{ __type(name: "Organization") { fields { name } } }'
TYPES = "{ __schema { types { name } } }"


def _names(body: dict[str, object]) -> set[str]:
    data = body["data"]
    assert isinstance(data, dict)
    return {f["name"] for f in data["__type"]["fields"]}


async def test_fields_without_scopes_are_hidden(client: Client, market_: Market) -> None:
    _, body = await client.post(ORG_FIELDS, token=market_.rsa.sign(claims()))
    assert _names(body) == {"id", "tenantId", "name", "parent"}
    _, body = await client.post(ORG_FIELDS, token=market_.rsa.sign(claims(scopes="finance:read")))
    assert _names(body) == {"id", "tenantId", "name", "parent", "creditLimit", "balance"}
    _, body = await client.post(ORG_FIELDS, token=market_.rsa.sign(claims(roles=["tenant_admin"])))
    assert "internalNotes" in _names(body)


async def test_types_and_root_fields_without_rights_are_hidden(client: Client, market_: Market) -> None:
    _, anonymous = await client.post(TYPES)
    names = {t["name"] for t in anonymous["data"]["__schema"]["types"]}
    assert "Invoice" not in names and "Organization" in names
    _, body = await client.post('{ __type(name: "Query") { fields { name } } }')
    assert "me" not in _names(body) and "search" not in _names(body)
    _, body = await client.post(TYPES, token=market_.rsa.sign(claims(scopes="finance:read")))
    assert "Invoice" in {t["name"] for t in body["data"]["__schema"]["types"]}


async def test_introspection_next_to_data_uses_the_filtered_schema(client: Client, market_: Market) -> None:
    query = '{ organization(id: "oa1") { name } __type(name: "Organization") { fields { name } } }'
    _, body = await client.post(query, token=market_.rsa.sign(claims()))
    assert body["data"]["organization"] == {"name": "Acme Tools"}
    assert "creditLimit" not in _names(body)


async def test_introspection_off(serve_gateway: ServeGateway, market_: Market) -> None:
    async with serve_gateway(introspection=False) as c:
        token = market_.rsa.sign(claims(scopes="finance:read"))
        for query in (TYPES, ORG_FIELDS, '{ organization(id: "oa1") { name } __schema { types { name } } }'):
            status, body = await c.post(query, token=token)
            assert status == 400, body
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert (await c.post("{ __typename }"))[1] == {"data": {"__typename": "Query"}}
