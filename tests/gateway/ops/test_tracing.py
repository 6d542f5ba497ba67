"""One trace across processes: gateway -> orgs subgraph (SQL, outbox) -> NATS -> other subgraphs' consumers.

The real stack of tests/e2e (every subgraph on the session's PostgreSQL and NATS, the gateway in front),
built with tracing on and an in-memory exporter. A client sends ``organizationCreate`` with its own
``traceparent``; the trace it names must hold the gateway's request, plan and fetch spans, the orgs
subgraph's server span and SQL, and the ``event.consume`` spans of the consumers in two other
subgraphs (catalog and pricing project new organizations), with their SQL.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.engine import make_url

from shared.devstack.services import ServiceUrls
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
    from shared.migrate import upgrade_all_async
    from shared.seed import seed_all

    async with scratch_database(service_urls.admin_url, "traces") as db_name:
        url = make_url(service_urls.database_url).set(database=db_name).render_as_string(hide_password=False)
        await upgrade_all_async(url)
        await seed_all(url)
        secret = secrets.token_urlsafe(32)
        with environment(B2B_GATEWAY_SECRET=secret, DATABASE_URL=url):
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
