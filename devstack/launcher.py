"""`make up`: services -> migrations -> demo data (once) -> subgraphs -> supergraph -> gateway.

Everything this starts runs in its own process group and is stopped on Ctrl-C, SIGTERM or any
error (gateway first, then subgraphs, then the servers). Pieces of the project that do not exist
yet (a subgraph without `app.py`, the gateway, the composer) are reported and skipped; what works
stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from devstack.ports import LOOPBACK, free_port, port_is_free
from devstack.processes import ManagedProcess, install_exit_handlers, spawn, stop_all
from devstack.services import ServicePorts, ServiceSet, ServiceStartError, start_services

APP_DATABASE = "b2b"
SEED_MARKER_TABLE = "public.devstack_seed"
HEALTH_TIMEOUT = 90.0
_print_lock = threading.Lock()


class LaunchError(Exception):
    """Stops the launch with a one-line message for the user."""


@dataclass
class LaunchOptions:
    data_dir: Path
    gateway_port: int | None = None  # None: the registry default, or a free port if it is taken
    service_ports: ServicePorts = field(default_factory=ServicePorts)
    seed: bool = True
    nats_cluster: int = 1  # > 1: a JetStream cluster of that many nodes (devstack.nats_cluster)


@dataclass
class RunningSubgraph:
    name: str
    url: str  # http://127.0.0.1:PORT/graphql
    process: ManagedProcess


def say(message: str) -> None:
    with _print_lock:
        print(f"[devstack] {message}", flush=True)


# --- child processes with prefixed output ------------------------------------------------------


def _pump(name: str, stream: IO[bytes]) -> None:
    prefix = f"{name:>9} | "
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip()
        with _print_lock:
            print(prefix + line, flush=True)
    stream.close()


def start_child(name: str, argv: Sequence[str], env: Mapping[str, str]) -> ManagedProcess:
    """Start a child whose output lines are printed prefixed with its name."""
    proc = spawn(name, argv, stdout=subprocess.PIPE, env=env, cwd=Path.cwd())
    assert proc.popen.stdout is not None
    threading.Thread(target=_pump, args=(name, proc.popen.stdout), daemon=True).start()
    return proc


def _choose_port(label: str, default: int, explicit: bool) -> int:
    """`default` if free; an explicit port that is taken is an error, a default one is replaced."""
    if port_is_free(default):
        return default
    if explicit:
        raise LaunchError(
            f"{label}: port {default} on {LOOPBACK} is already in use; free it or choose another port"
        )
    port = free_port()
    say(f"{label}: port {default} is in use, using {port} instead")
    return port


# --- HTTP probes (stdlib only: nothing to install before the stack is up) ---------------------


def _http(url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_http_ok(url: str, proc: ManagedProcess, timeout: float = HEALTH_TIMEOUT) -> bool:
    """Poll GET `url` until it answers 200 (True) or the process dies / time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            return False
        with contextlib.suppress(OSError):
            if _http(url)[0] == 200:
                return True
        time.sleep(0.2)
    return False


def _gateway_context_header(secret: str) -> dict[str, str]:
    """A signed anonymous context, so a subgraph that insists on one still serves its SDL."""
    try:
        from shared.gateway_context import HEADER, Principal, sign_context
    except ImportError:
        return {}
    return {HEADER: sign_context(Principal(), secret.encode())}


def fetch_sdl(graphql_url: str, secret: str) -> str:
    body = json.dumps({"query": "{ _service { sdl } }"}).encode()
    headers = {"content-type": "application/json", "accept": "application/json"}
    if secret:  # the SDL is normally open; a wrong signature, though, would be refused
        headers.update(_gateway_context_header(secret))
    try:
        status, raw = _http(graphql_url, body, headers)
    except OSError as exc:
        raise LaunchError(f"{graphql_url} did not answer the SDL query: {exc}") from None
    try:
        payload: Any = json.loads(raw or b"{}")
    except ValueError:
        payload = None
    sdl = (payload.get("data") or {}).get("_service", {}).get("sdl") if isinstance(payload, dict) else None
    if status != 200 or not isinstance(sdl, str):
        raise LaunchError(f"{graphql_url} did not return its SDL (HTTP {status}): {raw[:200]!r}")
    return sdl


# --- database: app database, migrations, demo data once ---------------------------------------


def _database_url_for_app(services: ServiceSet, started_postgres: bool) -> str:
    """The embedded server gets a dedicated database; a DATABASE_URL from the env is used as is."""
    if not started_postgres:
        return services.database_url
    from sqlalchemy.engine import make_url

    asyncio.run(_ensure_database(services.database_url, APP_DATABASE))
    return make_url(services.database_url).set(database=APP_DATABASE).render_as_string(hide_password=False)


async def _ensure_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _seeded(database_url: str) -> set[str]:
    """The subgraphs whose demo data this database already holds."""
    import asyncpg

    conn = await asyncpg.connect(_libpq(database_url))
    try:
        if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", SEED_MARKER_TABLE):
            return set()
        return {row[0] for row in await conn.fetch(f"SELECT subgraph FROM {SEED_MARKER_TABLE}")}
    finally:
        await conn.close()


async def _mark_seeded(database_url: str, names: Sequence[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(_libpq(database_url))
    try:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SEED_MARKER_TABLE}"
            " (subgraph text PRIMARY KEY, seeded_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.executemany(
            f"INSERT INTO {SEED_MARKER_TABLE} (subgraph) VALUES ($1) ON CONFLICT DO NOTHING",
            [(name,) for name in names],
        )
    finally:
        await conn.close()


def migrate_and_seed(database_url: str, seed: bool) -> None:
    """Migrate every present subgraph; load the demo data of each subgraph once.

    The marker table `public.devstack_seed` remembers which subgraphs were seeded, so a second
    `make up` keeps the data as it is, and a subgraph added later still gets its demo data.
    """
    if importlib.util.find_spec("devstack.migrate") is None:
        say("devstack.migrate is not there yet: no migrations run")
    else:
        from devstack.migrate import upgrade_all

        say("running migrations")
        upgrade_all(database_url)
    if not seed:
        return
    if importlib.util.find_spec("devstack.seed") is None:
        say("devstack.seed is not there yet: no demo data loaded")
        return
    from devstack.seed import seed_all, seed_functions

    with_seed = [name for name, _fn in seed_functions()]
    done = asyncio.run(_seeded(database_url))
    todo = [name for name in with_seed if name not in done]
    if not todo:
        say("demo data already loaded (kept)")
        return
    say(f"loading demo data: {', '.join(todo)}")
    asyncio.run(seed_all(database_url, todo))
    asyncio.run(_mark_seeded(database_url, todo))


# --- subgraphs, supergraph, gateway -----------------------------------------------------------


def present_subgraphs() -> list[tuple[str, int]]:
    """(name, default port) of every registry subgraph whose `app.py` exists."""
    from subgraphs import SUBGRAPHS, package_dir

    found: list[tuple[str, int]] = []
    for spec in SUBGRAPHS:
        folder = package_dir(spec.name)
        if folder is not None and (folder / "app.py").is_file():
            found.append((spec.name, spec.default_port))
    return found


def start_subgraphs(env: Mapping[str, str]) -> list[RunningSubgraph]:
    wanted = present_subgraphs()
    if not wanted:
        say("no subgraph has an app.py yet: nothing to serve")
        return []
    starting: list[tuple[str, int, ManagedProcess]] = []
    for name, default_port in wanted:
        port = _choose_port(f"subgraph {name}", default_port, explicit=False)
        argv = [sys.executable, "-m", "uvicorn", f"subgraphs.{name}.app:create_app", "--factory"]
        argv += ["--host", LOOPBACK, "--port", str(port), "--log-level", "warning", "--no-access-log"]
        starting.append((name, port, start_child(name, argv, env)))
    running: list[RunningSubgraph] = []
    for name, port, proc in starting:
        base = f"http://{LOOPBACK}:{port}"
        if wait_http_ok(f"{base}/healthz", proc):
            say(f"subgraph {name} is up at {base}/graphql")
            running.append(RunningSubgraph(name, f"{base}/graphql", proc))
        else:
            say(f"subgraph {name} did not become healthy (see its output above); continuing without it")
            proc.stop()
    return running


def build_supergraph(subgraphs: Sequence[RunningSubgraph], secret: str, out: Path) -> Path | None:
    """Compose the running subgraphs into `out`; else fall back to the checked-in supergraph."""
    compose = composer()
    if compose is None:
        reason = "the composer (gateway.supergraph.compose) is not there yet"
    elif not subgraphs:
        reason = "no subgraph is running"
    else:
        try:
            sdl = _compose(compose, subgraphs, secret)
        except LaunchError as exc:
            reason = str(exc)
        else:
            out.write_text(sdl)
            say(f"supergraph composed from the running subgraphs into {out}")
            return out
    checked_in = Path("schema") / "supergraph.graphql"
    if checked_in.is_file():
        out.write_text(checked_in.read_text())
        say(f"{reason}: using the checked-in {checked_in}")
        return out
    say(f"{reason} and there is no {checked_in}: no supergraph")
    return None


def _compose(compose: tuple[Any, Any], subgraphs: Sequence[RunningSubgraph], secret: str) -> str:
    return compose_urls(compose, [(sub.name, sub.url) for sub in subgraphs], secret)


def compose_urls(compose: tuple[Any, Any], subgraphs: Sequence[tuple[str, str]], secret: str) -> str:
    """Fetch each (name, graphql URL)'s SDL and compose; a subgraph that fails is left out."""
    source_type, compose_fn = compose
    sources = []
    for name, url in subgraphs:
        try:
            sources.append(source_type(name=name, url=url, sdl=fetch_sdl(url, secret)))
        except LaunchError as exc:
            say(f"subgraph {name} left out of the supergraph: {exc}")
    if not sources:
        raise LaunchError("no subgraph served its SDL")
    try:
        return str(compose_fn(sources))
    except Exception as exc:  # the composer's own message names the conflicting types and subgraphs
        raise LaunchError(f"composition failed: {exc}") from exc


def composer() -> tuple[Any, Any] | None:
    """G3's (SubgraphSource, compose_supergraph), or None while they do not exist."""
    try:
        module = importlib.import_module("gateway.supergraph.compose")
        return module.SubgraphSource, module.compose_supergraph
    except Exception as exc:  # missing, half-written or broken: fall back, say why
        if importlib.util.find_spec("gateway.supergraph.compose") is not None:
            say(f"the composer could not be loaded: {exc!r}")
        return None


def start_gateway(supergraph: Path, port: int, env: Mapping[str, str]) -> ManagedProcess | None:
    if importlib.util.find_spec("gateway.__main__") is None:
        say("the gateway (python -m gateway) is not there yet: not started")
        return None
    argv = [sys.executable, "-m", "gateway", "--supergraph", str(supergraph), "--host", LOOPBACK]
    argv += ["--port", str(port)]
    proc = start_child("gateway", argv, env)
    if not wait_http_ok(f"http://{LOOPBACK}:{port}/healthcheck", proc):
        proc.stop()
        raise LaunchError("the gateway did not become healthy (see its output above)")
    return proc


def _orgs_token_settings() -> tuple[str | None, str | None]:
    """(issuer, audience) of the tokens the orgs subgraph's `login` signs, if it has them."""
    try:
        module = importlib.import_module("subgraphs.orgs.config")
        settings = module.get_orgs_settings()
        return str(settings.jwt_issuer), str(settings.jwt_audience)
    except Exception:  # orgs without token settings (yet): the gateway checks neither claim
        return None, None


def gateway_auth_env(subgraphs: Sequence[RunningSubgraph], environ: Mapping[str, str]) -> dict[str, str]:
    """The gateway's auth settings pointing at the running orgs subgraph (docs/auth.md): its JWKS for
    bearer tokens, the issuer and audience its tokens carry, and its API-key lookup. A variable already
    set in `environ` wins; nothing is added for what orgs does not serve."""
    orgs = next((s for s in subgraphs if s.name == "orgs"), None)
    if orgs is None:
        say("no orgs subgraph: the gateway will refuse bearer tokens and API keys")
        return {}
    base = orgs.url.removesuffix("/graphql")
    wanted: dict[str, str] = {}
    jwks_url = f"{base}/.well-known/jwks.json"
    with contextlib.suppress(OSError):
        if _http(jwks_url)[0] == 200:
            wanted["GATEWAY_JWKS_URL"] = jwks_url
            issuer, audience = _orgs_token_settings()
            if issuer:
                wanted["GATEWAY_JWT_ISSUER"] = issuer
            if audience:
                wanted["GATEWAY_JWT_AUDIENCE"] = audience
    api_keys_url = f"{base}/internal/api-keys"
    with contextlib.suppress(OSError):
        if _http(api_keys_url)[0] != 404:  # it exists (401 without the gateway's signature)
            wanted.update(GATEWAY_API_KEY_SOURCE="http", GATEWAY_API_KEY_URL=api_keys_url)
    if "GATEWAY_JWKS_URL" not in wanted:
        say("the orgs subgraph publishes no JWKS: the gateway will refuse bearer tokens")
    return {key: value for key, value in wanted.items() if not environ.get(key)}


def portal_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The buyer portal's H5 build served by the gateway under /app/, and its trusted documents
    loaded (docs/frontend.md); `make install` builds it. A variable already set wins."""
    from devstack import web

    if not web.built():
        say("the buyer portal is not built (make install builds web/buyer): not served")
        return {}
    wanted = {"GATEWAY_APP_DIR": str(web.APP_DIR), "GATEWAY_PERSISTED_MANIFEST": str(web.MANIFEST)}
    return {key: value for key, value in wanted.items() if not environ.get(key)}


def login_hint() -> list[str]:
    """How to get a token from the demo data, printed next to the GraphiQL address."""
    try:
        seed = importlib.import_module("subgraphs.orgs.seed")
        password = str(seed.DEMO_PASSWORD)
        users = {str(u["id"]): str(u["email"]) for u in seed.USERS}
        buyer = users[str(seed.BUYER_USER_ID)]
        admin = users[str(seed.ADMIN_USER_ID)]
        tenant = next(str(t["slug"]) for t in seed.TENANTS if t["id"] == seed.DEMO_TENANT_ID)
    except Exception:  # no demo users (yet)
        return []
    return [
        f"a token for the demo buyer (admin: {admin}, every demo user's password: {password}):",
        f'  mutation {{ login(input: {{email: "{buyer}", password: "{password}", tenant: "{tenant}"}}) '
        "{ token scopes userErrors { code message } } }",
        "  then send the header   Authorization: Bearer <token>   (GraphiQL: the Headers tab)",
    ]


def gateway_secret(data_dir: Path) -> str:
    """B2B_GATEWAY_SECRET from the environment, else generated once into the data folder."""
    if os.environ.get("B2B_GATEWAY_SECRET"):
        return os.environ["B2B_GATEWAY_SECRET"]
    path = data_dir / "gateway_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


# --- the whole launch -------------------------------------------------------------------------


def up(options: LaunchOptions) -> int:
    """Bring the stack up and keep it up until a signal; 0 on a clean stop, 1 on a launch error."""
    install_exit_handlers()
    # SIGTERM (docker stop, systemd, kill) stops the stack exactly like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    # Explicitly: a shell that starts us in the background hands SIGINT over as ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    data_dir = options.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    children: list[ManagedProcess] = []
    services: ServiceSet | None = None
    try:
        # Fail fast on an explicit gateway port that is taken, before anything is started.
        if options.gateway_port == 0:
            gateway_port = free_port()  # "any free port" (the tests ask for this)
        else:
            explicit = options.gateway_port is not None
            gateway_port = _choose_port("gateway", options.gateway_port or _default_gateway_port(), explicit)
        say(f"starting services (data in {data_dir})")
        started_pg = not os.environ.get("DATABASE_URL")
        services = start_services(
            data_dir, persistent=True, ports=options.service_ports, nats_cluster=options.nats_cluster
        )
        for note in services.notes:
            say(note)
        database_url = _database_url_for_app(services, started_pg)
        say(f"PostgreSQL {_redact(database_url)}  NATS {services.nats_url}  Redis {services.redis_url}")
        migrate_and_seed(database_url, options.seed)

        secret = gateway_secret(data_dir)
        env = dict(os.environ)
        env.update(services.env(), DATABASE_URL=database_url, B2B_GATEWAY_SECRET=secret, PYTHONUNBUFFERED="1")
        # A local stack: webhooks may go to loopback receivers (examples/webhook_verify.py).
        env.setdefault("B2B_ORGS_WEBHOOK_ALLOW_LOOPBACK", "true")
        env.setdefault("GATEWAY_WEBHOOK_ALLOW_LOOPBACK", "true")
        subgraphs = start_subgraphs(env)
        children.extend(s.process for s in subgraphs)
        supergraph = build_supergraph(subgraphs, secret, data_dir / "supergraph.graphql")
        gateway_env = {**env, **gateway_auth_env(subgraphs, env), **portal_env(env)}
        gateway = start_gateway(supergraph, gateway_port, gateway_env) if supergraph is not None else None
        if gateway is not None:
            children.append(gateway)
            if supergraph is not None and importlib.util.find_spec("gateway.webhooks.__main__") is not None:
                webhooks = [sys.executable, "-m", "gateway.webhooks", "--supergraph", str(supergraph)]
                children.append(start_child("webhooks", webhooks, gateway_env))  # docs/webhooks.md
            say("the stack is up; GraphiQL and the API:")
            with _print_lock:
                print(f"http://{LOOPBACK}:{gateway_port}/graphql", flush=True)
            if gateway_env.get("GATEWAY_JWKS_URL"):
                for line in login_hint():
                    say(line)
            if gateway_env.get("GATEWAY_APP_DIR"):
                say("the buyer portal (web/buyer, H5 build):")
                with _print_lock:
                    print(f"http://{LOOPBACK}:{gateway_port}/app/", flush=True)
        else:
            say("running without a gateway; subgraphs: " + (", ".join(s.url for s in subgraphs) or "none"))
        say("press Ctrl-C to stop everything")
        _watch(children)
        return 0
    except (LaunchError, ServiceStartError) as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if children or services is not None:
            say("stopping")
        # Newest first: the gateway, the subgraphs (also one still starting), then the servers.
        stop_all()
        if services is not None:
            services.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _watch(children: Sequence[ManagedProcess]) -> None:
    """Sleep until a signal; report a child that exits on its own (the rest stays up)."""
    reported: set[int] = set()
    while True:
        for proc in children:
            if proc.pid not in reported and not proc.alive():
                reported.add(proc.pid)
                say(f"{proc.name} exited with code {proc.popen.returncode}")
        time.sleep(0.5)


def _default_gateway_port() -> int:
    from subgraphs import GATEWAY_DEFAULT_PORT

    return GATEWAY_DEFAULT_PORT


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
