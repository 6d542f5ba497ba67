"""The race between stock's two consumers (`orders.placed` and `orders.cancelled`): the cancel reads
no reservation while the placement's INSERT is not committed yet, then its tombstone INSERT waits on
that row and conflicts. Before the fix the cancel ended there ("tombstone") and the reservation of a
cancelled order stayed active until it expired; now the cancel reads again and releases it."""

from __future__ import annotations

import asyncio
import uuid

from subgraphs.stock import reservations
from tests.subgraphs.stock.helpers import World, placed


async def test_a_cancel_racing_the_placement_releases_the_reservation(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 10)
    order = reservations.parse_placed(placed(world, [(sku, 3)]))  # type: ignore[arg-type]

    async def cancel() -> str:
        async with world.db.tenant_session(world.tenant) as session:
            return await reservations.release(
                session, world.tenant, order.order_id, "cancelled", include_committed=True
            )

    async with world.db.tenant_session(world.tenant) as session:
        outcome = (await reservations.reserve_orders(session, world.tenant, [order]))[0]
        assert outcome.status == "reserved"
        cancelling = asyncio.create_task(cancel())
        await asyncio.sleep(0.5)  # the cancel has read nothing and now waits on the unique index
        assert not cancelling.done()
    assert await asyncio.wait_for(cancelling, 30) == "released"
    level = await world.level(sku, world.near)
    assert (level.on_hand, level.reserved, level.committed) == (10, 0, 0)
    released = [
        e for e in await world.outbox("stock.released") if e["data"]["order_id"] == str(order.order_id)
    ]
    assert [e["data"]["reason"] for e in released] == ["cancelled"]
