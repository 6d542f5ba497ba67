"""A stack of OS processes for the placement saga (tests/saga and `python -m bench.orders`): every
present subgraph as its own uvicorn process and the gateway as `python -m gateway`, on a scratch
database migrated and seeded with `devstack.migrate`/`devstack.seed`, with a NATS server of its own
(restartable: a test cuts every connection by restarting it; streams survive in its store).

Scaled out (`replicas=2`, `gateways=2`, `nats_cluster=3`, tests/scale): each subgraph and the
gateway run as several processes accepting on ONE listening socket that this process opens and
hands down (`uvicorn --fd`), as pods behind a Service: the kernel spreads connections over the
live replicas, a killed replica takes only its own connections with it, and a restarted one joins
the same socket. NATS is then a JetStream cluster (`devstack.nats_cluster`) with R3 streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import socket
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
from devstack.nats_cluster import NatsCluster
from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn, wait_until
from devstack.services import _nats_bin, _nats_ready

STARTED = "Application startup complete"  # uvicorn's line once the lifespan (database, NATS) is up


def replica_name(name: str, index: int) -> str:
    """`orders` for the first replica, `orders-2`, `orders-3` ... for the others."""
    return name if index == 0 else f"{name}-{index + 1}"


def shared_socket(port: int) -> socket.socket:
    """A listening loopback socket the replicas inherit (kept open here: connections wait in its
    backlog while no replica accepts, e.g. during a restart)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


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
    replicas: int = 1  # processes per subgraph (one shared socket each when > 1)
    gateways: int = 1  # gateway processes (one shared socket when > 1)
    nats_cluster: NatsCluster | None = None
    sockets: dict[str, socket.socket] = field(default_factory=dict)
    gateway_env: dict[str, str] = field(default_factory=dict)
    _log_marks: dict[str, int] = field(default_factory=dict)
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)

    # --- processes ---------------------------------------------------------------------------

    def _uvicorn(self, key: str, app: str, base: str, env: dict[str, str]) -> None:
        """Start process `key` serving `app` on the port of `base` (its own, or the shared socket)."""
        argv = [sys.executable, "-m", "uvicorn", app, "--factory", "--no-access-log"]
        fds: tuple[int, ...] = ()
        sock = self.sockets.get(base)
        if sock is not None:
            fds = (sock.fileno(),)
            argv += ["--fd", str(sock.fileno()), "--log-level", "info"]
            argv += ["--loop", "uvloop", "--http", "httptools"]
        else:
            argv += ["--host", LOOPBACK, "--port", str(self.ports[base]), "--log-level", "warning"]
        log_path = self.logs / f"{key}.log"
        self._log_marks[key] = log_path.stat().st_size if log_path.exists() else 0
        self.procs[key] = spawn(key, argv, log_path=log_path, env=env, pass_fds=fds)

    def start_subgraph(self, name: str, replica: int = 0) -> None:
        """Start (or restart) one replica of subgraph `name`; `name` may be a replica's own name."""
        base, replica = self._split(name, replica)
        self._uvicorn(replica_name(base, replica), f"subgraphs.{base}.app:create_app", base, self.env)

    def start_gateway(self, index: int = 0) -> None:
        key = replica_name("gateway", index)
        self._uvicorn(key, "gateway.__main__:build_app", "gateway", self.gateway_env)

    def _split(self, key: str, replica: int = 0) -> tuple[str, int]:
        base, _, number = key.rpartition("-")
        if base and number.isdigit() and base in self.ports:
            return base, int(number) - 1
        return key, replica

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        """Until process `name` serves: its own port answers /healthz, or (on a shared socket) it
        logged that its startup completed since it was started."""
        proc = self.procs[name]
        base, _ = self._split(name)
        if base in self.sockets:
            ready = functools.partial(self._logged_since_start, name, STARTED)
        else:
            path = "/healthcheck" if base == "gateway" else "/healthz"
            ready = functools.partial(_get_ok, f"http://{LOOPBACK}:{self.ports[base]}{path}")
        if not wait_until(ready, proc, timeout=timeout, interval=0.2):
            raise RuntimeError(f"{name} did not become healthy:\n{proc.log_tail(30)}")

    def _logged_since_start(self, key: str, text: str) -> bool:
        path = self.logs / f"{key}.log"
        try:
            with path.open("rb") as log:
                log.seek(self._log_marks.get(key, 0))
                return text.encode() in log.read()
        except OSError:
            return False

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

    def restart_nats_node(self, index: int, down_for: float = 1.0) -> None:
        """Kill one node of the cluster (SIGKILL) and start it again on its ports and store."""
        assert self.nats_cluster is not None
        self.nats_cluster.stop_node(index, kill=True)
        time.sleep(down_for)
        self.nats_cluster.start_node(index)

    def start_nats(self) -> None:
        if self.nats_cluster is not None:
            self.nats_cluster.start()
            return
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
async def scratch_database(
    database_url: str, admin_url: str, *, prefix: str = "saga", seed: bool = True
) -> AsyncIterator[str]:
    """A fresh database on `admin_url`'s server, migrated (and seeded), dropped at the end; yields
    its owner URL (`database_url`'s credentials)."""
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
        if seed:
            await seed_all(url)
        yield url
    finally:
        admin = await asyncpg.connect(_libpq(admin_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def process_stack(
    database_url: str,
    admin_url: str,
    redis_url: str,
    logs: Path,
    *,
    prefix: str = "saga",
    replicas: int = 1,
    gateways: int = 1,
    nats_cluster: int = 1,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[ProcessStack]:
    """A scratch database on `admin_url`'s server (dropped at the end; `database_url` gives the
    credentials), migrated and seeded, and the processes on it; everything stopped at the end.
    `replicas`/`gateways` > 1: that many processes per subgraph / of the gateway, each set on one
    shared socket; `nats_cluster` > 1: a JetStream cluster of that many nodes, R3 streams."""
    async with scratch_database(database_url, admin_url, prefix=prefix) as url:
        cluster = NatsCluster(logs / "nats-cluster", nats_cluster, logs=logs) if nats_cluster > 1 else None
        nats_port = free_port()
        secret = secrets.token_urlsafe(32)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "NATS_URL": cluster.url if cluster is not None else f"nats://{LOOPBACK}:{nats_port}",
            "REDIS_URL": redis_url,
            "B2B_GATEWAY_SECRET": secret,
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        if cluster is not None:
            env["B2B_EVENT_STREAM_REPLICAS"] = str(cluster.stream_replicas)
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
                replicas=replicas,
                gateways=gateways,
                nats_cluster=cluster,
            )
            stack.ports["nats"] = nats_port
            try:
                await asyncio.to_thread(_start_all, stack)
                yield stack
            finally:
                for proc in reversed(list(stack.procs.values())):
                    proc.stop()
                if cluster is not None:
                    cluster.stop()
                for sock in stack.sockets.values():
                    sock.close()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _start_all(stack: ProcessStack) -> None:
    assert stack.nats_store is not None
    stack.nats_store.mkdir(parents=True, exist_ok=True)
    stack.start_nats()
    names = [name for name, _port in present_subgraphs()]
    for name in names:
        stack.ports[name] = free_port()
        if stack.replicas > 1:
            stack.sockets[name] = shared_socket(stack.ports[name])
        stack.subgraph_urls[name] = f"http://{LOOPBACK}:{stack.ports[name]}/graphql"
        for replica in range(stack.replicas):
            stack.start_subgraph(name, replica)
    for name in names:
        for replica in range(stack.replicas):
            stack.wait_healthy(replica_name(name, replica))
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
    port = stack.ports["gateway"] = free_port()
    stack.gateway_url = f"http://{LOOPBACK}:{port}/graphql"
    if stack.gateways > 1:
        # Several gateway processes on one socket: uvicorn's own CLI (`python -m gateway` binds a port).
        stack.sockets["gateway"] = shared_socket(port)
        stack.gateway_env = {**gateway_env, "GATEWAY_SUPERGRAPH": str(supergraph)}
        for index in range(stack.gateways):
            stack.start_gateway(index)
        for index in range(stack.gateways):
            stack.wait_healthy(replica_name("gateway", index))
        return
    argv = [sys.executable, "-m", "gateway", "--supergraph", str(supergraph), "--host", LOOPBACK]
    argv += ["--port", str(port), "--log-level", "warning"]
    gw = spawn("gateway", argv, log_path=stack.logs / "gateway.log", env=gateway_env)
    stack.procs["gateway"] = gw
    if not wait_until(
        lambda: _get_ok(f"http://{LOOPBACK}:{port}/healthcheck"), gw, timeout=120, interval=0.2
    ):
        raise RuntimeError(f"gateway did not start:\n{gw.log_tail(30)}")
