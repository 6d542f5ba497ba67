"""Plan snapshots for the wrong answers the differential test found (issue 20), one smallest operation
each.  Same format and update switch as ``test_plan_snapshots`` (``UPDATE_SNAPSHOTS=1``)."""

from __future__ import annotations

import os
from pathlib import Path

import graphql
import pytest

from gateway.planning.plan import plan_to_text
from tests.gateway.core import audit_data

pytestmark = pytest.mark.skipif(not audit_data.available(), reason="../shared/federation-audit/ is missing")

SNAPSHOTS = Path(__file__).parent / "snapshots"

FOUND = {
    # The key of Dog/Cat is @external in `a`: ask Book.animals again from `c`, which answers age and
    # name there too (an entity call on Dog in `c` is the poor plan the audit's subgraph refuses).
    "diff-provides-on-interface": (
        "provides-on-interface",
        "{ book { animals { __typename ... on Dog { age name id } ... on Cat { id name } } } }",
    ),
    # `media` is served by `a` and `b` at the same cost: the tie goes to `b`, which declares @provides
    # for it (`a`'s resolver is the poor plan the audit's subgraph refuses).
    "diff-provides-on-interface-root": ("provides-on-interface", "{ media { id } }"),
    # ProductList's key in `price` needs products { category { id tag } }: the representation list
    # had products { id pid } only, which is not the whole key (was: price null).
    "diff-complex-entity-call": (
        "complex-entity-call",
        "{ topProducts { selected { ... on Product { price { price } pid } } } }",
    ),
    # Book objects at two paths sent to `reviews` with different inputs get two fetches: one selection
    # for both sent reviewsOfSimilar (which @requires similar { id }) to the books without it.
    "diff-abstract-types": (
        "abstract-types",
        '{ similar(id: "p2") { ... on Book { similar { reviewsOfSimilar { body } } } } '
        "books { reviewsCount } }",
    ),
    # country @requires address { ... on WorkAddress { id } }: a HomeAddress is sent without its id
    # (execution: the fragment of another object type does not apply), so country is null.
    "diff-requires-interface": (
        "requires-interface",
        "{ a { address { id ... on HomeAddress { id } } country } }",
    ),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_plan_snapshot_of_a_differential_finding(name: str) -> None:
    suite, query = FOUND[name]
    planner, _ = audit_data.planner(suite)
    plan = planner.plan(graphql.parse(query), None, {})
    text = f"# {name} ({suite})\n{query}\n\n{plan_to_text(plan)}\n"
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text)
    assert text == path.read_text()


def test_requirement_on_another_object_types_fragment_sends_nothing() -> None:
    from gateway.execution.collect import project
    from gateway.planning.plan import SelectionTree

    requires = SelectionTree(
        fields=(
            (
                "address",
                "address",
                SelectionTree(
                    fields=(),
                    fragments=(
                        ("HomeAddress", SelectionTree(fields=(), fragments=())),
                        ("WorkAddress", SelectionTree(fields=(("id", "id", None),), fragments=())),
                    ),
                ),
            ),
        ),
        fragments=(),
    )
    home = {"address": {"__typename": "HomeAddress", "id": "a1"}}
    work = {"address": {"__typename": "WorkAddress", "id": "a2"}}
    assert project(home, requires) == {"address": {}}
    assert project(work, requires) == {"address": {"id": "a2"}}
