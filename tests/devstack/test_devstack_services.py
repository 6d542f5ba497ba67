"""The dev stack's services start for real, answer, keep data when persistent and leave no process."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import asyncpg
import nats
import psutil
import pytest
import redis.asyncio as aioredis

from devstack.ports import LOOPBACK, free_port, port_is_free
from devstack.services import ServicePorts, ServiceSet, ServiceStartError, start_services
from tests.devstack.pids import still_running


def _all_pids(services: ServiceSet) -> set[int]:
    """The servers and every process they forked (PostgreSQL backends, workers)."""
    pids: set[int] = set()
    for pid in services.pids:
        proc = psutil.Process(pid)
        pids.add(pid)
        pids.update(child.pid for child in proc.children(recursive=True))
    return pids


async def _check_services(services: ServiceSet) -> None:
    conn = await asyncpg.connect(services.database_url)
    try:
        assert await conn.fetchval("select 1") == 1
        await conn.execute("CREATE ROLE devstack_probe LOGIN PASSWORD 'probe' NOSUPERUSER")
    finally:
        await conn.close()
    # A non-superuser role created over TCP logs in too (127.0.0.1 is trusted in pg_hba).
    probe_url = services.database_url.replace("postgres@", "devstack_probe:probe@")
    probe = await asyncpg.connect(probe_url)
    try:
        assert await probe.fetchval("select current_user") == "devstack_probe"
    finally:
        await probe.close()

    nc = await nats.connect(services.nats_url)
    try:
        info = await nc.jetstream().account_info()
        assert info is not None
    finally:
        await nc.close()

    client = aioredis.from_url(services.redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()  # type: ignore[attr-defined]  # types-redis lags redis 5


async def test_services_start_answer_and_stop_leaving_no_process(services_dir: Path) -> None:
    services = start_services(services_dir, persistent=False, env={})
    try:
        assert services.database_url.startswith(f"postgresql://postgres@{LOOPBACK}:")
        assert services.nats_url.startswith(f"nats://{LOOPBACK}:")
        assert services.redis_url.startswith(f"redis://{LOOPBACK}:")
        await _check_services(services)
        pids = _all_pids(services)
        assert len(pids) >= 4  # postmaster with its workers, nats, redis
    finally:
        services.stop()
    assert still_running(pids) == set()


async def test_persistent_data_survives_a_restart(services_dir: Path) -> None:
    with start_services(services_dir, persistent=True, env={}) as first:
        conn = await asyncpg.connect(first.database_url)
        await conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
        await conn.close()
        pids = _all_pids(first)
    assert still_running(pids) == set()
    with start_services(services_dir, persistent=True, env={}) as second:
        conn = await asyncpg.connect(second.database_url)
        assert await conn.fetchval("SELECT v FROM kept") == 42
        await conn.close()
        pids = _all_pids(second)
    assert still_running(pids) == set()


def test_env_urls_are_used_as_given(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
        "NATS_URL": "nats://n:1",
        "REDIS_URL": "redis://r:1",
    }
    services = start_services(tmp_path, persistent=False, env=env)
    assert (services.database_url, services.nats_url, services.redis_url) == tuple(env.values())
    assert services.processes == []
    assert not (tmp_path / "postgres").exists()


def test_a_taken_preferred_port_gives_a_one_line_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"DATABASE_URL": "postgresql://x@127.0.0.1:1/x", "NATS_URL": "nats://n:1"}
        with pytest.raises(ServiceStartError) as info:
            start_services(tmp_path, persistent=False, env=env, ports=ServicePorts(redis=port))
    message = str(info.value)
    assert "\n" not in message
    assert f"port {port}" in message and "already in use" in message and "Redis" in message


def test_port_helpers() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as sock:
        sock.bind((LOOPBACK, port))
        sock.listen()
        assert not port_is_free(port)


async def test_service_urls_fixture_gives_a_fresh_database(service_urls: Any) -> None:
    import os

    assert os.environ["DATABASE_URL"] == service_urls.database_url
    conn = await asyncpg.connect(service_urls.database_url.replace("+asyncpg", ""))
    try:
        assert (await conn.fetchval("select current_database()")).startswith("test_")
    finally:
        await conn.close()


async def test_serve_app_runs_an_asgi_app_in_process(serve_app: object) -> None:
    import aiohttp
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = Starlette(routes=[Route("/", hello)])
    base_url = await serve_app(app)  # type: ignore[operator]
    async with aiohttp.ClientSession() as session, session.get(base_url + "/") as response:
        assert response.status == 200
        assert await response.text() == "hello"
    await asyncio.sleep(0)


def test_a_data_dir_in_use_by_a_running_stack_is_refused(services_dir: Path) -> None:
    with start_services(services_dir, persistent=False, env={}) as first:
        env = {"NATS_URL": first.nats_url, "REDIS_URL": first.redis_url}
        with pytest.raises(ServiceStartError) as info:
            start_services(services_dir, persistent=False, env=env)
        assert "in use by another running stack" in str(info.value)
        # The running stack was left alone.
        assert all(proc.alive() for proc in first.processes)
