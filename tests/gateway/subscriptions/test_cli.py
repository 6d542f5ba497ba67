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

from devstack.ports import free_port
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
    await eventually(lambda: env.feed.closed == env.feed.opened)  # the client left: upstream closed


async def test_sigterm_ends_open_streams(env: Env, tmp_path: Path) -> None:
    """A deploy of the gateway: open WebSockets (closed 1012, clients retry) and SSE streams (cut after
    GATEWAY_SHUTDOWN_TIMEOUT, without `complete`: clients reconnect with Last-Event-ID) do not keep the
    process alive."""
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(env.supergraph())
    port = free_port()
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "B2B_GATEWAY_SECRET"))}
    variables.update(
        {
            "GATEWAY_GRAPHIQL": "false",
            "B2B_GATEWAY_SECRET": market.SECRET.decode(),
            "GATEWAY_SHUTDOWN_TIMEOUT": "1",
        }
    )
    process = _start(supergraph, port, variables)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(30):
                while True:
                    try:
                        async with session.get(f"{url}/healthcheck") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
            query = {"query": "subscription { orderEvents { kind } }"}
            ws = await session.ws_connect(
                url.replace("http://", "ws://") + "/graphql", protocols=("graphql-transport-ws",)
            )
            await ws.send_str('{"type":"connection_init"}')
            async with asyncio.timeout(WAIT):
                await ws.receive()
            await ws.send_str(orjson.dumps({"id": "1", "type": "subscribe", "payload": query}).decode())
            # Another document, so the two streams do not share one upstream (fanout.py).
            sse_query = {"query": "subscription Sse { orderEvents { kind } }"}
            async with session.post(
                f"{url}/graphql", json=sse_query, headers={"accept": "text/event-stream"}
            ) as sse:
                await eventually(lambda: env.feed.opened == 2)
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(WAIT):
                    closing = await ws.receive()
                    assert (closing.type, ws.close_code) == (aiohttp.WSMsgType.CLOSE, 1012)
                    received = b""
                    try:
                        async for chunk in sse.content.iter_any():
                            received += chunk
                    except aiohttp.ClientPayloadError:
                        pass  # the stream was cut
                    assert b"event: complete" not in received
                await asyncio.to_thread(process.wait, WAIT)
                # uvicorn shuts down gracefully, then re-raises the signal it caught (exit -15)
                assert process.returncode in (0, -signal.SIGTERM)
                assert process.stderr is not None and b"Traceback" not in process.stderr.read()
            await ws.close()
        await eventually(lambda: env.feed.closed >= 2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
