"""Unit tests of the rules: directive reading (also renamed by @link), OR of ANDs, document filtering
for subscriptions and fragments, rights keys."""

from __future__ import annotations

import graphql

from gateway.auth.authenticate import Authenticator
from gateway.auth.authorize import TENANT_ALIAS, AccessDecider, filter_document
from gateway.auth.directives import AccessRules, Requirement, Rights
from gateway.auth.layer import GatewayAuth
from gateway.auth.principal import ANONYMOUS, Principal
from gateway.engine import Gateway
from tests.gateway.auth import market

URLS = {
    "orgs": "http://127.0.0.1:9/orgs",
    "finance": "http://127.0.0.1:9/fin",
    "orders": "http://127.0.0.1:9/ord",
}


def _auth() -> tuple[Gateway, GatewayAuth]:
    gateway = Gateway.from_supergraph_sdl(market.supergraph(URLS))
    auth = GatewayAuth(
        gateway.api_schema, gateway.supergraph_schema, authenticator=Authenticator(), secret=b"s"
    )
    return gateway, auth


def test_or_of_ands() -> None:
    req = Requirement(scopes=(frozenset({"a", "b"}), frozenset({"c"})))
    assert req.allows(Rights(True, frozenset({"a", "b"}), frozenset()))
    assert req.allows(Rights(True, frozenset({"c"}), frozenset()))
    assert not req.allows(Rights(True, frozenset({"a"}), frozenset()))
    both = req.merged(Requirement(authenticated=True, scopes=(frozenset({"d"}),)))
    assert both.allows(Rights(True, frozenset({"c", "d"}), frozenset()))
    assert not both.allows(Rights(False, frozenset({"c", "d"}), frozenset()))
    assert not both.allows(Rights(True, frozenset({"c"}), frozenset()))


def test_rules_read_from_the_supergraph() -> None:
    _, auth = _auth()
    rules = auth.rules
    assert rules.fields[("Organization", "creditLimit")].scopes == (
        frozenset({"finance:read"}),
        frozenset({"finance:admin"}),
    )
    assert rules.fields[("Query", "me")].authenticated
    assert rules.fields[("Organization", "internalNotes")].policies == (frozenset({"tenant_admin"}),)
    assert rules.types["Invoice"].scopes == (frozenset({"finance:read"}),)
    assert auth.tenant_types == {"Organization", "Order", "Invoice", "User"}


def test_directives_renamed_by_link() -> None:
    sdl = """
      schema @link(url: "https://specs.apollo.dev/link/v1.0")
        @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", as: "scoped", for: SECURITY)
      { query: Query }
      directive @link(url: String, as: String, for: String, import: [String]) repeatable on SCHEMA
      directive @scoped(scopes: [[String!]!]!) on FIELD_DEFINITION
      type Query { a: String @scoped(scopes: [["x"]]) b: String }
    """
    rules = AccessRules(graphql.build_schema(sdl))
    assert set(rules.fields) == {("Query", "a")}


def test_rights_key_ignores_scopes_the_schema_never_names() -> None:
    _, auth = _auth()
    one = auth.rights(Principal(method="jwt", scopes=frozenset({"finance:read", "x:y"})))
    two = auth.rights(Principal(method="jwt", scopes=frozenset({"finance:read"})))
    assert one.key == two.key
    assert auth.rights(ANONYMOUS).key != two.key


def test_subscription_fields_are_filtered_and_guarded() -> None:
    gateway, auth = _auth()
    doc = graphql.parse("subscription { orderUpdated { number buyer { name creditLimit } } }")
    rights = auth.rights(Principal(tenant_id="ta", method="jwt"))
    filtered = filter_document(
        gateway.api_schema,
        AccessDecider(gateway.api_schema, auth.rules),
        rights,
        doc,
        None,
        {},
        auth.tenant_types,
    )
    printed = graphql.print_ast(filtered.document)
    assert "creditLimit" not in printed
    assert printed.count(f"{TENANT_ALIAS}: tenantId") == 2  # the order and its buyer
    assert [e["path"] for e in filtered.errors] == [["orderUpdated", "buyer", "creditLimit"]]
    prepared = auth.prepare(doc, None, {}, Principal(tenant_id="ta", method="jwt"))
    assert prepared is not None and prepared.tenant_guard and prepared.plan_key is not None
    plan = gateway.plan(prepared.document, None, {}, prepared.plan_key)
    assert plan.operation_kind == "subscription"


def test_fragment_used_twice_reports_both_paths() -> None:
    _, auth = _auth()
    doc = graphql.parse(
        "{ a: organization(id: 1) { ...F } b: organizations { ...F } } fragment F on Organization { balance }"
    )
    prepared = auth.prepare(doc, None, {}, Principal(tenant_id="ta", method="jwt"))
    assert prepared is not None
    assert sorted(e["path"] for e in prepared.errors) == [["a", "balance"], ["b", "@", "balance"]]
    assert "balance" not in graphql.print_ast(prepared.document)


def test_subgraph_identity_separates_tenants_with_equal_rights() -> None:
    _, auth = _auth()
    a = Principal(tenant_id="ta", user_id="u", method="jwt", scopes=frozenset({"finance:read"}))
    b = Principal(tenant_id="tb", user_id="u", method="jwt", scopes=frozenset({"finance:read"}))
    assert auth.rights(a).key == auth.rights(b).key
    assert auth.subgraph_identity(a) != auth.subgraph_identity(b)
