"""A stack of OS processes for the placement saga (tests/saga and `python -m bench.orders`): every
present subgraph as its own uvicorn process and the gateway as `python -m gateway`, on a scratch
database migrated and seeded with `devstack.migrate`/`devstack.seed`, with a NATS server of its own
(restartable: a test cuts every connection by restarting it; streams survive in its store).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from sqlalchemy.engine import make_url

from devstack.launcher import RunningSubgraph, compose_urls, composer, gateway_auth_env, present_subgraphs
from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn, wait_until
from devstack.services import _nats_bin, _nats_ready


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])


@dataclass
class ProcessStack:
    """The running processes, how to restart each, and clients for the gateway and the database."""

    gateway_url: str
    subgraph_urls: dict[str, str]
    database_url: str  # the owner's URL: tests read every tenant's rows
    nats_url: str
    env: dict[str, str]
    logs: Path
    http: aiohttp.ClientSession
    secret: str = ""
    procs: dict[str, ManagedProcess] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    nats_store: Path | None = None
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)

    # --- processes ---------------------------------------------------------------------------

    def start_subgraph(self, name: str) -> None:
        port = self.ports[name]
        argv = [sys.executable, "-m", "uvicorn", f"subgraphs.{name}.app:create_app", "--factory"]
        argv += ["--host", LOOPBACK, "--port", str(port), "--log-level", "warning", "--no-access-log"]
        self.procs[name] = spawn(name, argv, log_path=self.logs / f"{name}.log", env=self.env)

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        proc = self.procs[name]
        url = f"http://{LOOPBACK}:{self.ports[name]}/healthz"
        if not wait_until(lambda: _get_ok(url), proc, timeout=timeout, interval=0.2):
            raise RuntimeError(f"{name} did not become healthy:\n{proc.log_tail(30)}")

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group: no shutdown hook runs (no ack, no commit, no flush)."""
        import signal

        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.popen.wait(10)
        proc.stop()

    def restart_nats(self, down_for: float = 1.0) -> None:
        """Stop the NATS server and start it again on the same port and store (streams survive)."""
        self.procs["nats"].stop()
        time.sleep(down_for)
        self.start_nats()

    def start_nats(self) -> None:
        assert self.nats_store is not None
        port = self.ports["nats"]
        argv = [_nats_bin(), "-js", "-sd", str(self.nats_store), "-a", LOOPBACK, "-p", str(port)]
        proc = spawn("nats", argv, log_path=self.logs / "nats.log")
        if not wait_until(lambda: _nats_ready(port), proc, timeout=30):
            raise RuntimeError(f"NATS did not start:\n{proc.log_tail()}")
        self.procs["nats"] = proc

    # --- clients -----------------------------------------------------------------------------

    async def query(self, query: str, variables: dict[str, Any] | None = None, *, token: str) -> Reply:
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        async with self.http.post(self.gateway_url, data=orjson.dumps(payload), headers=headers) as response:
            raw = await response.read()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                body = {"raw": raw.decode(errors="replace")}
            return Reply(response.status, body if isinstance(body, dict) else {"value": body})

    async def login(self, email: str, organization_id: Any = None, tenant: str = "acme-mro") -> str:
        from subgraphs.orgs.seed import DEMO_PASSWORD

        org = str(organization_id) if organization_id is not None else None
        if (email, org) in self._tokens:
            return self._tokens[(email, org)]
        payload = {
            "query": "mutation($i: LoginInput!) { login(input: $i) { token userErrors { code } } }",
            "variables": {
                "i": {"email": email, "password": DEMO_PASSWORD, "tenant": tenant, "organizationId": org}
            },
        }
        async with self.http.post(self.gateway_url, json=payload) as response:
            body = await response.json()
        token = str(body["data"]["login"]["token"])
        self._tokens[(email, org)] = token
        return token

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(
            make_url(self.database_url).set(drivername="postgresql").render_as_string(False)
        )
        try:
            yield conn
        finally:
            await conn.close()


def _get_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except OSError:
        return False


@contextlib.asynccontextmanager
async def process_stack(
    database_url: str, admin_url: str, redis_url: str, logs: Path, *, prefix: str = "saga"
) -> AsyncIterator[ProcessStack]:
    """A scratch database on `admin_url`'s server (dropped at the end; `database_url` gives the
    credentials), migrated and seeded, and the processes on it; everything stopped at the end."""
    from devstack.migrate import upgrade_all_async
    from devstack.seed import seed_all

    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(_libpq(admin_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade_all_async(url)
        await seed_all(url)
        nats_port = free_port()
        secret = secrets.token_urlsafe(32)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "NATS_URL": f"nats://{LOOPBACK}:{nats_port}",
            "REDIS_URL": redis_url,
            "B2B_GATEWAY_SECRET": secret,
            "PYTHONUNBUFFERED": "1",
        }
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            stack = ProcessStack(
                gateway_url="",
                subgraph_urls={},
                database_url=url,
                nats_url=env["NATS_URL"],
                env=env,
                logs=logs,
                http=http,
                secret=secret,
                nats_store=logs / "nats-store",
            )
            stack.ports["nats"] = nats_port
            try:
                await asyncio.to_thread(_start_all, stack)
                yield stack
            finally:
                for proc in reversed(list(stack.procs.values())):
                    proc.stop()
    finally:
        admin = await asyncpg.connect(_libpq(admin_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _start_all(stack: ProcessStack) -> None:
    assert stack.nats_store is not None
    stack.nats_store.mkdir(parents=True, exist_ok=True)
    stack.start_nats()
    names = [name for name, _port in present_subgraphs()]
    for name in names:
        stack.ports[name] = free_port()
        stack.subgraph_urls[name] = f"http://{LOOPBACK}:{stack.ports[name]}/graphql"
        stack.start_subgraph(name)
    for name in names:
        stack.wait_healthy(name)
    compose = composer()
    assert compose is not None
    sdl = compose_urls(compose, list(stack.subgraph_urls.items()), stack.secret)
    supergraph = stack.logs / "supergraph.graphql"
    supergraph.write_text(sdl)
    running = [RunningSubgraph(n, u, stack.procs[n]) for n, u in stack.subgraph_urls.items()]
    gateway_env = {
        **stack.env,
        **gateway_auth_env(running, {}),
        "GATEWAY_REDIS_URL": stack.env["REDIS_URL"],
        "GATEWAY_SUBGRAPH_TIMEOUT": "60",
        "GATEWAY_GRAPHIQL": "false",
    }
    port = free_port()
    argv = [sys.executable, "-m", "gateway", "--supergraph", str(supergraph), "--host", LOOPBACK]
    argv += ["--port", str(port), "--log-level", "warning"]
    gw = spawn("gateway", argv, log_path=stack.logs / "gateway.log", env=gateway_env)
    stack.procs["gateway"] = gw
    if not wait_until(
        lambda: _get_ok(f"http://{LOOPBACK}:{port}/healthcheck"), gw, timeout=120, interval=0.2
    ):
        raise RuntimeError(f"gateway did not start:\n{gw.log_tail(30)}")
    stack.gateway_url = f"http://{LOOPBACK}:{port}/graphql"
