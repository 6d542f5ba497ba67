"""Composition rules and errors on small subgraphs written for the tests."""

from __future__ import annotations

import graphql
import pytest
from supergraph_semantics import summarize

from gateway.supergraph.compose import CompositionError, SubgraphSource, compose_supergraph
from gateway.supergraph.compose import compose as compose_with_hints

ALL_IMPORTS = (
    '"@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible", "@tag", '
    '"@interfaceObject", "@authenticated", "@requiresScopes", "@policy", "@extends"'
)


def fed2(body: str, imports: str = ALL_IMPORTS, version: str = "2.7") -> str:
    return (
        f'extend schema @link(url: "https://specs.apollo.dev/federation/v{version}", import: [{imports}])\n'
        + body
    )


def compose(**subgraphs: str) -> str:
    sdl = compose_supergraph(
        [SubgraphSource(name, f"http://127.0.0.1:4200/{name}", sdl) for name, sdl in subgraphs.items()]
    )
    graphql.build_schema(sdl)  # the supergraph is itself a valid GraphQL schema
    return sdl


def errors(**subgraphs: str) -> CompositionError:
    with pytest.raises(CompositionError) as info:
        compose(**subgraphs)
    return info.value


def field_directives(sdl: str, type_name: str, field_name: str) -> list[str]:
    return list(summarize(sdl)[type_name]["fields"][field_name]["directives"])


def type_directives(sdl: str, type_name: str) -> list[str]:
    return list(summarize(sdl)[type_name]["directives"])


# -- sharing ---------------------------------------------------------------------------------------


def test_field_in_two_subgraphs_without_shareable_is_rejected() -> None:
    err = errors(
        a=fed2('type Query { a: Int }\ntype T @key(fields: "id") { id: ID! name: String }'),
        b=fed2('type Query { b: Int }\ntype T @key(fields: "id") { id: ID! name: String }'),
    )
    assert err.codes == ["INVALID_FIELD_SHARING"]
    issue = err.issues[0]
    assert 'Non-shareable field "T.name" is resolved from multiple subgraphs' in issue.message
    assert {loc.subgraph for loc in issue.locations} == {"a", "b"}
    assert "INVALID_FIELD_SHARING" in str(err)


def test_shareable_fields_and_key_fields_merge() -> None:
    sdl = compose(
        a=fed2('type Query { a: T }\ntype T @key(fields: "id") { id: ID! name: String @shareable }'),
        b=fed2('type Query { b: T }\ntype T @key(fields: "id") @shareable { id: ID! name: String }'),
    )
    assert field_directives(sdl, "T", "name") == []  # resolvable everywhere: no join__field needed
    assert field_directives(sdl, "Query", "a") == ["@join__field(graph=A)"]


def test_overridden_field_is_not_shared_and_is_marked() -> None:
    sdl = compose(
        a=fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! name: String }'),
        b=fed2('type T @key(fields: "id") { id: ID! name: String @override(from: "a") }'),
    )
    assert field_directives(sdl, "T", "name") == ['@join__field(graph=B, override="a")']


def test_progressive_override_label_uses_join_v04() -> None:
    sdl = compose(
        a=fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! name: String }'),
        b=fed2(
            'type T @key(fields: "id") { id: ID! name: String @override(from: "a", label: "percent(25)") }'
        ),
    )
    assert "https://specs.apollo.dev/join/v0.4" in sdl
    assert field_directives(sdl, "T", "name") == [
        '@join__field(graph=A, overrideLabel="percent(25)")',
        '@join__field(graph=B, override="a", overrideLabel="percent(25)")',
    ]


def test_override_errors() -> None:
    assert errors(
        a=fed2(
            'type Query { t: T }\ntype T @key(fields: "id") { id: ID! name: String @override(from: "a") }'
        ),
    ).codes == ["OVERRIDE_FROM_SELF_ERROR"]
    bad_label = errors(
        a=fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! name: String }'),
        b=fed2('type T @key(fields: "id") { id: ID! name: String @override(from: "a", label: "9x") }'),
    )
    assert bad_label.codes == ["OVERRIDE_LABEL_INVALID"]


def test_override_from_unknown_subgraph_is_explained_when_it_breaks_sharing() -> None:
    err = errors(
        a=fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! name: String }'),
        b=fed2('type T @key(fields: "id") { id: ID! name: String @override(from: "aa") }'),
    )
    assert err.codes == ["INVALID_FIELD_SHARING"]
    assert "targets an unknown subgraph" in err.issues[0].message


# -- keys, requires, provides ----------------------------------------------------------------------


def test_unknown_key_field() -> None:
    err = errors(a=fed2('type Query { t: T }\ntype T @key(fields: "id sku") { id: ID! }'))
    assert err.codes == ["KEY_INVALID_FIELDS"]
    assert 'Cannot query field "sku" on type "T"' in err.issues[0].message
    assert err.issues[0].locations[0].subgraph == "a"
    assert err.issues[0].locations[0].line == 3


def test_key_selecting_an_interface_or_having_arguments() -> None:
    err = errors(
        a=fed2(
            "type Query { t: T }\ninterface I { x: Int }\n"
            'type T @key(fields: "i { x }") @key(fields: "f") { i: I f(a: Int): Int }'
        )
    )
    assert sorted(err.codes) == ["KEY_FIELDS_HAS_ARGS", "KEY_FIELDS_SELECT_INVALID_TYPE"]


def test_requires_on_non_external_field() -> None:
    err = errors(
        a=fed2(
            'type Query { t: T }\ntype T @key(fields: "id") { id: ID! w: Int s: Int @requires(fields: "w") }'
        ),
        b=fed2('type T @key(fields: "id") { id: ID! }'),
    )
    assert err.codes == ["REQUIRES_FIELDS_MISSING_EXTERNAL"]
    assert 'field "T.w" should not be part of a @requires' in err.issues[0].message


def test_requires_unknown_field() -> None:
    err = errors(
        a=fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! s: Int @requires(fields: "w") }')
    )
    assert err.codes == ["REQUIRES_INVALID_FIELDS"]


def test_provides_on_non_external_field_and_unknown_field() -> None:
    err = errors(
        a=fed2(
            'type Query { t: T @provides(fields: "name") u: T @provides(fields: "nope") }\n'
            'type T @key(fields: "id") { id: ID! name: String }'
        ),
    )
    assert sorted(err.codes) == ["PROVIDES_FIELDS_MISSING_EXTERNAL", "PROVIDES_INVALID_FIELDS"]


def test_requires_and_provides_produce_join_fields() -> None:
    sdl = compose(
        a=fed2(
            'type Query { t: T @provides(fields: "name") }\n'
            'type T @key(fields: "id") { id: ID! name: String @external '
            'total: Int @requires(fields: "name") }'
        ),
        b=fed2('type T @key(fields: "id") { id: ID! name: String @shareable }'),
    )
    name_joins = ["@join__field(external=true, graph=A)", "@join__field(graph=B)"]
    assert field_directives(sdl, "T", "name") == name_joins
    assert field_directives(sdl, "T", "total") == ["@join__field(graph=A, requires='name')"]
    assert field_directives(sdl, "Query", "t") == ["@join__field(graph=A, provides='name')"]


def test_unused_external_is_rejected() -> None:
    err = errors(a=fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! name: String @external }'))
    assert err.codes == ["EXTERNAL_UNUSED"]


# -- types -----------------------------------------------------------------------------------------


def test_field_type_mismatch_and_compatible_subtypes() -> None:
    err = errors(
        a=fed2('type Query { a: Int }\ntype T @key(fields: "id") { id: ID! x: Int @shareable }'),
        b=fed2('type T @key(fields: "id") { id: ID! x: String @shareable }'),
    )
    assert err.codes == ["FIELD_TYPE_MISMATCH"]
    sdl = compose(
        a=fed2('type Query { a: T }\ntype T @key(fields: "id") { id: ID! x: Int! @shareable }'),
        b=fed2('type T @key(fields: "id") { id: ID! x: Int @shareable }'),
    )
    assert summarize(sdl)["T"]["fields"]["x"]["type"] == "Int"
    assert field_directives(sdl, "T", "x") == [
        '@join__field(graph=A, type="Int!")',
        '@join__field(graph=B, type="Int")',
    ]


def test_type_kind_mismatch() -> None:
    err = errors(a=fed2("type Query { a: X }\ntype X { a: Int }"), b=fed2("interface X { a: Int }"))
    assert err.codes == ["TYPE_KIND_MISMATCH"]


def test_input_types_merge_by_intersection() -> None:
    sdl = compose(
        a=fed2("type Query { a(f: F): Int }\ninput F { x: Int y: Int }"),
        b=fed2("type Query { b(f: F): Int }\ninput F { x: Int z: Int }"),
    )
    assert list(summarize(sdl)["F"]["fields"]) == ["x"]
    err = errors(
        a=fed2("type Query { a(f: F): Int }\ninput F { x: Int y: Int! }"),
        b=fed2("type Query { b(f: F): Int }\ninput F { x: Int }"),
    )
    assert err.codes == ["REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH"]


def test_enums_merge_by_usage() -> None:
    output_only = compose(
        a=fed2("type Query { a: E }\nenum E { X Y }"),
        b=fed2("type Query { b: E }\nenum E { X Z }"),
    )
    assert sorted(summarize(output_only)["E"]["values"]) == ["X", "Y", "Z"]
    input_only = compose(
        a=fed2("type Query { a(e: E): Int }\nenum E { X Y }"),
        b=fed2("type Query { b(e: E): Int }\nenum E { X Z }"),
    )
    assert sorted(summarize(input_only)["E"]["values"]) == ["X"]
    both = errors(
        a=fed2("type Query { a(e: E): E }\nenum E { X Y }"),
        b=fed2("type Query { b: E }\nenum E { X }"),
    )
    assert both.codes == ["ENUM_VALUE_MISMATCH"]
    inaccessible_ok = compose(
        a=fed2("type Query { a(e: E): E }\nenum E { X Y @inaccessible }"),
        b=fed2("type Query { b: E }\nenum E { X }"),
    )
    values = summarize(inaccessible_ok)["E"]["values"]
    assert values["Y"]["directives"] == ["@inaccessible()", "@join__enumValue(graph=A)"]


def test_arguments_merge_by_intersection() -> None:
    sdl = compose(
        a=fed2("type Query { a: Int }\ntype T @shareable { f(x: Int, y: Int): Int }"),
        b=fed2("type Query { b: T }\ntype T @shareable { f(x: Int): Int }"),
    )
    assert list(summarize(sdl)["T"]["fields"]["f"]["arguments"]) == ["x"]
    err = errors(
        a=fed2("type Query { a: Int }\ntype T @shareable { f(x: Int, y: Int!): Int }"),
        b=fed2("type Query { b: T }\ntype T @shareable { f(x: Int): Int }"),
    )
    assert err.codes == ["REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH"]


def test_interfaces_unions_and_interface_objects() -> None:
    sdl = compose(
        a=fed2(
            'type Query { n: Node u: U }\ninterface Node @key(fields: "id") { id: ID! }\n'
            'type A implements Node @key(fields: "id") { id: ID! }\nunion U = A'
        ),
        b=fed2('type Node @key(fields: "id") @interfaceObject { id: ID! extra: Int }'),
    )
    s = summarize(sdl)
    assert s["Node"]["kind"] == "InterfaceTypeDefinitionNode"
    assert "@join__type(graph=B, isInterfaceObject=true, key='id')" in s["Node"]["directives"]
    assert s["A"]["fields"]["extra"]["directives"] == ["@join__field()"]
    assert '@join__implements(graph=A, interface="Node")' in s["A"]["directives"]
    assert '@join__unionMember(graph=A, member="A")' in s["U"]["directives"]


# -- reading subgraphs -----------------------------------------------------------------------------


def test_renamed_and_namespaced_federation_directives() -> None:
    a = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
        'import: [{name: "@key", as: "@primaryKey"}, "@shareable"])\n'
        "type Query { t: T }\n"
        'type T @primaryKey(fields: "id") { id: ID! name: String @federation__shareable }'
    )
    b = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", as: "fed", import: [])\n'
        'type T @fed__key(fields: "id") { id: ID! name: String @fed__shareable }'
    )
    sdl = compose(a=a, b=b)
    assert type_directives(sdl, "T") == ["@join__type(graph=A, key='id')", "@join__type(graph=B, key='id')"]


def test_federation1_subgraphs_compose() -> None:
    sdl = compose(
        a='type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }',
        b='extend type User @key(fields: "id") { id: ID! @external reviews: [String] }',
    )
    user_joins = ["@join__type(graph=A, key='id')", "@join__type(graph=B, key='id')"]
    assert type_directives(sdl, "User") == user_joins
    assert field_directives(sdl, "User", "reviews") == ["@join__field(graph=B)"]
    assert field_directives(sdl, "User", "id") == []


def test_strawberry_style_sdl_without_extend() -> None:
    sdl = compose(
        orgs=(
            'schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key"]) '
            "{ query: Query }\n"
            'type Org @key(fields: "id") { id: ID! }\n'
            "type Query { _entities(representations: [_Any!]!): [_Entity]! _service: _Service! org: Org }\n"
            "scalar _Any\nunion _Entity = Org\ntype _Service { sdl: String! }"
        )
    )
    s = summarize(sdl)
    assert "_Service" not in s and "_Any" not in s and "_Entity" not in s
    assert list(s["Query"]["fields"]) == ["org"]


def test_custom_root_type_names_are_normalized() -> None:
    sdl = compose(a=fed2("schema { query: RootQuery }\ntype RootQuery { a: Int }"))
    assert summarize(sdl)["schema"]["operations"] == ["query:Query"]


def test_syntax_error_is_a_composition_error() -> None:
    err = errors(a="type Query { a: }")
    assert err.codes == ["INVALID_GRAPHQL"]
    assert err.issues[0].locations[0].subgraph == "a"


# -- API surface directives ------------------------------------------------------------------------


def test_descriptions_deprecations_and_specified_by_are_merged() -> None:
    sdl = compose(
        a=fed2(
            '"The root" type Query { "A field" old: Int @deprecated(reason: "use new") new: Url }\n'
            'scalar Url @specifiedBy(url: "https://url.spec.whatwg.org/")'
        ),
        b=fed2('"The root" type Query { b: Int }'),
    )
    s = summarize(sdl)
    assert s["Query"]["description"] == "The root"
    assert s["Query"]["fields"]["old"]["description"] == "A field"
    assert '@deprecated(reason="use new")' in s["Query"]["fields"]["old"]["directives"]
    assert '@specifiedBy(url="https://url.spec.whatwg.org/")' in s["Url"]["directives"]


def test_inaccessible_tag_and_access_control_reach_the_supergraph() -> None:
    sdl = compose(
        a=fed2(
            "type Query { t: T @authenticated }\n"
            'type T @key(fields: "id") { id: ID! secret: String @inaccessible '
            'price: Int @shareable @requiresScopes(scopes: [["prices:read"]]) @tag(name: "public") }'
        ),
        b=fed2(
            'type T @key(fields: "id") { id: ID! price: Int @shareable @requiresScopes(scopes: [["sales"]]) '
            '@policy(policies: [["p1"]]) }'
        ),
    )
    s = summarize(sdl)
    links = s["schema"]["directives"]
    for spec in ("inaccessible/v0.2", "tag/v0.3", "authenticated/v0.1", "requiresScopes/v0.1", "policy/v0.1"):
        assert any(spec in link for link in links), spec
    assert "@authenticated()" in s["Query"]["fields"]["t"]["directives"]
    price = s["T"]["fields"]["price"]["directives"]
    # Requirements from different subgraphs are combined with AND.
    assert '@requiresScopes(scopes=[["prices:read", "sales"]])' in price
    assert '@tag(name="public")' in price
    assert '@policy(policies=[["p1"]])' in price
    assert "@inaccessible()" in s["T"]["fields"]["secret"]["directives"]


def test_access_control_propagates_from_implementations_to_interfaces() -> None:
    sdl = compose(
        a=fed2(
            "type Query { items: [Item] }\ninterface Item { id: ID! price: Int }\n"
            'type Gloves implements Item @key(fields: "id") @authenticated { id: ID! '
            'price: Int @requiresScopes(scopes: [["prices:read"]]) }\n'
            'type Drill implements Item @key(fields: "id") { id: ID! '
            'price: Int @requiresScopes(scopes: [["b"]]) }'
        ),
    )
    s = summarize(sdl)
    assert "@authenticated()" in s["Item"]["directives"]
    assert '@requiresScopes(scopes=[["b", "prices:read"]])' in s["Item"]["fields"]["price"]["directives"]
    assert s["Item"]["fields"]["id"]["directives"] == []


def test_unknown_type_and_incomplete_implementation_are_graphql_errors() -> None:
    err = errors(a=fed2("type Query { a: Missing }"))
    assert err.codes == ["INVALID_GRAPHQL"]
    assert 'Unknown type "Missing"' in err.issues[0].message
    err = errors(a=fed2("type Query { a: I }\ninterface I { x: Int }\ntype T implements I { y: Int }"))
    assert err.codes == ["INVALID_GRAPHQL"]
    assert 'Interface field "I.x" expected but type "T" does not provide it' in err.issues[0].message


def test_inaccessible_rules() -> None:
    err = errors(a=fed2("type Query { a: Secret }\ntype Secret @inaccessible { x: Int }"))
    assert err.codes == ["REFERENCED_INACCESSIBLE"]
    err = errors(a=fed2("type Query { a(x: Int! @inaccessible): Int }"))
    assert err.codes == ["REQUIRED_INACCESSIBLE"]
    err = errors(a=fed2("type Query { a: T }\ntype T { x: Int @inaccessible }"))
    assert err.codes == ["ONLY_INACCESSIBLE_CHILDREN"]
    err = errors(a=fed2("type Query { a(e: E = B): Int }\nenum E { A B @inaccessible }"))
    assert err.codes == ["DEFAULT_VALUE_USES_INACCESSIBLE"]
    fine = compose(
        a=fed2(
            "type Query { a(e: E = B @inaccessible): Int hidden: Secret @inaccessible }\n"
            "enum E { A B @inaccessible }\ntype Secret @inaccessible { x: Int }"
        )
    )
    assert "@inaccessible()" in summarize(fine)["Secret"]["directives"]


def test_every_error_is_reported_at_once() -> None:
    err = errors(
        a=fed2(
            'type Query { t: T }\ntype T @key(fields: "nope") { id: ID! }\n'
            'type U @key(fields: "zip") { id: ID }'
        ),
        b=fed2('type V @key(fields: "id") { id: ID! s: Int @requires(fields: "id") }'),
    )
    assert sorted(err.codes) == [
        "KEY_INVALID_FIELDS",
        "KEY_INVALID_FIELDS",
        "REQUIRES_FIELDS_MISSING_EXTERNAL",
    ]
    assert str(err).startswith("composition failed with 3 errors")


def test_join_version_follows_the_newest_federation_version() -> None:
    query = "type Query { a: Int }"
    assert "join/v0.3" in compose(
        a=fed2(query, '"@key"', "2.3"), b=fed2("type Query { b: Int }", '"@key"', "2.6")
    )
    assert "join/v0.4" in compose(a=fed2(query, '"@key"', "2.7"))
    newest = compose(a=fed2(query, '"@key"', "2.3"), b=fed2("type Query { b: Int }", '"@key"', "2.11"))
    assert "join/v0.5" in newest
    assert "contextArguments: [join__ContextArgument!]" in newest


def test_imports_must_exist_in_the_linked_federation_version() -> None:
    err = errors(a=fed2("type Query { a: Int }", '"@key", "@policy"', "2.5"))
    assert err.codes == ["INVALID_LINK_DIRECTIVE_USAGE"]
    assert 'Cannot import unknown element "@policy"' in err.issues[0].message
    unknown = errors(a=fed2("type Query { a: Int }", '"@key", "@nope"'))
    assert unknown.codes == ["INVALID_LINK_DIRECTIVE_USAGE"]
    compose(a=fed2("type Query { a: Int }", '"@key", "@policy", "FieldSet", "Policy"', "2.6"))


def test_override_from_a_missing_subgraph_composes_with_a_hint() -> None:
    result = compose_with_hints(
        [
            SubgraphSource(
                "a", "http://a", fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! }')
            ),
            SubgraphSource(
                "b",
                "http://b",
                fed2('type T @key(fields: "id") { id: ID! x: Int @override(from: "gone") }'),
            ),
        ]
    )
    assert [h.code for h in result.hints] == ["FROM_SUBGRAPH_DOES_NOT_EXIST"]
    assert 'Source subgraph "gone"' in result.hints[0].message
    assert result.hints[0].locations[0].subgraph == "b"
    assert field_directives(result.supergraph, "T", "x") == ['@join__field(graph=B, override="gone")']


def test_context_directives_are_refused_clearly() -> None:
    err = errors(
        a=fed2(
            'type Query { t: T }\ntype T @key(fields: "id") @context(name: "c") { id: ID! u: U }\n'
            'type U { x(a: String @fromContext(field: "$c { id }")): Int }',
            '"@key", "@context", "@fromContext"',
            "2.8",
        )
    )
    assert err.codes == ["UNSUPPORTED_FEATURE", "UNSUPPORTED_FEATURE"]


def test_a_federation_directive_that_is_not_imported_is_reported() -> None:
    err = errors(a=fed2("type Query { a: Int @shareable }", '"@key"'))
    assert err.codes == ["INVALID_GRAPHQL"]
    assert 'Unknown directive "@shareable"' in err.issues[0].message
    assert 'import: ["@shareable"]' in err.issues[0].message
