"""`python -m devstack.schema_export`: subgraph SDL files and the composed supergraph in schema/."""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest
import strawberry

from devstack import schema_export
from devstack.schema_export import ExportedSubgraph, collect_subgraphs, drift, local_url, render, write
from tests.gateway.compose.supergraph_semantics import summarize


@strawberry.federation.type(keys=["id"])
class Organization:
    id: strawberry.ID
    name: str = strawberry.federation.field(requires_scopes=[["orgs:read"]])


@strawberry.type
class OrgsQuery:
    @strawberry.field
    def organization(self, id: strawberry.ID) -> Organization | None:
        return None


@strawberry.federation.type(keys=["id"])
class OrganizationRef:
    id: strawberry.ID
    credit_limit: str = strawberry.federation.field(authenticated=True)


@strawberry.type
class FinanceQuery:
    @strawberry.field
    def healthy(self) -> bool:
        return True


def _sdl(query: type, types: list[type] | None = None) -> str:
    return str(strawberry.federation.Schema(query=query, types=types or []).as_str())


def _exported() -> list[ExportedSubgraph]:
    finance_sdl = _sdl(FinanceQuery, [OrganizationRef]).replace("OrganizationRef", "Organization")
    return [
        ExportedSubgraph("orgs", local_url(4101), _sdl(OrgsQuery)),
        ExportedSubgraph("finance", local_url(4106), finance_sdl),
    ]


def test_strawberry_subgraphs_compose_into_a_supergraph(tmp_path: Path) -> None:
    files = render(_exported())
    assert sorted(files) == ["finance.graphql", "orgs.graphql", "supergraph.graphql"]
    supergraph = files["supergraph.graphql"]
    graphql.build_schema(supergraph)
    s = summarize(supergraph)
    assert s["join__Graph"]["values"]["ORGS"]["directives"] == [
        '@join__graph(name="orgs", url="http://127.0.0.1:4101/graphql")'
    ]
    assert s["Organization"]["directives"] == [
        "@join__type(graph=FINANCE, key='id')",
        "@join__type(graph=ORGS, key='id')",
    ]
    assert s["Organization"]["fields"]["name"]["directives"] == [
        "@join__field(graph=ORGS)",
        '@requiresScopes(scopes=[["orgs:read"]])',
    ]
    assert "@authenticated()" in s["Organization"]["fields"]["creditLimit"]["directives"]
    assert "_service" not in s["Query"]["fields"]


def test_drift_detection(tmp_path: Path) -> None:
    files = render(_exported())
    assert len(drift(files, tmp_path)) == 3  # nothing written yet
    write(files, tmp_path)
    assert drift(files, tmp_path) == []
    (tmp_path / "orgs.graphql").write_text("type Query { changed: Int }\n")
    (tmp_path / "stock.graphql").write_text("type Query { gone: Int }\n")
    problems = drift(files, tmp_path)
    assert any("orgs.graphql differs" in p for p in problems)
    assert any("stock.graphql belongs to no present subgraph" in p for p in problems)
    write(files, tmp_path)
    assert drift(files, tmp_path) == []
    assert not (tmp_path / "stock.graphql").exists()


def test_cli_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not collect_subgraphs():
        pytest.skip("no subgraph package has a schema yet")
    assert schema_export.main(["--check", "--dir", str(tmp_path)]) == 1
    assert schema_export.main(["--dir", str(tmp_path)]) == 0
    assert schema_export.main(["--check", "--dir", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_checked_in_schema_matches_the_code() -> None:
    """CI guard: schema/ must be regenerated (`make schema`) whenever a subgraph's schema changes."""
    if not collect_subgraphs():
        pytest.skip("no subgraph package has a schema yet")
    assert schema_export.main(["--check"]) == 0
