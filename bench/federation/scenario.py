"""Where the benchmark scenario lives and how to read its files.

The scenario (subgraph SDL and data, the query, the expected response, reference subgraph requests) is
kept outside the repository in ``../shared/bench-scenario`` (next to the checkout); ``BENCH_SCENARIO_DIR``
overrides the location.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBGRAPH_NAMES: tuple[str, ...] = ("accounts", "inventory", "products", "reviews")


class ScenarioNotFound(RuntimeError):
    pass


@cache
def scenario_dir() -> Path:
    candidates = []
    if env := os.environ.get("BENCH_SCENARIO_DIR"):
        candidates.append(Path(env))
    candidates += [REPO_ROOT.parent / "shared" / "bench-scenario", REPO_ROOT / "shared" / "bench-scenario"]
    for candidate in candidates:
        if (candidate / "query.graphql").is_file():
            return candidate
    raise ScenarioNotFound(f"benchmark scenario not found; looked in {[str(c) for c in candidates]}")


def available() -> bool:
    try:
        scenario_dir()
    except ScenarioNotFound:
        return False
    return True


def query_text() -> str:
    return (scenario_dir() / "query.graphql").read_text()


def request_body() -> bytes:
    """The inbound request every load generator sends: the query alone, as the published benchmark does."""
    return json.dumps({"query": query_text()}).encode()


def expected_response() -> Any:
    return json.loads((scenario_dir() / "expected_response.json").read_text())


def subgraph_sdl(name: str) -> str:
    return (scenario_dir() / "subgraphs" / f"{name}.graphql").read_text()


def subgraph_data(name: str) -> Any:
    return json.loads((scenario_dir() / "subgraphs" / f"{name}.json").read_text())


def supergraph_sdl(subgraph_base_url: str) -> str:
    """The supergraph with every subgraph URL pointed at ``<subgraph_base_url>/<name>``."""
    text = (scenario_dir() / "supergraph.graphql").read_text()
    base = subgraph_base_url.rstrip("/")
    return re.sub(r'url: "http://127\.0\.0\.1:4200/(\w+)"', lambda m: f'url: "{base}/{m.group(1)}"', text)


def reference_subgraph_requests(peer: str) -> list[dict[str, Any]]:
    """What a peer gateway sent to the subgraphs for one query: [{"subgraph": name, "body": {...}}]."""
    path = scenario_dir() / "reference" / f"subgraph-requests.{peer}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
