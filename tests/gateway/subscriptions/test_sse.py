"""GraphQL over SSE (distinct connections mode) through the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.gateway.subscriptions.conftest import WAIT, Env, Served, ServeGateway, eventually

EVENTS = "subscription { orderEvents { kind order { number balance } } }"


class EventStream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments = 0

    async def next_event(self) -> dict[str, Any]:
        """The next event as {"event", "id", "data"}; comments (keep-alives) are counted and skipped."""
        event: dict[str, Any] = {}
        while True:
            async with asyncio.timeout(WAIT):
                raw = await self.response.content.readline()
            if not raw:
                return {"event": "eof"}
            line = raw.decode().rstrip("\n")
            if line == "":
                if event:
                    return event
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(": ")
            if name == "data":
                event["data"] = orjson.loads(value) if value else None
            else:
                event[name] = value


@contextlib.asynccontextmanager
async def sse(
    gw: Served, query: str, *, token: str | None = None, headers: dict[str, str] | None = None, **body: Any
) -> AsyncIterator[EventStream]:
    h = {"accept": "text/event-stream", **(headers or {})}
    if token is not None:
        h["authorization"] = f"Bearer {token}"
    async with gw.session.post(f"{gw.url}/graphql", json={"query": query, **body}, headers=h) as resp:
        yield EventStream(resp)


async def test_sse_events_with_ids_then_complete_when_the_subgraph_completes(env: Env, gw: Served) -> None:
    async with sse(gw, EVENTS, token=env.token()) as stream:
        assert stream.response.status == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o1")
        event = await stream.next_event()
        assert event == {
            "event": "next",
            "id": "1",
            "data": {
                "data": {"orderEvents": {"kind": "created", "order": {"number": "A-1", "balance": "10.00"}}},
                "extensions": {"cursor": "1"},
            },
        }
        env.feed.fail()  # the subgraph's stream ends with an error: next (errors), then complete
        error = await stream.next_event()
        assert (
            error["event"] == "next" and error["data"]["errors"][0]["extensions"]["serviceName"] == "orders"
        )
        assert await stream.next_event() == {"event": "complete", "data": None}
        assert await stream.next_event() == {"event": "eof"}


async def test_sse_resumes_from_last_event_id(env: Env, gw: Served) -> None:
    env.feed.publish("created", "o1")
    env.feed.publish("paid", "o1")
    env.feed.publish("shipped", "o2")
    async with sse(gw, EVENTS, token=env.token(), headers={"last-event-id": "1"}) as stream:
        kinds = [(await stream.next_event()) for _ in range(2)]
        assert [(e["id"], e["data"]["data"]["orderEvents"]["kind"]) for e in kinds] == [
            ("2", "paid"),
            ("3", "shipped"),
        ]
    async with sse(gw, EVENTS, token=env.token(), extensions={"cursor": "2"}) as stream:
        assert (await stream.next_event())["id"] == "3"


async def test_sse_get_and_query_is_one_event_then_complete(env: Env, gw: Served) -> None:
    params = {"query": '{ order(id: "o2") { number balance } }'}
    headers = {"accept": "text/event-stream", "authorization": f"Bearer {env.token()}"}
    async with gw.session.get(f"{gw.url}/graphql", params=params, headers=headers) as resp:
        stream = EventStream(resp)
        assert await stream.next_event() == {
            "event": "next",
            "data": {"data": {"order": {"number": "A-2", "balance": "20.00"}}},
        }
        assert (await stream.next_event())["event"] == "complete"


async def test_sse_refusals_are_plain_json(env: Env, gw: Served) -> None:
    async with sse(gw, "subscription { nope }") as stream:
        assert stream.response.status == 400
        body = await stream.response.json()
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    async with sse(gw, EVENTS, token="not-a-token") as stream:
        assert stream.response.status == 401
        assert (await stream.response.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert env.feed.opened == 0


async def test_sse_unauthorized_field_and_tenant_guard_per_event(env: Env, gw: Served) -> None:
    query = "subscription { orderEvents { order { number creditNote } } }"
    async with sse(gw, query, token=env.token()) as stream:
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o9")
        payload = (await stream.next_event())["data"]
        assert payload["data"] == {"orderEvents": {"order": None}}
        assert sorted(e["extensions"]["code"] for e in payload["errors"]) == [
            "FORBIDDEN",
            "UNAUTHORIZED_FIELD_OR_TYPE",
        ]


async def test_sse_keepalive_comments_and_disconnect_closes_upstream(
    env: Env, serve_gateway: ServeGateway
) -> None:
    async with serve_gateway(subscription_keepalive=0.1) as gw:
        async with sse(gw, EVENTS, token=env.token()) as stream:
            await eventually(lambda: env.feed.opened == 1)
            env.feed.publish("created", "o1")
            assert (await stream.next_event())["event"] == "next"
            assert stream.comments >= 1  # ": connected" at least
            before = stream.comments
            await asyncio.sleep(0.35)
            env.feed.publish("created", "o2")
            assert (await stream.next_event())["event"] == "next"
            assert stream.comments >= before + 2
        # the client went away: the gateway closes its subgraph subscription, the generator ends
        await eventually(lambda: env.feed.closed == 1)


async def test_plain_post_still_refuses_subscriptions(env: Env, gw: Served) -> None:
    async with gw.session.post(f"{gw.url}/graphql", json={"query": EVENTS}) as resp:
        assert resp.status == 400


async def test_sse_stream_ends_when_the_token_expires(env: Env, serve_gateway: ServeGateway) -> None:
    async with (
        serve_gateway(jwt_clock_skew=0, subscription_reauth_interval=0.2) as gw,
        sse(gw, EVENTS, token=env.token(ttl=3.0)) as stream,
    ):
        event = await stream.next_event()
        assert event["event"] == "next"
        assert event["data"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await stream.next_event())["event"] == "complete"
    await eventually(lambda: env.feed.opened == env.feed.closed)


async def test_sse_trusted_documents_mode_refuses_free_form(
    env: Env, serve_gateway: ServeGateway, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({hashlib.sha256(EVENTS.encode()).hexdigest(): EVENTS}))
    async with serve_gateway(persisted_only=True, persisted_manifest=manifest) as gw:
        async with sse(gw, "subscription { orderEvents { kind } }", token=env.token()) as stream:
            assert stream.response.status == 400
            assert (await stream.response.json())["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_ONLY"
        async with sse(gw, EVENTS, token=env.token()) as stream:
            await eventually(lambda: env.feed.opened == 1)
            env.feed.publish("created", "o1")
            assert (await stream.next_event())["id"] == "1"
