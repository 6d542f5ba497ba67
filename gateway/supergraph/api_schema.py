"""Build the client-facing API schema from a supergraph document.

Removes federation machinery (``join__*``/``link__*`` types and directives, ``@link``), every element
marked ``@inaccessible`` and every directive application that is not a client-visible executable
directive, then builds a graphql-core schema from what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import graphql
from graphql import language as ast

# Directive definitions that belong to federation machinery and never reach clients.
_MACHINERY_PREFIXES = ("join__", "link__", "core__")
_MACHINERY_DIRECTIVES = {
    "link",
    "core",
    "inaccessible",
    "tag",
    "authenticated",
    "requiresScopes",
    "policy",
    "cost",
    "listSize",
    "context",
    "fromContext",
}
_KEPT_DIRECTIVE_APPLICATIONS = {"deprecated", "specifiedBy", "oneOf"}


def _is_inaccessible(node: Any) -> bool:
    return any(d.name.value in ("inaccessible", "federation__inaccessible") for d in (node.directives or ()))


def _kept_directives(node: Any) -> tuple[Any, ...]:
    return tuple(d for d in (node.directives or ()) if d.name.value in _KEPT_DIRECTIVE_APPLICATIONS)


def _is_machinery_name(name: str) -> bool:
    return name.startswith(_MACHINERY_PREFIXES)


def _clean_fields(fields: Any) -> tuple[Any, ...]:
    out = []
    for f in fields or ():
        if _is_inaccessible(f):
            continue
        args = getattr(f, "arguments", None)
        if args is not None:
            args = tuple(replace(a, directives=_kept_directives(a)) for a in args if not _is_inaccessible(a))
            f = replace(f, arguments=args)
        out.append(replace(f, directives=_kept_directives(f)))
    return tuple(out)


def api_schema_document(doc: ast.DocumentNode) -> ast.DocumentNode:
    """Return the API-schema document of a supergraph document."""
    inaccessible_types: set[str] = set()
    for d in doc.definitions:
        if isinstance(d, ast.TypeDefinitionNode | ast.TypeExtensionNode) and (
            _is_machinery_name(d.name.value) or _is_inaccessible(d)
        ):
            inaccessible_types.add(d.name.value)
    defs: list[ast.DefinitionNode] = []
    for d in doc.definitions:
        if isinstance(d, ast.SchemaDefinitionNode | ast.SchemaExtensionNode):
            defs.append(replace(d, directives=()))
            continue
        if isinstance(d, ast.DirectiveDefinitionNode):
            name = d.name.value
            if _is_machinery_name(name) or name in _MACHINERY_DIRECTIVES or "__" in name:
                continue
            # Only executable (client-usable) directive definitions survive.
            if all(loc.value in _EXECUTABLE_LOCATIONS for loc in d.locations):
                defs.append(d)
            continue
        if not isinstance(d, ast.TypeDefinitionNode | ast.TypeExtensionNode):
            continue
        if d.name.value in inaccessible_types:
            continue
        node: Any = replace(d, directives=_kept_directives(d))
        if isinstance(
            d,
            ast.ObjectTypeDefinitionNode
            | ast.InterfaceTypeDefinitionNode
            | ast.ObjectTypeExtensionNode
            | ast.InterfaceTypeExtensionNode,
        ):
            interfaces = tuple(i for i in d.interfaces or () if i.name.value not in inaccessible_types)
            node = replace(node, fields=_clean_fields(d.fields), interfaces=interfaces)
        elif isinstance(d, ast.InputObjectTypeDefinitionNode | ast.InputObjectTypeExtensionNode):
            node = replace(node, fields=_clean_fields(d.fields))
        elif isinstance(d, ast.EnumTypeDefinitionNode | ast.EnumTypeExtensionNode):
            node = replace(
                node,
                values=tuple(
                    replace(v, directives=_kept_directives(v))
                    for v in d.values or ()
                    if not _is_inaccessible(v)
                ),
            )
        elif isinstance(d, ast.UnionTypeDefinitionNode | ast.UnionTypeExtensionNode):
            members = tuple(t for t in d.types or () if t.name.value not in inaccessible_types)
            node = replace(node, types=members)
        defs.append(node)
    return ast.DocumentNode(definitions=tuple(defs))


_EXECUTABLE_LOCATIONS = {
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
}


def build_api_schema(doc: ast.DocumentNode) -> graphql.GraphQLSchema:
    """Build the API schema; types left without fields (all inaccessible) are dropped.

    ``@cost``/``@listSize`` of the supergraph (demand control) are not client-visible directives: they
    go to the ``extensions`` of the schema's fields and types (``"cost"``: weight, ``"listSize"``:
    ``ListSize``) for the gateway's cost limit (gateway/safety/limits.py)."""
    api_doc = api_schema_document(doc)
    schema = graphql.build_ast_schema(api_doc, assume_valid_sdl=True)
    _attach_costs(doc, schema)
    return schema


_LIST_SIZE_NAMES = ("listSize", "cost__listSize")


def _int_arg(d: ast.DirectiveNode, name: str) -> int | None:
    for a in d.arguments or ():
        if a.name.value == name and isinstance(a.value, ast.IntValueNode):
            return int(a.value.value)
    return None


def _strings_arg(d: ast.DirectiveNode, name: str) -> tuple[str, ...]:
    for a in d.arguments or ():
        if a.name.value == name and isinstance(a.value, ast.ListValueNode):
            return tuple(v.value for v in a.value.values if isinstance(v, ast.StringValueNode))
        if a.name.value == name and isinstance(a.value, ast.StringValueNode):
            return (a.value.value,)
    return ()


def _cost_extensions(node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for d in node.directives or ():
        if d.name.value == "cost":
            weight = _int_arg(d, "weight")
            if weight is not None:
                out["cost"] = weight
        elif d.name.value in _LIST_SIZE_NAMES:
            require = next(
                (a.value for a in d.arguments or () if a.name.value == "requireOneSlicingArgument"), None
            )
            out["listSize"] = ListSize(
                assumed_size=_int_arg(d, "assumedSize"),
                slicing_arguments=_strings_arg(d, "slicingArguments"),
                sized_fields=_strings_arg(d, "sizedFields"),
                require_one_slicing_argument=not isinstance(require, ast.BooleanValueNode) or require.value,
            )
    return out


def _attach_costs(doc: ast.DocumentNode, schema: graphql.GraphQLSchema) -> None:
    for d in doc.definitions:
        if not isinstance(d, ast.TypeDefinitionNode | ast.TypeExtensionNode):
            continue
        named = schema.type_map.get(d.name.value)
        if named is None:
            continue
        ext = _cost_extensions(d)
        if ext:
            named.extensions = {**(named.extensions or {}), **ext}
        if not isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            continue
        for f in getattr(d, "fields", None) or ():
            field = named.fields.get(f.name.value)
            if field is None:
                continue
            ext = _cost_extensions(f)
            if ext:
                field.extensions = {**(field.extensions or {}), **ext}
            for a in f.arguments or ():
                arg = field.args.get(a.name.value)
                arg_ext = _cost_extensions(a)
                if arg is not None and arg_ext:
                    arg.extensions = {**(arg.extensions or {}), **arg_ext}


@dataclass(frozen=True, slots=True)
class ListSize:
    """``@listSize``: how many items a list field returns, for cost estimates (IBM's cost spec)."""

    assumed_size: int | None
    slicing_arguments: tuple[str, ...]
    sized_fields: tuple[str, ...]
    require_one_slicing_argument: bool
