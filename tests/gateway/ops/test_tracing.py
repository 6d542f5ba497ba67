"""Signals on the real stack: one trace from the gateway through SQL and events; JSON logs, no secrets.

The real stack of tests/e2e (every subgraph on the session's PostgreSQL and NATS, the gateway in front),
built with tracing on and an in-memory exporter. A client sends ``organizationCreate`` with its own
``traceparent``; the trace it names must hold the gateway's request, plan and fetch spans, the orgs
subgraph's server span and SQL, and the ``event.consume`` spans of the consumers in two other
subgraphs (catalog and pricing project new organizations), with their SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.engine import make_url

from devstack.services import ServiceUrls
from shared.observability.logs import REDACTED, JsonFormatter
from tests.e2e.conftest import Stack, _serve_stack
from tests.gateway.ops.tracing_fixtures import spans_exporter
from tests.scratch import environment, scratch_database

pytestmark = pytest.mark.asyncio(loop_scope="session")

CREATE_ORG = """mutation CreateOrg($input: OrganizationCreateInput!) {
  organizationCreate(input: $input) { organization { id name } userErrors { code } }
}"""


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    yield from spans_exporter()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def traced_stack(exporter: InMemorySpanExporter, service_urls: ServiceUrls) -> AsyncIterator[Stack]:
    from devstack.migrate import upgrade_all_async
    from devstack.seed import seed_all

    async with scratch_database(service_urls.admin_url, "traces") as db_name:
        url = make_url(service_urls.database_url).set(database=db_name).render_as_string(hide_password=False)
        await upgrade_all_async(url)
        await seed_all(url)
        secret = secrets.token_urlsafe(32)
        with environment(B2B_GATEWAY_SECRET=secret, DATABASE_URL=url, GATEWAY_LOG_REQUESTS="true"):
            async with _serve_stack(service_urls, secret) as built:
                yield built


def _in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s for s in exporter.get_finished_spans() if s.context is not None and s.context.trace_id == trace_id
    ]


def _consumers(spans: list[ReadableSpan]) -> set[str]:
    return {
        str(s.attributes.get("messaging.consumer.group.name"))
        for s in spans
        if s.name.startswith("event.consume") and s.attributes
    }


async def test_one_trace_from_the_gateway_through_sql_and_events(
    traced_stack: Stack, exporter: InMemorySpanExporter
) -> None:
    token = await traced_stack.login("admin@acme-mro.example")
    trace_id = secrets.randbits(128) or 1
    traceparent = f"00-{trace_id:032x}-{secrets.randbits(64) or 1:016x}-01"
    reply = await traced_stack.query(
        CREATE_ORG,
        {"input": {"name": "Traced Supplies", "kind": "SUPPLIER"}},
        token=token,
        headers={"traceparent": traceparent},
    )
    assert reply.status == 200 and not reply.errors, reply.body
    assert reply.data["organizationCreate"]["userErrors"] == []

    async with asyncio.timeout(30):  # the relay publishes after the commit; consumers pull
        while True:
            if {"catalog-organizations", "pricing-org-units"} <= _consumers(_in_trace(exporter, trace_id)):
                break
            await asyncio.sleep(0.1)
    spans = _in_trace(exporter, trace_id)
    names = {s.name for s in spans}
    assert {
        "graphql.request",
        "graphql.parse",
        "graphql.validate",
        "graphql.plan",
        "subgraph.fetch",
        "graphql.shape",
        "subgraph.request",
    } <= names, names
    request = next(s for s in spans if s.name == "graphql.request")
    assert request.attributes and request.attributes["graphql.operation.name"] == "CreateOrg"
    assert request.parent is not None and request.parent.span_id != 0  # continued the client's trace
    plan = next(s for s in spans if s.name == "graphql.plan")
    assert plan.attributes and plan.attributes["graphql.plan.cache_hit"] is False
    served = {
        s.attributes.get("subgraph.name") for s in spans if s.name == "subgraph.request" and s.attributes
    }
    assert "orgs" in served
    sql = [s for s in spans if s.attributes and s.attributes.get("db.system") in ("postgresql", "postgres")]
    assert any(
        "INSERT" in s.name.upper() or "outbox" in str(s.attributes.get("db.statement", "")) for s in sql
    ), [s.name for s in sql]
    consumers = [s for s in spans if s.name.startswith("event.consume")]
    consumer_ids = {s.context.span_id for s in consumers if s.context is not None}
    assert any(s.parent is not None and s.parent.span_id in consumer_ids for s in sql)  # the consumer's SQL


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def captured_logs() -> Iterator[_Capture]:
    capture, root = _Capture(), logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


async def test_logs_are_json_with_trace_tenant_and_operation_and_no_secrets(traced_stack: Stack) -> None:
    from subgraphs.orgs.seed import DEMO_PASSWORD

    with captured_logs() as logs:
        token = await traced_stack.login("admin@acme-mro.example", cached=False)
        reply = await traced_stack.query("query Me { me { email } }", token=token)
        assert reply.status == 200 and not reply.errors, reply.body
        bad = await traced_stack.query("query Me { me { email } }", token=token[:-6] + "AAAAAA")
        assert bad.status == 401
        wrong = await traced_stack.query(
            "mutation Login($input: LoginInput!) { login(input: $input) { token } }",
            {
                "input": {
                    "email": "admin@acme-mro.example",
                    "password": "wrong-" + DEMO_PASSWORD,
                    "tenant": "acme-mro",
                }
            },
        )
        assert wrong.status == 200
        logging.getLogger("tests.ops").error(
            "connecting with password=%s to postgresql://u:%s@db/x as %s",
            DEMO_PASSWORD,
            DEMO_PASSWORD,
            f"Bearer {token}",
            extra={"api_key": "k-123", "authorization": token},
        )
    text = "\n".join(logs.lines)
    for secret in (DEMO_PASSWORD, token, token.split(".")[1], traced_stack.secret, "k-123"):
        assert secret not in text
    lines = [orjson.loads(line) for line in logs.lines]
    assert all({"ts", "level", "logger", "message", "service"} <= line.keys() for line in lines)
    requests = [line for line in lines if line["message"] == "graphql request"]
    me = [line for line in requests if line.get("operation") == "Me" and line["status"] == 200]
    assert me and me[0].get("tenant") and me[0].get("trace_id") and me[0]["duration_ms"] >= 0
    assert any(line.get("operation") == "Login" for line in requests)
    leaked = next(line for line in lines if line["logger"] == "tests.ops")
    assert leaked["api_key"] == leaked["authorization"] == REDACTED
