"""`python -m gateway.webhooks`: the dispatcher as its own OS process (what devstack starts)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.gateway.webhooks.conftest import Receiver, Stack
from tests.gateway.webhooks.test_webhooks import subscribed, until

_ROOT = Path(__file__).resolve().parents[3]


async def test_the_dispatcher_process_delivers_and_stops_on_sigterm(stack: Stack, tmp_path: Path) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(stack.sdl)
    org = await stack.org()
    receiver = Receiver()
    variables = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    variables.update(
        {
            # The test run's own database (the fixture's URL), not one chosen here.
            "DATABASE_URL": stack.database_url,
            "GATEWAY_WEBHOOK_ALLOW_LOOPBACK": "true",
            "GATEWAY_WEBHOOK_RETRY_BASE": "0.05",
            "GATEWAY_WEBHOOK_POLL_INTERVAL": "0.05",
            "GATEWAY_WEBHOOK_LEASE_SECONDS": "3",
            "GATEWAY_LOG_LEVEL": "warning",
        }
    )
    async with stack.serve_receiver(receiver):
        await stack.endpoint(org, receiver)
        process = subprocess.Popen(  # noqa: ASYNC220 (started once, waited for below)
            [sys.executable, "-m", "gateway.webhooks", "--supergraph", str(supergraph)],
            cwd=_ROOT,
            env=variables,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            await subscribed(stack, org, "")
            stack.feed.publish("PLACED", org.tenant)
            stack.feed.publish("SHIPPED", org.tenant)
            await until(lambda: len(receiver.handled) == 2)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0, process.stderr.read().decode() if process.stderr else ""
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [e["type"] for e in sorted(receiver.events, key=lambda e: int(e["cursor"]))] == [
        "PLACED",
        "SHIPPED",
    ]
