"""Plain GraphQL checks of one subgraph that federation validation relies on.

Referenced types must exist with a fitting kind, and objects/interfaces must implement their
interfaces' fields; otherwise the supergraph would reference types nobody defines.
"""

from __future__ import annotations

from .errors import IssueCollector
from .model import Kind, Subgraph, TypeDef, named_type, type_str

BUILTIN_SCALARS = frozenset({"Int", "Float", "String", "Boolean", "ID"})
_INPUT_KINDS = (Kind.SCALAR, Kind.ENUM, Kind.INPUT_OBJECT)


def check_references(sub: Subgraph, issues: IssueCollector) -> None:
    for t in sub.types.values():
        if t.kind in (Kind.OBJECT, Kind.INTERFACE):
            _check_fields(sub, t, issues)
            _check_implementations(sub, t, issues)
        elif t.kind is Kind.INPUT_OBJECT:
            for f in t.fields.values():
                _check_type(
                    sub, f"{t.name}.{f.name}", named_type(f.type), _INPUT_KINDS, "an input", issues, t
                )
        elif t.kind is Kind.UNION:
            for member in t.members:
                target = sub.types.get(member)
                if target is None or target.kind is not Kind.OBJECT:
                    why = "" if target else " (which is not defined in this subgraph)"
                    issues.add(
                        "INVALID_GRAPHQL",
                        f'[{sub.name}] Union type "{t.name}" can only include object types, it cannot '
                        f'include "{member}"{why}',
                        t.location,
                    )


def _check_fields(sub: Subgraph, t: TypeDef, issues: IssueCollector) -> None:
    output_kinds = (*_INPUT_KINDS[:2], Kind.OBJECT, Kind.INTERFACE, Kind.UNION)
    for f in t.fields.values():
        _check_type(sub, f"{t.name}.{f.name}", named_type(f.type), output_kinds, "an output", issues, t)
        for a in f.arguments.values():
            coordinate = f"{t.name}.{f.name}({a.name}:)"
            _check_type(sub, coordinate, named_type(a.type), _INPUT_KINDS, "an input", issues, t)


def _check_type(
    sub: Subgraph,
    coordinate: str,
    name: str,
    kinds: tuple[Kind, ...],
    what: str,
    issues: IssueCollector,
    parent: TypeDef,
) -> None:
    if name in BUILTIN_SCALARS:
        return
    target = sub.types.get(name)
    if target is None:
        issues.add(
            "INVALID_GRAPHQL", f'[{sub.name}] Unknown type "{name}" (used by "{coordinate}")', parent.location
        )
    elif target.merged_kind not in kinds and target.kind not in kinds:
        issues.add(
            "INVALID_GRAPHQL",
            f'[{sub.name}] The type of "{coordinate}" must be {what} type but got "{name}"',
            parent.location,
        )


def _check_implementations(sub: Subgraph, t: TypeDef, issues: IssueCollector) -> None:
    for itf_name in t.interfaces:
        itf = sub.types.get(itf_name)
        if itf is None or itf.kind is not Kind.INTERFACE:
            issues.add(
                "INVALID_GRAPHQL",
                f'[{sub.name}] Type "{t.name}" can only implement interfaces, and "{itf_name}" is '
                + ("not an interface" if itf else "not defined in this subgraph"),
                t.location,
            )
            continue
        for name, itf_field in itf.fields.items():
            own = t.fields.get(name)
            if own is None:
                issues.add(
                    "INVALID_GRAPHQL",
                    f'[{sub.name}] Interface field "{itf_name}.{name}" expected but type "{t.name}" does not '
                    "provide it.",
                    t.location,
                )
            elif named_type(own.type) != named_type(itf_field.type) and not _is_possible_subtype(
                sub, named_type(itf_field.type), named_type(own.type)
            ):
                issues.add(
                    "INVALID_GRAPHQL",
                    f'[{sub.name}] Interface field "{itf_name}.{name}" expects type '
                    f'"{type_str(itf_field.type)}" but "{t.name}.{name}" is type "{type_str(own.type)}".',
                    own.location,
                )


def _is_possible_subtype(sub: Subgraph, abstract: str, concrete: str) -> bool:
    target = sub.types.get(abstract)
    if target is None:
        return False
    if target.kind is Kind.UNION:
        return concrete in target.members
    if target.kind is Kind.INTERFACE:
        return any(t.name == concrete for t in sub.implementations(abstract)) or (
            concrete in sub.types and abstract in sub.types[concrete].interfaces
        )
    return False
