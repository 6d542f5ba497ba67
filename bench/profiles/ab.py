"""Quick A/B of our gateway's settings under the scenario load (wrk), e.g. one GC or connection setting:

    python -m bench.profiles.ab --duration 5 "" "GATEWAY_GC_THRESHOLD=0" "GATEWAY_SUBGRAPH_DEDUP=0"

Each argument is one variant: space-separated GATEWAY_* assignments ("" = defaults). Prints RPS, p50,
p99, subgraph requests per query and the gateway's CPU ms per query. No peers, no response checks
(``python -m bench federation`` does those): a tool to decide, not a benchmark to quote.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psutil

from bench.federation import load, processes, runner, scenario


def measure(variant: str, subgraphs: runner.Subgraphs, supergraph: Path, logs: Path, duration: float,
            connections: int) -> str:
    env = dict(pair.split("=", 1) for pair in variant.split())
    port = processes.free_port()
    argv = [sys.executable, "-m", "gateway", "--supergraph", str(supergraph), "--port", str(port),
            "--log-level", "warning", *env.pop("ARGS", "").split()]
    with processes.running("ours", argv, log_path=logs / "ours.log", env=env) as proc:
        processes.wait_ready(proc, f"http://127.0.0.1:{port}/healthcheck", timeout_s=30.0)
        url = f"http://127.0.0.1:{port}/graphql"
        body = scenario.request_body()
        load.run_load(url, body, connections=connections, duration_s=2.0)
        before = subgraphs.quiesce()
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        cpu0 = sum(sum(p.cpu_times()[:2]) for p in tree)
        result = load.run_load(url, body, connections=connections, duration_s=duration)
        cpu = sum(sum(p.cpu_times()[:2]) for p in tree) - cpu0
        sg = (subgraphs.total() - before) / max(result.requests + connections, 1)
    return (f"{variant or '(defaults)':45} {result.rps:7.0f} rps  p50 {result.p50_ms:7.1f}"
            f"  p99 {result.p99_ms:7.1f} ms"
            f"  sg/q {sg:5.2f}  cpu {cpu / max(result.requests, 1) * 1000:5.2f} ms/q  errors "
            f"{result.non2xx + result.socket_errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    logs = runner.RESULTS_DIR / f"ab-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    logs.mkdir(parents=True, exist_ok=True)
    subgraphs = runner.start_subgraphs(logs)
    try:
        supergraph = logs / "supergraph.graphql"
        supergraph.write_text(scenario.supergraph_sdl(subgraphs.base_url))
        print(f"load average {psutil.getloadavg()[0]:.2f}", flush=True)
        for variant in args.variants:
            print(measure(variant, subgraphs, supergraph, logs, args.duration, args.connections), flush=True)
    finally:
        subgraphs.proc.stop()


if __name__ == "__main__":
    main()
