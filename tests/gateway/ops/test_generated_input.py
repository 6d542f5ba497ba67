"""Generated bad input against the running gateway: every answer is a GraphQL response.

Deep, wide, aliased, fragment-cycled, huge-literal and malformed operations and variables (hypothesis)
go to the gateway on loopback in front of the recursive tree subgraph. Each answer must be JSON with
``data`` or coded ``errors``, never a 5xx or a traceback, and the gateway must stay up.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import GatewayConfig
from tests.gateway.ops.stack import ThreadedStack

CHECKS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_NAME = st.text(string.ascii_letters + "_", min_size=1, max_size=6).filter(lambda n: not n.startswith("__"))
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def stack() -> Iterator[ThreadedStack]:
    with ThreadedStack(GatewayConfig(auth=False, subscriptions=False, max_body_bytes=2_000_000)) as running:
        yield running


def assert_graphql_answer(stack: ThreadedStack, body: Any) -> dict[str, Any]:
    status, raw, headers = stack.post(body)
    assert status < 500, (status, raw[:500])
    assert b"Traceback" not in raw and b'File "' not in raw, raw[:500]
    answer = orjson.loads(raw)
    assert isinstance(answer, dict) and ("data" in answer or answer.get("errors")), raw[:500]
    for error in answer.get("errors") or ():
        assert isinstance(error.get("message"), str) and error.get("extensions", {}).get("code"), error
    assert headers["content-type"].startswith("application/graphql-response+json")
    return answer


# ---- operations ------------------------------------------------------------------------------------


def _nest(levels: int, field: str = "children", leaf: str = "id") -> str:
    return "{ categories { " + f"{field} {{ " * levels + leaf + " }" * levels + " } }"


@given(levels=st.integers(1, 80), field=st.sampled_from(["children", "parent"]))
@CHECKS
def test_deep_operations(stack: ThreadedStack, levels: int, field: str) -> None:
    answer = assert_graphql_answer(stack, {"query": _nest(levels, field)})
    codes = [e["extensions"]["code"] for e in answer.get("errors", ())]
    if levels + 2 > 15:
        assert codes == ["MAX_DEPTH_LIMIT"]  # the first limit in order, and nothing else
        assert answer["errors"][0]["extensions"]["actual"] == levels + 2


@given(width=st.integers(1, 600), aliases=st.lists(_NAME, min_size=1, max_size=80))
@CHECKS
def test_wide_and_aliased_operations(stack: ThreadedStack, width: int, aliases: list[str]) -> None:
    wide = "{ categories { " + " ".join(f"a{i}: name" for i in range(width)) + " } }"
    assert_graphql_answer(stack, {"query": wide})
    aliased = "{ " + " ".join(f"{a}: categories {{ {a}: children {{ id }} }}" for a in aliases) + " }"
    assert_graphql_answer(stack, {"query": aliased})


@given(cycle=st.integers(1, 8), bomb=st.integers(1, 60))
@CHECKS
def test_fragment_cycles_and_bombs(stack: ThreadedStack, cycle: int, bomb: int) -> None:
    names = [f"F{i}" for i in range(cycle)]
    fragments = " ".join(
        f"fragment {n} on Category {{ children {{ ...{names[(i + 1) % cycle]} }} }}"
        for i, n in enumerate(names)
    )
    answer = assert_graphql_answer(stack, {"query": "{ categories { ...F0 } } " + fragments})
    assert answer["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    spread = ["fragment B0 on Category { a: id b: name }"]
    spread += [
        f"fragment B{i} on Category {{ ...B{i - 1} children {{ ...B{i - 1} }} }}" for i in range(1, bomb)
    ]
    assert_graphql_answer(stack, {"query": f"{{ categories {{ ...B{bomb - 1} }} }} " + " ".join(spread)})


@given(
    text_size=st.integers(0, 400_000),
    digits=st.integers(1, 6000),
    nesting=st.integers(1, 3000),
    number=st.sampled_from(["1e400", "-0", "1.7976931348623157e309", "0x10", "1_000", "NaN"]),
)
@CHECKS
def test_huge_literals(stack: ThreadedStack, text_size: int, digits: int, nesting: int, number: str) -> None:
    assert_graphql_answer(stack, {"query": '{ search(text: "' + "x" * text_size + '") { id } }'})
    assert_graphql_answer(stack, {"query": "{ search(first: " + "9" * digits + ") { id } }"})
    assert_graphql_answer(stack, {"query": "{ echo(value: " + "[" * nesting + "]" * nesting + ") }"})
    assert_graphql_answer(
        stack, {"query": "{ search(filter: " + "{nested: " * nesting + "{}" + "}" * nesting + ") { id } }"}
    )
    assert_graphql_answer(stack, {"query": f"{{ echo(value: {number}) search(first: {number}) {{ id }} }}"})


_VALID = [
    "{ categories { id name children { id } } }",
    "query Q($n: Int) { search(first: $n) { id } }",
    "query($f: Filter, $s: Sort) { search(filter: $f, sort: $s) { id price tags } }",
    'mutation M($id: ID!) { renameCategory(id: $id, name: "x") { id } }',
    "query($v: JSON) { echo(value: $v) }",
]


@given(source=st.sampled_from(_VALID), cut=st.integers(0, 200), junk=st.text(max_size=40))
@CHECKS
def test_malformed_operations(stack: ThreadedStack, source: str, cut: int, junk: str) -> None:
    assert_graphql_answer(stack, {"query": source[:cut] + junk + source[cut:]})
    assert_graphql_answer(stack, {"query": junk})


@given(
    source=st.sampled_from(_VALID),
    variables=st.dictionaries(st.sampled_from(["n", "f", "s", "id", "v", "x"]), _JSON, max_size=4),
    operation=st.none() | st.sampled_from(["Q", "M", "Nope"]) | st.integers() | _NAME,
)
@CHECKS
def test_generated_variables(
    stack: ThreadedStack, source: str, variables: dict[str, Any], operation: Any
) -> None:
    assert_graphql_answer(stack, {"query": source, "variables": variables, "operationName": operation})


@given(body=_JSON | st.binary(max_size=200))
@CHECKS
def test_malformed_bodies(stack: ThreadedStack, body: Any) -> None:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    status, answer, _ = stack.post(raw)
    assert status < 500 and b"Traceback" not in answer
    assert isinstance(orjson.loads(answer), dict)


def test_the_gateway_stays_up(stack: ThreadedStack) -> None:
    answer = assert_graphql_answer(stack, {"query": "{ categories { id children { id } } }"})
    assert answer == {
        "data": {
            "categories": [
                {"id": "c1", "children": [{"id": "c1.0"}, {"id": "c1.1"}]},
                {"id": "c2", "children": [{"id": "c2.0"}, {"id": "c2.1"}]},
            ]
        }
    }
    status, _, _ = stack.request("GET", "/healthcheck")
    assert status == 200
