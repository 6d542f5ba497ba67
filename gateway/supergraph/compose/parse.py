"""Reading one subgraph SDL into the composer's model.

Handles both Federation 2 subgraphs (`@link` to `federation/v2.x`, with imports, renamed imports and
`federation__`-prefixed names) and Federation 1 subgraphs (bare `@key`/`@external`/`extend type`,
no `@link`), and drops the federation machinery (`_service`, `_entities`, `_Any`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import graphql
from graphql import language as ast
from graphql.language import Visitor, visit

from .errors import IssueCollector, SourceLocation
from .model import (
    Argument,
    DirectiveDefinition,
    EnumValue,
    Field,
    Key,
    Kind,
    Subgraph,
    SubgraphSource,
    TypeDef,
)

FEDERATION_DIRECTIVES = frozenset(
    {
        "key",
        "requires",
        "provides",
        "external",
        "shareable",
        "extends",
        "override",
        "inaccessible",
        "tag",
        "interfaceObject",
        "composeDirective",
        "authenticated",
        "requiresScopes",
        "policy",
        "context",
        "fromContext",
        "cost",
        "listSize",
    }
)
# The federation 2 version that introduced each directive and type (Apollo's federation spec).
_DIRECTIVES_SINCE = {
    **dict.fromkeys(("key", "requires", "provides", "external", "shareable", "extends", "override"), (2, 0)),
    **dict.fromkeys(("inaccessible", "tag"), (2, 0)),
    "composeDirective": (2, 1),
    "interfaceObject": (2, 3),
    "authenticated": (2, 5),
    "requiresScopes": (2, 5),
    "policy": (2, 6),
    "context": (2, 8),
    "fromContext": (2, 8),
    "cost": (2, 9),
    "listSize": (2, 9),
    "cacheTag": (2, 12),
}
_TYPES_SINCE = {"FieldSet": (2, 0), "Scope": (2, 5), "Policy": (2, 6), "ContextFieldValue": (2, 8)}
FED1_DIRECTIVES = frozenset({"key", "requires", "provides", "external", "extends", "tag", "inaccessible"})
# Directive applications that reach the supergraph (the API surface and what the gateway enforces).
API_DIRECTIVES = frozenset(
    {
        "deprecated",
        "specifiedBy",
        "oneOf",
        "inaccessible",
        "tag",
        "authenticated",
        "requiresScopes",
        "policy",
        "cost",
        "listSize",
    }
)
# Types and fields that a subgraph exposes for the federation protocol itself.
_MACHINERY_TYPES = frozenset({"_Any", "_Entity", "_Service", "FieldSet", "_FieldSet", "Import", "Purpose"})
_MACHINERY_PREFIXES = ("link__", "federation__", "join__")
_MACHINERY_ROOT_FIELDS = frozenset({"_entities", "_service"})
_BUILTIN_DIRECTIVES = frozenset(d.name for d in graphql.specified_directives)
_SPEC_URL = re.compile(
    r"^https?://[^/]+(?:/.*)?/(?P<name>[A-Za-z_][A-Za-z0-9_-]*)/v(?P<major>\d+)\.(?P<minor>\d+)/?$"
)
_DEFAULT_ROOTS = {
    ast.OperationType.QUERY: "Query",
    ast.OperationType.MUTATION: "Mutation",
    ast.OperationType.SUBSCRIPTION: "Subscription",
}


def location(subgraph: str, node: ast.Node | None) -> SourceLocation | None:
    if node is None or node.loc is None:
        return None
    token = node.loc.start_token
    return SourceLocation(subgraph, token.line, token.column)


@dataclass(slots=True)
class _Names:
    """How the federation directives are spelled in one subgraph: schema name -> canonical name."""

    directives: dict[str, str]
    fed2: bool
    fed_version: tuple[int, int] | None
    imported: list[str]  # canonical names in @link import order


def _str_arg(directive: ast.DirectiveNode, name: str) -> str | None:
    for arg in directive.arguments or ():
        if arg.name.value == name:
            value = arg.value
            if isinstance(value, ast.StringValueNode | ast.EnumValueNode):
                return value.value
            if isinstance(value, ast.ListValueNode):
                # Federation 1 tolerated `fields: ["a", "b"]`; the upgrader joins them.
                parts = [v.value for v in value.values if isinstance(v, ast.StringValueNode)]
                return " ".join(parts)
    return None


def _bool_arg(directive: ast.DirectiveNode, name: str, default: bool | None) -> bool | None:
    for arg in directive.arguments or ():
        if arg.name.value == name and isinstance(arg.value, ast.BooleanValueNode):
            return arg.value.value
    return default


def _link_imports(directive: ast.DirectiveNode) -> list[tuple[str, str]]:
    """(name in spec, name in schema) pairs of a `@link(import:)` argument (directives keep their `@`)."""
    out: list[tuple[str, str]] = []
    for arg in directive.arguments or ():
        if arg.name.value != "import" or not isinstance(arg.value, ast.ListValueNode):
            continue
        for item in arg.value.values:
            if isinstance(item, ast.StringValueNode):
                out.append((item.value, item.value))
            elif isinstance(item, ast.ObjectValueNode):
                fields = {f.name.value: f.value for f in item.fields}
                name, alias = fields.get("name"), fields.get("as")
                if isinstance(name, ast.StringValueNode):
                    as_name = alias.value if isinstance(alias, ast.StringValueNode) else name.value
                    out.append((name.value, as_name))
    return out


def _known_import(element: str, version: tuple[int, int]) -> bool:
    """Whether `federation/v2.x` defines `element` (a `@directive` or a type) at that version."""
    table = _DIRECTIVES_SINCE if element.startswith("@") else _TYPES_SINCE
    since = table.get(element.removeprefix("@"))
    return since is not None and version >= since


def _schema_nodes(doc: ast.DocumentNode) -> Iterable[ast.SchemaDefinitionNode | ast.SchemaExtensionNode]:
    for d in doc.definitions:
        if isinstance(d, ast.SchemaDefinitionNode | ast.SchemaExtensionNode):
            yield d


def _names(doc: ast.DocumentNode, sub: str, issues: IssueCollector) -> _Names:
    mapping: dict[str, str] = {}
    imported: list[str] = []
    fed2 = False
    version: tuple[int, int] | None = None
    for schema_node in _schema_nodes(doc):
        for directive in schema_node.directives or ():
            if directive.name.value != "link":
                continue
            url = _str_arg(directive, "url") or ""
            match = _SPEC_URL.match(url)
            if match is None:
                issues.add(
                    "INVALID_LINK_IDENTIFIER", f'[{sub}] Invalid @link url "{url}"', location(sub, directive)
                )
                continue
            spec = match.group("name")
            alias = _str_arg(directive, "as") or spec
            if spec == "federation":
                fed2 = True
                version = (int(match.group("major")), int(match.group("minor")))
                if version[0] != 2:
                    issues.add(
                        "UNKNOWN_FEDERATION_LINK_VERSION",
                        f'[{sub}] Unsupported federation version in @link(url: "{url}")',
                        location(sub, directive),
                    )
                for name in FEDERATION_DIRECTIVES:
                    mapping[f"{alias}__{name}"] = name
            elif spec in FEDERATION_DIRECTIVES:
                # A spec like inaccessible/v0.2: its own directive goes by the spec's (alias) name.
                mapping[alias] = spec
                mapping[f"{alias}__{spec}"] = spec
            else:
                continue
            for original, as_name in _link_imports(directive):
                if spec == "federation" and version is not None and not _known_import(original, version):
                    issues.add(
                        "INVALID_LINK_DIRECTIVE_USAGE",
                        f'[{sub}] Cannot import unknown element "{original}".',
                        location(sub, directive),
                    )
                name = original.removeprefix("@")
                if original.startswith("@") and name in FEDERATION_DIRECTIVES:
                    mapping[as_name.removeprefix("@")] = name
                    imported.append(name)
    if not fed2:
        mapping.update({name: name for name in FED1_DIRECTIVES if name not in mapping})
    return _Names(mapping, fed2, version, imported)


def _root_renames(doc: ast.DocumentNode) -> dict[str, str]:
    renames: dict[str, str] = {}
    for schema_node in _schema_nodes(doc):
        for op in schema_node.operation_types or ():
            renames[op.type.name.value] = _DEFAULT_ROOTS[op.operation]
    return {k: v for k, v in renames.items() if k != v}


def is_machinery_type(name: str) -> bool:
    return name in _MACHINERY_TYPES or name.startswith(_MACHINERY_PREFIXES)


class _Reader:
    def __init__(self, source: SubgraphSource, doc: ast.DocumentNode, issues: IssueCollector) -> None:
        self.source = source
        self.sub = source.name
        self.issues = issues
        self.names = _names(doc, self.sub, issues)
        self.renames = _root_renames(doc)
        self.doc = doc
        self.graph = Subgraph(source.name, source.url, self.names.fed2, self.names.fed_version)
        self.graph.imported = self.names.imported

    # -- helpers -------------------------------------------------------------------------------
    def canonical(self, directive: ast.DirectiveNode) -> str | None:
        return self.names.directives.get(directive.name.value)

    def type_name(self, name: str) -> str:
        return self.renames.get(name, name)

    def type_ref(self, node: ast.TypeNode) -> ast.TypeNode:
        if isinstance(node, ast.NonNullTypeNode):
            inner = self.type_ref(node.type)
            assert isinstance(inner, ast.NamedTypeNode | ast.ListTypeNode)
            return ast.NonNullTypeNode(type=inner)
        if isinstance(node, ast.ListTypeNode):
            return ast.ListTypeNode(type=self.type_ref(node.type))
        assert isinstance(node, ast.NamedTypeNode)
        return ast.NamedTypeNode(name=ast.NameNode(value=self.type_name(node.name.value)))

    def api_directives(self, nodes: Iterable[ast.ConstDirectiveNode]) -> list[ast.ConstDirectiveNode]:
        """Directives carried to the supergraph, renamed to their canonical names."""
        out: list[ast.ConstDirectiveNode] = []
        for d in nodes:
            name = self.canonical(d) or d.name.value
            if name in API_DIRECTIVES or name in self.graph.composed_directives:
                if name != d.name.value:
                    d = ast.ConstDirectiveNode(name=ast.NameNode(value=name), arguments=d.arguments)
                out.append(d)
        return out

    # -- reading -------------------------------------------------------------------------------
    def read(self) -> Subgraph:
        for schema_node in _schema_nodes(self.doc):
            for d in schema_node.directives or ():
                if self.canonical(d) == "composeDirective":
                    name = (_str_arg(d, "name") or "").removeprefix("@")
                    if name:
                        self.graph.composed_directives.add(name)
        for definition in self.doc.definitions:
            if isinstance(definition, ast.DirectiveDefinitionNode):
                self._read_directive_definition(definition)
            elif isinstance(definition, ast.TypeDefinitionNode | ast.TypeExtensionNode):
                self._read_type(definition)
        if self.names.fed2:
            self._check_directives_known()
        # Every subgraph has a query root (federation adds `_service` to it).
        if "Query" not in self.graph.types:
            self.graph.types["Query"] = TypeDef("Query", Kind.OBJECT, has_definition=True)
        return self.graph

    def _check_directives_known(self) -> None:
        """Every applied directive must be imported, namespaced, built in or defined in the subgraph."""
        defined = {d.name.value for d in self.doc.definitions if isinstance(d, ast.DirectiveDefinitionNode)}
        known = defined | set(self.names.directives) | _BUILTIN_DIRECTIVES | {"link"}
        for node in _applied_directives(self.doc):
            name = node.name.value
            if name in known:
                continue
            hint = ""
            if name in FEDERATION_DIRECTIVES:
                hint = (
                    f' If you meant the "@{name}" federation directive, import it: '
                    f'@link(url: "https://specs.apollo.dev/federation/v2.x", import: ["@{name}"]).'
                )
            self.issues.add(
                "INVALID_GRAPHQL",
                f'[{self.sub}] Unknown directive "@{name}".{hint}',
                location(self.sub, node),
            )

    def _read_directive_definition(self, node: ast.DirectiveDefinitionNode) -> None:
        name = node.name.value
        if name in self.names.directives or name in ("link", "core") or name.startswith(_MACHINERY_PREFIXES):
            return
        if not self.names.fed2 and name in FEDERATION_DIRECTIVES:
            return
        if name in _BUILTIN_DIRECTIVES:
            return
        self.graph.directive_definitions[name] = DirectiveDefinition(name, node)

    def _read_type(self, node: ast.TypeDefinitionNode | ast.TypeExtensionNode) -> None:
        raw_name = node.name.value
        if is_machinery_type(raw_name):
            return
        name = self.type_name(raw_name)
        kind = _kind_of(node)
        is_ext = isinstance(node, ast.TypeExtensionNode)
        t = self.graph.types.get(name)
        if t is None:
            t = TypeDef(name, kind, location=location(self.sub, node))
            self.graph.types[name] = t
        elif t.kind is not kind:
            self.issues.add(
                "INVALID_GRAPHQL",
                f'[{self.sub}] Type "{name}" is defined with two different kinds',
                location(self.sub, node),
            )
            return
        if is_ext:
            t.has_extension = True
        else:
            t.has_definition = True
            t.location = location(self.sub, node)
        description = getattr(node, "description", None)
        if description is not None:
            t.description = description.value
        self._read_type_directives(t, node, is_ext)
        if isinstance(
            node,
            ast.ObjectTypeDefinitionNode
            | ast.ObjectTypeExtensionNode
            | ast.InterfaceTypeDefinitionNode
            | ast.InterfaceTypeExtensionNode,
        ):
            for itf in node.interfaces or ():
                if itf.name.value not in t.interfaces:
                    t.interfaces.append(itf.name.value)
            for fnode in node.fields or ():
                if name == "Query" and fnode.name.value in _MACHINERY_ROOT_FIELDS:
                    continue
                t.fields[fnode.name.value] = self._read_field(name, fnode, is_ext)
        elif isinstance(node, ast.InputObjectTypeDefinitionNode | ast.InputObjectTypeExtensionNode):
            for inode in node.fields or ():
                t.fields[inode.name.value] = self._read_input_field(inode, is_ext)
        elif isinstance(node, ast.UnionTypeDefinitionNode | ast.UnionTypeExtensionNode):
            for member in node.types or ():
                if member.name.value not in t.members:
                    t.members.append(self.type_name(member.name.value))
        elif isinstance(node, ast.EnumTypeDefinitionNode | ast.EnumTypeExtensionNode):
            for vnode in node.values or ():
                t.values[vnode.name.value] = EnumValue(
                    vnode.name.value,
                    vnode.description.value if vnode.description is not None else None,
                    self.api_directives(vnode.directives or ()),
                    location(self.sub, vnode),
                )

    def _read_type_directives(self, t: TypeDef, node: ast.Node, is_ext: bool) -> None:
        directives: tuple[ast.ConstDirectiveNode, ...] = tuple(getattr(node, "directives", None) or ())
        for d in directives:
            canonical = self.canonical(d)
            if canonical == "key":
                fields = _str_arg(d, "fields")
                if fields is None:
                    self.issues.add(
                        "KEY_INVALID_FIELDS_TYPE",
                        f'[{self.sub}] @key on "{t.name}" must have a string "fields" argument',
                        location(self.sub, d),
                    )
                    continue
                t.keys.append(Key(fields, _bool_arg(d, "resolvable", None), is_ext, location(self.sub, d)))
            elif canonical == "extends":
                t.extends = True
            elif canonical == "interfaceObject":
                t.interface_object = True
            elif canonical == "shareable":
                if is_ext:
                    t.shareable_on_extension = True
                else:
                    t.shareable_on_definition = True
            elif canonical == "external":
                t.external_on_type = True
            elif canonical == "context":
                self._unsupported("@context", d)
        t.directives.extend(self.api_directives(directives))

    def _unsupported(self, name: str, node: ast.DirectiveNode) -> None:
        # Composing it would need join v0.5 contextArguments, which this composer does not write:
        # better a clear error than a supergraph that silently drops the context.
        self.issues.add(
            "UNSUPPORTED_FEATURE",
            f"[{self.sub}] {name} is not supported by this composer",
            location(self.sub, node),
        )

    def _read_field(self, parent: str, node: ast.FieldDefinitionNode, is_ext: bool) -> Field:
        f = Field(
            node.name.value,
            self.type_ref(node.type),
            description=node.description.value if node.description is not None else None,
            of_extension=is_ext,
            location=location(self.sub, node),
        )
        for arg in node.arguments or ():
            for d in arg.directives or ():
                if self.canonical(d) == "fromContext":
                    self._unsupported("@fromContext", d)
            f.arguments[arg.name.value] = Argument(
                arg.name.value,
                self.type_ref(arg.type),
                arg.default_value,
                arg.description.value if arg.description is not None else None,
                self.api_directives(arg.directives or ()),
                location(self.sub, arg),
            )
        for d in node.directives or ():
            canonical = self.canonical(d)
            if canonical == "external":
                f.external = True
            elif canonical == "shareable":
                f.shareable = True
            elif canonical == "requires":
                f.requires = _str_arg(d, "fields")
                f.requires_location = location(self.sub, d)
            elif canonical == "provides":
                f.provides = _str_arg(d, "fields")
                f.provides_location = location(self.sub, d)
            elif canonical == "override":
                f.override_from = _str_arg(d, "from")
                f.override_label = _str_arg(d, "label")
                f.override_location = location(self.sub, d)
        f.directives = self.api_directives(node.directives or ())
        return f

    def _read_input_field(self, node: ast.InputValueDefinitionNode, is_ext: bool) -> Field:
        return Field(
            node.name.value,
            self.type_ref(node.type),
            description=node.description.value if node.description is not None else None,
            default=node.default_value,
            directives=self.api_directives(node.directives or ()),
            of_extension=is_ext,
            location=location(self.sub, node),
        )


def _applied_directives(doc: ast.DocumentNode) -> list[ast.DirectiveNode]:
    found: list[ast.DirectiveNode] = []

    class _Collect(Visitor):
        def enter_directive(self, node: ast.DirectiveNode, *_: object) -> None:
            found.append(node)

    visit(doc, _Collect())
    return found


def _kind_of(node: ast.TypeDefinitionNode | ast.TypeExtensionNode) -> Kind:
    if isinstance(node, ast.ObjectTypeDefinitionNode | ast.ObjectTypeExtensionNode):
        return Kind.OBJECT
    if isinstance(node, ast.InterfaceTypeDefinitionNode | ast.InterfaceTypeExtensionNode):
        return Kind.INTERFACE
    if isinstance(node, ast.UnionTypeDefinitionNode | ast.UnionTypeExtensionNode):
        return Kind.UNION
    if isinstance(node, ast.EnumTypeDefinitionNode | ast.EnumTypeExtensionNode):
        return Kind.ENUM
    if isinstance(node, ast.InputObjectTypeDefinitionNode | ast.InputObjectTypeExtensionNode):
        return Kind.INPUT_OBJECT
    return Kind.SCALAR


def read_subgraph(source: SubgraphSource, issues: IssueCollector) -> Subgraph | None:
    """Parse one subgraph SDL; syntax errors are reported as INVALID_GRAPHQL and give None."""
    try:
        doc = graphql.parse(source.sdl)
    except graphql.GraphQLError as exc:
        loc = exc.locations[0] if exc.locations else None
        issues.add(
            "INVALID_GRAPHQL",
            f"[{source.name}] {exc.message}",
            SourceLocation(source.name, loc.line, loc.column) if loc else None,
        )
        return None
    return _Reader(source, doc, issues).read()
