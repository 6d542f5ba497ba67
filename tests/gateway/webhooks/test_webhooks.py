"""Outbound webhooks end to end on loopback: registry (orgs API) -> dispatcher (the gateway's own
subscription execution, as the endpoint's service principal) -> durable deliveries in PostgreSQL ->
signed POSTs to a receiver that verifies them with examples/webhook_verify.py."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from examples.webhook_verify import InvalidWebhook, expected_signature, verify
from gateway.webhooks.config import WebhookSettings
from gateway.webhooks.sender import retry_delay
from tests.gateway.webhooks.conftest import FAST, Receiver, Stack

WAIT = 30.0  # generous: a loaded 2-core machine

DELIVERIES = """
query($id: ID!, $status: WebhookDeliveryStatus) {
  webhookDeliveries(endpointId: $id, status: $status, first: 100) {
    totalCount edges { node { id status attempts eventType eventKey body replays log { statusCode error } } }
  }
}"""
DEAD = """
query($id: ID!) { webhookDeadLetters(endpointId: $id) { totalCount edges { node { id status } } } }"""
REPLAY = """
mutation($id: ID!) {
  webhookDeliveryReplay(input: {deliveryId: $id}) { delivery { id status replays } userErrors { code } }
}"""
ENDPOINTS = "{ webhookEndpoints { id url cursor lastError } }"


async def until(check: Callable[[], Any], within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def deliveries(
    stack: Stack, org: Any, endpoint: str, status: str | None = None
) -> list[dict[str, Any]]:
    data = await stack.gql(org, DELIVERIES, {"id": endpoint, "status": status})
    return [e["node"] for e in data["webhookDeliveries"]["edges"]]


async def subscribed(stack: Stack, org: Any, endpoint: str) -> None:
    """The dispatcher's subscription is open once the subgraph saw the endpoint's signed context."""
    await until(lambda: any(c.principal.tenant_id == str(org.tenant) for c in stack.feed.contexts))


async def test_a_failing_receiver_gets_every_event_once_after_it_recovers(stack: Stack) -> None:
    mine, other = await stack.org(), await stack.org()
    receiver, theirs = Receiver(failing=True), Receiver()
    async with stack.serve_receiver(receiver), stack.serve_receiver(theirs):
        endpoint = await stack.endpoint(mine, receiver)
        their_endpoint = await stack.endpoint(other, theirs)
        dispatcher = stack.make_dispatcher()
        await dispatcher.start()
        await subscribed(stack, mine, endpoint)
        await subscribed(stack, other, their_endpoint)
        for i in range(6):
            stack.feed.publish("PLACED" if i % 2 == 0 else "SHIPPED", mine.tenant)
            stack.feed.publish("PLACED", other.tenant)  # another tenant's: never reaches `receiver`
        await until(lambda: len(receiver.requests) >= 12)  # every event tried at least twice, all failed
        assert receiver.handled == {}
        receiver.failing = False
        await until(lambda: len(receiver.handled) == 6)
        await until(lambda: len(theirs.handled) == 6)
        await asyncio.sleep(0.5)  # nothing more arrives
    events = receiver.events
    assert len(events) == 6 and len(receiver.handled) == 6
    assert sorted(int(e["cursor"]) for e in events) == [1, 3, 5, 7, 9, 11]
    for event in events:
        order = event["data"]["orderEvents"]["order"]
        assert order["tenantId"] == str(mine.tenant)
        assert order["balance"]  # a federated field, fetched from the ledger subgraph per event
        assert event["type"] == event["data"]["orderEvents"]["type"]
    assert all(e["data"]["orderEvents"]["order"]["tenantId"] == str(other.tenant) for e in theirs.events)
    assert sorted(int(e["cursor"]) for e in theirs.events) == [2, 4, 6, 8, 10, 12]
    # Retries kept the Webhook-Id; the receiver saw duplicates only for failed attempts.
    ids = {h["webhook-id"] for h, _, _ in receiver.requests}
    assert ids == set(receiver.handled)
    log = await deliveries(stack, mine, endpoint)
    assert len(log) == 6 and {d["status"] for d in log} == {"DELIVERED"}
    assert all(d["attempts"] >= 2 for d in log)
    assert all(d["log"][0]["statusCode"] == 500 and d["log"][-1]["statusCode"] == 204 for d in log)
    # Another tenant cannot read the endpoint's log, nor see the endpoint.
    assert await deliveries(stack, other, endpoint) == []
    assert [e["id"] for e in (await stack.gql(other, ENDPOINTS))["webhookEndpoints"]] == [their_endpoint]
    cursor = (await stack.gql(mine, ENDPOINTS))["webhookEndpoints"][0]["cursor"]
    assert cursor == "12"  # the other tenant's events moved the cursor too (skipped, not delivered)


async def test_replayed_old_delivery_and_forged_signature_are_rejected(stack: Stack) -> None:
    org = await stack.org()
    receiver = Receiver()
    async with stack.serve_receiver(receiver):
        endpoint = await stack.endpoint(org, receiver)
        dispatcher = stack.make_dispatcher()
        await dispatcher.start()
        await subscribed(stack, org, endpoint)
        stack.feed.publish("PLACED", org.tenant)
        await until(lambda: len(receiver.handled) == 1)
    headers, body, _ = receiver.requests[0]
    timestamp = int(headers["webhook-timestamp"])
    assert verify(receiver.secret, headers, body, now=timestamp + 10)["type"] == "PLACED"
    # The same captured request, replayed six minutes later: genuine signature, refused timestamp.
    with pytest.raises(InvalidWebhook, match="tolerance"):
        verify(receiver.secret, headers, body, now=timestamp + 360)
    # A forged one: another secret, or a changed body under the old signature.
    forged = dict(headers)
    forged["webhook-signature"] = f"t={timestamp},v1={expected_signature('whsec_guess', timestamp, body)}"
    with pytest.raises(InvalidWebhook, match="mismatch"):
        verify(receiver.secret, forged, body, now=timestamp)
    with pytest.raises(InvalidWebhook, match="mismatch"):
        verify(receiver.secret, headers, body.replace(b"PLACED", b"CANCELLED"), now=timestamp)
    # A fresh timestamp on the old signature does not help either.
    moved = dict(headers)
    moved["webhook-signature"] = headers["webhook-signature"].replace(f"t={timestamp}", f"t={timestamp + 60}")
    moved["webhook-timestamp"] = str(timestamp + 60)
    with pytest.raises(InvalidWebhook, match="mismatch"):
        verify(receiver.secret, moved, body, now=timestamp + 60)
    with pytest.raises(InvalidWebhook):
        verify(receiver.secret, {}, body)


async def test_dead_letters_after_the_retry_window_then_replayed(stack: Stack) -> None:
    org = await stack.org()
    receiver = Receiver(failing=True)
    settings = WebhookSettings(**{**FAST.model_dump(), "retry_window": 1.0})
    async with stack.serve_receiver(receiver):
        endpoint = await stack.endpoint(org, receiver)
        dispatcher = stack.make_dispatcher(settings)
        await dispatcher.start()
        await subscribed(stack, org, endpoint)
        stack.feed.publish("PLACED", org.tenant)
        stack.feed.publish("SHIPPED", org.tenant)

        async def both_dead() -> bool:
            data = await stack.gql(org, DEAD, {"id": endpoint})
            return bool(data["webhookDeadLetters"]["totalCount"] == 2)

        await until(both_dead)
        dead = await deliveries(stack, org, endpoint, "DEAD")
        tried = len(receiver.requests)
        assert all(d["attempts"] >= 2 for d in dead) and tried >= 4
        await asyncio.sleep(0.5)
        assert len(receiver.requests) == tried  # dead letters are not retried any more
        receiver.failing = False
        replayed = await stack.gql(org, REPLAY, {"id": dead[0]["id"]})
        assert replayed["webhookDeliveryReplay"]["userErrors"] == []
        assert replayed["webhookDeliveryReplay"]["delivery"]["status"] == "PENDING"
        await until(lambda: len(receiver.handled) == 1)
        assert list(receiver.handled) == [dead[0]["id"]]  # the same Webhook-Id as the dead letter
        again = await stack.gql(org, REPLAY, {"id": str(uuid.uuid4())})
        assert [e["code"] for e in again["webhookDeliveryReplay"]["userErrors"]] == ["NOT_FOUND"]
        all_back = await stack.gql(
            org,
            "mutation($id: ID!) { webhookDeadLettersReplay(input: {endpointId: $id}) "
            "{ replayed userErrors { code } } }",
            {"id": endpoint},
        )
        assert all_back["webhookDeadLettersReplay"]["replayed"] == 1
        await until(lambda: len(receiver.handled) == 2)
    statuses = {d["status"] for d in await deliveries(stack, org, endpoint)}
    assert statuses == {"DELIVERED"}


async def test_state_is_durable_across_a_dispatcher_restart(stack: Stack) -> None:
    org = await stack.org()
    receiver = Receiver(failing=True)
    async with stack.serve_receiver(receiver):
        endpoint = await stack.endpoint(org, receiver, eventTypes=["PLACED"])
        first = stack.make_dispatcher()
        await first.start()
        await subscribed(stack, org, endpoint)
        stack.feed.publish("PLACED", org.tenant)
        stack.feed.publish("CANCELLED", org.tenant)  # filtered out by eventTypes
        await until(lambda: len(receiver.requests) >= 1)
        await first.stop()  # a pending delivery stays in PostgreSQL
        stack.feed.publish("PLACED", org.tenant)  # while no dispatcher runs
        stack.feed.publish("PLACED", org.tenant)
        receiver.failing = False
        second = stack.make_dispatcher()
        await second.start()
        await until(lambda: len(receiver.handled) == 3)
        await asyncio.sleep(0.5)
    assert sorted(int(e["cursor"]) for e in receiver.events) == [1, 3, 4]
    assert {e["type"] for e in receiver.events} == {"PLACED"}
    log = await deliveries(stack, org, endpoint)
    assert len(log) == 3 and {d["eventType"] for d in log} == {"PLACED"}


async def test_registration_refuses_private_addresses_and_bad_documents(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subgraphs.orgs.config import get_orgs_settings

    org = await stack.org()
    create = """
    mutation($input: WebhookEndpointCreateInput!) {
      webhookEndpointCreate(input: $input) { secret userErrors { field code } }
    }"""

    async def refused(**fields: Any) -> list[tuple[str, str]]:
        payload = {
            "url": "http://127.0.0.1:9/hook",
            "subscription": "subscription { orderEvents { type } }",
            "scopes": ["orders:read"],
            **fields,
        }
        data = await stack.gql(org, create, {"input": payload})
        result = data["webhookEndpointCreate"]
        assert result["secret"] is None or not result["userErrors"]
        return [(e["field"][-1], e["code"]) for e in result["userErrors"]]

    for url in (
        "http://10.0.0.5/hook",
        "https://169.254.169.254/latest",
        "http://[fd00::1]/x",
        "ftp://example.com/x",
        "https://user:pw@example.com/x",
        "http://192.168.1.10/x",
    ):
        assert await refused(url=url) == [("url", "URL_NOT_ALLOWED")], url
    assert await refused(subscription="query { eventsPing }") == [("subscription", "INVALID")]
    assert await refused(subscription="subscription {") == [("subscription", "INVALID")]
    assert await refused(subscription="subscription { orderEvents { cursor } }", eventTypes=["PLACED"]) == [
        ("eventTypes", "EVENT_TYPE_NOT_SELECTED")
    ]
    assert await refused(scopes=["finance:write"]) == [("scopes", "FORBIDDEN_SCOPE")]
    assert await refused() == []  # loopback allowed by the test setting
    monkeypatch.setenv("B2B_ORGS_WEBHOOK_ALLOW_LOOPBACK", "false")
    get_orgs_settings.cache_clear()
    assert await refused() == [("url", "URL_NOT_ALLOWED")]
    assert await refused(url="http://localhost:9/hook") == [("url", "URL_NOT_ALLOWED")]


async def test_the_dispatcher_refuses_loopback_unless_allowed(stack: Stack) -> None:
    """An endpoint whose address is no longer allowed (here: loopback with the setting off) fails
    every attempt at the dispatcher, whatever orgs accepted: nothing reaches the receiver."""
    org = await stack.org()
    receiver = Receiver()
    settings = WebhookSettings(**{**FAST.model_dump(), "allow_loopback": False, "retry_window": 1.0})
    async with stack.serve_receiver(receiver):
        endpoint = await stack.endpoint(org, receiver)
        dispatcher = stack.make_dispatcher(settings)
        await dispatcher.start()
        await subscribed(stack, org, endpoint)
        stack.feed.publish("PLACED", org.tenant)

        async def dead() -> bool:
            return len(await deliveries(stack, org, endpoint, "DEAD")) == 1

        await until(dead)
    assert receiver.requests == []
    (letter,) = await deliveries(stack, org, endpoint, "DEAD")
    assert "private or loopback" in (letter["log"][0]["error"] or "")


async def test_rls_keeps_the_registry_per_tenant(stack: Stack) -> None:
    org, other = await stack.org(), await stack.org()
    receiver = Receiver()
    async with stack.serve_receiver(receiver):
        await stack.endpoint(org, receiver)
    async with stack.db.tenant_session(other.tenant) as session:
        for table in ("webhook_endpoints", "webhook_deliveries", "webhook_attempts"):
            assert await session.scalar(text(f"SELECT count(*) FROM orgs.{table}")) == 0
    async with stack.db.session() as session:  # no tenant, no dispatcher setting: nothing
        assert await session.scalar(text("SELECT count(*) FROM orgs.webhook_endpoints")) == 0


def test_backoff_is_exponential_capped_and_jittered() -> None:
    import random

    settings = WebhookSettings(retry_base=10, retry_max_delay=3600)
    rng = random.Random(7)
    delays = [retry_delay(settings, n, rng) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        cap = min(10 * 2 ** (n - 1), 3600)
        assert cap / 2 <= delay <= cap
    assert len({round(d, 6) for d in delays}) == len(delays)  # jitter: no two alike


async def test_random_mixed_events_reach_only_their_tenants_matching_endpoints(stack: Stack) -> None:
    """60 generated events over three tenants and four types, four endpoints (one tenant has two,
    one of them filtered): each receiver gets exactly its tenant's events that pass its filter."""
    import random

    rng = random.Random(20261205)
    tenants = [await stack.org() for _ in range(3)]
    receivers = [Receiver() for _ in range(4)]
    filters: list[list[str]] = [[], ["PLACED", "CANCELLED"], [], []]
    owners = [tenants[0], tenants[0], tenants[1], tenants[2]]
    async with contextlib.AsyncExitStack() as exits:
        for receiver in receivers:
            await exits.enter_async_context(stack.serve_receiver(receiver))
        ids = [
            await stack.endpoint(owner, receiver, eventTypes=wanted)
            for owner, receiver, wanted in zip(owners, receivers, filters, strict=True)
        ]
        dispatcher = stack.make_dispatcher()
        await dispatcher.start()
        for owner, endpoint in zip(owners, ids, strict=True):
            await subscribed(stack, owner, endpoint)
        published: list[tuple[int, str, Any]] = []
        for _ in range(60):
            owner = rng.choice(tenants)
            kind = rng.choice(["PLACED", "SHIPPED", "CANCELLED", "DELIVERED"])
            published.append((stack.feed.publish(kind, owner.tenant), kind, owner.tenant))
        expected = [
            sorted(
                seq
                for seq, kind, tenant in published
                if tenant == owner.tenant and (not wanted or kind in wanted)
            )
            for owner, wanted in zip(owners, filters, strict=True)
        ]
        await until(lambda: all(len(r.handled) == len(e) for r, e in zip(receivers, expected, strict=True)))
        await asyncio.sleep(0.5)
    for receiver, owner, want in zip(receivers, owners, expected, strict=True):
        assert sorted(int(e["cursor"]) for e in receiver.events) == want
        assert {e["data"]["orderEvents"]["order"]["tenantId"] for e in receiver.events} <= {str(owner.tenant)}
