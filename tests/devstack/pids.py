"""Process checks for the dev stack's no-leftovers tests."""

from __future__ import annotations

import time

import psutil


def still_running(pids: set[int], timeout: float = 10.0) -> set[int]:
    """The pids of `pids` still running after `timeout` seconds (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if running(pid)}
        if alive:
            time.sleep(0.1)
    return alive


def running(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
