"""The commerce domain subgraphs, one Strawberry federation subgraph per package.

Each package `subgraphs.<name>` provides `app.create_app() -> Starlette` and, where it owns
tables, an Alembic `migrations/` folder and a `seed.py`. The dev stack and the tests find them
through this registry; a package that is not present yet is simply skipped.
"""

from __future__ import annotations

from dataclasses import dataclass


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
