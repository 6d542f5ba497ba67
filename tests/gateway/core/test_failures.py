"""A subgraph that is down or too slow gives partial data plus coded errors, never an exception."""

from __future__ import annotations

from gateway.engine import Gateway
from tests.gateway.core.conftest import Shop, closed_port_url, run


async def test_down_subgraph_gives_partial_data(shop_env: Shop) -> None:
    gw = Gateway.from_supergraph_sdl(shop_env.supergraph(inventory=closed_port_url()), subgraph_timeout=2.0)
    try:
        res = await run(gw, "{ products { id name inStock } }")
    finally:
        await gw.close()
    assert res["data"] == {
        "products": [
            {"id": "p1", "name": "Nitrile gloves", "inStock": None},
            {"id": "p2", "name": "Cordless drill", "inStock": None},
            {"id": "p3", "name": "Angle grinder", "inStock": None},
        ]
    }
    [error] = res["errors"]
    assert error["extensions"] == {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "inventory"}
    assert error["path"] == ["products"]  # the merge point of the failed entity fetch


async def test_down_root_subgraph(shop_env: Shop) -> None:
    gw = Gateway.from_supergraph_sdl(shop_env.supergraph(users=closed_port_url()), subgraph_timeout=2.0)
    try:
        res = await run(gw, "{ me { name } products { id } }")
    finally:
        await gw.close()
    assert res["data"] == {"me": None, "products": [{"id": "p1"}, {"id": "p2"}, {"id": "p3"}]}
    assert res["errors"][0]["extensions"]["code"] == "SUBREQUEST_HTTP_ERROR"


async def test_slow_subgraph_times_out(shop_env: Shop) -> None:
    shop_env.subgraphs["inventory"].delay = 1.0
    gw = Gateway.from_supergraph_sdl(shop_env.supergraph(), subgraph_timeout=0.2)
    try:
        res = await run(gw, "{ products { id inStock } }")
    finally:
        await gw.close()
    assert res["data"]["products"][0] == {"id": "p1", "inStock": None}
    [error] = res["errors"]
    assert error["extensions"] == {"code": "GATEWAY_TIMEOUT", "serviceName": "inventory"}


async def test_entities_call_failing_as_a_whole_reports_at_the_merge_point(shop_env: Shop) -> None:
    inventory = shop_env.subgraphs["inventory"]
    original = inventory.entities["Product"]

    def refuse(rep: dict[str, object]) -> object:
        raise RuntimeError("You should be using another subgraph!")

    inventory.entities["Product"] = refuse
    gw = Gateway.from_supergraph_sdl(shop_env.supergraph())
    try:
        res = await run(gw, "{ products { id inStock } }")
    finally:
        inventory.entities["Product"] = original
        await gw.close()
    assert [p["inStock"] for p in res["data"]["products"]] == [None, None, None]
    [error] = res["errors"]
    assert error["message"] == "You should be using another subgraph!"
    assert error["path"] == ["products"]  # the subgraph said ["_entities"]: where its objects merge
