"""Query plan nodes: plain frozen data, serializable to JSON (explain) and printable as text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from gateway.planning.operation import NField


@dataclass(frozen=True, slots=True)
class SelectionTree:
    """A selection to project from result objects (entity keys and @requires inputs).

    ``fields``: (field name, response key in the merged result, child selection or None); ``fragments``:
    type condition -> selection applied only when the object's ``__typename`` matches.
    """

    fields: tuple[tuple[str, str, SelectionTree | None], ...]
    fragments: tuple[tuple[str, SelectionTree], ...] = ()


Renames = tuple[tuple[str, str, "Renames | None"], ...]


@dataclass(frozen=True, slots=True)
class EntityInput:
    """Objects at ``path`` whose ``__typename`` is ``match_type`` become representations typed ``send_as``."""

    path: tuple[str, ...]
    match_type: str
    send_as: str
    requires: SelectionTree


@dataclass(frozen=True, slots=True)
class Fetch:
    subgraph: str  # subgraph name
    url: str
    operation: str
    operation_kind: str  # "query" | "mutation" | "subscription"
    variable_usages: tuple[str, ...]
    inputs: tuple[EntityInput, ...] = ()  # empty for root fetches
    # Response keys aliased to avoid clashes in the subgraph operation: (alias, original key, child renames)
    renames: Renames | None = None

    @property
    def is_entity_fetch(self) -> bool:
        return bool(self.inputs)


@dataclass(frozen=True, slots=True)
class Flatten:
    paths: tuple[tuple[str, ...], ...]
    node: Fetch


@dataclass(frozen=True, slots=True)
class Sequence:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class Parallel:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    variable: str
    if_true: PlanNode | None
    if_false: PlanNode | None


@dataclass(frozen=True, slots=True)
class Subscription:
    primary: Fetch
    rest: PlanNode | None


PlanNode = Union[Fetch, Flatten, Sequence, Parallel, Condition, Subscription]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class QueryPlan:
    node: PlanNode | None
    root_type: str
    root_fields: tuple[NField, ...]  # the normalized client selection, for response shaping
    operation_kind: str
    # Default values of the variables @skip/@include use, for evaluating conditions at execution.
    condition_defaults: tuple[tuple[str, Any], ...] = ()
    # Condition variables the plan was made for (on @requires fields): part of its cache key.
    static_conditions: tuple[str, ...] = ()

    def condition_variables(self, variables: Mapping[str, Any]) -> Mapping[str, Any]:
        """``variables`` with the defaults of condition variables the request leaves out."""
        missing = [(k, v) for k, v in self.condition_defaults if k not in variables]
        return {**dict(missing), **variables} if missing else variables


def _sel_to_json(sel: SelectionTree) -> Any:
    out: list[Any] = [n if c is None else {n: _sel_to_json(c)} for n, _, c in sel.fields]
    for cond, s in sel.fragments:
        out.append({"... on " + cond: _sel_to_json(s)})
    return out


def node_to_json(node: PlanNode | None) -> Any:
    if node is None:
        return None
    if isinstance(node, Fetch):
        d: dict[str, Any] = {
            "kind": "Fetch",
            "serviceName": node.subgraph,
            "operation": node.operation,
            "operationKind": node.operation_kind,
            "variableUsages": list(node.variable_usages),
        }
        if node.inputs:
            d["inputs"] = [
                {
                    "path": list(i.path),
                    "type": i.match_type,
                    "sendAs": i.send_as,
                    "requires": _sel_to_json(i.requires),
                }
                for i in node.inputs
            ]
        return d
    if isinstance(node, Flatten):
        return {"kind": "Flatten", "paths": [list(p) for p in node.paths], "node": node_to_json(node.node)}
    if isinstance(node, Sequence | Parallel):
        return {"kind": type(node).__name__, "nodes": [node_to_json(n) for n in node.nodes]}
    if isinstance(node, Condition):
        return {
            "kind": "Condition",
            "condition": node.variable,
            "ifClause": node_to_json(node.if_true),
            "elseClause": node_to_json(node.if_false),
        }
    return {"kind": "Subscription", "primary": node_to_json(node.primary), "rest": node_to_json(node.rest)}


def plan_to_json(plan: QueryPlan) -> Any:
    return {"kind": "QueryPlan", "node": node_to_json(plan.node)}


def _sel_text(sel: SelectionTree) -> str:
    parts = [n if c is None else f"{n} {{ {_sel_text(c)} }}" for n, _, c in sel.fields]
    parts += [f"... on {cond} {{ {_sel_text(s)} }}" for cond, s in sel.fragments]
    return " ".join(parts)


def node_to_text(node: PlanNode | None, indent: int = 0) -> str:
    pad = "  " * indent
    if node is None:
        return pad + "(empty)"
    if isinstance(node, Fetch):
        head = f'{pad}Fetch(service: "{node.subgraph}") {{'
        lines = [head]
        for i in node.inputs:
            lines.append(f"{pad}  {{{i.match_type}}} as {i.send_as}: {{ {_sel_text(i.requires)} }} =>")
        lines.append(f"{pad}  {node.operation}")
        lines.append(pad + "}")
        return "\n".join(lines)
    if isinstance(node, Flatten):
        paths = ", ".join(".".join(p) for p in node.paths)
        return f"{pad}Flatten(path: {paths}) {{\n{node_to_text(node.node, indent + 1)}\n{pad}}}"
    if isinstance(node, Sequence | Parallel):
        inner = "\n".join(node_to_text(n, indent + 1) for n in node.nodes)
        return f"{pad}{type(node).__name__} {{\n{inner}\n{pad}}}"
    if isinstance(node, Condition):
        yes = node_to_text(node.if_true, indent + 1)
        no = node_to_text(node.if_false, indent + 1)
        return f"{pad}Condition(if: ${node.variable}) {{\n{yes}\n{pad}}} else {{\n{no}\n{pad}}}"
    primary = node_to_text(node.primary, indent + 1)
    rest = node_to_text(node.rest, indent + 1)
    return f"{pad}Subscription {{\n{primary}\n{rest}\n{pad}}}"


def plan_to_text(plan: QueryPlan) -> str:
    return "QueryPlan {\n" + node_to_text(plan.node, 1) + "\n}"
