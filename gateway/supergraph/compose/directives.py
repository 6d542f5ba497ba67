"""Merging the directive applications that reach the supergraph (`@deprecated`, `@tag`, auth, ...)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graphql import language as ast

REPEATABLE = frozenset({"tag"})
ACCESS_CONTROL = {"requiresScopes": "scopes", "policy": "policies"}
ACCESS_CONTROL_DIRECTIVES = frozenset({"authenticated", *ACCESS_CONTROL})
FEATURES = frozenset({"inaccessible", "tag", "authenticated", "requiresScopes", "policy", "cost", "listSize"})


def _key(d: ast.ConstDirectiveNode) -> str:
    args = sorted((a.name.value, ast.print_ast(a.value)) for a in d.arguments or ())
    return d.name.value + repr(args)


def _string_matrix(d: ast.ConstDirectiveNode, arg: str) -> list[list[str]]:
    for a in d.arguments or ():
        if a.name.value == arg and isinstance(a.value, ast.ListValueNode):
            out: list[list[str]] = []
            for inner in a.value.values:
                if isinstance(inner, ast.ListValueNode):
                    out.append([v.value for v in inner.values if isinstance(v, ast.StringValueNode)])
                elif isinstance(inner, ast.StringValueNode):
                    out.append([inner.value])
            return out
    return []


def dnf_conjunction(values: Sequence[list[list[str]]]) -> list[list[str]]:
    """AND of requirements each in disjunctive normal form (OR of ANDs), simplified."""
    result: list[list[str]] = [[]]
    for dnf in values:
        result = [sorted(set(left) | set(right)) for left in result for right in dnf]
    unique: list[list[str]] = []
    for conj in sorted(result, key=lambda c: (len(c), c)):
        # A conjunction implied by a smaller one already kept is redundant.
        if conj not in unique and not any(set(kept) <= set(conj) for kept in unique):
            unique.append(conj)
    return unique


def _matrix_directive(name: str, arg: str, matrix: list[list[str]]) -> ast.ConstDirectiveNode:
    rows = [ast.ConstListValueNode(values=tuple(ast.StringValueNode(value=v) for v in c)) for c in matrix]
    value = ast.ConstListValueNode(values=tuple(rows))
    return ast.ConstDirectiveNode(
        name=ast.NameNode(value=name),
        arguments=(ast.ConstArgumentNode(name=ast.NameNode(value=arg), value=value),),
    )


def merge_applications(
    per_source: Iterable[Sequence[ast.ConstDirectiveNode]],
) -> list[ast.ConstDirectiveNode]:
    """Merge the applications found on one element in each subgraph."""
    by_name: dict[str, list[list[ast.ConstDirectiveNode]]] = {}
    for applications in per_source:
        grouped: dict[str, list[ast.ConstDirectiveNode]] = {}
        for d in applications:
            grouped.setdefault(d.name.value, []).append(d)
        for name, ds in grouped.items():
            by_name.setdefault(name, []).append(ds)
    out: list[ast.ConstDirectiveNode] = []
    for name, sources in by_name.items():
        if name in REPEATABLE:
            seen: set[str] = set()
            for ds in sources:
                for d in ds:
                    if _key(d) not in seen:
                        seen.add(_key(d))
                        out.append(d)
        elif name in ACCESS_CONTROL:
            arg = ACCESS_CONTROL[name]
            distinct: dict[str, ast.ConstDirectiveNode] = {}
            for ds in sources:
                distinct.setdefault(_key(ds[0]), ds[0])
            if len(distinct) == 1:
                out.append(next(iter(distinct.values())))
            else:
                matrix = dnf_conjunction([_string_matrix(d, arg) for d in distinct.values()])
                out.append(_matrix_directive(name, arg, matrix))
        else:
            # Non-repeatable: the application used by most subgraphs wins.
            counts: dict[str, tuple[int, ast.ConstDirectiveNode]] = {}
            for ds in sources:
                k = _key(ds[0])
                count, node = counts.get(k, (0, ds[0]))
                counts[k] = (count + 1, node)
            out.append(max(counts.values(), key=lambda c: c[0])[1])
    return out


def merge_description(descriptions: Iterable[str | None]) -> str | None:
    """The description most subgraphs use, preferring any non-empty one to an empty one."""
    counts: dict[str, int] = {}
    for d in descriptions:
        if d is not None:
            counts[d] = counts.get(d, 0) + 1
    if not counts:
        return None
    non_empty = {d: c for d, c in counts.items() if d != ""}
    pool = non_empty or counts
    return max(pool.items(), key=lambda item: item[1])[0]


def has_directive(directives: Iterable[ast.ConstDirectiveNode], name: str) -> bool:
    return any(d.name.value == name for d in directives)
