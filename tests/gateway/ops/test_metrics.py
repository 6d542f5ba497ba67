"""Metrics: prometheus_client exposition, right with several gateway worker processes, and the checked-in
dashboard and alert rules name only metrics that exist."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import gateway.observability.metrics
import shared.observability.event_metrics
import shared.observability.http_metrics
from devstack.asgi import serve_asgi
from devstack.ports import free_port
from gateway.auth.metrics import AuthMetrics
from gateway.observability.counters import mirror
from gateway.safety.metrics import SafetyMetrics
from tests.gateway.ops.stack import serve_stack
from tests.gateway.ops.tree_subgraph import TreeSubgraph, supergraph_sdl

ASYNC = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
_MODULES = (
    gateway.observability.metrics,
    shared.observability.event_metrics,
    shared.observability.http_metrics,
)


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(text: str, name: str, **labels: str) -> float:
    return sum(v for k, v in samples(text, name).items() if set(labels.items()) <= set(k))


@ASYNC
async def test_gateway_metrics_in_process() -> None:
    async with serve_stack() as stack, aiohttp.ClientSession() as http:
        async with http.get(f"{stack.url}/metrics") as response:
            before = await response.text()
            assert response.headers["content-type"].startswith("text/plain")
        query = {"query": "query Tree { categories { id } }"}
        for _ in range(3):
            async with http.post(stack.graphql, json=query) as response:
                assert response.status == 200
        async with http.post(stack.graphql, json={"query": "{ nope }"}) as response:
            assert response.status == 200  # application/json: a request error is a 200
        async with http.get(f"{stack.url}/metrics") as response:
            after = await response.text()
    name = "gateway_request_duration_seconds_count"
    assert total(after, name, operation="Tree") - total(before, name, operation="Tree") == 3
    errors = "gateway_errors_total"
    code = "GRAPHQL_VALIDATION_FAILED"
    assert total(after, errors, code=code) - total(before, errors, code=code) == 1
    plans = "gateway_plan_cache_total"
    assert total(after, plans, result="hit") - total(before, plans, result="hit") >= 2
    assert total(after, "gateway_subgraph_request_duration_seconds_count", subgraph="tree") >= 1
    assert samples(after, "gateway_circuit_breaker_state")[(("subgraph", "tree"),)] == 0  # closed
    assert "\ngateway_limits_refused_total " in after  # the safety layer's counters, kept


@pytest_asyncio.fixture(loop_scope="session")
async def subgraph_url() -> AsyncIterator[str]:
    async with serve_asgi(TreeSubgraph().app) as url:
        yield f"{url}/graphql"


@ASYNC
async def test_metrics_add_up_over_several_worker_processes(subgraph_url: str, tmp_path: Path) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(supergraph_sdl(subgraph_url))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OTEL_"))}
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        GATEWAY_AUTH="false",
        GATEWAY_SUBSCRIPTIONS="false",
    )
    args = ["-m", "gateway", "--supergraph", str(supergraph), "--port", str(port), "--workers", "2"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(60):
                while True:
                    try:
                        async with http.get(f"{base}/livez") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.2)
            sent = 40
            for _ in range(sent):  # new connections: the kernel spreads them over both workers
                async with (
                    aiohttp.ClientSession() as one,
                    one.post(
                        f"{base}/graphql", json={"query": "query Many { categories { id } }"}
                    ) as response,
                ):
                    assert response.status == 200
            for _ in range(6):  # whichever worker answers, it reports all of them
                async with aiohttp.ClientSession() as one, one.get(f"{base}/metrics") as response:
                    text = await response.text()
                assert total(text, "gateway_request_duration_seconds_count", operation="Many") == sent
                assert total(text, "gateway_requests_total", status="200") == sent
            files = list((tmp_path / "metrics").glob("*.db"))
            assert len({f.name.rsplit("_", 1)[-1] for f in files}) >= 2, files  # two processes wrote samples
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


# ---- dashboards and alert rules --------------------------------------------------------------------------


def known_series() -> set[str]:
    mirror(SafetyMetrics())
    mirror(AuthMetrics())
    assert all(_MODULES)
    names = set()
    for family in REGISTRY.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers and grouping labels left out)."""
    stripped = re.sub(r"\{[^}]*\}", "", expression)
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", stripped)
    stripped = re.sub(r'"[^"]*"', "", stripped)
    tokens = re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped)
    return {t for t in tokens if re.match(r"(gateway|subgraph|events?|outbox|consumer)_", t)}


def dashboard_expressions() -> list[str]:
    found = []
    for path in sorted((DEPLOY / "grafana").glob("*.json")):
        dashboard = json.loads(path.read_text())
        assert dashboard["title"] and dashboard["panels"], path
        for panel in dashboard["panels"]:
            for target in panel.get("targets", ()):
                found.append(target["expr"])
    return found


def alert_rules() -> list[dict[str, object]]:
    rules = []
    for path in sorted((DEPLOY / "prometheus").glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        for group in document["groups"]:
            assert group["name"] and group["rules"], path
            rules.extend(group["rules"])
    return rules


def test_dashboard_and_alerts_name_metrics_that_exist() -> None:
    known = known_series()
    expressions = dashboard_expressions()
    rules = alert_rules()
    assert len(expressions) >= 10 and len(rules) >= 6
    for rule in rules:
        assert rule["alert"] and rule["expr"] and rule.get("labels", {}).get("severity"), rule  # type: ignore[union-attr]
        assert rule.get("annotations", {}).get("summary"), rule  # type: ignore[union-attr]
        expressions.append(str(rule["expr"]))
    used = set()
    for expression in expressions:
        names = metric_names(expression)
        assert names, expression
        assert names <= known, (expression, names - known)
        used |= names
    # The signals docs/operations.md promises are all on the dashboard or in an alert.
    for promised in (
        "gateway_requests_total",
        "gateway_errors_total",
        "gateway_circuit_breaker_state",
        "gateway_plan_cache_total",
        "gateway_subscriptions_open",
        "outbox_backlog",
        "events_consumed_total",
        "events_redelivered_total",
        "consumer_lag_messages",
        "gateway_tenant_guard_blocked_total",
    ):
        assert promised in used, promised
