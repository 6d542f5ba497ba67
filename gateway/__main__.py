"""``python -m gateway --supergraph FILE --host 127.0.0.1 --port N [--workers K]``.

Serves the gateway with uvicorn (uvloop + httptools, no access log). Configuration comes from
``GATEWAY_*`` environment variables (see gateway.config.GatewayConfig); command-line flags win.
Startup problems (missing file, invalid supergraph, port in use) end with one clear line, no traceback.
"""

from __future__ import annotations

import argparse
import errno
import gc
import os
import socket
import sys
import tempfile
from pathlib import Path

import graphql
from pydantic import ValidationError
from starlette.applications import Starlette

from gateway.config import GatewayConfig
from shared.observability.logs import configure_logging
from shared.observability.prometheus import MULTIPROC_ENV
from shared.observability.tracing import configure_tracing


def _fail(message: str) -> int:
    print(f"gateway: error: {message}", file=sys.stderr)
    return 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="The federation gateway.")
    parser.add_argument("--supergraph", type=Path, help="supergraph SDL file (or GATEWAY_SUPERGRAPH)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 4000)")
    parser.add_argument("--workers", type=int, help="worker processes (default 1)")
    parser.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def _read_supergraph(path: Path | None) -> str:
    if path is None:
        raise SystemExit(_fail("no supergraph: pass --supergraph FILE or set GATEWAY_SUPERGRAPH"))
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SystemExit(_fail(f"supergraph file not found: {path}")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(_fail(f"cannot read supergraph file {path}: {exc}")) from None


def _check_port_free(host: str, port: int) -> None:
    """Bind once before starting so a busy port gives a clear message instead of uvicorn's log + exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SystemExit(_fail(f"port {port} on {host} is already in use")) from None
            raise SystemExit(_fail(f"cannot listen on {host}:{port}: {exc.strerror}")) from None


def build_app() -> Starlette:
    """uvicorn app factory (one call per worker process): settings from GATEWAY_* variables."""
    from gateway.http.app import build_gateway, create_app

    config = GatewayConfig()
    configure_logging("gateway", config.log_level)  # JSON lines (LOG_FORMAT=text for humans)
    configure_tracing("gateway")  # OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is set
    sdl = _read_supergraph(config.supergraph)
    gateway = build_gateway(sdl, config)
    extra = []
    if config.subscriptions:
        from gateway.subscriptions.routes import subscription_routes

        extra = subscription_routes(gateway, config)
    app = create_app(gateway, config, extra_routes=extra, reload_on_sighup=True)  # SIGHUP: reload the file
    tune_gc(config.gc_threshold)
    return app


def prepare_multiprocess_metrics() -> None:
    """Several workers behind one port: each writes its samples under PROMETHEUS_MULTIPROC_DIR (a fresh
    folder unless the operator names one; its files from an earlier run are removed) and /metrics
    sums them. Set before any worker starts, so each one's prometheus_client sees it at import."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        folder = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="gateway-metrics-")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def tune_gc(threshold: int) -> None:
    """Responses are large acyclic trees freed by reference counting; the cyclic collector only costs
    time walking them (and the schema). Start-up objects are frozen out of its view and the young
    generation is collected less often (docs/performance.md). 0 keeps Python's settings."""
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold, *gc.get_threshold()[1:])


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    overrides = {"supergraph": args.supergraph, "host": args.host, "port": args.port, "workers": args.workers,
                 "log_level": args.log_level}
    # Flags become GATEWAY_* variables so that every worker process (which calls build_app) sees them.
    for name, value in overrides.items():
        if value is not None:
            os.environ[f"GATEWAY_{name.upper()}"] = str(value.resolve() if isinstance(value, Path) else value)
    try:
        config = GatewayConfig()
    except ValidationError as exc:
        problems = "; ".join(f"GATEWAY_{'_'.join(map(str, error['loc'])).upper()}: {error['msg']}"
                             for error in exc.errors())
        return _fail(f"invalid configuration: {problems}")

    sdl = _read_supergraph(config.supergraph)
    try:
        from gateway.engine import Gateway

        Gateway.from_supergraph_sdl(sdl)  # fail here, once, on a bad supergraph
    except graphql.GraphQLError as exc:
        return _fail(f"{config.supergraph} is not a valid supergraph: {exc.message}")
    except (ValueError, KeyError, TypeError) as exc:
        return _fail(f"{config.supergraph} is not a valid supergraph: {exc}")
    _check_port_free(config.host, config.port)
    configure_logging("gateway", config.log_level)
    if config.workers > 1:
        prepare_multiprocess_metrics()

    import uvicorn

    print(f"gateway: serving http://{config.host}:{config.port}/graphql "
          f"(GraphiQL in a browser, health at /healthcheck)", file=sys.stderr, flush=True)
    uvicorn.run("gateway.__main__:build_app", factory=True, host=config.host, port=config.port,
                workers=config.workers if config.workers > 1 else None, loop="uvloop", http="httptools",
                access_log=False, log_level=config.log_level, lifespan="on", server_header=False,
                # uvicorn would believe X-Forwarded-For from 127.0.0.1; GATEWAY_TRUSTED_PROXIES decides.
                proxy_headers=False,
                log_config=None,  # uvicorn's own lines go through the JSON configuration too
                # SSE streams last for days: on SIGTERM, requests still running after this are cut (SSE
                # clients reconnect with Last-Event-ID; WebSockets are closed 1012 at once by uvicorn).
                timeout_graceful_shutdown=config.shutdown_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
