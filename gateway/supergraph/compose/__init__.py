"""Composition of a Federation 2 supergraph SDL from subgraph SDLs (what `rover supergraph compose` does).

    from gateway.supergraph.compose import SubgraphSource, compose_supergraph
    sdl = compose_supergraph([SubgraphSource("orgs", "http://127.0.0.1:4101/graphql", orgs_sdl), ...])

Raises `CompositionError` (with `.issues`, each `(code, message, locations)`) when the subgraphs
cannot be composed. See docs/composition.md for the rules.
"""

from __future__ import annotations

from .compose import CompositionResult, compose, compose_supergraph
from .errors import CompositionError, CompositionIssue, SourceLocation
from .model import SubgraphSource

__all__ = [
    "CompositionError",
    "CompositionIssue",
    "CompositionResult",
    "SourceLocation",
    "SubgraphSource",
    "compose",
    "compose_supergraph",
]
