"""The operation generator alone (no servers): valid, varied and reproducible from the seed."""

from __future__ import annotations

import graphql
import pytest

from tests.gateway.core import audit_data
from tools.differential import runner

pytestmark = pytest.mark.skipif(not audit_data.available(), reason="../shared/federation-audit/ is missing")


@pytest.mark.parametrize("suite", runner.all_suites() if audit_data.available() else [])
def test_operations_are_valid_and_reproducible(suite: str) -> None:
    sdl = audit_data.supergraph_sdl(suite)
    ops = runner.operations_for(suite, sdl, 7, 10)
    assert len(ops) == 10
    assert ops == runner.operations_for(suite, sdl, 7, 10)
    _, api = audit_data.planner(suite)
    for op in ops:
        assert not graphql.validate(api, graphql.parse(op.query)), op.query


def test_operations_cover_the_features() -> None:
    text = " ".join(
        op.query
        for s in runner.all_suites()
        for op in runner.operations_for(s, audit_data.supergraph_sdl(s), 7, 10)
    )
    for feature in ("... on ", "__typename", "@include(if: $", "@skip(if: $", "a1: ", '(id: "'):
        assert feature in text


def test_a_reference_answer_with_neither_data_nor_errors_counts_as_its_failure() -> None:
    # Seed 20261205, non-resolvable-interface-object: `{ b @include(if: false) { ... } }`. The spec's
    # answer is `{"data": {}}` (ours); Hive answers `{}`, Apollo an error: not a failure of ours.
    from tools.differential.compare import OURS_WRONG, REFS_FAILED, judge

    answers = {"ours": {"data": {}}, "hive": {}, "apollo": {"errors": [{"message": "x"}]}}
    assert judge(answers).kind == REFS_FAILED
    assert judge({**answers, "ours": {"data": {"b": None}}}).kind == REFS_FAILED
    assert judge({"ours": {"data": {"b": 1}}, "hive": {"data": {"b": 2}},
                  "apollo": {"data": {"b": 2}}}).kind == OURS_WRONG
