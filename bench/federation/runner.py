"""``python -m bench federation``: subgraphs up, then each gateway alone on loopback under the same load.

Per gateway: start it (own process group), wait until ready, check N responses and count the subgraph
requests of one query at a time, warm up, then the measured run (wrk; CPU of the gateway's process tree via
psutil; subgraph requests counted by the subgraphs; one response checked per second), N more checks, stop.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.federation import checker, gateways, load, processes, profiling, scenario
from bench.federation.report import Measurement, ours_in, render_table

RESULTS_DIR = scenario.REPO_ROOT / "bench" / "results"
ALL_PASSES = ("single", "dedup", "workers")


@dataclass(frozen=True)
class LoadProfile:
    warmup_s: float = 5.0
    duration_s: float = 30.0
    connections: int = 50
    checks: int = 20  # sequential checked requests before and after the load
    profile: bool = False  # sample our gateway with py-spy during the measured run

    @classmethod
    def quick(cls) -> LoadProfile:
        return cls(warmup_s=2.0, duration_s=5.0, checks=5)


@dataclass
class Subgraphs:
    proc: processes.ManagedProcess
    base_url: str

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.base_url}/counts", timeout=5.0) as response:
            return dict(json.loads(response.read()))

    def total(self) -> int:
        return self.counts()["total"]

    def quiesce(self, *, still_s: float = 0.5, timeout_s: float = 15.0) -> int:
        """Wait until no subgraph request arrives for ``still_s`` (the gateway may still be working on
        requests that the warm-up's load generator abandoned); returns the total then."""
        deadline = time.monotonic() + timeout_s
        last = self.total()
        while time.monotonic() < deadline:
            time.sleep(still_s)
            now = self.total()
            if now == last:
                break
            last = now
        return last


def start_subgraphs(logs: Path) -> Subgraphs:
    import sys

    port = processes.free_port()
    argv = [sys.executable, "-m", "bench.federation.subgraphs", "--port", str(port)]
    proc = processes.start("subgraphs", argv, log_path=logs / "subgraphs.log", cwd=scenario.REPO_ROOT)
    try:
        processes.wait_ready(proc, f"http://127.0.0.1:{port}/health", timeout_s=30.0)
    except BaseException:
        proc.stop()
        raise
    return Subgraphs(proc, f"http://127.0.0.1:{port}")


def tree_cpu_seconds(pid: int) -> float:
    """user+sys of a process and its live descendants (workers forked by the gateway included)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
    except psutil.NoSuchProcess:
        pass
    return total


def measure_gateway(spec: gateways.GatewaySpec, pass_name: str, subgraphs: Subgraphs, supergraph: Path,
                    profile: LoadProfile, logs: Path, say: Callable[[str], None]) -> Measurement:
    m = Measurement(pass_name, spec.name, "ok", is_ours=spec.is_ours)
    if spec.skip_reason:
        m.status, m.reason = "skipped", spec.skip_reason
        return m
    body = scenario.request_body()
    expected = scenario.expected_response()
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}{spec.graphql_path}"
    log_name = spec.name.replace(" ", "_").replace("=", "") + f".{pass_name}.log"
    say(f"[{pass_name}] {spec.name}: starting on port {port}")
    with processes.running(spec.name, spec.argv(port, supergraph), log_path=logs / log_name, env=spec.env,
                           cwd=logs) as proc:
        try:
            if spec.health_path:
                processes.wait_ready(proc, f"http://127.0.0.1:{port}{spec.health_path}",
                                     timeout_s=spec.startup_timeout_s)
            else:
                processes.wait_ready(proc, url, body=gateways.TYPENAME_QUERY,
                                     timeout_s=spec.startup_timeout_s)
        except processes.NotReady as exc:  # a peer that cannot start is skipped; ours failed
            m.status = "failed" if spec.is_ours else "skipped"
            m.reason = f"did not start: {str(exc)[:300]}"
            return m
        before = subgraphs.total()
        pre = checker.check_many(url, body, expected, profile.checks)
        m.sequential_subgraph_requests_per_query = (subgraphs.total() - before) / max(1, pre.checked)
        if pre.mismatches == pre.checked:
            m.status = "failed"
            m.reason = f"every response differs from the expected one: {pre.first_mismatch}"
            m.checked, m.mismatches, m.first_mismatch = pre.checked, pre.mismatches, pre.first_mismatch
            return m
        say(f"[{pass_name}] {spec.name}: warm-up {profile.warmup_s:.0f} s")
        load.run_load(url, body, connections=profile.connections, duration_s=profile.warmup_s)
        sampler = checker.Sampler(url, body, expected)
        sg_before = subgraphs.quiesce()
        cpu_before, sg_cpu_before = tree_cpu_seconds(proc.pid), tree_cpu_seconds(subgraphs.proc.pid)
        say(f"[{pass_name}] {spec.name}: measuring {profile.duration_s:.0f} s")
        profiler, profile_path = None, logs / log_name.replace(".log", ".py-spy.txt")
        if profile.profile and spec.is_ours:
            profiler = profiling.start(proc.pid, profile.duration_s, profile_path)
            if profiler is None:
                m.extra["profile"] = "py-spy not installed (pip install py-spy)"
        sampler.start()
        try:
            result = load.run_load(url, body, connections=profile.connections, duration_s=profile.duration_s)
        finally:
            during = sampler.stop()
            if profiler is not None:
                _finish_profile(profiler, profile_path, m)
        cpu_after, sg_cpu_after = tree_cpu_seconds(proc.pid), tree_cpu_seconds(subgraphs.proc.pid)
        sg_after = subgraphs.quiesce()  # includes the fetches of the queries in flight when the load ended
        post = checker.check_many(url, body, expected, profile.checks)
        alive = proc.alive()
    tally = checker.CheckTally()
    for part in (pre, during, post):
        tally.add(part)
    # every connection had one query in flight when wrk stopped, which the gateway still answers (our own
    # load generator waits for its last answers instead)
    in_flight = profile.connections if result.tool == "wrk" else 0
    queries = result.requests + during.checked + in_flight
    m.rps, m.p50_ms, m.p99_ms = result.rps, result.p50_ms, result.p99_ms
    m.requests, m.duration_s, m.load_tool = result.requests, result.duration_s, result.tool
    m.non2xx, m.socket_errors = result.non2xx, result.socket_errors
    m.subgraph_requests_per_query = (sg_after - sg_before) / queries if queries else None
    m.cpu_s = cpu_after - cpu_before
    m.extra["subgraphs_cpu_s"] = round(sg_cpu_after - sg_cpu_before, 3)  # to show they cost little
    m.checked, m.mismatches, m.first_mismatch = tally.checked, tally.mismatches, tally.first_mismatch
    problems = []
    if tally.mismatches:
        problems.append(f"{tally.mismatches} wrong responses")
    if result.non2xx or result.socket_errors:
        problems.append(f"{result.non2xx} non-2xx, {result.socket_errors} socket errors")
    if not alive:
        problems.append("gateway died during the run")
    if problems:
        m.status, m.reason = "failed", "; ".join(problems)
    return m


def _finish_profile(profiler: processes.ManagedProcess, output: Path, m: Measurement) -> None:
    deadline = time.monotonic() + 30.0
    while profiler.alive() and time.monotonic() < deadline:  # py-spy writes its file when it ends
        time.sleep(0.2)
    profiler.stop()
    if output.exists():
        m.extra["profile"] = profiling.summarize(output.read_text(errors="replace"))
        m.extra["profile_file"] = str(output)
    else:
        m.extra["profile"] = f"py-spy wrote nothing: {profiler.log_tail(500)}"


def plan(passes: tuple[str, ...], install: gateways.PeerInstall, only: set[str] | None) -> list[
        tuple[str, gateways.GatewaySpec]]:
    runs: list[tuple[str, gateways.GatewaySpec]] = []
    if "single" in passes:
        runs += [("single", gateways.ours()), ("single", gateways.hive_gateway(install)),
                 ("single", gateways.hive_gateway(install, router_runtime=True)),
                 ("single", gateways.apollo_gateway(install))]
    if "dedup" in passes:
        runs += [("dedup", gateways.ours(inbound_dedup=True)),
                 ("dedup", gateways.hive_gateway(install, inbound_dedup=True)),
                 ("dedup", gateways.hive_gateway(install, router_runtime=True, inbound_dedup=True))]
    if "workers" in passes:
        runs.append(("workers", gateways.ours(workers=2)))
    if only:
        runs = [(p, s) for p, s in runs if any(word in s.name for word in only)]
    return runs


def dedup_note(measurements: list[Measurement]) -> str | None:
    """Whether GATEWAY_INBOUND_DEDUP visibly changed our gateway (the variable may not be implemented)."""
    single, dedup = ours_in(measurements, "single"), ours_in(measurements, "dedup")
    if not single or not dedup:
        return None
    before, after = single.subgraph_requests_per_query, dedup.subgraph_requests_per_query
    if not before or after is None:
        return None
    prefix = "ours with GATEWAY_INBOUND_DEDUP=1: subgraph requests/query"
    if after / before > 0.8:
        return f"{prefix} {after:.2f} vs {before:.2f} without: no sign of inbound deduplication"
    return f"{prefix} fell to {after / before:.0%} of the run without it: inbound deduplication is active"


def run_federation(profile: LoadProfile, *, passes: tuple[str, ...] = ALL_PASSES,
                   only: set[str] | None = None, skip_peers: bool = False,
                   say: Callable[[str], None] = print) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    load_at_start = list(psutil.getloadavg())  # others' work on a shared machine shows here
    logs = RESULTS_DIR / f"federation-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    if skip_peers:
        install = gateways.PeerInstall(None, "peers not requested (--no-peers)")
    else:
        say("installing/checking the peer gateways (npm, pinned) ...")
        install = gateways.install_peers()
        if install.error:
            say(f"peers unavailable: {install.error}")
    if load.ensure_wrk(say) is None:
        say("wrk not found: using the bounded aiohttp load generator (its ceiling is lower than wrk's)")
    measurements: list[Measurement] = []
    subgraphs = start_subgraphs(logs)
    try:
        supergraph = logs / "supergraph.graphql"
        supergraph.write_text(scenario.supergraph_sdl(subgraphs.base_url))
        for pass_name, spec in plan(passes, install, only):
            started = time.monotonic()
            try:
                m = measure_gateway(spec, pass_name, subgraphs, supergraph, profile, logs, say)
            except Exception as exc:  # one broken gateway or tool run must not lose the others' figures
                m = Measurement(pass_name, spec.name, "failed", reason=f"{type(exc).__name__}: {exc}"[:400],
                                is_ours=spec.is_ours)
            say(f"[{pass_name}] {spec.name}: {m.status}{': ' + m.reason if m.reason else ''}"
                f" ({time.monotonic() - started:.0f} s)")
            measurements.append(m)
        subgraph_counts = subgraphs.counts()
    finally:
        subgraphs.proc.stop()
    table = render_table(measurements)
    notes = [n for n in [dedup_note(measurements)] if n]
    notes += [f"profile of {m.gateway} ({m.pass_name}):\n{m.extra['profile']}" for m in measurements
              if "profile" in m.extra]
    document = {
        "benchmark": "federation", "started_utc": stamp, "profile": profile.__dict__,
        "machine": {"cpus": psutil.cpu_count(), "load_avg_at_start": load_at_start,
                    "load_avg_at_end": list(psutil.getloadavg())},
        "load_tool": load.wrk_path() or "own-aiohttp", "peer_versions": install.versions,
        "peer_install_error": install.error, "subgraph_counts": subgraph_counts,
        "measurements": [m.to_json() for m in measurements], "notes": notes, "table": table,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for name in (f"federation-{stamp}", "federation-latest"):
        (RESULTS_DIR / f"{name}.json").write_text(json.dumps(document, indent=2))
        (RESULTS_DIR / f"{name}.txt").write_text(table + "\n" + "\n".join(notes) + "\n")
    return document
