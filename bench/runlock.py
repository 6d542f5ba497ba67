"""One benchmark at a time on this machine: concurrent runs would load each other's gateways."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_PATH = Path(__file__).resolve().parent / ".cache" / "run.lock"


class LockTimeout(RuntimeError):
    pass


@contextlib.contextmanager
def exclusive_run(*, wait_s: float = 900.0, path: Path = LOCK_PATH,
                  say: Callable[[str], None] = print) -> Iterator[None]:
    """Hold an flock on ``path`` for the block; wait up to ``wait_s`` for another run to finish first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"another benchmark still runs after {wait_s:.0f} s ({path})") from None
                if not told:
                    handle.seek(0)
                    say(f"another benchmark run is in progress ({handle.read().strip() or 'pid ?'}); waiting")
                    told = True
                time.sleep(1.0)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
