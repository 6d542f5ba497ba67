"""Two gateway processes share what must be shared through Redis: a rate limit of N per minute
holds at N over both, and a persisted query registered on one is known to the other.

Each gateway runs as its own `python -m gateway` on its own port (two replicas; the test plays the
load balancer and alternates). No subgraph is needed: `{ __typename }` is answered by the gateway.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess, spawn, wait_until
from devstack.services import ServiceUrls

LIMIT = 12
QUERY = "{ __typename }"


def _get_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def gateways(
    service_urls: ServiceUrls, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    logs = tmp_path_factory.mktemp("gateway-replicas")
    # A Redis database of this module's own, so no other test's counters meet ours.
    redis_url = service_urls.redis_url.rsplit("/", 1)[0] + "/9"
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": str(logs),
        "REDIS_URL": redis_url,
        "GATEWAY_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "GATEWAY_RATE_LIMIT_FAIL_OPEN": "false",
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_CSRF_PREVENTION": "false",
        "PYTHONUNBUFFERED": "1",
    }
    procs: list[ManagedProcess] = []
    urls: list[str] = []
    try:
        for index in range(2):
            port = free_port()
            argv = [
                sys.executable,
                "-m",
                "gateway",
                "--supergraph",
                str(repo_root / "schema" / "supergraph.graphql"),
            ]
            argv += ["--host", LOOPBACK, "--port", str(port), "--log-level", "warning"]
            proc = spawn(
                f"gateway-{index}", argv, log_path=logs / f"gateway-{index}.log", env=env, cwd=repo_root
            )
            procs.append(proc)
            urls.append(f"http://{LOOPBACK}:{port}")
        for proc, url in zip(procs, urls, strict=True):
            healthy = functools.partial(_get_ok, f"{url}/healthcheck")
            if not wait_until(healthy, proc, timeout=90, interval=0.2):
                pytest.fail(f"{proc.name} did not start:\n{proc.log_tail(30)}")
        yield urls
    finally:
        for proc in procs:
            proc.stop()


def _client(source: str) -> aiohttp.ClientSession:
    """Requests from `source` (any 127/8 address is this machine's): anonymous callers are rate
    limited by client address, so each test has a budget of its own."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10))


async def test_rate_limit_of_n_per_minute_holds_across_two_gateway_processes(gateways: list[str]) -> None:
    statuses: list[tuple[int, int]] = []
    async with _client("127.0.0.2") as client:
        for i in range(3 * LIMIT):
            url = gateways[i % 2]  # round robin, as a load balancer would
            async with client.post(f"{url}/graphql", json={"query": QUERY}) as reply:
                statuses.append((i % 2, reply.status))
    allowed = [s for s in statuses if s[1] == 200]
    refused = [s for s in statuses if s[1] == 429]
    # GCRA: a burst of N, then one per 60/N s (5 s at N=12): at most one more within this test.
    assert LIMIT <= len(allowed) <= LIMIT + 1, statuses
    assert len(allowed) + len(refused) == len(statuses), statuses
    assert {g for g, status in refused} == {0, 1}, statuses  # both processes refuse: one budget


async def test_persisted_query_registered_on_one_process_is_known_to_the_other(gateways: list[str]) -> None:
    query = "query ScaleApq { __typename }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with _client("127.0.0.3") as client:
        async with client.post(f"{gateways[1]}/graphql", json={"extensions": extensions}) as unknown:
            text = await unknown.text()
            assert "PERSISTED_QUERY_NOT_FOUND" in text, text
        body = {"query": query, "extensions": extensions}
        async with client.post(f"{gateways[0]}/graphql", json=body) as first:
            assert first.status == 200, await first.text()
        async with client.post(f"{gateways[1]}/graphql", json={"extensions": extensions}) as second:
            assert second.status == 200, await second.text()
            assert await second.json() == {"data": {"__typename": "Query"}}
