"""Child process for the pick wave crash test: release waves, and die inside the transaction of
wave number `die_at` (after its rows, wave and event are written, before the commit; exit 17)."""

from __future__ import annotations

import asyncio
import os
import sys

from shared.db import Database
from subgraphs.logistics import jobs


async def main(database_url: str, die_at: int) -> None:
    db = Database.from_url(database_url, pool_size=1)

    async def hook(number: int) -> None:
        if number == die_at:
            os._exit(17)  # no cleanup, no commit: as if the process were killed

    await jobs.release_waves(db, hook=hook)
    sys.exit(3)  # not reached when there were enough waves to release


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
