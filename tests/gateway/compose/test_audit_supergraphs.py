"""Our composer against supergraphs composed by Apollo's tools (federation audit, benchmark scenario).

Each suite's subgraph SDLs are composed and compared semantically to the reference supergraph:
same types, fields, arguments, field types, descriptions and the same set of directive applications
(join__*, @inaccessible, ...) on every element, ignoring order, layout and field-set spelling.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from supergraph_semantics import differences

from gateway.supergraph.compose import SubgraphSource, compose_supergraph

REPO = Path(__file__).resolve().parents[3]
AUDIT = REPO.parent / "shared" / "federation-audit"
BENCH = REPO.parent / "shared" / "bench-scenario"
SUITES = sorted(p.stem for p in (AUDIT / "supergraphs").glob("*.graphql")) if AUDIT.is_dir() else []
_GRAPH = re.compile(r'@join__graph\(name: "([^"]+)", url: "([^"]+)"\)')


def _urls(supergraph: str) -> dict[str, str]:
    return dict(_GRAPH.findall(supergraph))


@pytest.mark.needs_shared("federation-audit")
@pytest.mark.parametrize("suite", SUITES)
def test_audit_suite_composes_like_apollo(suite: str) -> None:
    reference = (AUDIT / "supergraphs" / f"{suite}.graphql").read_text()
    urls = _urls(reference)
    sources = [
        SubgraphSource(path.stem, urls[path.stem], path.read_text())
        for path in sorted((AUDIT / "subgraphs" / suite).glob("*.graphql"))
    ]
    assert sorted(s.name for s in sources) == sorted(urls)
    composed = compose_supergraph(sources)
    diffs = differences(composed, reference)
    assert not diffs, "\n".join(diffs)
    # Stricter than needed, but true today: the very same text as Apollo's tools print.
    assert composed.strip() == reference.strip()


@pytest.mark.needs_shared("federation-audit")
def test_all_audit_suites_are_present() -> None:
    assert len(SUITES) == 46


@pytest.mark.needs_shared("bench-scenario")
@pytest.mark.parametrize("variant", ["", ".fed1"])
def test_benchmark_subgraphs_compose_like_the_reference(variant: str) -> None:
    reference = (BENCH / "supergraph.graphql").read_text()
    sources = [
        SubgraphSource(name, url, (BENCH / "subgraphs" / f"{name}{variant}.graphql").read_text())
        for name, url in _urls(reference).items()
    ]
    diffs = differences(compose_supergraph(sources), reference)
    assert not diffs, "\n".join(diffs)
