"""Identical in-flight subgraph queries share one HTTP call; results are the non-deduplicated ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import graphql
import pytest

from gateway.auth.authenticate import Authenticator
from gateway.auth.layer import GatewayAuth
from gateway.auth.principal import Principal
from gateway.engine import Gateway, OperationRequest
from tests.gateway.core.conftest import Shop, run

QUERY = "{ products { id name inStock shippingCost } }"


@pytest.fixture
async def gateways(shop_env: Shop) -> AsyncIterator[tuple[Gateway, Gateway]]:
    deduplicating = Gateway.from_supergraph_sdl(shop_env.supergraph(), subgraph_timeout=5.0)
    plain = Gateway.from_supergraph_sdl(shop_env.supergraph(), subgraph_timeout=5.0, subgraph_dedup=False)
    yield deduplicating, plain
    await deduplicating.close()
    await plain.close()


async def test_concurrent_identical_queries_share_subgraph_calls(
    gateways: tuple[Gateway, Gateway], shop_env: Shop
) -> None:
    deduplicating, plain = gateways
    expected = await run(plain, QUERY)
    shop_env.reset()
    for sg in shop_env.subgraphs.values():
        sg.delay = 0.2  # every call is still in flight when the other operations ask for it
    results = await asyncio.gather(*(run(deduplicating, QUERY) for _ in range(10)))
    assert all(r == expected for r in results)
    assert len(shop_env.subgraphs["products"].requests) == 1
    assert len(shop_env.subgraphs["inventory"].requests) == 1
    assert deduplicating.client.calls == 2


async def test_results_are_not_shared_objects(gateways: tuple[Gateway, Gateway], shop_env: Shop) -> None:
    deduplicating, _ = gateways
    shop_env.subgraphs["products"].delay = 0.2
    first, second = await asyncio.gather(run(deduplicating, QUERY), run(deduplicating, QUERY))
    assert first == second
    first["data"]["products"][0]["name"] = "changed"
    assert second["data"]["products"][0]["name"] == "Nitrile gloves"


async def test_off_switch_sends_every_call(gateways: tuple[Gateway, Gateway], shop_env: Shop) -> None:
    _, plain = gateways
    shop_env.subgraphs["products"].delay = 0.2
    await asyncio.gather(*(run(plain, QUERY) for _ in range(3)))
    assert len(shop_env.subgraphs["products"].requests) == 3


async def test_calls_made_for_different_headers_are_not_shared(
    gateways: tuple[Gateway, Gateway], shop_env: Shop
) -> None:
    deduplicating, _ = gateways
    shop_env.subgraphs["products"].delay = 0.2
    doc = graphql.parse(QUERY)
    await asyncio.gather(
        *(
            deduplicating.execute(OperationRequest(doc, None, None), extra_subgraph_headers={"x-tenant": t})
            for t in ("a", "b", "a")
        )
    )
    assert len(shop_env.subgraphs["products"].requests) == 2


async def test_sequential_queries_are_not_cached(gateways: tuple[Gateway, Gateway], shop_env: Shop) -> None:
    deduplicating, _ = gateways
    await run(deduplicating, QUERY)
    await run(deduplicating, QUERY)
    assert len(shop_env.subgraphs["products"].requests) == 2


async def test_mutations_are_never_shared(gateways: tuple[Gateway, Gateway], shop_env: Shop) -> None:
    deduplicating, _ = gateways
    for sg in shop_env.subgraphs.values():
        sg.delay = 0.2
    mutation = 'mutation { addProduct(name: "Tape", price: 2) { id name inStock } }'
    results = await asyncio.gather(*(run(deduplicating, mutation) for _ in range(3)))
    assert len({r["data"]["addProduct"]["id"] for r in results}) == 3
    assert len(shop_env.subgraphs["products"].requests) == 3
    # Even the reads that follow each mutation (identical bodies or not) are their own.
    assert len(shop_env.subgraphs["inventory"].requests) == 3


async def test_with_auth_shared_per_identity_never_across_tenants(shop_env: Shop) -> None:
    gw = Gateway.from_supergraph_sdl(shop_env.supergraph(), subgraph_timeout=5.0)
    gw.auth = GatewayAuth(gw.api_schema, gw.supergraph_schema, authenticator=Authenticator(), secret=b"s")
    shop_env.subgraphs["products"].delay = 0.2
    doc = graphql.parse(QUERY)
    ta = Principal(tenant_id="ta", method="jwt")
    tb = Principal(tenant_id="tb", method="jwt")
    try:
        # Each call carries its own signed context (a fresh nonce): shared by identity, not header bytes.
        requests = [OperationRequest(doc, None, None, principal=p) for p in (ta, ta, tb)]
        await asyncio.gather(*(gw.execute(r) for r in requests))
    finally:
        await gw.close()
    assert len(shop_env.subgraphs["products"].requests) == 2
