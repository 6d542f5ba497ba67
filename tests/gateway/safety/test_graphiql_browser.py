"""GraphiQL in headless Chromium with the safety layer at its defaults (CSRF prevention on, limits on)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from gateway.config import GatewayConfig
from tests.gateway.http.servers import serve_gateway

pytestmark = pytest.mark.asyncio(loop_scope="session")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
async def test_graphiql_works_with_csrf_prevention_and_limits(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    async with serve_gateway(GatewayConfig()) as server:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # offline but for loopback
            "--virtual-time-budget=10000", "--dump-dom", server.graphql,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        try:
            dom, _ = await asyncio.wait_for(process.communicate(), 90)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert "graphiql-execute-button" in dom.decode(errors="replace")
        endpoint = server.app.state.graphql
        # Its schema query was parsed, validated and passed the limits; nothing was refused.
        assert any("__schema" in query for query in endpoint.documents.validated)
        assert endpoint.safety.metrics.csrf_refused == 0
        assert endpoint.safety.metrics.limits_refused == 0
