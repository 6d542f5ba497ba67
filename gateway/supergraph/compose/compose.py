"""The composition pipeline: read, upgrade federation 1, validate, merge, print."""

from __future__ import annotations

from collections.abc import Sequence

from .emit import print_supergraph
from .errors import CompositionError, CompositionIssue, IssueCollector
from .merge import Merger
from .metadata import Metadata
from .model import Subgraph, SubgraphSource
from .parse import read_subgraph
from .upgrade import upgrade_subgraphs
from .validate import validate_subgraph


def compose_supergraph(subgraphs: Sequence[SubgraphSource]) -> str:
    """Compose subgraph SDLs into a supergraph SDL; raises CompositionError listing every problem."""
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
    for source in subgraphs:
        sub = read_subgraph(source, issues)
        if sub is not None:
            parsed.append(sub)
    issues.raise_if_any()
    upgrade_subgraphs(parsed, issues)
    issues.raise_if_any()
    metas = [Metadata(sub) for sub in parsed]
    for sub, meta in zip(parsed, metas, strict=True):
        validate_subgraph(sub, meta, issues)
    issues.raise_if_any()
    supergraph = Merger(parsed, metas, issues).merge()
    issues.raise_if_any()
    return print_supergraph(supergraph)
