"""GraphiQL: served to browsers from the gateway's own files, with no URL outside the gateway."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from gateway.http.graphiql import ASSETS_DIR, ASSETS_PATH
from tests.gateway.http.browser import CHROMIUM, dump_dom
from tests.gateway.http.servers import GatewayServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def _page(http: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with http.get(url, headers={"accept": BROWSER_ACCEPT}) as response:
        return response.status, response.headers["content-type"], await response.text()


async def test_browser_gets_graphiql(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    status, content_type, html = await _page(http, gateway_server.graphql)
    assert status == 200
    assert content_type.startswith("text/html")
    assert "GraphiQL" in html
    # Everything the page loads is relative to the gateway: no CDN, nothing from the internet.
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith(ASSETS_PATH) or s.startswith("data:") for s in sources), sources
    assert "http://" not in html and "https://" not in html


async def test_assets_are_served_compressed(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    _, _, html = await _page(http, gateway_server.graphql)
    for source in re.findall(rf'(?:src|href)="({ASSETS_PATH}[^"]+)"', html):
        async with http.get(gateway_server.url + source, headers={"accept-encoding": "gzip"}) as response:
            assert response.status == 200, source
            assert response.headers.get("content-encoding") == "gzip", source
            body = await response.read()
        assert body == (ASSETS_DIR / Path(source).name).read_bytes()


async def test_json_clients_and_queries_do_not_get_html(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    async with http.get(
        gateway_server.graphql, params={"query": "{ __typename }"}, headers={"accept": BROWSER_ACCEPT}
    ) as response:
        assert response.status == 200
        assert await response.json(content_type=None) == {"data": {"__typename": "Query"}}
    async with http.get(gateway_server.graphql, headers={"accept": "application/json"}) as response:
        assert response.status == 400
        assert (await response.json())["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
async def test_graphiql_renders_offline_in_chromium(gateway_server: GatewayServer, tmp_path: Path) -> None:
    text = await dump_dom(gateway_server.graphql, tmp_path / "profile")
    assert "graphiql-container" in text, text[:2000]
    assert "graphiql-execute-button" in text
    assert "Loading GraphiQL" not in text
    # GraphiQL fetched the schema through the endpoint: its introspection query went through the parser.
    parsed = gateway_server.app.state.graphql.documents.parsed
    assert any("__schema" in query for query in parsed), "GraphiQL never sent its introspection query"
