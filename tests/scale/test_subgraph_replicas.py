"""Two replicas of a subgraph, as OS processes on one database and one NATS server:

- an event reaches one replica of a consumer only (the durable JetStream consumer is shared: its
  pull subscribers form a work queue) and is applied once;
- the outbox relays of both replicas take turns: every event is published once, in outbox order;
- a sweeper tick runs in one replica only (the lease), and the other takes over when it dies.

Each replica listens on its own port here (so the test can read each one's /metrics); the chaos
test (test_chaos.py) puts replicas behind one socket instead.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import nats
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bench.orders.stack import scratch_database
from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn, wait_until
from devstack.services import ServiceUrls, _start_nats
from shared.db import Database
from shared.events import EventEnvelope, add_event, ensure_stream

EVENTS = 300
PROBES = 120


@dataclass
class Replicas:
    database_url: str
    nats_url: str
    env: dict[str, str]
    logs: Path
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, ManagedProcess] = field(default_factory=dict)

    def start(self, key: str) -> None:
        name = key.split("-")[0]
        self.ports.setdefault(key, free_port())
        argv = [sys.executable, "-m", "uvicorn", f"subgraphs.{name}.app:create_app", "--factory"]
        argv += [
            "--host",
            LOOPBACK,
            "--port",
            str(self.ports[key]),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self.procs[key] = spawn(key, argv, log_path=self.logs / f"{key}.log", env=self.env)

    def wait_ready(self, key: str) -> None:
        url = f"http://{LOOPBACK}:{self.ports[key]}/readyz"  # database and NATS connected
        if not wait_until(lambda: _get(url) is not None, self.procs[key], timeout=120, interval=0.2):
            raise RuntimeError(f"{key} did not become ready:\n{self.procs[key].log_tail(30)}")

    def metric(self, key: str, name: str, **labels: str) -> float:
        """The sum of the samples `name` of replica `key` whose labels include `labels`."""
        text = _get(f"http://{LOOPBACK}:{self.ports[key]}/metrics") or ""
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.read().decode() if response.status == 200 else None
    except OSError:
        return None


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replicas(
    service_urls: ServiceUrls, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replicas]:
    logs = tmp_path_factory.mktemp("replicas")
    async with scratch_database(
        service_urls.database_url, service_urls.admin_url, prefix="scale", seed=False
    ) as url:
        nats_proc, nats_url = _start_nats(logs, free_port())
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "NATS_URL": nats_url,
            "B2B_GATEWAY_SECRET": secrets.token_urlsafe(32),
            "PYTHONUNBUFFERED": "1",
        }
        stack = Replicas(url, nats_url, env, logs)
        try:
            for key in ("catalog-1", "catalog-2", "stock-1", "stock-2"):
                stack.start(key)
            for key in list(stack.procs):
                await asyncio.to_thread(stack.wait_ready, key)
            yield stack
        finally:
            for proc in stack.procs.values():
                proc.stop()
            nats_proc.stop()


async def _wait_for(check: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.3)
    return bool(await check())  # type: ignore[operator]


pytestmark = pytest.mark.slow  # four subgraph processes, about 80 s


async def test_each_event_is_handled_by_one_replica_once(replicas: Replicas) -> None:
    tenant = uuid.uuid4()
    nc = await nats.connect(replicas.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "orgs")
        for _ in range(EVENTS):
            org = uuid.uuid4()
            event = EventEnvelope.new(
                "orgs", "organization_created", tenant_id=tenant, subject_id=org,
                data={"id": str(org), "kind": "buyer", "name": "n", "parent_id": None, "external_ref": None},
            )  # fmt: skip
            await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
    finally:
        await nc.close()

    conn = await asyncpg.connect(replicas.database_url)
    try:

        async def all_applied() -> bool:
            n = await conn.fetchval("SELECT count(*) FROM catalog.organizations WHERE tenant_id = $1", tenant)
            return bool(n == EVENTS)

        assert await _wait_for(all_applied, 60), "not every event reached the projection"
        processed = await conn.fetchval(
            "SELECT count(*) FROM catalog.processed_events WHERE consumer = 'catalog-organizations' "
            "AND tenant_id = $1",
            tenant,
        )
    finally:
        await conn.close()
    assert processed == EVENTS
    def consumed(outcome: str) -> list[float]:
        name, consumer = "events_consumed_total", "catalog-organizations"
        keys = ("catalog-1", "catalog-2")
        return [replicas.metric(k, name, consumer=consumer, outcome=outcome) for k in keys]

    applied, duplicates = consumed("applied"), consumed("duplicate")
    # Each message went to one replica: the applied counts add up to the events, none was seen twice.
    assert sum(applied) == EVENTS and sum(duplicates) == 0, (applied, duplicates)
    assert all(n > 0 for n in applied), f"one replica did all the work: {applied}"


async def test_outbox_relays_of_two_replicas_publish_each_event_once_in_order(replicas: Replicas) -> None:
    tenant = uuid.uuid4()
    owner = Database.from_url(replicas.database_url)
    ids: list[str] = []
    try:
        for _ in range(PROBES // 10):
            async with owner.session() as session:
                for _ in range(10):
                    event = EventEnvelope.new(
                        "catalog", "scale_probe", tenant_id=tenant, subject_id=uuid.uuid4()
                    )
                    await add_event(session, "catalog", event)
                    ids.append(str(event.id))
    finally:
        await owner.dispose()

    nc = await nats.connect(replicas.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "catalog")
        sub = await js.pull_subscribe(f"catalog.{tenant}.scale_probe", stream="CATALOG")
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while len(seen) < PROBES and time.monotonic() < deadline:
            try:
                batch = await sub.fetch(50, timeout=1.0)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            for msg in batch:
                seen.append(str(EventEnvelope.from_bytes(msg.data).id))
                await msg.ack()
        await asyncio.sleep(2.5)  # two more relay polls: anything published twice would show now
        try:
            extra = await sub.fetch(10, timeout=1.0)
        except (nats.errors.TimeoutError, TimeoutError):
            extra = []
    finally:
        await nc.close()
    assert seen == ids and not extra, (len(seen), len(ids), len(extra))
    published = [replicas.metric(k, "events_published_total", schema="catalog", type="catalog.scale_probe")
                 for k in ("catalog-1", "catalog-2")]  # fmt: skip
    assert sum(published) == PROBES, published  # no republish (nothing crashed)


async def test_a_sweeper_tick_runs_in_one_replica_and_the_other_takes_over(replicas: Replicas) -> None:
    keys = ("stock-1", "stock-2")

    def ticks(key: str) -> float:
        return replicas.metric(key, "leased_ticks_total", lease="stock-expiry")

    async def someone_ticked_twice() -> bool:
        return any(ticks(k) >= 2 for k in keys)

    assert await _wait_for(someone_ticked_twice, 30)  # the sweeper runs every 5 s
    before = {k: ticks(k) for k in keys}
    holder = max(keys, key=lambda k: before[k])
    other = next(k for k in keys if k != holder)
    assert before[other] == 0, before  # every tick so far ran in one replica
    assert replicas.metric(holder, "lease_held", lease="stock-expiry") == 1
    assert replicas.metric(other, "lease_held", lease="stock-expiry") == 0

    proc = replicas.procs[holder]
    os.killpg(proc.pid, 9)  # SIGKILL: no shutdown, the lease goes with the connection
    proc.popen.wait(10)
    proc.stop()

    async def taken_over() -> bool:
        return ticks(other) >= 1 and replicas.metric(other, "lease_held", lease="stock-expiry") == 1

    assert await _wait_for(taken_over, 30), "the standing-by replica did not take the lease over"
    replicas.start(holder)  # back as a standby
    await asyncio.to_thread(replicas.wait_ready, holder)
    await asyncio.sleep(6)  # one more interval: the returned replica must not tick
    assert ticks(holder) == 0 and replicas.metric(holder, "lease_held", lease="stock-expiry") == 0
