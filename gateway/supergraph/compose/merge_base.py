"""Shared state and helpers of the merge: sources per type, subtyping on the merged schema."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from graphql import language as ast

from .directives import FEATURES, merge_applications
from .errors import IssueCollector, SourceLocation
from .merged import MType
from .metadata import Metadata
from .model import Field, Kind, Subgraph, TypeDef, named_type, type_str


def graph_enum_names(names: Sequence[str]) -> list[str]:
    """`join__Graph` value names: upper-cased, non-alphanumerics replaced, made unique."""
    out: list[str] = []
    for name in names:
        base = re.sub(r"[^A-Z0-9_]", "_", name.upper())
        if base[:1].isdigit() or not base:
            base = "_" + base
        candidate, n = base, 1
        while candidate in out:
            candidate, n = f"{base}_{n}", n + 1
        out.append(candidate)
    return out


def quote_string(value: str) -> str:
    return ast.print_ast(ast.StringValueNode(value=value))


def is_required(type_node: ast.TypeNode, default: ast.ConstValueNode | None) -> bool:
    return isinstance(type_node, ast.NonNullTypeNode) and default is None


def print_value(value: ast.ConstValueNode | None) -> str | None:
    return None if value is None else ast.print_ast(value)


def subgraph_list(names: Sequence[str], quoted: bool = True) -> str:
    shown = [f'"{n}"' if quoted else n for n in names]
    prefix = "subgraph " if len(shown) == 1 else "subgraphs "
    if len(shown) <= 1:
        return prefix + "".join(shown)
    return prefix + ", ".join(shown[:-1]) + " and " + shown[-1]


@dataclass(slots=True)
class OverrideContext:
    """What @override decided for one field: per subgraph index."""

    used_overridden: set[int] = field(default_factory=set)
    unused_overridden: set[int] = field(default_factory=set)
    unknown_target: set[int] = field(default_factory=set)
    labels: dict[int, str] = field(default_factory=dict)


class MergeState:
    """What every part of the merge reads: subgraphs, their metadata, the merged types so far."""

    def __init__(
        self, subgraphs: Sequence[Subgraph], metas: Sequence[Metadata], issues: IssueCollector
    ) -> None:
        self.subs = list(subgraphs)
        self.metas = list(metas)
        self.issues = issues
        self.enum_names = graph_enum_names([s.name for s in self.subs])
        self.types: dict[str, MType] = {}
        self.enum_usage: dict[str, set[str]] = {}
        self.features: set[str] = set()
        self.uses_labels = False

    def _sources(self, name: str, kind: Kind) -> list[tuple[int, TypeDef]]:
        out = []
        for i, sub in enumerate(self.subs):
            t = sub.types.get(name)
            if t is not None and t.merged_kind is kind:
                out.append((i, t))
        return out

    def _graph(self, idx: int) -> str:
        return self.enum_names[idx]

    def _note_directives(self, directives: Sequence[ast.ConstDirectiveNode]) -> None:
        for d in directives:
            if d.name.value in FEATURES:
                self.features.add(d.name.value)

    def _merged_directives(
        self, per_source: Sequence[Sequence[ast.ConstDirectiveNode]]
    ) -> list[ast.ConstDirectiveNode]:
        merged = merge_applications(per_source)
        self._note_directives(merged)
        return merged

    def _type_locations(self, name: str) -> list[SourceLocation | None]:
        return [t.location for s in self.subs if (t := s.types.get(name)) is not None]

    def _implementations(self, interface: str) -> list[str]:
        out: list[str] = []
        for t in self.types.values():
            if t.kind is Kind.OBJECT and self._implements(t.name, interface, set()):
                out.append(t.name)
        return out

    def _implements(self, name: str, interface: str, seen: set[str]) -> bool:
        t = self.types.get(name)
        if t is None:
            return False
        for itf in t.interfaces:
            if itf == interface:
                return True
            if itf not in seen:
                seen.add(itf)
                if self._implements(itf, interface, seen):
                    return True
        return False

    def _is_strict_subtype(self, sup: ast.TypeNode, sub: ast.TypeNode) -> bool:
        if isinstance(sub, ast.NonNullTypeNode):
            if isinstance(sup, ast.NonNullTypeNode):
                return self._is_strict_subtype(sup.type, sub.type)
            return type_str(sup) == type_str(sub.type) or self._is_strict_subtype(sup, sub.type)
        if isinstance(sup, ast.NonNullTypeNode):
            return False
        if isinstance(sup, ast.ListTypeNode) and isinstance(sub, ast.ListTypeNode):
            return self._is_strict_subtype(sup.type, sub.type)
        if isinstance(sup, ast.NamedTypeNode) and isinstance(sub, ast.NamedTypeNode):
            target = self.types.get(sup.name.value)
            if target is None:
                return False
            if target.kind is Kind.UNION:
                return sub.name.value in target.members
            if target.kind is Kind.INTERFACE:
                return self._implements(sub.name.value, target.name, set())
        return False

    def _merge_type_reference(
        self, coordinate: str, what: str, sources: Sequence[tuple[int, ast.TypeNode]], input_position: bool
    ) -> tuple[ast.TypeNode, bool]:
        """The merged type of a field/argument, and whether all subgraphs used exactly that type."""
        dest: ast.TypeNode | None = None
        subtypes = incompatible = False
        for _, t in sources:
            if dest is None or type_str(dest) == type_str(t):
                dest = t
            elif self._is_strict_subtype(dest, t):
                subtypes = True
                if input_position:
                    dest = t
            elif self._is_strict_subtype(t, dest):
                subtypes = True
                if not input_position:
                    dest = t
            else:
                incompatible = True
        assert dest is not None
        base = named_type(dest)
        if base in self.types and self.types[base].kind is Kind.ENUM:
            self.enum_usage.setdefault(base, set()).add("input" if input_position else "output")
        if incompatible:
            detail = ", ".join(f'type "{type_str(t)}" in "{self.subs[i].name}"' for i, t in sources)
            code = "FIELD_ARGUMENT_TYPE_MISMATCH" if what == "argument" else "FIELD_TYPE_MISMATCH"
            self.issues.add(
                code, f'Type of {what} "{coordinate}" is incompatible across subgraphs: it has {detail}'
            )
        return dest, not (subtypes or incompatible)

    def _fieldsubgraph_list(self, sources: list[tuple[int, TypeDef]]) -> list[str]:
        names: list[str] = []
        for _, t in sources:
            for name in t.fields:
                if name not in names:
                    names.append(name)
        return names

    def _stand_ins(self, dest: MType, field_name: str, idx: int) -> list[tuple[str, Field]]:
        """Fields of @interfaceObject types in subgraph `idx` that stand for `dest.field_name`."""
        sub = self.subs[idx]
        if dest.kind is not Kind.OBJECT or dest.name in sub.types:
            return []
        out: list[tuple[str, Field]] = []
        for itf in dest.interfaces:
            merged_itf = self.types.get(itf)
            t = sub.types.get(itf)
            if (
                merged_itf is None
                or field_name not in merged_itf.fields
                or t is None
                or not t.interface_object
            ):
                continue
            f = t.fields.get(field_name)
            if f is not None:
                out.append((itf, f))
        return out
