"""The composed supergraph, as plain data ready to be printed by `emit`."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import language as ast

from .model import Kind

#: one join__ directive application: (argument name, printed GraphQL value) pairs in order
JoinArgs = list[tuple[str, str]]


@dataclass(slots=True)
class MArgument:
    name: str
    type: ast.TypeNode
    default: ast.ConstValueNode | None = None
    description: str | None = None
    directives: list[ast.ConstDirectiveNode] = field(default_factory=list)


@dataclass(slots=True)
class MField:
    name: str
    type: ast.TypeNode | None = None
    description: str | None = None
    arguments: dict[str, MArgument] = field(default_factory=dict)
    default: ast.ConstValueNode | None = None
    directives: list[ast.ConstDirectiveNode] = field(default_factory=list)
    joins: list[JoinArgs] = field(default_factory=list)


@dataclass(slots=True)
class MEnumValue:
    name: str
    description: str | None = None
    directives: list[ast.ConstDirectiveNode] = field(default_factory=list)
    joins: list[JoinArgs] = field(default_factory=list)


@dataclass(slots=True)
class MType:
    name: str
    kind: Kind
    description: str | None = None
    directives: list[ast.ConstDirectiveNode] = field(default_factory=list)
    joins: list[JoinArgs] = field(default_factory=list)
    implements_joins: list[JoinArgs] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    fields: dict[str, MField] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    member_joins: list[JoinArgs] = field(default_factory=list)
    values: dict[str, MEnumValue] = field(default_factory=dict)


@dataclass(slots=True)
class Graph:
    enum_name: str
    name: str
    url: str


@dataclass(slots=True)
class Supergraph:
    graphs: list[Graph]
    types: dict[str, MType]
    roots: dict[str, str]
    #: executable (or composed) directive definitions carried over from the subgraphs
    directive_definitions: list[ast.DirectiveDefinitionNode] = field(default_factory=list)
    #: security/API features whose directives appear (inaccessible, tag, authenticated, requiresScopes,
    #: policy), in the order their @link is printed
    features: list[str] = field(default_factory=list)
    #: "v0.3" (federation < 2.7), "v0.4" (2.7, or progressive @override labels), "v0.5" (2.8 and later)
    join_version: str = "v0.3"
