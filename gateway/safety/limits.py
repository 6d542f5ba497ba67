"""Operation limits: depth, aliases, root fields, directives and an estimated cost, per operation.

Measured once per distinct (query text, operation name) and cached, so a request for a document the
gateway has seen costs one LRU lookup. Fragments are expanded with memoization: a fragment-spread bomb
(each fragment spreading the next one twice) is measured in linear time and its expanded size is
what the limits see. Runs after validation, so fragment cycles cannot occur (guarded anyway).

Cost model (a simple, predictable estimate of the work a query asks for):

- every field costs 1 (``__typename`` 0; ``__schema``/``__type`` 1: their fan-out is bounded by
  validation's introspection depth rule and they are answered locally);
- a field with a ``first``/``last``/``limit`` argument multiplies the cost of its selection by that
  value (the argument's schema default when the query omits it; ``default_list_size`` when the value is
  null or not an integer); its direct list
  children (a connection's ``edges``/``nodes``) are then not multiplied again;
- any other field returning a list multiplies its selection by ``default_list_size``.

Demand-control directives of the supergraph (``@cost``/``@listSize``, IBM's GraphQL cost spec as
Apollo implements it) replace these guesses where the subgraphs annotate their fields (the API schema
carries them in ``extensions``): ``@cost(weight:)`` on a field (or on its type) is the field's own cost
instead of 1; ``@listSize`` gives the list size: the largest slicing argument the query passes (its
schema default when none is), else ``assumedSize``, else ``default_list_size``; with ``sizedFields``
(a connection's ``edges``/``nodes``) that size multiplies those child fields instead of the field.

The limits run in order: the shape limits first, the cost only for an operation within them (a deep
list nesting's estimate is exponential). Costs and counts saturate at ``CEILING`` so that every number
in an error's extensions fits the JSON encoder and a JavaScript client.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import graphql
from graphql import language as ast

from gateway.http.errors import GraphQLRequestError
from gateway.http.lru import LRUCache
from gateway.sizing import estimate_bytes
from gateway.supergraph.api_schema import ListSize

MAX_DEPTH = "MAX_DEPTH_LIMIT"
MAX_ALIASES = "MAX_ALIASES_LIMIT"
MAX_ROOT_FIELDS = "MAX_ROOT_FIELDS_LIMIT"
MAX_DIRECTIVES = "MAX_DIRECTIVES_LIMIT"
MAX_COST = "COST_ESTIMATED_TOO_EXPENSIVE"
SIZE_ARGUMENTS = ("first", "last", "limit")
# Costs and counts saturate here: a nested list query's estimate grows exponentially and must stay a
# number JSON encoders (orjson: 64 bits) and JavaScript clients (2^53) can carry in an error's extensions.
CEILING = 2**53 - 1
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


@dataclass(frozen=True, slots=True)
class OperationLimits:
    """0 disables a limit."""

    max_depth: int = 15
    max_introspection_depth: int = 20  # __schema/__type subtrees (GraphiQL's own query is 15 deep)
    max_aliases: int = 30
    max_root_fields: int = 20
    max_directives: int = 50
    max_cost: int = 250_000
    default_list_size: int = 10


@dataclass(frozen=True, slots=True)
class OperationMetrics:
    depth: int  # introspection subtrees count 1 here and are measured by introspection_depth
    introspection_depth: int
    aliases: int
    root_fields: int
    directives: int
    cost: int  # with the variables' defaults (or default_list_size) where a size comes from a variable
    size_variables: tuple[str, ...]  # variables used as list sizes: the cost depends on their values


@dataclass(frozen=True, slots=True)
class _Shape:
    depth: int
    introspection_depth: int
    aliases: int
    directives: int
    root_fields: int


_EMPTY = _Shape(0, 0, 0, 0, 0)


class _Measure:
    """Walks one operation of a document; fragment results are memoized per walk."""

    def __init__(self, schema: graphql.GraphQLSchema, document: ast.DocumentNode,
                 operation: ast.OperationDefinitionNode, default_list_size: int,
                 variables: Mapping[str, Any] | None) -> None:
        self.schema = schema
        self.default_list_size = default_list_size
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, ast.FragmentDefinitionNode)}
        self.defaults: dict[str, Any] = {}
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                self.defaults[definition.variable.name.value] = graphql.value_from_ast_untyped(
                    definition.default_value)
        self.variables = variables or {}
        self.size_variables: set[str] = set()
        self._shapes: dict[str, _Shape] = {}
        self._costs: dict[tuple[str, bool, tuple[tuple[str, int], ...]], int] = {}
        self._active: set[str] = set()

    # ---- shape: depth, aliases, directives, fields (fragments expanded) -----------------------

    def shape(self, selection_set: ast.SelectionSetNode | None) -> _Shape:
        if selection_set is None:
            return _EMPTY
        depth = introspection = aliases = directives = fields = 0
        for selection in selection_set.selections:
            directives += len(selection.directives or ())
            if isinstance(selection, ast.FieldNode):
                fields += 1
                if selection.alias is not None:
                    aliases += 1
                child = self.shape(selection.selection_set)
                if selection.name.value in _INTROSPECTION_ROOTS:
                    depth = max(depth, 1)
                    introspection = max(introspection, 1 + child.depth, child.introspection_depth)
                else:
                    depth = max(depth, 1 + child.depth)
                    introspection = max(introspection, child.introspection_depth)
                aliases += child.aliases
                directives += child.directives
                continue
            if isinstance(selection, ast.InlineFragmentNode):
                child = self.shape(selection.selection_set)
            else:
                assert isinstance(selection, ast.FragmentSpreadNode)
                child = self._fragment_shape(selection.name.value)
            depth = max(depth, child.depth)
            introspection = max(introspection, child.introspection_depth)
            aliases += child.aliases
            directives += child.directives
            fields += child.root_fields
        return _Shape(depth, introspection, aliases, directives, fields)

    def _fragment_shape(self, name: str) -> _Shape:
        cached = self._shapes.get(name)
        if cached is not None:
            return cached
        fragment = self.fragments.get(name)
        if fragment is None or name in self._active:
            return _EMPTY
        self._active.add(name)
        inner = self.shape(fragment.selection_set)
        self._active.discard(name)
        shape = _Shape(inner.depth, inner.introspection_depth, inner.aliases,
                       inner.directives + len(fragment.directives or ()), inner.root_fields)
        self._shapes[name] = shape
        return shape

    # ---- cost --------------------------------------------------------------------------------

    def cost(self, selection_set: ast.SelectionSetNode | None, parent: graphql.GraphQLNamedType | None,
             sized_parent: bool, sized: tuple[tuple[str, int], ...] = ()) -> int:
        """``sized``: child fields whose list size the parent's ``@listSize(sizedFields:)`` gives."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, ast.FieldNode):
                total += self._field_cost(selection, parent, sized_parent, sized)
            elif isinstance(selection, ast.InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition is not None else parent
                total += self.cost(selection.selection_set, scope, sized_parent, sized)
            else:
                assert isinstance(selection, ast.FragmentSpreadNode)
                total += self._fragment_cost(selection.name.value, sized_parent, sized)
        return min(total, CEILING)

    def _fragment_cost(self, name: str, sized_parent: bool, sized: tuple[tuple[str, int], ...] = ()) -> int:
        key = (name, sized_parent, sized)
        cached = self._costs.get(key)
        if cached is not None:
            return cached
        fragment = self.fragments.get(name)
        if fragment is None or name in self._active:
            return 0
        self._active.add(name)
        scope = self.schema.get_type(fragment.type_condition.name.value)
        value = self.cost(fragment.selection_set, scope, sized_parent, sized)
        self._active.discard(name)
        self._costs[key] = value
        return value

    def _field_cost(self, node: ast.FieldNode, parent: graphql.GraphQLNamedType | None,
                    sized_parent: bool, sized: tuple[tuple[str, int], ...] = ()) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        if name in _INTROSPECTION_ROOTS:
            return 1
        field = parent.fields.get(name) if isinstance(parent, (graphql.GraphQLObjectType,
                                                                graphql.GraphQLInterfaceType)) else None
        if field is None:
            return 1
        weight = _weight(field)
        if node.selection_set is None:
            return weight
        child_type = graphql.get_named_type(field.type)
        list_size: ListSize | None = (field.extensions or {}).get("listSize")
        given = next((n for f, n in sized if f == name), None)
        if list_size is not None:
            size = self._annotated_size(node, field, list_size)
            if list_size.sized_fields:
                children = tuple((f, size) for f in list_size.sized_fields)
                return min(CEILING, weight + self.cost(node.selection_set, child_type, True, children))
            return min(CEILING, weight + size * self.cost(node.selection_set, child_type, True))
        if given is not None:
            return min(CEILING, weight + given * self.cost(node.selection_set, child_type, True))
        size_arg = self._size_argument(node, field)
        is_list = graphql.is_list_type(graphql.get_nullable_type(field.type))
        if size_arg is not None:
            multiplier = size_arg
        elif is_list and not sized_parent:
            multiplier = self.default_list_size
        else:
            multiplier = 1
        below = self.cost(node.selection_set, child_type, size_arg is not None)
        return min(CEILING, weight + multiplier * below)

    def _annotated_size(self, node: ast.FieldNode, field: graphql.GraphQLField, list_size: ListSize) -> int:
        """The list size ``@listSize`` gives for this use of the field."""
        sizes: list[int] = []
        for argument in node.arguments or ():
            if argument.name.value not in list_size.slicing_arguments:
                continue
            value: Any = None
            if isinstance(argument.value, ast.VariableNode):
                variable = argument.value.name.value
                self.size_variables.add(variable)
                value = self.variables.get(variable, self.defaults.get(variable))
            elif isinstance(argument.value, ast.IntValueNode):
                value = int(argument.value.value)
            if isinstance(value, int) and not isinstance(value, bool):
                sizes.append(min(max(value, 0), CEILING))
        if not sizes:
            for name in list_size.slicing_arguments:
                definition = field.args.get(name)
                default = definition.default_value if definition is not None else None
                ast_node = definition.ast_node if definition is not None else None
                if not isinstance(default, int) and ast_node is not None:
                    node_default = ast_node.default_value
                    if isinstance(node_default, ast.IntValueNode):
                        default = int(node_default.value)
                if isinstance(default, int) and not isinstance(default, bool):
                    sizes.append(max(default, 0))
        if sizes:
            return max(sizes)
        if list_size.assumed_size is not None:
            return max(list_size.assumed_size, 0)
        return self.default_list_size

    def _size_argument(self, node: ast.FieldNode, field: graphql.GraphQLField) -> int | None:
        """The list size a field asks for (else its schema default), or None without a size argument."""
        for argument in node.arguments or ():
            if argument.name.value not in SIZE_ARGUMENTS:
                continue
            value: Any
            if isinstance(argument.value, ast.VariableNode):
                variable = argument.value.name.value
                self.size_variables.add(variable)
                value = self.variables.get(variable, self.defaults.get(variable))
            elif isinstance(argument.value, ast.IntValueNode):
                value = int(argument.value.value)
            else:
                value = None
            if isinstance(value, int) and not isinstance(value, bool):
                return min(max(value, 0), CEILING)
            return self.default_list_size
        for name in SIZE_ARGUMENTS:
            definition = field.args.get(name)
            if definition is None:
                continue
            default = definition.default_value
            node_default = definition.ast_node.default_value if definition.ast_node is not None else None
            if not isinstance(default, int) and isinstance(node_default, ast.IntValueNode):
                default = int(node_default.value)  # schemas built from SDL may keep it in the AST only
            if isinstance(default, int) and not isinstance(default, bool):
                return max(default, 0)
        return None


def _weight(field: graphql.GraphQLField) -> int:
    """The field's own cost: its ``@cost``, else its type's, else 1."""
    weight = (field.extensions or {}).get("cost")
    if weight is None:
        weight = (graphql.get_named_type(field.type).extensions or {}).get("cost")
    return weight if isinstance(weight, int) and not isinstance(weight, bool) else 1


def measure_operation(schema: graphql.GraphQLSchema, document: ast.DocumentNode,
                      operation: ast.OperationDefinitionNode, *, default_list_size: int = 10,
                      variables: Mapping[str, Any] | None = None) -> OperationMetrics:
    measure = _Measure(schema, document, operation, default_list_size, variables)
    shape = measure.shape(operation.selection_set)
    root = schema.get_root_type(operation.operation)
    cost = measure.cost(operation.selection_set, root, False)
    return OperationMetrics(depth=shape.depth, introspection_depth=shape.introspection_depth,
                            aliases=shape.aliases, root_fields=shape.root_fields,
                            directives=shape.directives + len(operation.directives or ()), cost=cost,
                            size_variables=tuple(sorted(measure.size_variables)))


def _exceeded(kind: str, value: int, limit: int, code: str) -> graphql.GraphQLError:
    value = min(value, CEILING)  # a fragment bomb's 2^100 aliases: reported as "at least 2^53 - 1"
    return graphql.GraphQLError(f"The operation's {kind} is {value}, more than the limit of {limit}.",
                                extensions={"code": code, "limit": limit, "actual": value})


def _shape_errors(metrics: OperationMetrics, limits: OperationLimits) -> list[graphql.GraphQLError]:
    errors = []
    checks = (("depth", metrics.depth, limits.max_depth, MAX_DEPTH),
              ("introspection depth", metrics.introspection_depth, limits.max_introspection_depth, MAX_DEPTH),
              ("number of aliases", metrics.aliases, limits.max_aliases, MAX_ALIASES),
              ("number of root fields", metrics.root_fields, limits.max_root_fields, MAX_ROOT_FIELDS),
              ("number of directives", metrics.directives, limits.max_directives, MAX_DIRECTIVES))
    for kind, value, limit, code in checks:
        if limit and value > limit:
            errors.append(_exceeded(kind, value, limit, code))
    return errors


@dataclass(frozen=True, slots=True)
class _Verdict:
    errors: tuple[graphql.GraphQLError, ...]  # shape errors, plus the cost error when it is fixed
    size_variables: tuple[str, ...]  # non-empty: the cost is checked per distinct variable values


class OperationLimiter:
    """Checks operations against ``OperationLimits``; verdicts cached per query text and operation."""

    def __init__(self, schema: graphql.GraphQLSchema, limits: OperationLimits, cache_size: int,
                 max_bytes: int = 8 << 20) -> None:
        self.schema = schema
        self.limits = limits
        # keyed by query text: bounded by estimated bytes too (the key's text dominates)
        self._verdicts: LRUCache[tuple[str, str | None], _Verdict] = LRUCache(
            cache_size, max_bytes=max_bytes // 2, sizer=_entry_bytes)
        self._costs: LRUCache[tuple[str, str | None, Hashable], int] = LRUCache(
            cache_size, max_bytes=max_bytes // 2, sizer=_entry_bytes)
        self.refused = 0

    def caches(self) -> dict[str, LRUCache[Any, Any]]:
        return {"verdicts": self._verdicts, "costs": self._costs}

    def errors(self, query: str, document: ast.DocumentNode, operation: ast.OperationDefinitionNode,
               variables: Mapping[str, Any] | None) -> tuple[graphql.GraphQLError, ...]:
        name = operation.name.value if operation.name is not None else None
        verdict = self._verdicts.get((query, name))
        if verdict is None:
            verdict = self._judge(document, operation)
            self._verdicts.put((query, name), verdict)
        if verdict.errors or not verdict.size_variables or not self.limits.max_cost:
            return verdict.errors  # limits run in order: shape first, the cost only for a sound shape
        # The cost depends on variable values (``first: $n``): one more cached lookup per request.
        values = tuple(_hashable((variables or {}).get(v)) for v in verdict.size_variables)
        cost = self._costs.get((query, name, values))
        if cost is None:
            cost = measure_operation(self.schema, document, operation, variables=variables,
                                     default_list_size=self.limits.default_list_size).cost
            self._costs.put((query, name, values), cost)
        if cost > self.limits.max_cost:
            return (*verdict.errors, _exceeded("estimated cost", cost, self.limits.max_cost, MAX_COST))
        return verdict.errors

    def check(self, query: str, document: ast.DocumentNode, operation: ast.OperationDefinitionNode,
              variables: Mapping[str, Any] | None) -> None:
        """Raise a request error (code of the first limit exceeded) when the operation is over a limit."""
        errors = self.errors(query, document, operation, variables)
        if errors:
            self.refused += 1
            code = str((errors[0].extensions or {}).get("code", MAX_DEPTH))
            raise GraphQLRequestError(errors, code)

    def _judge(self, document: ast.DocumentNode, operation: ast.OperationDefinitionNode) -> _Verdict:
        metrics = measure_operation(self.schema, document, operation,
                                    default_list_size=self.limits.default_list_size)
        errors = _shape_errors(metrics, self.limits)
        if errors:
            return _Verdict(tuple(errors), ())  # in order: an operation over a shape limit is not costed
        if metrics.size_variables:
            return _Verdict(tuple(errors), metrics.size_variables)
        if self.limits.max_cost and metrics.cost > self.limits.max_cost:
            errors.append(_exceeded("estimated cost", metrics.cost, self.limits.max_cost, MAX_COST))
        return _Verdict(tuple(errors), ())


def _entry_bytes(key: Any, value: Any) -> int:
    return estimate_bytes(key) + estimate_bytes(value)


def _hashable(value: Any) -> Hashable:
    return value if isinstance(value, (int, str, float, type(None))) else repr(value)
