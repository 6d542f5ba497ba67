"""``python -m bench --scenario NAME``: the grafbase scenarios, every gateway alone on the same subgraphs.

Scenarios: ``big-response``, ``many-plans`` (plan cache warm), ``many-plans-no-cache`` (a unique alias per
request: every request a miss of every cache keyed by query text, for every gateway), ``deduplication``
(the Guild scenario, 50 identical queries at once), ``distinct-memory`` (ours: RSS while N distinct
many-plans queries arrive). Each response is compared with the expected one before it counts.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import psutil

from bench.federation import gateways, processes
from bench.federation import scenario as guild
from bench.federation.runner import Subgraphs
from bench.grafbase import scenarios

RESULTS_DIR = guild.REPO_ROOT / "bench" / "results"
SCENARIOS = ("big-response", "many-plans", "many-plans-no-cache", "deduplication", "distinct-memory")


@dataclass
class Result:
    gateway: str
    status: str = "ok"
    reason: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    first_ms: float | None = None  # the first (cold) request
    subgraph_requests: int = 0
    queries: int = 0
    peak_rss_mib: float = 0.0
    bad: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def pct(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))]

    def row(self) -> dict[str, Any]:
        return {"gateway": self.gateway, "status": self.status, "reason": self.reason,
                "p50_ms": self.pct(0.5), "p90_ms": self.pct(0.9), "p99_ms": self.pct(0.99),
                "first_ms": self.first_ms, "queries": self.queries,
                "sg_req_per_query": self.subgraph_requests / self.queries if self.queries else None,
                "peak_rss_mib": round(self.peak_rss_mib, 1), "bad": self.bad, **self.extra}


class RssSampler:
    """Peak RSS of a process tree (workers included), sampled every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self.last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> float:
        total = 0
        try:
            root = psutil.Process(self.pid)
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            return self.last
        self.last = total / (1 << 20)
        self.peak = max(self.peak, self.last)
        return self.last

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(2.0)


@dataclass
class Workload:
    """What to send: request ``i``'s body and expected data, concurrency, how many."""
    body: Callable[[int], bytes]
    expected: Callable[[int], Any]
    requests: int
    concurrency: int = 1
    warmup: int = 3
    timeout_s: float = 120.0


def subgraph_sdls(name: str, scale: int = 1) -> dict[str, str] | None:
    """The scenario's subgraph SDLs (None: the Guild scenario's own subgraphs)."""
    if name == "big-response":
        return scenarios.big_response(scale).subgraphs
    if name == "deduplication":
        return None
    return scenarios.many_plans().subgraphs


def workload(name: str, requests: int | None, subgraph_url: str, scale: int = 1) -> Workload:
    if name == "big-response":
        sc = scenarios.big_response(scale)
        body = orjson.dumps({"query": sc.query})
        # every field is subgraph0's: its own answer to the query is the expected response
        expected = orjson.loads(_post(f"{subgraph_url}/subgraph0", body))
        return Workload(lambda _i: body, lambda _i: expected, requests or 30)
    if name in ("many-plans", "many-plans-no-cache", "distinct-memory"):
        sc = scenarios.many_plans()
        if name == "many-plans":
            body = orjson.dumps({"query": sc.query})
            expected = scenarios.many_plans_expected(sc.query)
            return Workload(lambda _i: body, lambda _i: expected, requests or 200)
        count = requests or (10_000 if name == "distinct-memory" else 100)

        def distinct_body(i: int) -> bytes:
            return orjson.dumps({"query": scenarios.many_plans_query(alias=f"a{i}")})

        node = scenarios.many_plans_expected(sc.query)["data"]["node"]

        def distinct_expected(i: int) -> Any:
            return {"data": {f"a{i}": node}}

        return Workload(distinct_body, distinct_expected, count, warmup=0)
    if name == "deduplication":
        body = guild.request_body()
        expected = guild.expected_response()
        return Workload(lambda _i: body, lambda _i: expected, requests or 2000, concurrency=50,
                        warmup=100)
    raise ValueError(f"unknown scenario {name!r}")


def planning_ms(count: int = 20) -> dict[str, float]:
    """Our planner alone on the many-plans query (distinct aliases: cold), in this process: median ms,
    and the estimated bytes of one plan."""
    from gateway.engine import Gateway
    from gateway.sizing import estimate_bytes

    sc = scenarios.many_plans()
    gateway = Gateway.from_supergraph_sdl(sc.supergraph_sdl("http://127.0.0.1:9"))
    import graphql

    times, size = [], 0
    for i in range(count):
        document = graphql.parse(scenarios.many_plans_query(alias=f"p{i}"))
        started = time.perf_counter()
        plan = gateway.planner.plan(document, None, {})
        times.append((time.perf_counter() - started) * 1000)
        size = estimate_bytes(plan)
    return {"planning_ms_p50": round(statistics.median(times), 2), "plan_bytes": size}


def _post(url: str, body: bytes) -> bytes:
    import urllib.request

    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return bytes(response.read())


async def drive(url: str, work: Workload, result: Result, rss: RssSampler, subgraphs: Subgraphs,
                say: Callable[[str], None]) -> None:
    """Warm up, then send the measured requests (``concurrency`` at once, in rounds), checking each."""
    timeout = aiohttp.ClientTimeout(total=work.timeout_s)
    connector = aiohttp.TCPConnector(limit=max(1, work.concurrency))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        async def one(i: int, measured: bool) -> None:
            body = work.body(i)
            started = time.perf_counter()
            # (the suite's random bearer token per request is not sent: ours refuses bearer tokens without
            # a JWKS, and no gateway here forwards it to the subgraphs; docs/benchmarks.md)
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                raw = await r.read()
                status = r.status
            elapsed = (time.perf_counter() - started) * 1000
            if result.first_ms is None:
                result.first_ms = elapsed
            if not measured:
                return
            ok = status == 200 and orjson.loads(raw) == work.expected(i)
            if not ok:
                result.bad += 1
                if "first_bad" not in result.extra:
                    result.extra["first_bad"] = f"HTTP {status}: {raw[:300]!r}"
            result.latencies_ms.append(elapsed)

        for i in range(work.warmup):
            await one(i, False)
        await asyncio.sleep(0.3)
        before = subgraphs.quiesce()
        deadline = time.monotonic() + 1800
        sent = 0
        progress = max(1, work.requests // 10)
        while sent < work.requests and time.monotonic() < deadline:
            batch = min(work.concurrency, work.requests - sent)
            await asyncio.gather(*(one(sent + k, True) for k in range(batch)))
            sent += batch
            if work.requests >= 1000 and sent % progress < batch:
                say(f"  {sent} requests, RSS {rss.sample():.0f} MiB")
                result.extra.setdefault("rss_mib_by_requests", {})[sent] = round(rss.last, 1)
        result.queries = sent
        result.subgraph_requests = subgraphs.quiesce() - before


def measure(spec: gateways.GatewaySpec, work: Workload, subgraphs: Subgraphs, supergraph: Path, logs: Path,
            say: Callable[[str], None]) -> Result:
    result = Result(spec.name)
    if spec.skip_reason:
        result.status, result.reason = "skipped", spec.skip_reason
        return result
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}{spec.graphql_path}"
    log = logs / (spec.name.replace(" ", "_").replace("=", "") + ".log")
    say(f"{spec.name}: starting on port {port}")
    with processes.running(spec.name, spec.argv(port, supergraph), log_path=log, env=spec.env,
                           cwd=logs) as proc:
        try:
            if spec.health_path:
                processes.wait_ready(proc, f"http://127.0.0.1:{port}{spec.health_path}",
                                     timeout_s=spec.startup_timeout_s)
            else:
                processes.wait_ready(proc, url, body=gateways.TYPENAME_QUERY,
                                     timeout_s=spec.startup_timeout_s)
        except processes.NotReady as exc:
            result.status = "failed" if spec.is_ours else "skipped"
            result.reason = f"did not start: {str(exc)[:300]}"
            return result
        with RssSampler(proc.pid) as rss:
            result.extra["rss_idle_mib"] = round(rss.sample(), 1)
            try:
                asyncio.run(drive(url, work, result, rss, subgraphs, say))
            except Exception as exc:  # a peer that breaks must not lose the others' figures
                result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"[:300]
            result.extra["rss_end_mib"] = round(rss.sample(), 1)
        result.peak_rss_mib = rss.peak
        if not proc.alive():
            result.status, result.reason = "failed", "gateway died during the run"
    if result.bad:
        result.status, result.reason = "failed", f"{result.bad} wrong responses"
    return result


def render(scenario: str, results: list[Result]) -> str:
    ours = next((r for r in results if r.gateway.startswith("ours") and r.latencies_ms), None)
    head = ("gateway", "p50 ms", "x ours", "p90 ms", "p99 ms", "first ms", "sg req/q", "peak RSS MiB",
            "x ours", "checked", "bad", "status")
    rows = [head]

    def fmt(v: float | None, digits: int = 1) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    for r in results:
        row = r.row()
        p50, rss = row["p50_ms"], row["peak_rss_mib"]
        o50 = ours.pct(0.5) if ours else None
        rows.append((r.gateway, fmt(p50), fmt(p50 / o50 if p50 and o50 else None, 2), fmt(row["p90_ms"]),
                     fmt(row["p99_ms"]), fmt(row["first_ms"]), fmt(row["sg_req_per_query"], 2), fmt(rss, 0),
                     fmt(rss / ours.peak_rss_mib if ours and ours.peak_rss_mib and rss else None, 2),
                     str(len(r.latencies_ms)), str(r.bad), r.status + (f": {r.reason}" if r.reason else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [f"scenario {scenario}"]
    lines += ["  ".join(c.ljust(w) if i in (0, len(head) - 1) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    return "\n".join(lines)


def run_scenario(name: str, *, requests: int | None = None, only: set[str] | None = None,
                 skip_peers: bool = False, workers: int = 1,
                 say: Callable[[str], None] = print) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = RESULTS_DIR / f"{name}-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    install = gateways.PeerInstall(None, "peers not requested") if skip_peers or name == "distinct-memory" \
        else gateways.install_peers()
    sdls = subgraph_sdls(name)
    port = processes.free_port()
    if sdls is None:
        argv = [sys.executable, "-m", "bench.federation.subgraphs", "--port", str(port)]
    else:
        scen = "big-response" if name == "big-response" else "many-plans"
        argv = [sys.executable, "-m", "bench.grafbase.subgraphs", "--scenario", scen, "--port", str(port)]
    sub = processes.start("subgraphs", argv, log_path=logs / "subgraphs.log", cwd=guild.REPO_ROOT)
    results: list[Result] = []
    try:
        processes.wait_ready(sub, f"http://127.0.0.1:{port}/health", timeout_s=60.0)
        subgraphs = Subgraphs(sub, f"http://127.0.0.1:{port}")
        base = subgraphs.base_url
        if sdls is None:
            sdl = guild.supergraph_sdl(base)
        else:
            sdl = (scenarios.big_response() if name == "big-response" else scenarios.many_plans()
                   ).supergraph_sdl(base)
        supergraph = logs / "supergraph.graphql"
        supergraph.write_text(sdl)
        work = workload(name, requests, base)
        specs = [gateways.ours(workers=workers)]
        if name != "distinct-memory":
            specs += [gateways.hive_gateway(install), gateways.hive_gateway(install, router_runtime=True),
                      gateways.apollo_gateway(install)]
        if only:
            specs = [s for s in specs if any(word in s.name for word in only)]
        for spec in specs:
            started = time.monotonic()
            result = measure(spec, work, subgraphs, supergraph, logs, say)
            say(f"{spec.name}: {result.status} {result.reason} ({time.monotonic() - started:.0f} s)")
            results.append(result)
    finally:
        sub.stop()
    table = render(name, results)
    if name.startswith("many-plans") and any(r.gateway.startswith("ours") for r in results):
        figures = planning_ms()
        kib = figures["plan_bytes"] / 1024
        table += (f"\nours, planner alone (in-process, distinct aliases): {figures['planning_ms_p50']} ms"
                  f" median per cold plan; one plan holds ~{kib:.0f} KiB (estimated)")
    document = {"scenario": name, "started_utc": stamp, "load_avg": list(psutil.getloadavg()),
                "peer_versions": install.versions, "peer_install_error": install.error,
                "results": [r.row() for r in results], "table": table,
                "latency_summary": {r.gateway: statistics.fmean(r.latencies_ms) if r.latencies_ms else None
                                    for r in results}}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for stem in (f"{name}-{stamp}", f"{name}-latest"):
        (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(document, indent=2))
        (RESULTS_DIR / f"{stem}.txt").write_text(table + "\n")
    return document
