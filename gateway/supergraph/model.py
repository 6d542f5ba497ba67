"""Supergraph model: the join__/link__ metadata of a federation supergraph as plain dataclasses.

Reads join v0.1 to v0.5 (fed1-style ``@join__owner`` supergraphs too).  The planner asks this model
which subgraphs can resolve a field, which keys an entity has per subgraph and which types a
subgraph knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import graphql
from graphql import language as ast


@dataclass(slots=True)
class SubgraphInfo:
    enum_name: str  # the join__Graph enum value, e.g. "PRODUCTS"
    name: str  # the subgraph name, e.g. "products"
    url: str


@dataclass(frozen=True, slots=True)
class JoinType:
    graph: str
    key: str | None = None
    resolvable: bool = True
    extension: bool = False
    is_interface_object: bool = False


@dataclass(frozen=True, slots=True)
class JoinField:
    graph: str | None
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    override_label: str | None = None
    used_overridden: bool = False


@dataclass(slots=True)
class FieldInfo:
    name: str
    type: str  # supergraph type reference, e.g. "[Book!]!"
    join_fields: list[JoinField] = field(default_factory=list)


@dataclass(slots=True)
class TypeInfo:
    name: str
    kind: str  # OBJECT, INTERFACE, UNION, ENUM, INPUT_OBJECT, SCALAR
    join_types: list[JoinType] = field(default_factory=list)
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    implements: dict[str, set[str]] = field(default_factory=dict)  # graph -> interfaces there
    union_members: dict[str, set[str]] = field(default_factory=dict)  # graph -> members there
    owner: str | None = None  # join v0.1 @join__owner

    def graphs(self) -> set[str]:
        return {jt.graph for jt in self.join_types}


def _arg(directive: ast.DirectiveNode, name: str) -> Any:
    for a in directive.arguments or ():
        if a.name.value == name:
            return graphql.value_from_ast_untyped(a.value)
    return None


def _type_ref(node: ast.TypeNode) -> str:
    return graphql.print_ast(node)


@dataclass(slots=True)
class Supergraph:
    subgraphs: dict[str, SubgraphInfo]  # by enum name
    types: dict[str, TypeInfo]
    query_type: str = "Query"
    mutation_type: str | None = None
    subscription_type: str | None = None
    join_version: str = "0.3"
    enabled_override_labels: frozenset[str] = frozenset()

    def subgraph_url(self, graph: str) -> str:
        return self.subgraphs[graph].url


def _named(doc: ast.DocumentNode) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for d in doc.definitions:
        if isinstance(d, ast.TypeDefinitionNode | ast.TypeExtensionNode):
            out.setdefault(d.name.value, []).append(d)
    return out


_KINDS: dict[type, str] = {
    ast.ObjectTypeDefinitionNode: "OBJECT",
    ast.ObjectTypeExtensionNode: "OBJECT",
    ast.InterfaceTypeDefinitionNode: "INTERFACE",
    ast.InterfaceTypeExtensionNode: "INTERFACE",
    ast.UnionTypeDefinitionNode: "UNION",
    ast.UnionTypeExtensionNode: "UNION",
    ast.EnumTypeDefinitionNode: "ENUM",
    ast.EnumTypeExtensionNode: "ENUM",
    ast.InputObjectTypeDefinitionNode: "INPUT_OBJECT",
    ast.InputObjectTypeExtensionNode: "INPUT_OBJECT",
    ast.ScalarTypeDefinitionNode: "SCALAR",
    ast.ScalarTypeExtensionNode: "SCALAR",
}


def parse_supergraph(doc: ast.DocumentNode) -> Supergraph:
    """Read the join metadata of a supergraph document into a ``Supergraph``."""
    subgraphs: dict[str, SubgraphInfo] = {}
    types: dict[str, TypeInfo] = {}
    query_type, mutation_type, subscription_type = "Query", None, None
    join_version = "0.3"
    for d in doc.definitions:
        if isinstance(d, ast.SchemaDefinitionNode | ast.SchemaExtensionNode):
            for op in d.operation_types or ():
                if op.operation == ast.OperationType.QUERY:
                    query_type = op.type.name.value
                elif op.operation == ast.OperationType.MUTATION:
                    mutation_type = op.type.name.value
                else:
                    subscription_type = op.type.name.value
            for dirn in d.directives or ():
                url = _arg(dirn, "url") or _arg(dirn, "feature")
                if dirn.name.value in ("link", "core") and isinstance(url, str) and "/join/v" in url:
                    join_version = url.rsplit("/v", 1)[1]
    by_name = _named(doc)
    graph_enum = by_name.get("join__Graph", [])
    for enum_node in graph_enum:
        for v in enum_node.values or ():
            for dirn in v.directives or ():
                if dirn.name.value == "join__graph":
                    subgraphs[v.name.value] = SubgraphInfo(
                        v.name.value, _arg(dirn, "name"), _arg(dirn, "url")
                    )
    for name, nodes in by_name.items():
        if name.startswith(("join__", "link__", "core__")):
            continue
        info = TypeInfo(name=name, kind=_KINDS[type(nodes[0])])
        for node in nodes:
            _read_type(info, node)
        types[name] = info
    if mutation_type is None and "Mutation" in types:
        mutation_type = "Mutation"
    if subscription_type is None and "Subscription" in types:
        subscription_type = "Subscription"
    return Supergraph(
        subgraphs=subgraphs,
        types=types,
        query_type=query_type,
        mutation_type=mutation_type,
        subscription_type=subscription_type,
        join_version=join_version,
    )


def _read_type(info: TypeInfo, node: Any) -> None:
    for dirn in node.directives or ():
        dn = dirn.name.value
        if dn == "join__type":
            info.join_types.append(
                JoinType(
                    graph=_arg(dirn, "graph"),
                    key=_arg(dirn, "key"),
                    resolvable=_arg(dirn, "resolvable") is not False,
                    extension=bool(_arg(dirn, "extension")),
                    is_interface_object=bool(_arg(dirn, "isInterfaceObject")),
                )
            )
        elif dn == "join__owner":
            info.owner = _arg(dirn, "graph")
        elif dn == "join__implements":
            info.implements.setdefault(_arg(dirn, "graph"), set()).add(_arg(dirn, "interface"))
        elif dn == "join__unionMember":
            info.union_members.setdefault(_arg(dirn, "graph"), set()).add(_arg(dirn, "member"))
    for f in getattr(node, "fields", None) or ():
        fi = FieldInfo(name=f.name.value, type=_type_ref(f.type))
        for dirn in f.directives or ():
            if dirn.name.value != "join__field":
                continue
            fi.join_fields.append(
                JoinField(
                    graph=_arg(dirn, "graph"),
                    requires=_arg(dirn, "requires"),
                    provides=_arg(dirn, "provides"),
                    type=_arg(dirn, "type"),
                    external=bool(_arg(dirn, "external")),
                    override=_arg(dirn, "override"),
                    override_label=_arg(dirn, "overrideLabel"),
                    used_overridden=bool(_arg(dirn, "usedOverridden")),
                )
            )
        info.fields[fi.name] = fi
    if isinstance(node, ast.UnionTypeDefinitionNode | ast.UnionTypeExtensionNode) and not info.union_members:
        # join < v0.3 has no @join__unionMember: every graph of the union holds every member.
        members = {t.name.value for t in node.types or ()}
        for jt in info.join_types:
            info.union_members.setdefault(jt.graph, set()).update(members)
    is_object_or_interface = isinstance(node, ast.ObjectTypeDefinitionNode | ast.InterfaceTypeDefinitionNode)
    if is_object_or_interface and not info.implements:
        ifaces = {i.name.value for i in node.interfaces or ()}
        if ifaces:
            for jt in info.join_types:
                info.implements.setdefault(jt.graph, set()).update(ifaces)
