"""``python -m gateway.webhooks --supergraph FILE``: the webhook dispatcher as its own process.

It builds the same gateway as ``python -m gateway`` (planner, executor, auth with the shared
gateway secret, the subscription runner) from ``GATEWAY_*`` settings, connects to PostgreSQL as the
application role (``DATABASE_URL``), and runs until SIGTERM/SIGINT. Several processes may run: each
endpoint's subscription is leased to one of them, deliveries are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from gateway.config import GatewayConfig
from gateway.webhooks.config import WebhookSettings
from shared.observability.logs import configure_logging


async def serve(sdl: str, config: GatewayConfig, settings: WebhookSettings) -> None:
    from gateway.http.app import build_gateway, create_app
    from gateway.subscriptions.routes import operation_runner
    from gateway.webhooks.dispatcher import WebhookDispatcher
    from gateway.webhooks.store import WebhookStore
    from shared.db import Database

    gateway = build_gateway(sdl, config)
    create_app(gateway, config)  # attaches auth and instrumentation exactly as the gateway process does
    db = Database.for_app(name="webhooks")
    dispatcher = WebhookDispatcher(operation_runner(gateway, config), WebhookStore(db), settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await dispatcher.start()
    try:
        await stop.wait()
    finally:
        await dispatcher.stop()
        await gateway.close()
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.webhooks", description="The webhook dispatcher.")
    parser.add_argument("--supergraph", type=Path, help="supergraph SDL file (or GATEWAY_SUPERGRAPH)")
    args = parser.parse_args(argv)
    config = GatewayConfig()
    configure_logging("webhooks", config.log_level)
    path = args.supergraph or config.supergraph
    if path is None:
        print(
            "webhooks: error: no supergraph: pass --supergraph FILE or set GATEWAY_SUPERGRAPH",
            file=sys.stderr,
        )
        return 1
    try:
        sdl = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"webhooks: error: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    asyncio.run(serve(sdl, config, WebhookSettings()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
