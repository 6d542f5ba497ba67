"""Per-subgraph federation validation: `@key`, `@requires`, `@provides` and `@external` usage."""

from __future__ import annotations

import graphql

from .errors import IssueCollector, SourceLocation
from .fieldset import FieldSetError, Visit, parse_field_set, walk
from .list_size import validate_list_sizes
from .metadata import Metadata
from .model import Field, Key, Kind, Subgraph, TypeDef, named_type

# A @provides on a field that cannot carry one ends Apollo's validation of the subgraph at once (it
# throws): that error is then the subgraph's only one, and so it is here.
_FATAL = frozenset({"PROVIDES_ON_NON_OBJECT_FIELD", "EXTERNAL_COLLISION_WITH_ANOTHER_DIRECTIVE"})


def validate_subgraph(sub: Subgraph, meta: Metadata, issues: IssueCollector) -> None:
    start = len(issues.issues)
    _validate_subgraph(sub, meta, issues)
    fatal = next((i for i in issues.issues[start:] if i.code in _FATAL), None)
    if fatal is not None:
        del issues.issues[start:]
        issues.issues.append(fatal)


def _validate_subgraph(sub: Subgraph, meta: Metadata, issues: IssueCollector) -> None:
    if sub.fed2:
        validate_interface_keys(sub, issues)
    validate_list_sizes(sub, issues)
    for t in sub.types.values():
        if t.kind not in (Kind.OBJECT, Kind.INTERFACE):
            continue
        for key in t.keys:
            _validate_key(sub, meta, t, key.fields, key.location, issues)
        for f in t.fields.values():
            if f.requires is not None:
                _validate_requires(sub, meta, t, f, issues)
            if f.provides is not None:
                _validate_provides(sub, meta, t, f, issues)
            if t.kind is Kind.INTERFACE and f.external:
                issues.add(
                    "EXTERNAL_ON_INTERFACE",
                    f'[{sub.name}] Interface type field "{t.name}.{f.name}" is marked @external but '
                    "@external is not allowed on interface fields (it is nonsensical).",
                    f.location,
                )
            elif meta.is_external(t.name, f.name) and not meta.is_used(t.name, f.name):
                issues.add(
                    "EXTERNAL_UNUSED",
                    f'[{sub.name}] Field "{t.name}.{f.name}" is marked @external but is not used in any '
                    "federation directive (@key, @provides, @requires) or to satisfy an interface; the field "
                    "declaration has no use and should be removed (or the field should not be @external).",
                    f.location,
                )


def _normalized_field_set(text: str) -> str:
    try:
        return " ".join(graphql.print_ast(parse_field_set(text)).split())
    except graphql.GraphQLError:
        return text


def _key_text(key: Key) -> str:
    extra = "" if key.resolvable is None else f", resolvable: {'true' if key.resolvable else 'false'}"
    return f'@key(fields: "{key.fields}"{extra})'


def _quoted(types: list[TypeDef]) -> str:
    names = [f'"{t.name}"' for t in types]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return ("type " if len(names) == 1 else "types ") + listed


def _valid_key(sub: Subgraph, t: TypeDef, text: str) -> bool:
    try:
        walk(sub, t, parse_field_set(text), lambda _: None)
    except (graphql.GraphQLError, FieldSetError):
        return False
    return True


def validate_interface_keys(sub: Subgraph, issues: IssueCollector) -> None:
    """Every implementation of an interface with a @key has that key (resolvable when the interface's
    is): an entity call through the interface may land on any of them (Apollo's rule)."""
    for t in sub.types.values():
        if t.kind is not Kind.INTERFACE or not t.keys:
            continue
        impls = sub.implementations(t.name)
        if not all(_valid_key(sub, x, k.fields) for x in (t, *impls) for k in x.keys):
            continue  # an invalid key is reported as such (Apollo stops there too)
        for key in t.keys:
            want = _normalized_field_set(key.fields)
            missing: list[TypeDef] = []
            unresolvable: list[TypeDef] = []
            for impl in impls:
                match = next((k for k in impl.keys if _normalized_field_set(k.fields) == want), None)
                if match is None:
                    missing.append(impl)
                elif key.resolvable is not False and match.resolvable is False:
                    unresolvable.append(impl)
            head = f'[{sub.name}] Key {_key_text(key)} on interface type "{t.name}"'
            if missing:
                issues.add(
                    "INTERFACE_KEY_NOT_ON_IMPLEMENTATION",
                    f"{head} is missing on implementation {_quoted(missing)}.",
                    *(i.location for i in missing),
                )
            elif unresolvable:
                issues.add(
                    "INTERFACE_KEY_NOT_ON_IMPLEMENTATION",
                    f'{head} should be resolvable on all implementation types, but is declared with argument '
                    f'"@key(resolvable:)" set to false in {_quoted(unresolvable)}.',
                    *(i.location for i in unresolvable),
                )


def _prefix(sub: Subgraph, where: str, directive: str, text: str) -> str:
    return f'[{sub.name}] On {where}, for @{directive}(fields: "{text}"): '


def _walk(
    sub: Subgraph,
    meta: Metadata,
    parent: TypeDef,
    text: str,
    code: str,
    prefix: str,
    loc: SourceLocation | None,
    issues: IssueCollector,
) -> list[Visit]:
    visits: list[Visit] = []
    try:
        selection = parse_field_set(text)
    except graphql.GraphQLError as exc:
        issues.add(f"{code}_INVALID_FIELDS", prefix + f"invalid field set syntax: {exc.message}", loc)
        return visits
    try:
        walk(sub, parent, selection, visits.append, lambda t, f: _external_on_path(sub, meta, t, f))
    except FieldSetError as exc:
        issues.add(f"{code}_{exc.code_suffix}", prefix + exc.message, loc)
    return visits


def _external_on_path(sub: Subgraph, meta: Metadata, type_name: str, field_name: str) -> bool:
    """Whether a selection goes through an external field (for an interface: in any implementation)."""
    if meta.is_external(type_name, field_name):
        return True
    t = sub.types.get(type_name)
    if t is None or t.kind is not Kind.INTERFACE:
        return False
    return any(meta.is_external(impl.name, field_name) for impl in sub.implementations(type_name))


def _validate_key(
    sub: Subgraph, meta: Metadata, t: TypeDef, text: str, loc: SourceLocation | None, issues: IssueCollector
) -> None:
    prefix = _prefix(sub, f'type "{t.name}"', "key", text)
    for visit in _walk(sub, meta, t, text, "KEY", prefix, loc, issues):
        coord = f"{visit.parent.name}.{visit.field.name}"
        if visit.field.arguments:
            issues.add(
                "KEY_FIELDS_HAS_ARGS",
                prefix + f"field {coord} cannot be included because it has arguments "
                "(fields with argument are not allowed in @key)",
                loc,
            )
        target = sub.types.get(named_type(visit.field.type))
        if target is not None and target.kind in (Kind.INTERFACE, Kind.UNION):
            issues.add(
                "KEY_FIELDS_SELECT_INVALID_TYPE",
                prefix + f'field "{coord}" is a {target.kind.name.title()} type which is not allowed in @key',
                loc,
            )


def _check_external_leaves(
    sub: Subgraph,
    meta: Metadata,
    visits: list[Visit],
    directive: str,
    code: str,
    prefix: str,
    loc: SourceLocation | None,
    issues: IssueCollector,
) -> None:
    for visit in visits:
        f, parent = visit.field, visit.parent
        leaf = visit.node.selection_set is None
        if not leaf or visit.external_in_parents or meta.is_external(parent.name, f.name):
            continue
        coord = f"{parent.name}.{f.name}"
        if meta.is_fake_external(parent.name, f.name):
            why = (
                'already "effectively" provided by this subgraph (while it is marked @external, it is a @key '
                "field of an extension type, which are not internally considered external for historical/"
                "backward compatibility reasons)"
            )
        else:
            why = "already provided by this subgraph (it is not marked @external)"
        issues.add(
            f"{code}_FIELDS_MISSING_EXTERNAL",
            prefix + f'field "{coord}" should not be part of a @{directive} since it is {why}',
            loc,
        )


def _validate_requires(sub: Subgraph, meta: Metadata, t: TypeDef, f: Field, issues: IssueCollector) -> None:
    assert f.requires is not None
    prefix = _prefix(sub, f'field "{t.name}.{f.name}"', "requires", f.requires)
    if t.kind is Kind.INTERFACE:
        issues.add(
            "REQUIRES_UNSUPPORTED_ON_INTERFACE",
            prefix + "@requires is not yet supported within interfaces",
            f.requires_location,
        )
        return
    visits = _walk(sub, meta, t, f.requires, "REQUIRES", prefix, f.requires_location, issues)
    _check_external_leaves(sub, meta, visits, "requires", "REQUIRES", prefix, f.requires_location, issues)


def _validate_provides(sub: Subgraph, meta: Metadata, t: TypeDef, f: Field, issues: IssueCollector) -> None:
    assert f.provides is not None
    prefix = _prefix(sub, f'field "{t.name}.{f.name}"', "provides", f.provides)
    loc = f.provides_location
    if t.kind is Kind.INTERFACE:
        issues.add(
            "PROVIDES_UNSUPPORTED_ON_INTERFACE",
            prefix + "@provides is not yet supported within interfaces",
            loc,
        )
        return
    if meta.is_external(t.name, f.name):
        issues.add(
            "EXTERNAL_COLLISION_WITH_ANOTHER_DIRECTIVE",
            f'[{sub.name}] Cannot have both @provides and @external on field "{t.name}.{f.name}"',
            loc,
        )
        return
    target = sub.types.get(named_type(f.type))
    if target is None or not target.is_composite:
        issues.add(
            "PROVIDES_ON_NON_OBJECT_FIELD",
            f'[{sub.name}] Invalid @provides directive on field "{t.name}.{f.name}": field has type '
            f'"{graphql.print_ast(f.type)}" which is not a Composite Type',
            loc,
        )
        return
    visits = _walk(sub, meta, target, f.provides, "PROVIDES", prefix, loc, issues)
    for visit in visits:
        if visit.field.arguments:
            issues.add(
                "PROVIDES_FIELDS_HAS_ARGS",
                prefix + f"field {visit.parent.name}.{visit.field.name} cannot be included because it has "
                "arguments (fields with argument are not allowed in @provides)",
                loc,
            )
    _check_external_leaves(sub, meta, visits, "provides", "PROVIDES", prefix, loc, issues)
