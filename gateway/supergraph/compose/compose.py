"""The composition pipeline: read, upgrade federation 1, validate, merge, print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import graphql

from .emit import print_supergraph
from .errors import CompositionError, CompositionIssue, IssueCollector
from .inaccessible import check_inaccessible
from .merge import Merger
from .metadata import Metadata
from .model import Subgraph, SubgraphSource
from .parse import read_subgraph
from .references import check_references
from .satisfiability import check_satisfiability
from .upgrade import upgrade_subgraphs
from .validate import validate_subgraph


@dataclass(frozen=True, slots=True)
class CompositionResult:
    supergraph: str
    #: non-fatal findings, e.g. an @override from a subgraph that does not exist
    hints: tuple[CompositionIssue, ...]


def compose_supergraph(subgraphs: Sequence[SubgraphSource]) -> str:
    """Compose subgraph SDLs into a supergraph SDL; raises CompositionError listing every problem."""
    return compose(subgraphs).supergraph


def compose(subgraphs: Sequence[SubgraphSource]) -> CompositionResult:
    """Like `compose_supergraph`, also returning the hints (warnings) found on the way."""
    issues = IssueCollector()
    if not subgraphs:
        raise CompositionError(
            [CompositionIssue("NO_SUBGRAPHS", "At least one subgraph is needed to compose")]
        )
    names = [s.name for s in subgraphs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        issues.add("DUPLICATE_SUBGRAPH_NAME", f'Subgraph name "{name}" is used more than once')
    for s in subgraphs:
        if not s.name or s.name.startswith("_"):
            issues.add("INVALID_SUBGRAPH_NAME", f'Invalid subgraph name "{s.name}"')
    parsed: list[Subgraph] = []
    # Apollo orders subgraphs by name; ties (descriptions, first definitions) then resolve the same way.
    for source in sorted(subgraphs, key=lambda s: s.name):
        sub = read_subgraph(source, issues)
        if sub is not None:
            parsed.append(sub)
    issues.raise_if_any()
    upgrade_subgraphs(parsed, issues)
    issues.raise_if_any()
    for sub in parsed:
        check_references(sub, issues)
    issues.raise_if_any()
    metas = [Metadata(sub) for sub in parsed]
    for sub, meta in zip(parsed, metas, strict=True):
        validate_subgraph(sub, meta, issues)
    issues.raise_if_any()
    supergraph = Merger(parsed, metas, issues).merge()
    issues.raise_if_any()
    check_inaccessible(supergraph, issues)
    issues.raise_if_any()
    sdl = print_supergraph(supergraph)
    _check_valid_schema(sdl, issues)
    issues.raise_if_any()
    check_satisfiability(sdl, issues)
    issues.raise_if_any()
    return CompositionResult(sdl, tuple(issues.hints))


def _check_valid_schema(sdl: str, issues: IssueCollector) -> None:
    """Last guard: what we hand out must be a valid GraphQL schema (a composer bug otherwise)."""
    try:
        schema = graphql.build_schema(sdl)
    except graphql.GraphQLError as exc:
        issues.add("INVALID_SUPERGRAPH", f"The composed supergraph is not a valid schema: {exc.message}")
        return
    for error in graphql.validate_schema(schema):
        issues.add("INVALID_SUPERGRAPH", f"The composed supergraph is not a valid schema: {error.message}")
