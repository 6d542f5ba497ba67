"""Authorization of an operation before planning: unauthorized fields are taken out of the document.

``filter_document`` returns the document the planner sees (unauthorized fields removed, so no subgraph
is asked for them; ``tenantId`` added under a gateway alias for tenant-scoped types, for the tenant
guard) plus one ``UNAUTHORIZED_FIELD_OR_TYPE`` error per removed field at the client's path (``"@"``
stands for list positions, as in Apollo Router). ``shaping_fields`` normalizes the client's original
document with removed fields marked, so the response keeps the client's shape: null at each removed
field, GraphQL null propagation for non-null ones.

A field is unauthorized when a rule on the field, on its parent type, or on its return type fails.
Conservative on abstract types (like Apollo Router): a field selected on an interface is removed when
the field of any implementation is unauthorized, and a field returning an abstract type is removed when
any possible type is.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import graphql
from graphql import language as ast

from gateway.auth.directives import AccessRules, Requirement, Rights
from gateway.planning.operation import NField, Normalizer
from gateway.planning.planner import with_variable_defaults

UNAUTHORIZED = "UNAUTHORIZED_FIELD_OR_TYPE"
TENANT_FIELD = "tenantId"
TENANT_ALIAS = "_gatewayTenantId"  # response key of the tenantId the gateway adds for the tenant guard

_ABSTRACT = (graphql.GraphQLInterfaceType, graphql.GraphQLUnionType)
_TYPENAME = ast.FieldNode(name=ast.NameNode(value="__typename"))


class DeniedField(NField):
    """A field of the client's selection the principal may not see: always completed as null."""


class AccessDecider:
    """Field decisions against the API schema, memoized per (type, field, rights)."""

    def __init__(self, schema: graphql.GraphQLSchema, rules: AccessRules) -> None:
        self.schema = schema
        self.rules = rules
        self._memo: dict[tuple[str, str, str], bool] = {}

    def _type_allows(self, named: graphql.GraphQLNamedType, rights: Rights) -> bool:
        req = self.rules.types.get(named.name)
        if req is not None and not req.allows(rights):
            return False
        if isinstance(named, _ABSTRACT):
            for obj in self.schema.get_possible_types(named):
                sub = self.rules.types.get(obj.name)
                if sub is not None and not sub.allows(rights):
                    return False
        return True

    def field_allowed(self, parent: graphql.GraphQLNamedType, name: str, rights: Rights) -> bool:
        if name.startswith("__"):
            return True
        key = (parent.name, name, rights.key)
        allowed = self._memo.get(key)
        if allowed is None:
            allowed = self._decide(parent, name, rights)
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[key] = allowed
        return allowed

    def _decide(self, parent: graphql.GraphQLNamedType, name: str, rights: Rights) -> bool:
        if not isinstance(parent, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            return True
        fdef = parent.fields.get(name)
        if fdef is None:
            return True
        owners: list[graphql.GraphQLNamedType] = [parent]
        if isinstance(parent, graphql.GraphQLInterfaceType):
            owners += self.schema.get_possible_types(parent)
        for owner in owners:
            req: Requirement | None = self.rules.fields.get((owner.name, name))
            if req is not None and not req.allows(rights):
                return False
        type_req = self.rules.types.get(parent.name)
        if type_req is not None and not type_req.allows(rights):
            return False
        return self._type_allows(graphql.get_named_type(fdef.type), rights)


@dataclass(frozen=True, slots=True)
class FilteredDocument:
    document: ast.DocumentNode
    removed: frozenset[int]  # id() of every removed FieldNode of the original document
    errors: tuple[dict[str, Any], ...]  # for the selected operation, fields not skipped
    tenant_guard: bool  # tenantId was added somewhere: the result must be checked
    reserved_alias: bool = False  # the client used TENANT_ALIAS itself: the operation is refused


def _list_depth(t: graphql.GraphQLOutputType) -> int:
    depth = 0
    while True:
        if isinstance(t, graphql.GraphQLNonNull):
            t = t.of_type
        elif isinstance(t, graphql.GraphQLList):
            depth += 1
            t = t.of_type
        else:
            return depth


def _included(node: Any, variables: dict[str, Any]) -> bool:
    for d in node.directives or ():
        if d.name.value not in ("skip", "include"):
            continue
        value: Any = True
        for a in d.arguments or ():
            if a.name.value == "if":
                value = graphql.value_from_ast(a.value, graphql.GraphQLBoolean, variables)
        if (d.name.value == "skip") == (value is True):
            return False
    return True


def _tenant_field() -> ast.FieldNode:
    return ast.FieldNode(alias=ast.NameNode(value=TENANT_ALIAS), name=ast.NameNode(value=TENANT_FIELD))


class _Filter:
    def __init__(
        self,
        schema: graphql.GraphQLSchema,
        decider: AccessDecider,
        rights: Rights,
        fragments: dict[str, ast.FragmentDefinitionNode],
        variables: dict[str, Any],
        tenant_types: frozenset[str],
    ) -> None:
        self.schema = schema
        self.decider = decider
        self.rights = rights
        self.fragments = fragments
        self.variables = variables
        self.tenant_types = tenant_types
        self.removed: set[int] = set()
        self.errors: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.fragments_out: dict[str, ast.SelectionSetNode] = {}
        self.tenant_guard = False
        self.reserved_alias = False

    def selection_set(
        self, sel: ast.SelectionSetNode, parent: graphql.GraphQLNamedType, path: tuple[Any, ...] | None
    ) -> ast.SelectionSetNode:
        out: list[ast.SelectionNode] = []
        for s in sel.selections:
            here = path if path is not None and _included(s, self.variables) else None
            if isinstance(s, ast.FieldNode):
                kept = self._field(s, parent, here)
                if kept is not None:
                    out.append(kept)
            elif isinstance(s, ast.InlineFragmentNode):
                cond = self.schema.get_type(s.type_condition.name.value) if s.type_condition else parent
                assert cond is not None
                out.append(replace(s, selection_set=self.selection_set(s.selection_set, cond, here)))
            elif isinstance(s, ast.FragmentSpreadNode):
                name = s.name.value
                frag = self.fragments.get(name)
                if frag is not None and (here is not None or name not in self.fragments_out):
                    cond = self.schema.get_type(frag.type_condition.name.value)
                    assert cond is not None
                    self.fragments_out.setdefault(name, self.selection_set(frag.selection_set, cond, here))
                out.append(s)
        if not any(isinstance(s, ast.FieldNode) for s in out) and not any(
            isinstance(s, ast.InlineFragmentNode | ast.FragmentSpreadNode) for s in out
        ):
            out.append(_TYPENAME)
        return replace(sel, selections=tuple(out))

    def _field(
        self, node: ast.FieldNode, parent: graphql.GraphQLNamedType, path: tuple[Any, ...] | None
    ) -> ast.FieldNode | None:
        name = node.name.value
        key = node.alias.value if node.alias else name
        if key == TENANT_ALIAS:
            self.reserved_alias = True  # a client must not feed the tenant guard its own value
        if not self.decider.field_allowed(parent, name, self.rights):
            self.removed.add(id(node))
            if path is not None:
                err_path = (*path, key)
                self.errors.setdefault(
                    err_path,
                    {
                        "message": f"Unauthorized field or type: {parent.name}.{name}",
                        "path": list(err_path),
                        "extensions": {"code": UNAUTHORIZED},
                    },
                )
            return None
        if node.selection_set is None or name.startswith("__"):
            return node
        assert isinstance(parent, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
        fdef = parent.fields[name]
        child = graphql.get_named_type(fdef.type)
        child_path = None if path is None else (*path, key, *(["@"] * _list_depth(fdef.type)))
        sel = self.selection_set(node.selection_set, child, child_path)
        extra = self._tenant_selections(child)
        if extra:
            sel = replace(sel, selections=(*sel.selections, *extra))
        return replace(node, selection_set=sel)

    def _tenant_selections(self, named: graphql.GraphQLNamedType) -> tuple[ast.SelectionNode, ...]:
        if not self.tenant_types:
            return ()
        if isinstance(named, graphql.GraphQLObjectType):
            if named.name not in self.tenant_types:
                return ()
            self.tenant_guard = True
            return (_tenant_field(),)
        if not isinstance(named, _ABSTRACT):
            return ()
        out: list[ast.SelectionNode] = []
        for obj in self.schema.get_possible_types(named):
            if obj.name in self.tenant_types:
                cond = ast.NamedTypeNode(name=ast.NameNode(value=obj.name))
                out.append(
                    ast.InlineFragmentNode(
                        type_condition=cond, selection_set=ast.SelectionSetNode(selections=(_tenant_field(),))
                    )
                )
        self.tenant_guard = self.tenant_guard or bool(out)
        return tuple(out)


def root_type(schema: graphql.GraphQLSchema, op: ast.OperationDefinitionNode) -> graphql.GraphQLObjectType:
    t = schema.get_root_type(op.operation)
    assert t is not None
    return t


def filter_document(
    schema: graphql.GraphQLSchema,
    decider: AccessDecider,
    rights: Rights,
    document: ast.DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any],
    tenant_types: frozenset[str],
) -> FilteredDocument:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)}
    ops = [d for d in document.definitions if isinstance(d, ast.OperationDefinitionNode)]
    selected = next(
        (o for o in ops if operation_name is None or (o.name is not None and o.name.value == operation_name)),
        None,
    )
    f = _Filter(schema, decider, rights, fragments, variables, tenant_types)
    new_ops: dict[int, ast.OperationDefinitionNode] = {}
    for op in sorted(ops, key=lambda o: o is not selected):  # the selected one first: it reports errors
        path: tuple[Any, ...] | None = () if op is selected else None
        if selected is not None and op is selected:
            path = ()
        new_ops[id(op)] = replace(
            op, selection_set=f.selection_set(op.selection_set, root_type(schema, op), path)
        )
    for name, frag in fragments.items():
        if name not in f.fragments_out:
            cond = schema.get_type(frag.type_condition.name.value)
            assert cond is not None
            f.fragments_out[name] = f.selection_set(frag.selection_set, cond, None)
    definitions: list[ast.DefinitionNode] = []
    for d in document.definitions:
        if isinstance(d, ast.OperationDefinitionNode):
            definitions.append(new_ops[id(d)])
        elif isinstance(d, ast.FragmentDefinitionNode):
            definitions.append(replace(d, selection_set=f.fragments_out[d.name.value]))
        else:
            definitions.append(d)
    return FilteredDocument(
        replace(document, definitions=tuple(definitions)),
        frozenset(f.removed),
        tuple(f.errors.values()),
        f.tenant_guard,
        f.reserved_alias,
    )


class _MarkingNormalizer(Normalizer):
    """The planner's normalization, with fields whose every occurrence was removed marked as denied."""

    def __init__(self, removed: frozenset[int], *args: Any) -> None:
        super().__init__(*args)
        self.removed = removed

    def fields_for(self, parent: graphql.GraphQLNamedType, nodes: list[ast.SelectionSetNode]) -> list[NField]:
        result = super().fields_for(parent, nodes)
        grouped: dict[str, list[ast.FieldNode]] = {}
        for sel in nodes:
            self.collect(parent, sel, grouped)
        out: list[NField] = []
        for nf in result:
            occurrences = grouped.get(nf.key)
            if occurrences and all(id(n) in self.removed for n in occurrences):
                nf = DeniedField(**{f.name: getattr(nf, f.name) for f in fields(NField)})
            out.append(nf)
        return out


def shaping_fields(
    supergraph_schema: graphql.GraphQLSchema,
    document: ast.DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any],
    removed: frozenset[int],
) -> tuple[NField, ...]:
    """The client's selection (as the planner normalizes it) with removed fields as ``DeniedField``."""
    ops = [d for d in document.definitions if isinstance(d, ast.OperationDefinitionNode)]
    op = next(
        o for o in ops if operation_name is None or (o.name is not None and o.name.value == operation_name)
    )
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)}
    norm = _MarkingNormalizer(removed, supergraph_schema, fragments, with_variable_defaults(op, variables))
    root = supergraph_schema.get_root_type(op.operation)
    assert root is not None
    return tuple(norm.fields_for(root, [op.selection_set]))
