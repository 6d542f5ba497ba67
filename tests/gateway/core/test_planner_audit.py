"""The planner against every operation of the Federation Gateway Audit (no network needed).

- every case plans (or fails planning only where the audit expects an error and no data);
- every fetch the planner emits is a valid operation for that subgraph's own schema;
- the planner never asks a subgraph for a field that subgraph declares @external (unless provided);
- one ``_entities`` request per subgraph per plan level.
"""

from __future__ import annotations

import collections
from typing import Any

import graphql
import pytest

from gateway.planning.plan import Flatten, QueryPlan, plan_to_json
from gateway.planning.planner import PlanningError
from tests.gateway.core import audit_data

pytestmark = pytest.mark.needs_shared("federation-audit")

_CASES = audit_data.cases()
# The only case allowed two _entities calls to one subgraph on one level: two fields require the same
# field with different arguments (price in USD and in EUR), so one representation cannot carry both.
_CLASHING_REQUIREMENTS = {"requires-with-argument-conflict_0"}


def _plan(case: dict[str, Any]) -> QueryPlan | None:
    planner, api = audit_data.planner(case["suite"])
    doc = graphql.parse(case["query"])
    if graphql.validate(api, doc):
        return None  # the HTTP layer rejects it before planning
    try:
        return planner.plan(doc, None, case.get("variables") or {})
    except PlanningError:
        if case["expected"].get("errors") and case["expected"].get("data") is None:
            return None  # the audit expects this operation to fail
        raise


@pytest.mark.parametrize("case", _CASES, ids=[c["test_id"] for c in _CASES])
def test_audit_case_plans(case: dict[str, Any]) -> None:
    plan = _plan(case)
    if plan is None:
        return
    assert plan_to_json(plan)["kind"] == "QueryPlan"
    for fetch in audit_data.fetch_nodes(plan.node):
        schema = audit_data.subgraph_schema(case["suite"], fetch.subgraph)
        errors = graphql.validate(schema, graphql.parse(fetch.operation))
        assert not errors, f"{fetch.subgraph}: {fetch.operation}: {errors[0].message}"
        _assert_no_external_fields(case["suite"], fetch.subgraph, schema, fetch.operation)
    for level in audit_data.levels(plan.node):
        per_subgraph = collections.Counter(n.node.subgraph for n in level if isinstance(n, Flatten))
        if case["test_id"] not in _CLASHING_REQUIREMENTS:
            assert all(v == 1 for v in per_subgraph.values()), per_subgraph


def _assert_no_external_fields(
    suite: str, subgraph: str, schema: graphql.GraphQLSchema, operation: str
) -> None:
    """No selected field is @external in this subgraph, unless an enclosing field @provides it."""
    planner, _ = audit_data.planner(suite)
    sg = planner.sg
    graph = next(g for g, info in sg.subgraphs.items() if info.name == subgraph)
    type_info = graphql.TypeInfo(schema)
    provides_depth: list[bool] = []

    class Check(graphql.Visitor):
        def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
            parent = type_info.get_parent_type()
            name = node.name.value
            ti = sg.types.get(parent.name) if parent else None
            fi = ti.fields.get(name) if ti else None
            has_provides = False
            if fi is not None:
                for jf in fi.join_fields:
                    if jf.graph == graph and jf.external:
                        assert any(provides_depth), f"{subgraph} asked for @external {parent}.{name}"
                    if jf.graph == graph and jf.provides:
                        has_provides = True
            provides_depth.append(has_provides)

        def leave_field(self, *_: Any) -> None:
            provides_depth.pop()

    graphql.visit(graphql.parse(operation), graphql.TypeInfoVisitor(type_info, Check()))
