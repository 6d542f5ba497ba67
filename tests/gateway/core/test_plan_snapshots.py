"""Readable query-plan snapshots for representative operations (audit supergraphs).

Regenerate after an intended planner change with ``UPDATE_SNAPSHOTS=1 pytest tests/gateway/core`` and
review the diff like code.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import graphql
import pytest

from gateway.planning.plan import plan_to_text
from tests.gateway.core import audit_data

pytestmark = pytest.mark.needs_shared("federation-audit")

SNAPSHOTS = Path(__file__).parent / "snapshots"

# One or two operations per federation feature.
REPRESENTATIVE = [
    "simple-entity-call_0",  # entity key hop
    "complex-entity-call_0",  # compound and nested keys
    "keys-mashup_0",  # multiple keys, requires on another key
    "simple-requires-provides_0",  # @requires and @provides
    "requires-requires_0",  # chained @requires
    "requires-with-argument_2",  # @requires on a field with arguments, clashing with the client's
    "requires-with-argument-conflict_0",  # two requirements that need different representations
    "nested-provides_0",  # @provides below @provides
    "shared-root_0",  # @shareable root field served by three subgraphs
    "simple-override_0",  # @override
    "abstract-types_7",  # interfaces, fragments, @include
    "union-intersection_0",  # unions with members that differ per subgraph
    "partial-union-complex_0",  # union members below a shareable path
    "simple-interface-object_3",  # @interfaceObject
    "interface-object-with-requires_0",  # @interfaceObject with @requires
    "parent-entity-call-complex_0",  # key only reachable through the parent entity
    "child-type-mismatch_1",  # internal aliases for fields whose types differ per fragment
    "mutations_0",  # mutation followed by entity fetches
    "typename_0",  # __typename
]


def _case(test_id: str) -> dict[str, object]:
    return next(c for c in audit_data.cases() if c["test_id"] == test_id)


@pytest.mark.parametrize("test_id", REPRESENTATIVE)
def test_plan_snapshot(test_id: str) -> None:
    case = _case(test_id)
    planner, _ = audit_data.planner(str(case["suite"]))
    plan = planner.plan(graphql.parse(str(case["query"])), None, {})
    query = textwrap.dedent(str(case["query"])).strip()
    text = f"# {test_id}\n{query}\n\n{plan_to_text(plan)}\n"
    path = SNAPSHOTS / f"{test_id}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()
