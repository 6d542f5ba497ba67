"""Inbound deduplication: off by default; when on, identical in-flight queries of principals with the same
rights and identity share one run (same response as running each), never across tenants or rights."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import graphql
import pytest

from gateway.auth.authenticate import Authenticator
from gateway.auth.layer import GatewayAuth
from gateway.auth.principal import Principal
from gateway.config import GatewayConfig
from gateway.engine import Gateway, OperationRequest
from tests.gateway.core.conftest import Shop, run

QUERY = "{ products { id name inStock shippingCost } }"


def _gateway(shop: Shop, *, inbound_dedup: bool, auth: bool = False) -> Gateway:
    # Subgraph deduplication off: what the subgraphs see is what inbound deduplication saved.
    gw = Gateway.from_supergraph_sdl(
        shop.supergraph(), subgraph_timeout=5.0, subgraph_dedup=False, inbound_dedup=inbound_dedup
    )
    if auth:
        gw.auth = GatewayAuth(gw.api_schema, gw.supergraph_schema, authenticator=Authenticator(), secret=b"s")
    return gw


@pytest.fixture
async def gateways(shop_env: Shop) -> AsyncIterator[dict[str, Gateway]]:
    gws = {
        "default": Gateway.from_supergraph_sdl(shop_env.supergraph(), subgraph_dedup=False),
        "dedup": _gateway(shop_env, inbound_dedup=True),
        "dedup+auth": _gateway(shop_env, inbound_dedup=True, auth=True),
    }
    for sg in shop_env.subgraphs.values():
        sg.delay = 0.2  # every run is still in flight when the others arrive
    yield gws
    for gw in gws.values():
        await gw.close()


def _requests(shop: Shop) -> int:
    return len(shop.subgraphs["products"].requests)


async def _as(gw: Gateway, principal: Principal, query: str = QUERY) -> dict[str, Any]:
    return await gw.execute(OperationRequest(graphql.parse(query), None, None, principal=principal))


def test_setting_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_INBOUND_DEDUP", raising=False)
    assert GatewayConfig().inbound_dedup is False
    monkeypatch.setenv("GATEWAY_INBOUND_DEDUP", "1")
    assert GatewayConfig().inbound_dedup is True


async def test_off_by_default_every_operation_runs(gateways: dict[str, Gateway], shop_env: Shop) -> None:
    gw = gateways["default"]
    assert gw.inbound_dedup is False
    await asyncio.gather(*(run(gw, QUERY) for _ in range(4)))
    assert _requests(shop_env) == 4
    assert gw.inbound_shared == 0


async def test_on_identical_operations_share_one_run(gateways: dict[str, Gateway], shop_env: Shop) -> None:
    expected = await run(gateways["default"], QUERY)
    shop_env.reset()
    for sg in shop_env.subgraphs.values():
        sg.delay = 0.2
    gw = gateways["dedup"]
    results = await asyncio.gather(*(run(gw, QUERY) for _ in range(5)))
    assert results == [expected] * 5
    assert _requests(shop_env) == 1
    assert gw.inbound_shared == 4
    # Responses are separate at the top level: the HTTP layer may add error codes to its own.
    results[0]["extra"] = True
    assert "extra" not in results[1]


async def test_different_variables_or_operations_are_not_shared(
    gateways: dict[str, Gateway], shop_env: Shop
) -> None:
    gw = gateways["dedup"]
    query = "query($id: ID!) { product(id: $id) { name } }"
    a, b, _ = await asyncio.gather(run(gw, query, {"id": "p1"}), run(gw, query, {"id": "p2"}), run(gw, QUERY))
    assert a["data"]["product"]["name"] != b["data"]["product"]["name"]
    assert _requests(shop_env) == 3
    assert gw.inbound_shared == 0


async def test_never_shared_across_tenants_or_rights(gateways: dict[str, Gateway], shop_env: Shop) -> None:
    gw = gateways["dedup+auth"]
    ta = Principal(tenant_id="ta", scopes=frozenset({"read"}), method="jwt")
    ta_again = Principal(tenant_id="ta", scopes=frozenset({"read"}), method="jwt", credential_id="other")
    tb = Principal(tenant_id="tb", scopes=frozenset({"read"}), method="jwt")
    ta_more = Principal(tenant_id="ta", scopes=frozenset({"read", "write"}), method="jwt")
    results = await asyncio.gather(*(_as(gw, p) for p in (ta, ta_again, tb, ta_more)))
    assert all(r == results[0] for r in results)
    # ta and ta_again (same rights, same identity for the subgraphs) shared; tb and ta_more ran alone.
    assert _requests(shop_env) == 3
    assert gw.inbound_shared == 1


async def test_mutations_are_never_shared(gateways: dict[str, Gateway], shop_env: Shop) -> None:
    gw = gateways["dedup"]
    mutation = 'mutation { addProduct(name: "Glue", price: 3) { id } }'
    results = await asyncio.gather(*(run(gw, mutation) for _ in range(3)))
    assert len({r["data"]["addProduct"]["id"] for r in results}) == 3
    assert gw.inbound_shared == 0


async def test_sequential_operations_are_not_cached(gateways: dict[str, Gateway], shop_env: Shop) -> None:
    gw = gateways["dedup"]
    await run(gw, QUERY)
    await run(gw, QUERY)
    assert _requests(shop_env) == 2
