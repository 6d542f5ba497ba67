"""Response checks: every sampled response body, parsed as JSON, must equal the expected response."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckTally:
    checked: int = 0
    mismatches: int = 0
    first_mismatch: str | None = None  # a short excerpt of the first wrong answer, for the report

    def add(self, other: CheckTally) -> None:
        self.checked += other.checked
        self.mismatches += other.mismatches
        self.first_mismatch = self.first_mismatch or other.first_mismatch


def fetch(url: str, body: bytes, timeout_s: float = 30.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def response_matches(status: int, payload: bytes, expected: Any) -> bool:
    if status != 200:
        return False
    try:
        return bool(json.loads(payload) == expected)
    except ValueError:
        return False


def check_once(url: str, body: bytes, expected: Any, tally: CheckTally) -> None:
    status, payload = fetch(url, body)
    tally.checked += 1
    if not response_matches(status, payload, expected):
        tally.mismatches += 1
        if tally.first_mismatch is None:
            tally.first_mismatch = f"HTTP {status}: {payload[:300].decode(errors='replace')}"


def check_many(url: str, body: bytes, expected: Any, count: int) -> CheckTally:
    tally = CheckTally()
    for _ in range(count):
        check_once(url, body, expected, tally)
    return tally


@dataclass
class Sampler:
    """Checks one response every ``interval_s`` while the load runs (in a thread; it ends with ``stop``)."""

    url: str
    body: bytes
    expected: Any
    interval_s: float = 1.0
    tally: CheckTally = field(default_factory=CheckTally)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            check_once(self.url, self.body, self.expected, self.tally)

    def stop(self) -> CheckTally:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=35.0)
        return self.tally
