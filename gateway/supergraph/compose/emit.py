"""Printing a composed supergraph as Federation 2 supergraph SDL (the layout Apollo's tools use)."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import language as ast

from .merged import JoinArgs, MArgument, MField, MType, Supergraph
from .model import Kind

_LINK = '@link(url: "https://specs.apollo.dev/link/v1.0")'
_FEATURE_LINKS = {
    "inaccessible": '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)',
    "tag": '@link(url: "https://specs.apollo.dev/tag/v0.3")',
    "authenticated": '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
    "requiresScopes": '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)',
    "policy": '@link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)',
}
_ACCESS_LOCATIONS = "FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM"
_INACCESSIBLE_LOCATIONS = (
    "FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | "
    "ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)
_FEATURE_DEFINITIONS = {
    "inaccessible": [f"directive @inaccessible on {_INACCESSIBLE_LOCATIONS}"],
    "tag": [f"directive @tag(name: String!) repeatable on {_INACCESSIBLE_LOCATIONS} | SCHEMA"],
    "authenticated": [f"directive @authenticated on {_ACCESS_LOCATIONS}"],
    "requiresScopes": [
        f"directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on {_ACCESS_LOCATIONS}",
        "scalar requiresScopes__Scope",
    ],
    "policy": [
        f"directive @policy(policies: [[policy__Policy!]!]!) on {_ACCESS_LOCATIONS}",
        "scalar policy__Policy",
    ],
}
# Definitions every supergraph carries, one per blank-line separated block.
_JOIN_COMMON_SDL = '''
directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, \
resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) \
repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) \
repeatable on SCHEMA

scalar join__FieldSet

scalar link__Import

enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY
#blank
  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}
'''
_JOIN_V03_SDL = """
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, \
external: Boolean, override: String, usedOverridden: Boolean) \
repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
"""
_JOIN_V04_SDL = """
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, \
external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String) \
repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) \
repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION

scalar join__DirectiveArguments
"""
_JOIN_V05_SDL = """
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, \
external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String, \
contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) \
repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION

input join__ContextArgument {
  name: String!
  type: String!
  context: String!
  selection: join__FieldValue!
}

scalar join__DirectiveArguments

scalar join__FieldValue
"""


def _blocks(sdl: str) -> list[str]:
    # A "#blank" line stands for a blank line inside a block (between described enum values).
    return [block.strip().replace("#blank", "") for block in sdl.split("\n\n") if block.strip()]


_JOIN_COMMON = _blocks(_JOIN_COMMON_SDL)
# The join spec version Apollo uses for the newest federation version among the subgraphs.
_JOIN_VERSIONS = {
    "v0.3": _blocks(_JOIN_V03_SDL),
    "v0.4": _blocks(_JOIN_V04_SDL),
    "v0.5": _blocks(_JOIN_V05_SDL),
}


def _sort_key(block: str) -> tuple[int, str]:
    """Apollo orders definitions by name, case-insensitively, directives first."""
    head = block.lstrip()
    if head.startswith('"'):
        head = (
            head.split('"""', 2)[-1].lstrip() if head.startswith('"""') else head.split("\n", 1)[-1].lstrip()
        )
    words = head.replace("(", " ").split()
    name = words[1] if len(words) > 1 else head
    return (0 if head.startswith("directive") else 1, name.lstrip("@").lower())


def _description(text: str | None, indent: str) -> list[str]:
    if text is None:
        return []
    printed = ast.print_ast(ast.StringValueNode(value=text, block=True))
    return [indent + line if line else "" for line in printed.split("\n")]


def _join(name: str, args: JoinArgs) -> str:
    if not args:
        return f"@{name}"
    return f"@{name}(" + ", ".join(f"{k}: {v}" for k, v in args) + ")"


def _directives(nodes: Sequence[ast.ConstDirectiveNode]) -> list[str]:
    return [ast.print_ast(d) for d in nodes]


def _inaccessible_first(nodes: Sequence[ast.ConstDirectiveNode]) -> tuple[list[str], list[str]]:
    """Apollo prints @inaccessible before the join__ applications and the other directives after."""
    first = [d for d in nodes if d.name.value == "inaccessible"]
    return _directives(first), _directives([d for d in nodes if d.name.value != "inaccessible"])


def _argument(arg: MArgument) -> str:
    out = f"{arg.name}: {ast.print_ast(arg.type)}"
    if arg.default is not None:
        out += f" = {ast.print_ast(arg.default)}"
    return " ".join([out, *_directives(arg.directives)])


def _field(f: MField) -> list[str]:
    assert f.type is not None
    lines = _description(f.description, "  ")
    head = f"  {f.name}"
    args = list(f.arguments.values())
    if args and any(a.description for a in args):
        lines.append(head + "(")
        for a in args:
            lines.extend(_description(a.description, "    "))
            lines.append(f"    {_argument(a)}")
        head = "  )"
    elif args:
        head += "(" + ", ".join(_argument(a) for a in args) + ")"
    tail = f": {ast.print_ast(f.type)}"
    if f.default is not None:
        tail += f" = {ast.print_ast(f.default)}"
    first, rest = _inaccessible_first(f.directives)
    extras = first + [_join("join__field", j) for j in f.joins] + rest
    lines.append(" ".join([head + tail, *extras]))
    return lines


def _type(t: MType) -> str:
    lines = _description(t.description, "")
    head = f"{t.kind.value} {t.name}"
    if t.interfaces:
        head += " implements " + " & ".join(t.interfaces)
    lines.append(head)
    applied = [_join("join__implements", j) for j in t.implements_joins]
    applied += [_join("join__type", j) for j in t.joins]
    applied += [_join("join__unionMember", j) for j in t.member_joins]
    first, rest = _inaccessible_first(t.directives)
    applied += first + rest
    lines.extend(f"  {a}" for a in applied)
    if t.kind is Kind.UNION:
        if t.members:
            lines.append(" = " + " | ".join(t.members))
        return "\n".join(lines)
    if t.kind is Kind.SCALAR:
        return "\n".join(lines)
    lines.append("{")
    if t.kind is Kind.ENUM:
        for i, v in enumerate(t.values.values()):
            if v.description is not None and i:
                lines.append("")  # Apollo's layout: a blank line before a described member
            lines.extend(_description(v.description, "  "))
            first, rest = _inaccessible_first(v.directives)
            extras = first + [_join("join__enumValue", j) for j in v.joins] + rest
            lines.append(" ".join([f"  {v.name}", *extras]))
    else:
        for i, f in enumerate(t.fields.values()):
            if f.description is not None and i:
                lines.append("")
            lines.extend(_field(f))
    lines.append("}")
    return "\n".join(lines)


# @cost and @listSize share one spec (demand control); Apollo imports @listSize only when used, and
# defines both directives (the other one namespaced) whenever either is.
_COST_DIRECTIVE = (
    "directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION "
    "| OBJECT | SCALAR"
)
_LIST_SIZE_ARGS = (
    "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], "
    "requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION"
)


def _cost_feature(used: Sequence[str]) -> tuple[str, list[str]]:
    if "listSize" in used:
        link = '@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])'
        return link, [_COST_DIRECTIVE, "directive @listSize" + _LIST_SIZE_ARGS]
    link = '@link(url: "https://specs.apollo.dev/cost/v0.1")'
    return link, [_COST_DIRECTIVE, "directive @cost__listSize" + _LIST_SIZE_ARGS]


def print_supergraph(sg: Supergraph) -> str:
    features = []
    for name in sg.features:
        if name in ("cost", "listSize"):
            name = "cost"
        if (name in _FEATURE_LINKS or name == "cost") and name not in features:
            features.append(name)
    cost_link, cost_definitions = _cost_feature(sg.features)
    join_version = sg.join_version
    schema_lines = [
        "schema",
        f"  {_LINK}",
        f'  @link(url: "https://specs.apollo.dev/join/{join_version}", for: EXECUTION)',
    ]
    schema_lines += [f"  {cost_link if name == 'cost' else _FEATURE_LINKS[name]}" for name in features]
    schema_lines.append("{")
    schema_lines += [f"  {op}: {name}" for op, name in sg.roots.items()]
    schema_lines.append("}")

    blocks: list[str] = list(_JOIN_COMMON) + _JOIN_VERSIONS[join_version]
    for name in features:
        blocks.extend(cost_definitions if name == "cost" else _FEATURE_DEFINITIONS[name])
    blocks.extend(ast.print_ast(d) for d in sg.directive_definitions)
    graph_lines = ["enum join__Graph {"]
    graph_lines += [
        f"  {g.enum_name} @join__graph(name: {_quote(g.name)}, url: {_quote(g.url)})" for g in sg.graphs
    ]
    graph_lines.append("}")
    blocks.append("\n".join(graph_lines))
    blocks.extend(_type(t) for t in sg.types.values())
    blocks.sort(key=_sort_key)
    return "\n".join(schema_lines) + "\n\n" + "\n\n".join(blocks) + "\n"


def _quote(value: str) -> str:
    return ast.print_ast(ast.StringValueNode(value=value))
