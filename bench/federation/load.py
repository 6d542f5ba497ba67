"""Closed-loop HTTP load: wrk (Debian package) with a generated Lua script for the POST, or, when wrk is
missing, a bounded asyncio load generator of our own (same connections and duration, lower ceiling)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


_WRK_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_script(body: bytes) -> str:
    """Lua for wrk: POST ``body`` as JSON; ``done`` prints one machine-readable line."""
    text = body.decode()
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return (f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Accept"] = "application/json"\nwrk.body = [{eq}[{text}]{eq}]\n' + _WRK_DONE)


def parse_wrk_output(output: str) -> LoadResult:
    match = re.search(r"^WRK_JSON (\{.*\})$", output, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no summary: {output[-800:]}")
    raw = json.loads(match.group(1))
    return LoadResult("wrk", raw["requests"], raw["duration_us"] / 1e6, raw["p50_us"] / 1000,
                      raw["p99_us"] / 1000, raw["non2xx"], raw["socket_errors"])


def wrk_path() -> str | None:
    return shutil.which("wrk")


def ensure_wrk(say: Callable[[str], None] = print) -> str | None:
    """wrk, installed from Debian's packages when missing and we may (root with apt-get); None otherwise."""
    if (found := wrk_path()) is not None:
        return found
    apt_get = shutil.which("apt-get")
    if apt_get is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    say("wrk not found: installing the Debian package (apt-get update && apt-get install wrk) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run([apt_get, "update", "-qq"], check=True, capture_output=True, timeout=300, env=env)
        subprocess.run([apt_get, "install", "-y", "-qq", "wrk"], check=True, capture_output=True, timeout=300,
                       env=env)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        say(f"could not install wrk: {exc}")
    return wrk_path()


def run_load(url: str, body: bytes, *, connections: int, duration_s: float, threads: int = 2,
             timeout_s: float = 10.0) -> LoadResult:
    wrk = wrk_path()
    if wrk is None:
        return asyncio.run(_own_load(url, body, connections=connections, duration_s=duration_s,
                                     timeout_s=timeout_s))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(wrk_script(body))
        argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
                f"--timeout={timeout_s:.0f}s", "-s", str(script), url]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + timeout_s + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-800:]}")
    return parse_wrk_output(done.stdout)


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(pct / 100 * len(sorted_values)) - 1))  # nearest rank
    return sorted_values[index]


async def _own_load(url: str, body: bytes, *, connections: int, duration_s: float,
                    timeout_s: float) -> LoadResult:
    latencies: list[float] = []
    non2xx = 0
    errors = 0
    deadline = time.monotonic() + duration_s
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    headers = {"Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal non2xx, errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status // 100 != 2:
                        non2xx += 1
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return LoadResult("own-aiohttp", len(latencies), elapsed, percentile(latencies, 50),
                      percentile(latencies, 99), non2xx, errors)
