"""The steps of `make up` that compose.yaml runs as one-shot containers.

    python -m devstack provision                   migrations, then demo data once
    python -m devstack supergraph --out FILE NAME=URL ...
                                                          wait for the subgraphs, compose their SDLs

Both read DATABASE_URL / B2B_GATEWAY_SECRET from the environment (the servers are given, not
started).
"""

from __future__ import annotations

import os
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from devstack.launcher import LaunchError, compose_urls, composer, migrate_and_seed, say


def provision(seed: bool) -> int:
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        say("error: DATABASE_URL is not set")
        return 1
    migrate_and_seed(database_url, seed)
    return 0


def _healthy(graphql_url: str) -> bool:
    parts = urllib.parse.urlsplit(graphql_url)
    health = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/healthz", "", ""))
    try:
        with urllib.request.urlopen(health, timeout=3) as response:
            return int(response.status) == 200
    except OSError:
        return False


def supergraph(out: Path, subgraphs: Sequence[str], timeout: float) -> int:
    """Compose `NAME=URL` subgraphs into `out` once each answers /healthz (or the time is up)."""
    pairs: list[tuple[str, str]] = []
    for item in subgraphs:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            say(f"error: expected NAME=URL, got {item!r}")
            return 1
        pairs.append((name, url))
    compose = composer()
    if compose is None:
        say("error: the composer (gateway.supergraph.compose) is not available")
        return 1
    deadline = time.monotonic() + timeout
    waiting = dict(pairs)
    while waiting and time.monotonic() < deadline:
        waiting = {name: url for name, url in waiting.items() if not _healthy(url)}
        if waiting:
            time.sleep(1.0)
    for name in waiting:
        say(f"subgraph {name} is not healthy after {timeout:.0f}s; composing without it")
    up = [(name, url) for name, url in pairs if name not in waiting]
    try:
        sdl = compose_urls(compose, up, os.environ.get("B2B_GATEWAY_SECRET", ""))
    except LaunchError as exc:
        say(f"error: {exc}")
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(sdl)
    say(f"supergraph of {', '.join(name for name, _ in up)} written to {out}")
    return 0
