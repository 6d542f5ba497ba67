"""Child process for the relay crash test: publish pending outbox rows, die right after the first
publish is acknowledged by JetStream and before the row is marked (exit code 17)."""

from __future__ import annotations

import asyncio
import os
import sys

import nats

from shared.db import Database
from shared.events import EventEnvelope, OutboxRelay


async def main(database_url: str, nats_url: str, schema: str) -> None:
    nc = await nats.connect(nats_url)
    db = Database.from_url(database_url, pool_size=1)

    async def die(_event: EventEnvelope) -> None:
        os._exit(17)  # no cleanup, no commit: as if the process were killed

    await OutboxRelay(db, nc.jetstream(), schema=schema, after_publish=die).publish_pending()
    sys.exit(3)  # not reached when there was something to publish


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
