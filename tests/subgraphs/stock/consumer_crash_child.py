"""Child process of the consumer crash test: run the batched orders.placed consumer of one tenant
and die (os._exit, no cleanup) right after the commit of its second batch, before the acks."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

import nats
from nats.aio.msg import Msg

from shared.db import Database
from subgraphs.stock.consumers import ReserveOnOrderPlaced


def consumer_class(tenant: str) -> type[ReserveOnOrderPlaced]:
    class CrashTestReserve(ReserveOnOrderPlaced):
        name = f"stock-crash-test-{tenant}"
        filter_subject = f"orders.{tenant}.placed"
        ack_wait = 2.0
        batch = 16

    return CrashTestReserve


async def main(database_url: str, nats_url: str, tenant: str) -> None:
    nc = await nats.connect(nats_url)
    db = Database.from_url(database_url, pool_size=2)
    batches = 0

    class Dying(consumer_class(tenant)):  # type: ignore[misc]
        async def on_batch(self, messages: Sequence[Msg]) -> None:
            nonlocal batches
            batches += 1
            if batches < 2:
                await super().on_batch(messages)
                return
            from shared.events import EventEnvelope

            await self.process_batch([EventEnvelope.from_bytes(m.data) for m in messages])
            os._exit(17)  # committed, never acked: as if the process were killed

    await Dying(db, nc.jetstream()).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
