"""@skip/@include on variables: one plan per operation, conditions evaluated at execution.

The plan keeps the directives in the subgraph operations (with the variables), wraps fetches whose
every field is conditional in ``Condition`` nodes, and shaping prunes the selection for the values at
hand.  Checked against the four shop subgraphs: every combination of values answers what the same
operation with the directives applied by hand answers.
"""

from __future__ import annotations

import itertools
from typing import Any

import graphql
import pytest

from gateway.engine import Gateway
from gateway.planning.conditions import FALSE, TRUE, and_, holds, literal, or_
from gateway.planning.plan import Condition, plan_to_text
from tests.gateway.core.conftest import Shop, run


def test_condition_algebra() -> None:
    a, not_a, b = literal("a", True), literal("a", False), literal("b", True)
    assert and_(a, not_a) == FALSE
    assert or_(a, TRUE) == TRUE
    assert or_(and_(a, b), a) == a  # absorption keeps conditions small
    assert holds(and_(a, b), {"a": True, "b": True})
    assert not holds(and_(a, b), {"a": True, "b": None})
    assert holds(not_a, {}) and not holds(a, {})  # a missing variable is not true


def _conditions(node: object) -> list[Condition]:
    out: list[Condition] = []

    def walk(n: object) -> None:
        if isinstance(n, Condition):
            out.append(n)
            walk(n.if_true)
            walk(n.if_false)
        for child in getattr(n, "nodes", ()) or ():
            walk(child)

    walk(node)
    return out


async def test_one_plan_for_every_value(gateway: Gateway) -> None:
    doc = graphql.parse(
        "query($s: Boolean!, $i: Boolean!) { products { id inStock @skip(if: $s) name @include(if: $i) } }"
    )
    plans = {id(gateway.plan(doc, None, {"s": s, "i": i})) for s in (True, False) for i in (True, False)}
    assert len(plans) == 1
    plan = gateway.plan(doc, None, {})
    text = plan_to_text(plan)
    assert "inStock @skip(if: $s)" in text and "name @include(if: $i)" in text
    # The inventory fetch only carries inStock: it runs only when $s is false.
    [cond] = _conditions(plan.node)
    assert cond.variable == "s" and cond.if_true is None and cond.if_false is not None


CASES = [
    # (operation, variable names)
    ("query($s: Boolean!) { products { id inStock @skip(if: $s) } }", ["s"]),
    (
        'query($a: Boolean!, $b: Boolean!) { product(id: "p1") @include(if: $a) '
        '{ name inStock @include(if: $b) } '
        "me @skip(if: $b) { name } }",
        ["a", "b"],
    ),
    # the same response key under different conditions: the field is there if any node applies
    (
        'query($a: Boolean!, $b: Boolean!) { product(id: "p2") { name @include(if: $a) '
        '... on Product @include(if: $b) '
        "{ name inStock } } }",
        ["a", "b"],
    ),
    # a field selected twice, its subselections differing per condition
    (
        "query($a: Boolean!) { latestReviews { product @include(if: $a) { inStock } product { name } } }",
        ["a"],
    ),
    # fragments and @requires below a condition
    (
        "query($a: Boolean!, $b: Boolean!) { products { ...F @skip(if: $a) } } "
        "fragment F on Product { shippingCost @include(if: $b) id }",
        ["a", "b"],
    ),
    # a default value decides when the request leaves the variable out
    ("query($a: Boolean = false) { products { id inStock @include(if: $a) } }", []),
    ("query($a: Boolean! = true) { topProducts { id shippingCost @include(if: $a) } }", []),
]


def _applied(query: str, values: dict[str, bool]) -> str:
    """The operation with the directives replaced by their literal values (the reference answer)."""
    doc = graphql.parse(query)

    class _Literal(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_: object) -> graphql.ArgumentNode | None:
            if isinstance(node.value, graphql.VariableNode) and node.value.name.value in values:
                return graphql.ArgumentNode(
                    name=node.name, value=graphql.BooleanValueNode(value=values[node.value.name.value])
                )
            return None

        def enter_variable_definition(self, node: graphql.VariableDefinitionNode, *_: object) -> object:
            # the variable is no longer used: drop its definition
            return graphql.REMOVE if node.variable.name.value in values else None

    return graphql.print_ast(graphql.visit(doc, _Literal()))


def _without_locations(res: dict[str, Any]) -> dict[str, Any]:
    """Subgraph error locations are in the subgraph's operation text, which differs."""
    if "errors" in res:
        res["errors"] = [{k: v for k, v in e.items() if k != "locations"} for e in res["errors"]]
    return res


@pytest.mark.parametrize(("query", "names"), CASES)
async def test_every_combination_answers_as_the_literal_operation(
    gateway: Gateway, shop_env: Shop, query: str, names: list[str]
) -> None:
    doc = graphql.parse(query)
    first = gateway.plan(doc, None, {})
    for combo in itertools.product((True, False), repeat=len(names)):
        values = dict(zip(names, combo, strict=True))
        got = _without_locations(await run(gateway, query, values))
        want = _without_locations(await run(gateway, _applied(query, values), {}))
        assert got == want, (values, got, want)
        if not first.static_conditions:
            assert gateway.plan(doc, None, values) is first


async def test_conditional_fetch_is_not_sent(gateway: Gateway, shop_env: Shop) -> None:
    query = "query($s: Boolean!) { products { id inStock @skip(if: $s) } me @skip(if: $s) { name } }"
    res = await run(gateway, query, {"s": True})
    assert res == {"data": {"products": [{"id": "p1"}, {"id": "p2"}, {"id": "p3"}]}}
    assert shop_env.subgraphs["inventory"].requests == []
    assert shop_env.subgraphs["users"].requests == []
    res = await run(gateway, query, {"s": False})
    assert res["data"]["me"] == {"name": "Ada"}
    assert len(shop_env.subgraphs["inventory"].requests) == 1


async def test_conditional_mutation_field(gateway: Gateway, shop_env: Shop) -> None:
    query = 'mutation($go: Boolean!) { addProduct(name: "Rasp", price: 9) @include(if: $go) { name } }'
    assert await run(gateway, query, {"go": False}) == {"data": {}}
    assert shop_env.subgraphs["products"].requests == []
    res = await run(gateway, query, {"go": True})
    assert res == {"data": {"addProduct": {"name": "Rasp"}}}


async def test_variable_defaults_decide_conditions(gateway: Gateway, shop_env: Shop) -> None:
    query = 'query($a: Boolean = false) { product(id: "p1") { name inStock @include(if: $a) } }'
    assert await run(gateway, query, {}) == {"data": {"product": {"name": "Nitrile gloves"}}}
    assert shop_env.subgraphs["inventory"].requests == []
    res = await run(gateway, query, {"a": True})
    assert res == {"data": {"product": {"name": "Nitrile gloves", "inStock": True}}}


def test_directives_are_not_repeated_on_a_field() -> None:
    from gateway.planning.conditions import with_directives

    alt = frozenset({("a", True), ("b", True), ("c", False)})
    text = with_directives("x(n: 1) { y }", len("x(n: 1)"), alt)
    assert text == "... @include(if: $b) { x(n: 1) @include(if: $a) @skip(if: $c) { y } }"


async def test_nested_conditions_of_one_kind(gateway: Gateway, shop_env: Shop) -> None:
    # product's two nodes apply under different conditions: inStock's is $a and $b (two @include).
    query = (
        'query($a: Boolean!, $b: Boolean!) { product(id: "p1") @include(if: $a) { inStock @include(if: $b) } '
        'product(id: "p1") { name } }'
    )
    for a, b in itertools.product((True, False), repeat=2):
        res = await run(gateway, query, {"a": a, "b": b})
        want: dict[str, Any] = {"name": "Nitrile gloves"}
        if a and b:
            want["inStock"] = True
        assert res == {"data": {"product": want}}, (a, b, res)


async def test_conditions_on_requires_fields_are_decided_at_planning(
    gateway: Gateway, shop_env: Shop
) -> None:
    # shippingCost @requires(price weight): its inputs go into the representations, so whether it is
    # asked changes what inventory is sent; such a condition is decided at planning (plan per value).
    query = "query($a: Boolean!) { products { id inStock shippingCost @include(if: $a) } }"
    doc = graphql.parse(query)
    yes, no = gateway.plan(doc, None, {"a": True}), gateway.plan(doc, None, {"a": False})
    assert yes.static_conditions == ("a",) and yes is not no
    assert gateway.plan(doc, None, {"a": True}) is yes
    assert "price" not in plan_to_text(no) and "price" in plan_to_text(yes)
    res = await run(gateway, query, {"a": False})
    assert res["data"]["products"][0] == {"id": "p1", "inStock": True}
