"""``python -m bench latency``: what the gateway adds to a one-subgraph query.

Sequential requests, alternating direct subgraph call and the same query through the gateway, both over
kept-alive connections in the same run; reports p50/p99 of each and of (gateway - direct).
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.federation import processes, scenario
from bench.federation.load import percentile
from bench.federation.runner import RESULTS_DIR, start_subgraphs

ONE_SUBGRAPH_QUERY = "{ topProducts { upc name price weight } }"


class KeepAliveClient:
    def __init__(self, port: int, path: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10.0)
        self.path = path

    def post(self, body: bytes) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self.conn.request("POST", self.path, body=body, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        payload = response.read()
        return (time.perf_counter() - started) * 1000, response.status, payload

    def close(self) -> None:
        self.conn.close()


def summarize(direct: list[float], gateway: list[float]) -> dict[str, float]:
    diffs = sorted(g - d for g, d in zip(gateway, direct, strict=True))
    direct, gateway = sorted(direct), sorted(gateway)
    out = {}
    for pct in (50, 99):
        out[f"direct_p{pct}_ms"] = percentile(direct, pct)
        out[f"gateway_p{pct}_ms"] = percentile(gateway, pct)
        out[f"added_p{pct}_ms"] = out[f"gateway_p{pct}_ms"] - out[f"direct_p{pct}_ms"]
        out[f"paired_diff_p{pct}_ms"] = percentile(diffs, pct)
    return out


def render(summary: dict[str, float], requests: int) -> str:
    lines = [f"one-subgraph query, {requests} sequential requests each way",
             f"{'':10}{'p50 ms':>10}{'p99 ms':>10}"]
    for label, key in (("direct", "direct"), ("gateway", "gateway"), ("added", "added"),
                       ("paired", "paired_diff")):
        lines.append(f"{label:10}{summary[f'{key}_p50_ms']:>10.3f}{summary[f'{key}_p99_ms']:>10.3f}")
    lines.append("added = gateway percentile - direct percentile;"
                 " paired = percentile of per-pair differences")
    return "\n".join(lines)


def run_latency(requests: int, *, warmup: int = 100, say: Callable[[str], None] = print) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = RESULTS_DIR / f"latency-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"query": ONE_SUBGRAPH_QUERY}).encode()
    subgraphs = start_subgraphs(logs)
    document: dict[str, Any] = {"benchmark": "latency", "started_utc": stamp, "query": ONE_SUBGRAPH_QUERY,
                                "requests": requests}
    try:
        supergraph = logs / "supergraph.graphql"
        supergraph.write_text(scenario.supergraph_sdl(subgraphs.base_url))
        port = processes.free_port()
        argv = [sys.executable, "-m", "gateway", "--supergraph", str(supergraph), "--host", "127.0.0.1",
                "--port", str(port)]
        with processes.running("ours", argv, log_path=logs / "ours.log", cwd=logs) as proc:
            processes.wait_ready(proc, f"http://127.0.0.1:{port}/healthcheck", timeout_s=30.0)
            sg_port = int(subgraphs.base_url.rsplit(":", 1)[1])
            direct_client = KeepAliveClient(sg_port, "/products")
            gateway_client = KeepAliveClient(port, "/graphql")
            try:
                document.update(_measure(direct_client, gateway_client, body, requests, warmup))
            finally:
                direct_client.close()
                gateway_client.close()
    except processes.NotReady as exc:
        document["error"] = f"our gateway did not start: {str(exc)[:500]}"
    finally:
        subgraphs.proc.stop()
    text = document.get("error") or render(document["summary"], requests)
    if document.get("mismatch"):
        text += f"\nWARNING: {document['mismatch']}"
    document["table"] = text
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for name in (f"latency-{stamp}", "latency-latest"):
        (RESULTS_DIR / f"{name}.json").write_text(json.dumps(document, indent=2))
        (RESULTS_DIR / f"{name}.txt").write_text(text + "\n")
    return document


def _measure(direct_client: KeepAliveClient, gateway_client: KeepAliveClient, body: bytes, requests: int,
             warmup: int) -> dict[str, Any]:
    _, status, direct_payload = direct_client.post(body)
    _, gw_status, gw_payload = gateway_client.post(body)
    out: dict[str, Any] = {}
    if status != 200 or gw_status != 200 or json.loads(direct_payload) != json.loads(gw_payload):
        out["mismatch"] = (f"gateway answer differs from the subgraph's: HTTP {gw_status} "
                           f"{gw_payload[:200].decode(errors='replace')}")
    for _ in range(warmup):
        direct_client.post(body)
        gateway_client.post(body)
    direct: list[float] = []
    gateway: list[float] = []
    for _ in range(requests):
        direct.append(direct_client.post(body)[0])
        gateway.append(gateway_client.post(body)[0])
    out["summary"] = summarize(direct, gateway)
    return out
