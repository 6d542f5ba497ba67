"""The protocols' own reference clients (graphql-ws, graphql-sse) against the gateway.

Needs node and the packages installed outside the project:
    npm install --prefix /tmp/graphql-sub-clients graphql-ws@6 graphql-sse@2 ws@8 graphql@16
(``GRAPHQL_SUB_CLIENTS`` points elsewhere); skipped without them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.gateway.subscriptions.conftest import Env, Served

_MODULES = Path(os.environ.get("GRAPHQL_SUB_CLIENTS", "/tmp/graphql-sub-clients")) / "node_modules"
_SCRIPT = Path(__file__).with_name("clients.cjs")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None
    or not all((_MODULES / name / "package.json").exists() for name in ("graphql-ws", "graphql-sse", "ws")),
    reason="node or the graphql-ws/graphql-sse clients are not installed",
)


async def test_graphql_ws_and_graphql_sse_clients(env: Env, gw: Served) -> None:
    env.feed.publish("created", "o1")
    env.feed.publish("shipped", "o2")
    process = await asyncio.create_subprocess_exec(
        "node",
        str(_SCRIPT),
        str(_MODULES),
        gw.url,
        env.token(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    got = json.loads(stdout)
    assert got["wsEvents"] == [
        {
            "data": {"orderEvents": {"kind": "created", "order": {"number": "A-1", "balance": "10.00"}}},
            "extensions": {"cursor": "1"},
        },
        {
            "data": {"orderEvents": {"kind": "shipped", "order": {"number": "A-2", "balance": "20.00"}}},
            "extensions": {"cursor": "2"},
        },
    ]
    assert got["wsQuery"] == [{"data": {"order": {"number": "A-1", "balance": "10.00"}}}]
    assert got["wsError"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert got["sseEvents"] == [got["wsEvents"][1]]
    assert got["sseQuery"] == got["wsQuery"]
