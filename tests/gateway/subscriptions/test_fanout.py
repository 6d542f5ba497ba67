"""Sharing (gateway/subscriptions/fanout.py): identical live subscriptions of one principal cost one
upstream and one set of entity fetches per event; other principals and resuming subscriptions keep their
own; the last member to leave closes the upstream; a slow member is cut off with its cursor while the
others go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from gateway.subscriptions.fanout import TOO_SLOW, FanOut
from gateway.subscriptions.session import OperationParams
from tests.gateway.subscriptions.conftest import Env, Served, eventually

EVENTS = "subscription { orderEvents { kind order { id number balance } } }"


async def test_identical_subscriptions_share_one_upstream(env: Env, gw: Served) -> None:
    token = env.token()
    async with gw.ws() as a, gw.ws() as b:
        await a.init({"Authorization": f"Bearer {token}"})
        await b.init({"Authorization": f"Bearer {token}"})
        await a.subscribe("s", EVENTS)
        await b.subscribe("s", EVENTS)
        await eventually(lambda: gw.gateway is not None and env.feed.opened == 1)
        await asyncio.sleep(0.2)
        assert env.feed.opened == 1  # the second joined the first's upstream
        env.feed.publish("created", "o1")
        env.feed.publish("shipped", "o2")
        got_a = [await a.receive(), await a.receive()]
        got_b = [await b.receive(), await b.receive()]
        for got in (got_a, got_b):
            assert [m["payload"]["extensions"]["cursor"] for m in got] == ["1", "2"]
            assert got[0]["payload"]["data"]["orderEvents"]["order"]["balance"] == "10.00"
        await a.send({"id": "s", "type": "complete"})
        await asyncio.sleep(0.2)
        assert env.feed.closed == 0  # b still reads it
        env.feed.publish("created", "o1")
        assert (await b.receive())["payload"]["extensions"]["cursor"] == "3"
    await eventually(lambda: env.feed.closed == 1)


async def test_other_principals_and_resuming_subscriptions_do_not_share(env: Env, gw: Served) -> None:
    async with gw.ws() as a, gw.ws() as b, gw.ws() as c:
        await a.init({"Authorization": f"Bearer {env.token()}"})
        await b.init({"Authorization": f"Bearer {env.token(tenant='tb')}"})
        await c.init({"Authorization": f"Bearer {env.token()}"})
        await a.subscribe("s", EVENTS)
        await b.subscribe("s", EVENTS)
        await c.subscribe("s", EVENTS, extensions={"cursor": "0"})
        await eventually(lambda: env.feed.opened == 3)
    await eventually(lambda: env.feed.closed == 3)


@dataclass
class _Run:
    """What FanOut reads of a PreparedRun: its share key's inputs and its event stream."""

    results: list[dict[str, Any]]
    params: OperationParams = field(default_factory=lambda: OperationParams("subscription { x }"))
    principal: Any = None
    prepared: Any = None
    release: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    async def _events(self) -> AsyncGenerator[dict[str, Any], None]:
        try:
            await self.release.wait()
            for result in self.results:
                yield result
                await asyncio.sleep(0.02)  # events arrive slower than a reading member takes them
            await asyncio.Event().wait()  # a live stream: no more events for now
        finally:
            self.closed = True


async def _next(stream: AsyncGenerator[dict[str, Any], None]) -> dict[str, Any]:
    return await anext(stream)  # a coroutine: wait_for over a bare anext() awaitable misbehaves in 3.11


async def test_a_slow_member_is_cut_off_with_its_cursor_and_the_others_go_on() -> None:
    fanout = FanOut(queue_limit=3)
    results = [{"data": {"n": i}, "extensions": {"cursor": str(i)}} for i in range(1, 11)]
    run = _Run(results)
    fast = fanout.join(run)  # type: ignore[arg-type]
    slow = fanout.join(run)  # type: ignore[arg-type]
    fast_task = asyncio.create_task(anext(fast))
    first_slow = asyncio.create_task(anext(slow))
    await asyncio.sleep(0)
    assert len(fanout.groups) == 1 and fanout.members == 2
    run.release.set()
    assert (await first_slow)["extensions"]["cursor"] == "1"  # then it stops reading
    received = [(await fast_task)["extensions"]["cursor"]]
    while len(received) < 10:
        received.append((await asyncio.wait_for(_next(fast), 5))["extensions"]["cursor"])
    assert received == [str(i) for i in range(1, 11)]  # the fast one got everything, in order
    assert fanout.cut_offs == 1
    # The slow one: its queue was dropped (memory bounded); one coded result with the cursor of the
    # last event it was given, then the end.
    cut = await asyncio.wait_for(_next(slow), 5)
    assert cut["errors"][0]["extensions"]["code"] == TOO_SLOW and cut["extensions"] == {"cursor": "1"}
    try:
        await asyncio.wait_for(_next(slow), 5)
        raise AssertionError("the slow member's stream goes on")
    except StopAsyncIteration:
        pass
    assert not run.closed  # the fast member still holds the upstream
    await fast.aclose()
    await eventually(lambda: run.closed)
    assert fanout.groups == {}
