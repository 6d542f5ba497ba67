"""The subgraph model the composer works on, read from graphql-core ASTs.

Federation directives are stored as plain attributes under their canonical names (whatever a
subgraph imported them as), and the directives that reach the supergraph API (`@deprecated`,
`@inaccessible`, `@tag`, `@authenticated`, ...) are kept as AST nodes renamed to canonical names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from graphql import language as ast

from .errors import SourceLocation


@dataclass(frozen=True, slots=True)
class SubgraphSource:
    """A subgraph to compose: its name (as in `join__Graph`), routing URL and SDL."""

    name: str
    url: str
    sdl: str


class Kind(StrEnum):
    OBJECT = "type"
    INTERFACE = "interface"
    UNION = "union"
    ENUM = "enum"
    INPUT_OBJECT = "input"
    SCALAR = "scalar"


@dataclass(slots=True)
class Argument:
    name: str
    type: ast.TypeNode
    default: ast.ConstValueNode | None
    description: str | None
    directives: list[ast.ConstDirectiveNode]
    location: SourceLocation | None


@dataclass(slots=True)
class Field:
    """A field of an object/interface type or an input object field (then `default` may be set)."""

    name: str
    type: ast.TypeNode
    description: str | None = None
    arguments: dict[str, Argument] = field(default_factory=dict)
    default: ast.ConstValueNode | None = None
    directives: list[ast.ConstDirectiveNode] = field(default_factory=list)
    external: bool = False
    shareable: bool = False
    requires: str | None = None
    provides: str | None = None
    override_from: str | None = None
    override_label: str | None = None
    of_extension: bool = False
    location: SourceLocation | None = None
    requires_location: SourceLocation | None = None
    provides_location: SourceLocation | None = None
    override_location: SourceLocation | None = None


@dataclass(slots=True)
class Key:
    fields: str
    resolvable: bool | None  # None when not given (the default, true)
    of_extension: bool
    location: SourceLocation | None


@dataclass(slots=True)
class EnumValue:
    name: str
    description: str | None
    directives: list[ast.ConstDirectiveNode]
    location: SourceLocation | None


@dataclass(slots=True)
class TypeDef:
    name: str
    kind: Kind
    description: str | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, EnumValue] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)
    directives: list[ast.ConstDirectiveNode] = field(default_factory=list)
    extends: bool = False  # @extends applied (a federation 1 way to say "extension")
    has_definition: bool = False  # a plain `type X` definition (not only `extend type X`)
    has_extension: bool = False
    interface_object: bool = False
    shareable_on_definition: bool = False
    shareable_on_extension: bool = False
    external_on_type: bool = False
    location: SourceLocation | None = None

    @property
    def is_composite(self) -> bool:
        return self.kind in (Kind.OBJECT, Kind.INTERFACE, Kind.UNION)

    @property
    def merged_kind(self) -> Kind:
        """The kind the type has in the supergraph: an @interfaceObject stands for an interface."""
        return Kind.INTERFACE if self.interface_object else self.kind


@dataclass(slots=True)
class DirectiveDefinition:
    """A non-federation directive definition (merged into the supergraph when executable)."""

    name: str
    node: ast.DirectiveDefinitionNode


@dataclass(slots=True)
class Subgraph:
    name: str
    url: str
    fed2: bool
    fed_version: tuple[int, int] | None = None  # (2, x) of the federation @link; None for federation 1
    types: dict[str, TypeDef] = field(default_factory=dict)
    directive_definitions: dict[str, DirectiveDefinition] = field(default_factory=dict)
    #: directive names (canonical) to carry into the supergraph besides the built-in API ones
    composed_directives: set[str] = field(default_factory=set)
    imported: list[str] = field(default_factory=list)  # federation directives in @link import order

    ROOT_NAMES = ("Query", "Mutation", "Subscription")

    def field(self, type_name: str, field_name: str) -> Field | None:
        t = self.types.get(type_name)
        return t.fields.get(field_name) if t is not None else None

    def implementations(self, interface: str) -> list[TypeDef]:
        """Object types of this subgraph implementing `interface` (directly or through interfaces)."""
        out: list[TypeDef] = []
        for t in self.types.values():
            if t.kind is Kind.OBJECT and not t.interface_object and self._implements(t, interface, set()):
                out.append(t)
        return out

    def _implements(self, t: TypeDef, interface: str, seen: set[str]) -> bool:
        for itf in t.interfaces:
            if itf == interface:
                return True
            parent = self.types.get(itf)
            if parent is not None and itf not in seen:
                seen.add(itf)
                if self._implements(parent, interface, seen):
                    return True
        return False


def named_type(type_node: ast.TypeNode) -> str:
    """The innermost named type of a (possibly wrapped) type reference."""
    while isinstance(type_node, ast.NonNullTypeNode | ast.ListTypeNode):
        type_node = type_node.type
    assert isinstance(type_node, ast.NamedTypeNode)
    return type_node.name.value


def type_str(type_node: ast.TypeNode) -> str:
    return ast.print_ast(type_node)
