"""Operation limits measured on parsed documents: depth, aliases, root fields, directives, cost, tokens."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import graphql
import pytest

from gateway.http.errors import GraphQLRequestError
from gateway.safety.limits import (
    MAX_ALIASES,
    MAX_COST,
    MAX_DEPTH,
    MAX_DIRECTIVES,
    MAX_ROOT_FIELDS,
    OperationLimiter,
    OperationLimits,
    OperationMetrics,
    measure_operation,
)
from gateway.safety.tokens import MAX_TOKENS, count_tokens, token_limit_error

SDL = """
type Query { node: Node nodes(first: Int, limit: Int): [Node!]! connection(first: Int, after: String): Conn
  tags: [String!]! name: String top(first: Int = 3): [Node!]! }
type Node { id: ID! name: String child: Node children: [Node!]! items(first: Int): [Node!]! }
type Conn { edges: [Edge!]! nodes: [Node!]! totalCount: Int }
type Edge { node: Node cursor: String }
"""
SCHEMA = graphql.build_schema(SDL)


def _errors(query: str, limits: OperationLimits | None = None,
            variables: dict[str, object] | None = None) -> list[str]:
    document = graphql.parse(query)
    assert graphql.validate(SCHEMA, document) == []
    operation = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
    limiter = OperationLimiter(SCHEMA, limits or OperationLimits(), cache_size=10)
    try:
        limiter.check(query, document, operation, variables)
    except GraphQLRequestError as error:
        return [e["extensions"]["code"] for e in error.errors]
    return []


def _metrics(query: str, **options: Any) -> OperationMetrics:
    document = graphql.parse(query)
    operation = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
    return measure_operation(SCHEMA, document, operation, **options)


def _nested(levels: int) -> str:
    return "{ node { " + "child { " * levels + "id" + " }" * levels + " } }"


def test_depth_counts_fields_and_expands_fragments() -> None:
    assert _errors(_nested(13)) == []  # depth 15
    assert _errors(_nested(14)) == [MAX_DEPTH]
    hidden = ("{ node { ...A } } fragment A on Node { child { ...B } } "
              "fragment B on Node { child { child { id } } }")
    assert _metrics(hidden).depth == 5
    assert _errors(hidden, OperationLimits(max_depth=4)) == [MAX_DEPTH]


def test_deep_introspection_is_refused_but_graphiql_schema_query_passes() -> None:
    assert _errors(graphql.get_introspection_query(descriptions=True, input_value_deprecation=True)) == []
    deep = "{ __type(name: \"Node\") { " + "ofType { " * 25 + "name" + " }" * 25 + " } }"
    assert _errors(deep) == [MAX_DEPTH]
    # The fan-out kind (fields { type { fields ... } }) is refused by validation already.
    fan_out = "{ __schema { types { " + "fields { type { " * 4 + "name" + " } }" * 4 + " } } }"
    assert graphql.validate(SCHEMA, graphql.parse(fan_out)) != []


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = "{ node { " + " ".join(f"a{i}: name" for i in range(5000)) + " } }"
    started = time.perf_counter()
    assert MAX_ALIASES in _errors(bomb)
    # A bound against blow-up only (an exponential walk would never finish), loose for busy machines.
    assert time.perf_counter() - started < 20
    assert _errors("{ node { " + " ".join(f"a{i}: name" for i in range(30)) + " } }") == []


def test_root_fields_and_directives() -> None:
    assert _errors("{ name tags node { id } }", OperationLimits(max_root_fields=2)) == [MAX_ROOT_FIELDS]
    spread = "{ ...R } fragment R on Query { name tags node { id } }"
    assert _errors(spread, OperationLimits(max_root_fields=2)) == [MAX_ROOT_FIELDS]
    many = "query($s: Boolean!) { node { " + " ".join(f"f{i}: id @skip(if: $s)" for i in range(5)) + " } }"
    assert _errors(many, OperationLimits(max_directives=4), {"s": False}) == [MAX_DIRECTIVES]
    assert _errors(many, OperationLimits(max_directives=5), {"s": False}) == []


def test_fragment_spread_bomb_is_measured_expanded_in_linear_time() -> None:
    # F0 has two aliases; each Fi spreads F(i-1) twice: 2^40 aliases once expanded.
    fragments = ["fragment F0 on Node { a: id b: name }"]
    fragments += [f"fragment F{i} on Node {{ ...F{i - 1} child {{ ...F{i - 1} }} }}" for i in range(1, 41)]
    query = "{ node { ...F40 } } " + " ".join(fragments)
    started = time.perf_counter()
    metrics = _metrics(query)
    assert metrics.aliases == 2 ** 41
    codes = _errors(query)
    assert time.perf_counter() - started < 20  # 2^41 aliases counted by walking them would never end
    # Limits run in order: over the shape limits, the operation is not costed.
    assert MAX_ALIASES in codes and MAX_DEPTH in codes and MAX_COST not in codes


def test_cost_multiplies_list_sizes() -> None:
    assert _metrics("{ nodes(first: 5) { id name } }").cost == 1 + 5 * 2
    assert _metrics("{ nodes { id } }").cost == 1 + 10 * 1  # default size
    assert _metrics("{ tags }").cost == 1  # a list of scalars is one field
    assert _metrics("{ top { id } }").cost == 1 + 3 * 1  # the argument's schema default
    # A connection's edges/nodes are not multiplied twice.
    connection = "{ connection(first: 20) { totalCount edges { node { id } } } }"
    assert _metrics(connection).cost == 1 + 20 * (1 + 1 + 2)
    expensive = "{ nodes(first: 100) { items(first: 100) { items(first: 100) { id } } } }"
    assert _errors(expensive) == [MAX_COST]
    assert _errors("{ nodes(first: 100) { items(first: 100) { id } } }") == []


def test_cost_follows_variable_values() -> None:
    query = "query($n: Int = 5) { nodes(first: $n) { items(first: $n) { id } } }"
    assert _metrics(query).cost == 1 + 5 * (1 + 5)
    assert _errors(query, variables={"n": 10}) == []
    assert _errors(query, variables={"n": 1000}) == [MAX_COST]
    assert _errors(query, variables={}) == []


def test_limits_can_be_disabled() -> None:
    off = OperationLimits(max_depth=0, max_aliases=0, max_root_fields=0, max_directives=0, max_cost=0)
    assert _errors(_nested(40), off) == []


def test_token_limit_is_checked_before_parsing() -> None:
    # No wall-clock assertion (the machine may be busy): that counting stops right after the
    # limit, so a huge document costs no more than a small one, is the next test's job.
    huge = "{ " + "name " * 1_000_000 + "}"  # 5 MB, a million tokens
    error = token_limit_error(huge, 15_000)
    assert error is not None and error.extensions["code"] == MAX_TOKENS  # type: ignore[index]
    assert token_limit_error("{ name }", 15_000) is None
    assert count_tokens("# a comment\n{ node(x: \"s t\") { id } }", 100) == 11
    long_but_fine = "{ name " + "#" * 20_000 + "\n }"  # long, few tokens
    assert token_limit_error(long_but_fine, 15_000) is None


@pytest.mark.parametrize("limit", [3, 8])
def test_token_count_stops_after_the_limit(limit: int) -> None:
    assert count_tokens("{ a b c d e f g h i j k l }", limit) == limit + 1


@pytest.mark.needs_shared("bench-scenario")
def test_the_federation_benchmark_query_passes_the_default_limits() -> None:
    from bench.federation import scenario
    from gateway.engine import Gateway

    api_schema = Gateway.from_supergraph_sdl(scenario.supergraph_sdl("http://127.0.0.1:1")).api_schema
    query = scenario.query_text()
    document = graphql.parse(query)
    operation = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
    assert OperationLimiter(api_schema, OperationLimits(), cache_size=1).errors(query, document, operation,
                                                                                 None) == ()


def test_settings_and_manifest_formats(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from gateway.config import GatewayConfig
    from gateway.safety.persisted import load_manifest, query_hash

    with pytest.raises(ValidationError):
        GatewayConfig(persisted_only=True)  # trusted documents need a manifest
    with pytest.raises(ValidationError):
        GatewayConfig(persisted_manifest=tmp_path / "missing.json")
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({query_hash("{ name }").upper(): "{ name }"}))
    assert load_manifest(plain) == {query_hash("{ name }"): "{ name }"}
    broken = tmp_path / "broken.json"
    broken.write_text('{"operations": [{"id": "x"}]}')
    with pytest.raises(ValueError, match="'id' and a 'body'"):
        load_manifest(broken)
    broken.write_text("{nope")
    with pytest.raises(ValueError, match="cannot read"):
        load_manifest(broken)
