"""The query planner: (supergraph, operation, variables) -> QueryPlan, one pass per module.

- ``query_graph``: what each subgraph resolves and how it is entered (keys, ``@provides``,
  ``@interfaceObject``, overrides);
- ``path_finding``: places every field into fetch groups, routing through entity fetches;
- ``choice``: the cost estimates and rankings behind each greedy choice;
- ``fetch_groups``: the groups (one future subgraph request each) and the shared planning state;
- ``assembly`` with ``merge``: layering, merging and folding fetches into plan nodes;
- ``plan``: the plan nodes as plain data; ``selections``: the subgraph selections being built.
"""

from __future__ import annotations

from typing import Any

from graphql import language as ast

from gateway.planning.assembly import PlanBuilder
from gateway.planning.fetch_groups import with_variable_defaults
from gateway.planning.plan import QueryPlan
from gateway.planning.query_graph import PlanningError, QueryGraph

__all__ = ["Planner", "PlanningError", "with_variable_defaults"]


class Planner(QueryGraph):
    """Plans operations for one supergraph.  Instances are reusable; ``plan`` is pure."""

    def plan(
        self, document: ast.DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
    ) -> QueryPlan:
        return PlanBuilder(self, document, operation_name, variables or {}).build()
