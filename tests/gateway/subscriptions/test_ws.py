"""graphql-transport-ws through the gateway: events with entity fields from another subgraph, auth,
the tenant guard per event, resuming from a cursor, upstream failures, cancellation, protocol errors."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from pathlib import Path

from devstack.asgi import serve_asgi
from devstack.ports import free_port
from tests.gateway.subscriptions import market
from tests.gateway.subscriptions.conftest import Env, Served, ServeGateway, eventually

EVENTS = "subscription { orderEvents { kind order { id number balance } } }"


async def test_events_carry_fields_of_another_subgraph_and_cursors(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        assert await ws.init({"Authorization": f"Bearer {env.token()}"}) == {"type": "connection_ack"}
        await ws.subscribe("s1", EVENTS)
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o1")
        env.feed.publish("shipped", "o2")
        first, second = await ws.receive(), await ws.receive()
        assert first == {
            "id": "s1",
            "type": "next",
            "payload": {
                "data": {
                    "orderEvents": {
                        "kind": "created",
                        "order": {"id": "o1", "number": "A-1", "balance": "10.00"},
                    }
                },
                "extensions": {"cursor": "1"},
            },
        }
        assert second["payload"]["data"]["orderEvents"]["order"]["balance"] == "20.00"
        assert second["payload"]["extensions"] == {"cursor": "2"}
    # the subgraph saw the principal in the signed context of the upstream connection
    assert env.feed.contexts[0].principal.tenant_id == "ta"
    await eventually(lambda: env.feed.closed == 1)


async def test_credentials_from_the_upgrade_request_headers(env: Env, gw: Served) -> None:
    async with gw.ws(headers={"authorization": f"Bearer {env.token(tenant='tb')}"}) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        await ws.subscribe("s1", "subscription { orderEvents { kind order { number } } }")
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o9")
        message = await ws.receive()
        assert message["payload"]["data"]["orderEvents"]["order"] == {"number": "B-9"}
    assert env.feed.contexts[0].principal.tenant_id == "tb"


async def test_tenant_guard_on_every_event(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token(tenant='ta')}"})
        await ws.subscribe("s1", EVENTS)
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o9")  # tenant tb's order
        env.feed.publish("created", "o1")
        blocked, allowed = await ws.receive(), await ws.receive()
        assert blocked["payload"]["data"] == {"orderEvents": {"kind": "created", "order": None}}
        assert [e["extensions"]["code"] for e in blocked["payload"]["errors"]] == ["FORBIDDEN"]
        assert blocked["payload"]["errors"][0]["path"] == ["orderEvents", "order"]
        assert allowed["payload"]["data"]["orderEvents"]["order"]["number"] == "A-1"
        assert "errors" not in allowed["payload"]


async def test_unauthorized_field_is_null_with_an_error_in_each_event(env: Env, gw: Served) -> None:
    query = "subscription { orderEvents { kind order { number creditNote } } }"
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token(scopes='')}"})
        await ws.subscribe("s1", query)
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o1")
        env.feed.publish("created", "o2")
        for number in ("A-1", "A-2"):
            payload = (await ws.receive())["payload"]
            assert payload["data"]["orderEvents"]["order"] == {"number": number, "creditNote": None}
            assert [(e["extensions"]["code"], e["path"]) for e in payload["errors"]] == [
                ("UNAUTHORIZED_FIELD_OR_TYPE", ["orderEvents", "order", "creditNote"])
            ]
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token(scopes='finance:read')}"})
        await ws.subscribe("s1", query)
        await eventually(lambda: env.feed.opened == 2)
        env.feed.publish("created", "o1")
        payload = (await ws.receive())["payload"]
        assert payload["data"]["orderEvents"]["order"] == {"number": "A-1", "creditNote": "note-o1"}


async def test_reject_unauthorized_mode_answers_error(env: Env, serve_gateway: ServeGateway) -> None:
    async with serve_gateway(reject_unauthorized=True) as gw, gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("s1", "subscription { orderEvents { order { creditNote } } }")
        message = await ws.receive()
        assert message["type"] == "error" and message["id"] == "s1"
        assert message["payload"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert env.feed.opened == 0


async def test_bad_token_closes_4401_and_forged_context_4403(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        message = await ws.init({"Authorization": "Bearer not-a-token"})
        assert message["closed"] == 4401
    async with gw.ws() as ws:
        message = await ws.init({"x-gateway-context": "v1.forged.sig"})
        assert message["closed"] == 4403


async def test_anonymous_closed_4401_when_authentication_is_required(
    env: Env, serve_gateway: ServeGateway
) -> None:
    async with serve_gateway(require_authentication=True) as gw:
        async with gw.ws() as ws:
            assert (await ws.init())["closed"] == 4401
        async with gw.ws() as ws:
            assert (await ws.init({"Authorization": f"Bearer {env.token()}"}))["type"] == "connection_ack"


async def test_resume_from_a_cursor_loses_nothing(env: Env, gw: Served) -> None:
    query = "subscription { orderEvents { kind order { number } } }"
    token = env.token()
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {token}"})
        await ws.subscribe("s1", query)
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o1")
        last = (await ws.receive())["payload"]["extensions"]["cursor"]
    # the ERP is offline while more happens
    env.feed.publish("paid", "o1")
    env.feed.publish("shipped", "o2")
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {token}"})
        await ws.subscribe("s1", query, extensions={"cursor": last})
        replayed = [(await ws.receive())["payload"] for _ in range(2)]
        assert [(p["data"]["orderEvents"]["kind"], p["extensions"]["cursor"]) for p in replayed] == [
            ("paid", "2"),
            ("shipped", "3"),
        ]
        env.feed.publish("delivered", "o2")  # then live events follow
        live = (await ws.receive())["payload"]
        assert (live["data"]["orderEvents"]["kind"], live["extensions"]["cursor"]) == ("delivered", "4")


async def test_subgraph_error_mid_stream_gives_error_then_complete(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("s1", EVENTS)
        await eventually(lambda: env.feed.opened == 1)
        env.feed.fail()
        error = await ws.receive()
        assert error["type"] == "next" and error["id"] == "s1"
        assert error["payload"]["errors"][0]["extensions"]["serviceName"] == "orders"
        assert error["payload"]["errors"][0]["extensions"]["code"]
        assert await ws.receive() == {"id": "s1", "type": "complete"}
        # the connection stays usable
        await ws.send({"type": "ping"})
        assert await ws.receive(skip_pings=False) == {"type": "pong"}


async def test_unreachable_subgraph_gives_coded_error_then_complete(
    env: Env, serve_gateway: ServeGateway
) -> None:
    down = f"http://127.0.0.1:{free_port()}/graphql"
    async with serve_gateway(urls={"orders": down}) as gw, gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("s1", EVENTS)
        error = await ws.receive()
        assert error["payload"]["errors"][0]["extensions"] == {
            "code": "SUBSCRIPTION_UPSTREAM_UNAVAILABLE",
            "serviceName": "orders",
        }
        assert await ws.receive() == {"id": "s1", "type": "complete"}


async def test_subgraph_going_away_gives_coded_error_then_complete(
    env: Env, serve_gateway: ServeGateway
) -> None:
    feed = market.Feed()
    async with contextlib.AsyncExitStack() as subgraph:
        orders = await subgraph.enter_async_context(serve_asgi(market.make_orders(feed)))
        async with serve_gateway(urls={"orders": f"{orders}/graphql"}) as gw, gw.ws() as ws:
            await ws.init({"Authorization": f"Bearer {env.token()}"})
            await ws.subscribe("s1", EVENTS)
            await eventually(lambda: feed.opened == 1)
            stopping = asyncio.create_task(subgraph.aclose())  # the subgraph shuts down (close 1012)
            error = await ws.receive()
            assert error["payload"]["errors"][0]["extensions"] == {
                "code": "SUBSCRIPTION_UPSTREAM_CLOSED",
                "serviceName": "orders",
            }
            assert await ws.receive() == {"id": "s1", "type": "complete"}
            async with asyncio.timeout(10):
                await stopping


async def test_client_complete_and_disconnect_close_the_subgraph_generator(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("s1", EVENTS)
        # Another document: identical live subscriptions would share one upstream (test_fanout.py).
        await ws.subscribe("s2", EVENTS.replace("subscription", "subscription Second", 1))
        await eventually(lambda: env.feed.opened == 2)
        await ws.send({"id": "s1", "type": "complete"})
        await eventually(lambda: env.feed.closed == 1)
    await eventually(lambda: env.feed.closed == 2)


async def test_query_over_websocket_is_one_result_then_complete(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("q", '{ order(id: "o1") { number balance } }')
        assert await ws.receive() == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"order": {"number": "A-1", "balance": "10.00"}}},
        }
        assert await ws.receive() == {"id": "q", "type": "complete"}


async def test_validation_error_is_an_error_message(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        await ws.init()
        await ws.subscribe("bad", "subscription { nope }")
        message = await ws.receive()
        assert message["type"] == "error" and message["id"] == "bad"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_protocol_errors(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:  # no connection_init in time
        assert (await ws.receive())["closed"] == 4408
    async with gw.ws() as ws:
        await ws.init()
        assert (await ws.init())["closed"] == 4429
    async with gw.ws() as ws:
        await ws.subscribe("s1", EVENTS)  # before connection_ack
        assert (await ws.receive())["closed"] == 4401
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("s1", EVENTS)
        await ws.subscribe("s1", EVENTS)
        assert (await ws.receive())["closed"] == 4409
    async with gw.ws() as ws:
        await ws.send({"type": "what"})
        assert (await ws.receive())["closed"] == 4400
    async with gw.ws(protocols=("graphql-ws",)) as ws:
        assert (await ws.receive())["closed"] == 4406
    await eventually(lambda: env.feed.opened == env.feed.closed)


async def test_server_pings_keep_idle_connections_alive(env: Env, serve_gateway: ServeGateway) -> None:
    async with serve_gateway(subscription_keepalive=0.1) as gw, gw.ws() as ws:
        await ws.init()
        assert await ws.receive(skip_pings=False) == {"type": "ping"}
        await ws.send({"type": "pong"})
        assert await ws.receive(skip_pings=False) == {"type": "ping"}


async def test_subgraph_restart_is_bridged_from_the_last_cursor(
    env: Env, serve_gateway: ServeGateway
) -> None:
    """A deploy of the subgraph: the gateway reopens the subscription after the last cursor it sent, so
    the client sees every event, once, and no error."""
    feed = market.Feed()
    port = free_port()
    async with contextlib.AsyncExitStack() as first:
        orders = await first.enter_async_context(serve_asgi(market.make_orders(feed), port=port))
        async with serve_gateway(urls={"orders": f"{orders}/graphql"}) as gw, gw.ws() as ws:
            await ws.init({"Authorization": f"Bearer {env.token()}"})
            await ws.subscribe("s1", EVENTS)
            await eventually(lambda: feed.opened == 1)
            feed.publish("created", "o1")
            assert (await ws.receive())["payload"]["extensions"] == {"cursor": "1"}
            await first.aclose()  # the subgraph goes down...
            feed.publish("paid", "o1")  # ...while its stream goes on
            async with serve_asgi(market.make_orders(feed), port=port):
                await eventually(lambda: feed.opened == 2)
                feed.publish("shipped", "o1")
                got = [(await ws.receive())["payload"] for _ in range(2)]
                assert [(p["data"]["orderEvents"]["kind"], p["extensions"]["cursor"]) for p in got] == [
                    ("paid", "2"),
                    ("shipped", "3"),
                ]
                assert all("errors" not in p for p in got)


async def test_operation_limits_apply_to_subscriptions(env: Env, serve_gateway: ServeGateway) -> None:
    async with serve_gateway(max_depth=2) as gw, gw.ws() as ws:
        await ws.init()
        await ws.subscribe("deep", EVENTS)
        message = await ws.receive()
        assert message["type"] == "error" and message["id"] == "deep"
        assert message["payload"][0]["extensions"]["code"]
    assert env.feed.opened == 0


async def test_expired_token_closes_the_connection_4401(env: Env, serve_gateway: ServeGateway) -> None:
    async with serve_gateway(jwt_clock_skew=0, subscription_reauth_interval=0.2) as gw, gw.ws() as ws:
        assert (await ws.init({"Authorization": f"Bearer {env.token(ttl=3.0)}"}))["type"] == "connection_ack"
        await ws.subscribe("s1", EVENTS)
        await eventually(lambda: env.feed.opened == 1)
        assert (await ws.receive())["closed"] == 4401
    await eventually(lambda: env.feed.closed == 1)


async def test_unauthorized_root_field_is_refused_with_an_error(env: Env, gw: Served) -> None:
    async with gw.ws() as ws:
        await ws.init()  # anonymous
        await ws.subscribe("a", "subscription { auditEvents }")
        message = await ws.receive()
        assert message["type"] == "error" and message["id"] == "a"
        assert [e["extensions"]["code"] for e in message["payload"]] == ["UNAUTHORIZED_FIELD_OR_TYPE"]
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("a", "subscription { auditEvents }")
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o1")
        assert (await ws.receive())["payload"] == {"data": {"auditEvents": "1:created"}}


async def test_client_variables_and_its_own_cursor_argument(env: Env, gw: Served) -> None:
    env.feed.publish("created", "o1")
    env.feed.publish("paid", "o2")
    query = "subscription Events($after: String) { orderEvents(cursor: $after) { cursor kind } }"
    async with gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("v", query, operationName="Events", variables={"after": "1"})
        payload = (await ws.receive())["payload"]
        assert payload == {
            "data": {"orderEvents": {"cursor": "2", "kind": "paid"}},
            "extensions": {"cursor": "2"},
        }


async def test_trusted_documents_mode_applies_over_websocket(
    env: Env, serve_gateway: ServeGateway, tmp_path: Path
) -> None:
    digest = hashlib.sha256(EVENTS.encode()).hexdigest()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({digest: EVENTS}))
    async with serve_gateway(persisted_only=True, persisted_manifest=manifest) as gw, gw.ws() as ws:
        await ws.init({"Authorization": f"Bearer {env.token()}"})
        await ws.subscribe("free", "subscription { orderEvents { kind } }")
        refused = await ws.receive()
        assert refused["type"] == "error" and refused["id"] == "free"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_ONLY"
        await ws.send(
            {
                "id": "trusted",
                "type": "subscribe",
                "payload": {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
            }
        )
        await eventually(lambda: env.feed.opened == 1)
        env.feed.publish("created", "o1")
        message = await ws.receive()
        assert message["id"] == "trusted"
        assert message["payload"]["data"]["orderEvents"]["order"]["balance"] == "10.00"
