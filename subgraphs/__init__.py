"""The commerce domain subgraphs, one Strawberry federation subgraph per package.

Each package `subgraphs.<name>` provides `app.create_app() -> Starlette` and, where it owns
tables, an Alembic `migrations/` folder and a `seed.py`. The dev stack and the tests find them
through this registry; a package that is not present yet is simply skipped.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SubgraphSpec:
    name: str
    default_port: int

    @property
    def module(self) -> str:
        return f"subgraphs.{self.name}"


SUBGRAPHS: tuple[SubgraphSpec, ...] = (
    SubgraphSpec("orgs", 4101),
    SubgraphSpec("catalog", 4102),
    SubgraphSpec("stock", 4103),
    SubgraphSpec("pricing", 4104),
    SubgraphSpec("orders", 4105),
    SubgraphSpec("finance", 4106),
    SubgraphSpec("logistics", 4107),
)

GATEWAY_DEFAULT_PORT = 4000


def package_dir(name: str) -> Path | None:
    """The folder of package `subgraphs.<name>`, or None if that subgraph is not present."""
    spec = importlib.util.find_spec(f"subgraphs.{name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
