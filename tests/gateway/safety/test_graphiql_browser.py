"""GraphiQL in headless Chromium with the safety layer at its defaults (CSRF prevention on, limits on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from tests.gateway.http.browser import CHROMIUM, dump_dom
from tests.gateway.http.servers import serve_gateway

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
async def test_graphiql_works_with_csrf_prevention_and_limits(tmp_path: Path) -> None:
    async with serve_gateway(GatewayConfig()) as server:
        assert "graphiql-execute-button" in await dump_dom(server.graphql, tmp_path / "profile")
        endpoint = server.app.state.graphql
        # Its schema query was parsed, validated and passed the limits; nothing was refused.
        assert any("__schema" in query for query in endpoint.documents.validated)
        assert endpoint.safety.metrics.csrf_refused == 0
        assert endpoint.safety.metrics.limits_refused == 0
