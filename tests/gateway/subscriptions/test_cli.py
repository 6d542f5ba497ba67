"""`python -m gateway` mounts the subscription routes: a subscription through the real server process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest_asyncio

from shared.devstack.ports import free_port
from tests.gateway.subscriptions import market
from tests.gateway.subscriptions.conftest import WAIT, Env, eventually

_ROOT = Path(__file__).resolve().parents[3]


def _start(supergraph: Path, port: int, variables: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "--supergraph", str(supergraph), "--port", str(port)],
        cwd=_ROOT,
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def gateway_process(env: Env, tmp_path: Path) -> AsyncIterator[str]:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(env.supergraph())
    port = free_port()
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "B2B_GATEWAY_SECRET"))}
    variables.update(
        {
            "GATEWAY_GRAPHIQL": "false",
            "B2B_GATEWAY_SECRET": market.SECRET.decode(),
            "GATEWAY_LOG_LEVEL": "warning",
        }
    )
    process = _start(supergraph, port, variables)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(30):
                while True:
                    assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                    try:
                        async with session.get(f"{url}/healthcheck") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def test_subscription_through_python_m_gateway(env: Env, gateway_process: str) -> None:
    ws_url = gateway_process.replace("http://", "ws://") + "/graphql"
    async with aiohttp.ClientSession() as session:
        async with asyncio.timeout(WAIT):
            ws = await session.ws_connect(ws_url, protocols=("graphql-transport-ws",))
        async with ws:
            await ws.send_str('{"type":"connection_init"}')
            async with asyncio.timeout(WAIT):
                assert orjson.loads((await ws.receive()).data) == {"type": "connection_ack"}
            query = "subscription { orderEvents { kind order { number balance } } }"
            await ws.send_str(
                orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).decode()
            )
            await eventually(lambda: env.feed.opened == 1)
            env.feed.publish("created", "o1")
            async with asyncio.timeout(WAIT):
                message = orjson.loads((await ws.receive()).data)
            # anonymous (no credentials): the event arrives, the tenant-scoped order does not
            assert message["payload"] == {
                "data": {"orderEvents": {"kind": "created", "order": None}},
                "errors": [
                    {
                        "message": "Forbidden: this object belongs to another tenant.",
                        "path": ["orderEvents", "order"],
                        "extensions": {"code": "FORBIDDEN"},
                    }
                ],
                "extensions": {"cursor": "1"},
            }
