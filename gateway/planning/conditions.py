"""``@skip``/``@include`` conditions kept in the plan and evaluated at execution.

A condition is a set of alternatives (OR), each a set of literals (AND); a literal ``(var, True)``
holds when the variable is ``true`` (``@include(if: $var)``), ``(var, False)`` when it is not
(``@skip(if: $var)``).  ``TRUE`` has one empty alternative, ``FALSE`` none.  A field's condition is
relative to its parent: it is only looked at where the parent is in the response.  Plans are then the
same for every value of these variables; the subgraphs get the directives with the variables, the
executor skips fetches whose fields are all excluded (``Condition`` nodes), and shaping prunes the
client's selection for the values at hand (``FieldPruner``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gateway.http.lru import LRUCache
from gateway.sizing import estimate_bytes

if TYPE_CHECKING:
    from gateway.planning.operation import NField

Literal = tuple[str, bool]
Cond = frozenset[frozenset[Literal]]

TRUE: Cond = frozenset({frozenset()})
FALSE: Cond = frozenset()


def _minimal(alternatives: Iterable[frozenset[Literal]]) -> Cond:
    alts = set(alternatives)
    return frozenset(a for a in alts if not any(b < a for b in alts))


def and_(a: Cond, b: Cond) -> Cond:
    if a == TRUE:
        return b
    if b == TRUE:
        return a
    out = []
    for x in a:
        for y in b:
            both = x | y
            if not any((v, not val) in both for v, val in both):  # $v and not $v: never
                out.append(both)
    return _minimal(out)


def or_(a: Cond, b: Cond) -> Cond:
    if a == TRUE or b == TRUE:
        return TRUE
    return _minimal(a | b)


def literal(variable: str, value: bool) -> Cond:
    return frozenset({frozenset({(variable, value)})})


def holds(cond: Cond, variables: Mapping[str, Any]) -> bool:
    return any(all((variables.get(v) is True) == val for v, val in alt) for alt in cond)


def variables_of(cond: Cond) -> set[str]:
    return {v for alt in cond for v, _ in alt}


def _layer(include: str | None, skip: str | None) -> str:
    return (f" @include(if: ${include})" if include else "") + (f" @skip(if: ${skip})" if skip else "")


def with_directives(field_text: str, head_len: int, alternative: frozenset[Literal]) -> str:
    """``field_text`` (its name, alias and arguments being the first ``head_len`` characters) under one
    alternative: @include/@skip are not repeatable, so the first literal of each kind goes on the field
    and the others on inline fragments around it (``... @include(if: $b) { field @include(if: $a) }``)."""
    inc = sorted(v for v, val in alternative if val)
    skip = sorted(v for v, val in alternative if not val)
    text = field_text[:head_len] + _layer(inc[0] if inc else None, skip[0] if skip else None)
    text += field_text[head_len:]
    for i in range(1, max(len(inc), len(skip))):
        layer = _layer(inc[i] if i < len(inc) else None, skip[i] if i < len(skip) else None)
        text = f"...{layer} {{ {text} }}"
    return text


def condition_variables(fields: Iterable[NField]) -> tuple[str, ...]:
    """Every variable a condition in the normalized selection uses."""
    names: set[str] = set()

    def walk(fs: Iterable[NField]) -> None:
        for f in fs:
            names.update(variables_of(f.cond))
            for sub in (f.sub or {}).values():
                walk(sub)

    walk(fields)
    return tuple(sorted(names))


def prune(fields: Iterable[NField], variables: Mapping[str, Any]) -> tuple[NField, ...]:
    """The selection without the fields these variable values exclude."""
    out: list[NField] = []
    for f in fields:
        if f.cond != TRUE and not holds(f.cond, variables):
            continue
        if f.sub is not None:
            f = replace(f, sub={t: list(prune(sub, variables)) for t, sub in f.sub.items()})
        out.append(f)
    return tuple(out)


_PRUNED_CACHE = 4096


def _entry_bytes(key: Any, value: Any) -> int:
    return estimate_bytes(value)


class FieldPruner:
    """Prunes a plan's (or authorization's) field tuple per combination of condition values, cached by
    identity so that the pruned tuple is stable and its compiled shaping is reused."""

    def __init__(self, max_bytes: int = 16 << 20) -> None:
        # Entries hold the plan's own field tuple (the identity check below), so they would keep an
        # evicted plan's fields alive: both caches are bounded by estimated bytes, like the plan cache.
        self._cache: LRUCache[tuple[int, tuple[bool, ...]], tuple[tuple[NField, ...], tuple[NField, ...]]] = (
            LRUCache(_PRUNED_CACHE, max_bytes=max_bytes, sizer=_entry_bytes))
        self._conditions: LRUCache[int, tuple[tuple[NField, ...], tuple[str, ...]]] = LRUCache(
            _PRUNED_CACHE, max_bytes=max_bytes, sizer=_entry_bytes)

    def get(self, fields: tuple[NField, ...], variables: Mapping[str, Any]) -> tuple[NField, ...]:
        known = self._conditions.get(id(fields))
        if known is None or known[0] is not fields:
            known = (fields, condition_variables(fields))
            self._conditions.put(id(fields), known)
        conditions = known[1]
        if not conditions:
            return fields
        key = (id(fields), tuple(variables.get(v) is True for v in conditions))
        hit = self._cache.get(key)
        if hit is not None and hit[0] is fields:
            return hit[1]
        pruned = prune(fields, variables)
        self._cache.put(key, (fields, pruned))
        return pruned
