"""Access rules of a supergraph: ``@authenticated``, ``@requiresScopes``, ``@policy`` on fields, object
types, interfaces, scalars and enums (the placements Apollo Router honours).

Directive names follow the supergraph's ``@link`` (``as:`` renames them). Several rules on one element
(the field's own, its return type's) must all hold; inside one rule, ``scopes``/``policies`` are an OR of
ANDs: ``[["a", "b"], ["c"]]`` means (a and b) or c.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import graphql
from graphql import language as ast

from gateway.auth.principal import Principal

_SPECS = {"authenticated": "authenticated", "requiresScopes": "requiresScopes", "policy": "policy"}

Policy = Callable[[Principal], bool]


@dataclass(frozen=True, slots=True)
class Requirement:
    authenticated: bool = False
    scopes: tuple[frozenset[str], ...] | None = None  # None: no scope rule
    policies: tuple[frozenset[str], ...] | None = None

    def allows(self, rights: Rights) -> bool:
        if self.authenticated and not rights.authenticated:
            return False
        if self.scopes is not None and not any(group <= rights.scopes for group in self.scopes):
            return False
        return self.policies is None or any(group <= rights.policies for group in self.policies)

    def merged(self, other: Requirement) -> Requirement:
        """Both must hold (AND): OR-of-ANDs combined by distributing."""
        return Requirement(
            self.authenticated or other.authenticated,
            _and(self.scopes, other.scopes),
            _and(self.policies, other.policies),
        )


def _and(
    a: tuple[frozenset[str], ...] | None, b: tuple[frozenset[str], ...] | None
) -> tuple[frozenset[str], ...] | None:
    if a is None:
        return b
    if b is None:
        return a
    return tuple({x | y for x in a for y in b})


@dataclass(frozen=True, slots=True)
class Rights:
    """What a principal may do, reduced to what access rules read; equal rights share plans."""

    authenticated: bool
    scopes: frozenset[str]
    policies: frozenset[str]  # granted policies among those the schema names

    @property
    def key(self) -> str:
        auth = "1" if self.authenticated else "0"
        return f"{auth}|{' '.join(sorted(self.scopes))}|{' '.join(sorted(self.policies))}"


class AccessRules:
    def __init__(self, schema: graphql.GraphQLSchema) -> None:
        names = _directive_names(schema)
        self.types: dict[str, Requirement] = {}
        self.fields: dict[tuple[str, str], Requirement] = {}
        for type_name, named in schema.type_map.items():
            if type_name.startswith("__"):
                continue
            req = _requirement(_directives_of(named), names)
            if req is not None:
                self.types[type_name] = req
            if isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
                for field_name, fdef in named.fields.items():
                    node = fdef.ast_node
                    freq = _requirement((node.directives or ()) if node is not None else (), names)
                    if freq is not None:
                        self.fields[(type_name, field_name)] = freq
        self.scopes = frozenset(
            s for r in (*self.types.values(), *self.fields.values()) for g in r.scopes or () for s in g
        )
        self.policies = frozenset(
            p for r in (*self.types.values(), *self.fields.values()) for g in r.policies or () for p in g
        )

    @property
    def empty(self) -> bool:
        return not self.types and not self.fields

    def rights(self, principal: Principal, policies: Mapping[str, Policy]) -> Rights:
        granted = frozenset(
            name for name in self.policies if (fn := policies.get(name)) is not None and fn(principal)
        )
        # Only the scopes the schema mentions matter: plans stay shared between equivalent principals.
        return Rights(principal.authenticated, principal.scopes & self.scopes, granted)


def _directives_of(named: graphql.GraphQLNamedType) -> Iterable[ast.DirectiveNode]:
    nodes: list[Any] = [named.ast_node, *(named.extension_ast_nodes or ())]
    return [d for n in nodes if n is not None for d in n.directives or ()]


def _directive_names(schema: graphql.GraphQLSchema) -> dict[str, str]:
    """Local directive name -> spec ("authenticated", "requiresScopes", "policy")."""
    names = {spec: spec for spec in _SPECS}
    schema_nodes: list[Any] = [schema.ast_node, *(schema.extension_ast_nodes or ())]
    for node in schema_nodes:
        for d in (node.directives or ()) if node is not None else ():
            if d.name.value != "link":
                continue
            args = {a.name.value: graphql.value_from_ast_untyped(a.value) for a in d.arguments or ()}
            url = args.get("url")
            alias = args.get("as")
            if not isinstance(url, str) or not isinstance(alias, str):
                continue
            for spec in _SPECS:
                if f"/{spec}/" in url:
                    names.pop(spec, None)
                    names[alias] = spec
    return names


def _groups(value: Any) -> tuple[frozenset[str], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(frozenset(str(s) for s in g) for g in value if isinstance(g, list))


def _requirement(directives: Iterable[ast.DirectiveNode], names: Mapping[str, str]) -> Requirement | None:
    req: Requirement | None = None
    for d in directives:
        spec = names.get(d.name.value)
        if spec is None:
            continue
        args = {a.name.value: graphql.value_from_ast_untyped(a.value) for a in d.arguments or ()}
        if spec == "authenticated":
            one = Requirement(authenticated=True)
        elif spec == "requiresScopes":
            one = Requirement(scopes=_groups(args.get("scopes")))
        else:
            one = Requirement(policies=_groups(args.get("policies")))
        req = one if req is None else req.merged(one)
    return req
