"""Subgraph selections as the planner builds them (``OutSel``), and the passes over them.

An ``OutSel`` is the selection one fetch sends: fields by response key, fragments by type condition.
Here: merging, printing, clash detection and internal aliasing of sibling fragments, conversion to the
plan's ``SelectionTree``, and the representation checks (``covers``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from gateway.planning.conditions import TRUE, Cond, or_, variables_of, with_directives
from gateway.planning.operation import NField, print_args
from gateway.planning.plan import Renames, SelectionTree


@dataclass(slots=True)
class OutField:
    name: str
    key: str
    args: str
    sub: OutSel | None = None
    sig: str = ""  # the field's type in the subgraph: response keys clashing on it get aliased
    alias: str | None = None  # internal alias chosen to avoid a clash (renamed back on merge)
    cond: Cond = TRUE  # the client's @skip/@include (OR of every use; the planner's own uses are TRUE)


@dataclass(slots=True)
class OutSel:
    fields: dict[str, OutField] = field(default_factory=dict)
    frags: dict[str, OutSel] = field(default_factory=dict)

    def add(
        self, key: str, name: str, args: str = "", composite: bool = False, sig: str = "", cond: Cond = TRUE
    ) -> OutField:
        f = self.fields.get(key)
        if f is None:
            f = OutField(name, key, args, OutSel() if composite else None, sig, cond=cond)
            self.fields[key] = f
        else:
            if composite and f.sub is None:
                f.sub = OutSel()
            if f.cond != TRUE:
                f.cond = or_(f.cond, cond)
        return f

    def frag(self, cond: str) -> OutSel:
        s = self.frags.get(cond)
        if s is None:
            s = self.frags[cond] = OutSel()
        return s

    def merge(self, other: OutSel) -> None:
        for k, f in other.fields.items():
            mine = self.add(k, f.name, f.args, f.sub is not None, f.sig, f.cond)
            if f.sub is not None and mine.sub is not None:
                mine.sub.merge(f.sub)
        for c, s in other.frags.items():
            self.frag(c).merge(s)

    def text(self) -> str:
        parts: list[str] = []
        for f in self.fields.values():
            rkey = f.alias or f.key
            head = f.name if rkey == f.name else f"{rkey}: {f.name}"
            head += f.args
            if f.sub is not None:
                body = " { " + f.sub.text() + " }"
            else:
                body = ""
            if f.cond == TRUE:
                parts.append(head + body)
            else:  # one copy per alternative: GraphQL merges them, each with its own directives
                alternatives = sorted(f.cond, key=sorted)
                parts.extend(with_directives(head + body, len(head), alt) for alt in alternatives)
        for c, s in self.frags.items():
            if s.fields or s.frags:
                parts.append(f"... on {c} {{ {s.text()} }}")
        return " ".join(parts) if parts else "__typename"


def condition_variables(sel: OutSel) -> set[str]:
    """The variables the printed @skip/@include of ``sel`` use (they must be declared, and only they)."""
    names: set[str] = set()
    for f in sel.fields.values():
        names |= variables_of(f.cond)
        if f.sub is not None:
            names |= condition_variables(f.sub)
    for s in sel.frags.values():
        names |= condition_variables(s)
    return names


def top_condition(sel: OutSel) -> Cond | None:
    """When the fields a fetch asks for at its top (inside ``... on T`` for ``_entities``) are all
    conditional: the OR of their conditions (the fetch is useless otherwise); None when one is not."""
    cond: Cond | None = None
    tops = [*sel.fields.values(), *(f for s in sel.frags.values() for f in s.fields.values())]
    if any(s.frags for s in sel.frags.values()):
        return None
    for f in tops:
        if f.cond == TRUE:
            return None
        cond = f.cond if cond is None else or_(cond, f.cond)
    return cond


def names_clash(a: OutSel, b: OutSel) -> bool:
    """Would one representation need two different values under one field name?"""
    fa, fb = flat_fields(a), flat_fields(b)
    by_name_a = {f.name: f for fs in fa.values() for f in fs}
    for fs in fb.values():
        for f in fs:
            other = by_name_a.get(f.name)
            if other is None:
                continue
            if other.key != f.key or other.args != f.args:
                return True
            if other.sub is not None and f.sub is not None and names_clash(other.sub, f.sub):
                return True
    return False


def flat_fields(sel: OutSel) -> dict[str, list[OutField]]:
    out: dict[str, list[OutField]] = {}
    for k, f in sel.fields.items():
        out.setdefault(k, []).append(f)
    for s in sel.frags.values():
        for k, fs in flat_fields(s).items():
            out.setdefault(k, []).extend(fs)
    return out


def fields_clash(a: OutField, b: OutField) -> bool:
    if a.name != b.name or a.args != b.args or (a.sig and b.sig and a.sig != b.sig):
        return True
    if a.sub is None or b.sub is None:
        return False
    fa, fb = flat_fields(a.sub), flat_fields(b.sub)
    return any(fields_clash(x, y) for k in fa.keys() & fb.keys() for x in fa[k] for y in fb[k])


def dealias(sel: OutSel, counter: list[int]) -> Renames | None:
    """Alias fields of sibling fragments whose response keys clash (different types or arguments in the
    subgraph), so the subgraph operation is valid; returns how to rename the results back."""
    renames: list[tuple[str, str, Renames | None]] = []
    seen: dict[str, OutField] = dict(sel.fields)

    def visit(s: OutSel, top: bool) -> None:
        for k, f in s.fields.items():
            if not top:
                prev = seen.get(k)
                if prev is None:
                    seen[k] = f
                elif prev is not f and fields_clash(prev, f):
                    counter[0] += 1
                    f.alias = f"{k}__qp_alias_{counter[0]}"
            child = dealias(f.sub, counter) if f.sub is not None else None
            if f.alias is not None or child is not None:
                renames.append((f.alias or k, k, child))
        for fs in s.frags.values():
            visit(fs, False)

    visit(sel, True)
    return tuple(renames) if renames else None


def covers(sel: OutSel | None, f: NField) -> bool:
    """Does ``sel`` (a representation's fields) hold ``f`` with all of its subselection?"""
    if sel is None:
        return False
    have = sel.fields.get(f.key)
    if have is None:
        return False
    if not f.sub:
        return True
    if have.sub is None:
        return False
    return all(
        covers(have.sub if not t or t not in have.sub.frags else have.sub.frags[t], x) or covers(have.sub, x)
        for t, xs in f.sub.items()
        for x in xs
        if x.name != "__typename"
    )


def alias_arguments(fields: list[NField]) -> list[NField]:
    """Required fields that take arguments get an internal alias so they never clash with the client's."""
    out: list[NField] = []
    for f in fields:
        sub = {t: alias_arguments(x) for t, x in f.sub.items()} if f.sub else f.sub
        key = f.key
        if f.args:
            digest = hashlib.sha1(print_args(f.args).encode(), usedforsecurity=False).hexdigest()[:8]
            key = f"_req_{f.name}_{digest}"
        out.append(replace(f, key=key, sub=sub))
    return out


def to_tree(sel: OutSel) -> SelectionTree:
    return SelectionTree(
        fields=tuple(
            (f.name, k, to_tree(f.sub) if f.sub is not None else None) for k, f in sel.fields.items()
        ),
        fragments=tuple((c, to_tree(s)) for c, s in sel.frags.items()),
    )
