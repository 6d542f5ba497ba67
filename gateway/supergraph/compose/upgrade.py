"""Federation 1 subgraphs are upgraded to Federation 2 semantics before merging.

Same steps as Apollo's schema upgrader: `@external` on key fields of type extensions is dropped,
type extensions become definitions (an explicit `@extends` still counts as extension),
federation 1 directives on interfaces go away, unused externals are removed, and fields (and value
types) that other subgraphs also resolve become `@shareable`, since federation 1 shared them all.
"""

from __future__ import annotations

from collections.abc import Sequence

import graphql
from graphql import language as ast

from .errors import IssueCollector
from .fieldset import parse_field_set, target_fields
from .metadata import Metadata
from .model import Field, Kind, Subgraph, TypeDef, named_type

_ROOTS = ("Query", "Mutation", "Subscription")


def _is_federation_extension(t: TypeDef) -> bool:
    return t.kind in (Kind.OBJECT, Kind.INTERFACE) and (
        t.extends or (t.has_extension and not t.has_definition)
    )


def _is_root_extension(t: TypeDef) -> bool:
    return t.name in _ROOTS and t.has_extension


def upgrade_subgraphs(subgraphs: Sequence[Subgraph], issues: IssueCollector) -> None:
    """Upgrade, in place, every federation 1 subgraph of `subgraphs`."""
    if all(s.fed2 for s in subgraphs):
        return
    originals = {s.name: Metadata(s) for s in subgraphs}
    for sub in subgraphs:
        if not sub.fed2:
            _Upgrader(sub, subgraphs, originals, issues).run()


class _Upgrader:
    def __init__(
        self,
        sub: Subgraph,
        all_subs: Sequence[Subgraph],
        originals: dict[str, Metadata],
        issues: IssueCollector,
    ) -> None:
        self.sub = sub
        self.others = [s for s in all_subs if s.name != sub.name]
        self.originals = originals
        self.issues = issues

    def run(self) -> None:
        self._check_extensions_have_a_base()
        for t in self.sub.types.values():
            if t.kind is Kind.INTERFACE:
                for f in t.fields.values():
                    f.external = False
            t.external_on_type = False
        self._remove_external_on_type_extensions()
        self._remove_inactive_provides_and_requires()
        for t in self.sub.types.values():
            if _is_federation_extension(t) or _is_root_extension(t):
                t.has_extension, t.has_definition = False, True
                for f in t.fields.values():
                    f.of_extension = False
                for key in t.keys:
                    key.of_extension = False
        for t in self.sub.types.values():
            if t.kind is Kind.INTERFACE:
                t.keys.clear()
                for f in t.fields.values():
                    f.requires = f.provides = None
            elif t.kind is Kind.OBJECT:
                for f in t.fields.values():
                    target = self.sub.types.get(named_type(f.type))
                    if f.provides is not None and (target is None or not target.is_composite):
                        f.provides = None
        self._remove_unused_externals()
        self._add_shareable()

    def _check_extensions_have_a_base(self) -> None:
        for t in self.sub.types.values():
            if t.name in _ROOTS or not _is_federation_extension(t) or t.has_definition:
                continue
            if not any((o := s.types.get(t.name)) is not None and o.has_definition for s in self.others):
                self.issues.add(
                    "EXTENSION_WITH_NO_BASE",
                    f'[{self.sub.name}] Type "{t.name}" is an extension type, but there is no type '
                    f'definition for "{t.name}" in any subgraph.',
                    t.location,
                )

    def _remove_external_on_type_extensions(self) -> None:
        for t in self.sub.types.values():
            if not t.is_composite or not (_is_federation_extension(t) or _is_root_extension(t)):
                continue
            if t.keys:
                for key in t.keys:
                    for type_name, field_name in target_fields(self.sub, t, key.fields, False):
                        if type_name == t.name:
                            t.fields[field_name].external = False
                continue
            # Without a key of its own, fed1 treated fields of the owner's first key as not external.
            for other in self.others:
                other_type = other.types.get(t.name)
                if other_type is None or not other_type.keys:
                    continue
                for type_name, field_name in target_fields(
                    other, other_type, other_type.keys[0].fields, False
                ):
                    own = t.fields.get(field_name)
                    if type_name == t.name and own is not None:
                        own.external = False

    def _remove_inactive_provides_and_requires(self) -> None:
        """A @requires/@provides selecting non-external leaves does nothing for them: as Apollo's
        upgrader, keep only its external part, or drop it when nothing external is left."""
        for t in self.sub.types.values():
            for f in t.fields.values():
                if f.requires is not None:
                    f.requires = self._external_part(t, f.requires)
                if f.provides is not None:
                    target = self.sub.types.get(named_type(f.type))
                    f.provides = None if target is None else self._external_part(target, f.provides)

    def _external_part(self, parent: TypeDef, text: str) -> str | None:
        try:
            selection = parse_field_set(text)
        except graphql.GraphQLError:
            return text  # leave it: validation reports the syntax error
        if not self._selects_non_external_leaf(parent, selection):
            return text
        kept = self._without_non_external_leaves(parent, selection)
        if kept is None:
            return None
        return " ".join(graphql.print_ast(kept).split())[1:-1].strip()

    def _marked_external(self, parent: TypeDef, name: str) -> bool:
        f = parent.fields.get(name)
        if f is not None and f.external:
            return True
        if parent.kind is Kind.INTERFACE:
            return any(
                (g := impl.fields.get(name)) is not None and g.external
                for impl in self.sub.implementations(parent.name)
            )
        return False

    def _child(self, parent: TypeDef, sel: ast.SelectionNode) -> TypeDef | None:
        if isinstance(sel, ast.FieldNode):
            f = parent.fields.get(sel.name.value)
            return self.sub.types.get(named_type(f.type)) if f is not None else None
        assert isinstance(sel, ast.InlineFragmentNode)
        if sel.type_condition is None:
            return parent
        return self.sub.types.get(sel.type_condition.name.value)

    def _selects_non_external_leaf(self, parent: TypeDef, selection: ast.SelectionSetNode) -> bool:
        for sel in selection.selections:
            if isinstance(sel, ast.FieldNode):
                if sel.name.value not in parent.fields or self._marked_external(parent, sel.name.value):
                    continue
                if sel.selection_set is None:
                    return True
            elif not isinstance(sel, ast.InlineFragmentNode):
                continue
            child = self._child(parent, sel)
            if (
                sel.selection_set is not None
                and child is not None
                and self._selects_non_external_leaf(child, sel.selection_set)
            ):
                return True
        return False

    def _without_non_external_leaves(
        self, parent: TypeDef, selection: ast.SelectionSetNode
    ) -> ast.SelectionSetNode | None:
        kept: list[ast.SelectionNode] = []
        for sel in selection.selections:
            if isinstance(sel, ast.FieldNode) and (
                sel.name.value not in parent.fields or self._marked_external(parent, sel.name.value)
            ):
                kept.append(sel)
                continue
            composite = isinstance(sel, ast.FieldNode | ast.InlineFragmentNode)
            child = self._child(parent, sel) if composite else None
            if sel.selection_set is not None and child is not None:  # type: ignore[attr-defined]
                inner = self._without_non_external_leaves(child, sel.selection_set)  # type: ignore[attr-defined]
                if inner is not None:
                    kw = {k: getattr(sel, k) for k in sel.keys if k != "loc"}
                    kw["selection_set"] = inner
                    kept.append(type(sel)(**kw))
        return ast.SelectionSetNode(selections=tuple(kept)) if kept else None

    def _remove_unused_externals(self) -> None:
        meta = Metadata(self.sub)
        for t in list(self.sub.types.values()):
            if t.kind not in (Kind.OBJECT, Kind.INTERFACE):
                continue
            for name in list(t.fields):
                if meta.is_external(t.name, name) and not meta.is_used(t.name, name):
                    del t.fields[name]
            if not t.fields and t.name not in _ROOTS:
                if self._is_referenced(t.name):
                    self.issues.add(
                        "TYPE_WITH_ONLY_UNUSED_EXTERNAL",
                        f"[{self.sub.name}] Type {t.name} contains only external fields and all those "
                        "fields are all unused (they do not appear in any @key, @provides or @requires).",
                        t.location,
                    )
                else:
                    del self.sub.types[t.name]

    def _is_referenced(self, name: str) -> bool:
        for t in self.sub.types.values():
            if name in t.interfaces or name in t.members:
                return True
            for f in t.fields.values():
                if named_type(f.type) == name or any(
                    named_type(a.type) == name for a in f.arguments.values()
                ):
                    return True
        return False

    def _add_shareable(self) -> None:
        original = self.originals[self.sub.name]
        for t in self.sub.types.values():
            if t.kind is not Kind.OBJECT or t.name == "Subscription":
                continue
            if t.keys or t.name in _ROOTS:
                for f in t.fields.values():
                    if original.is_shareable(t.name, f.name):
                        continue
                    if any(self._resolved_elsewhere(other, t.name, f) for other in self.others):
                        f.shareable = True
            elif any(t.name in other.types for other in self.others):
                t.shareable_on_definition = t.shareable_on_extension = True

    def _resolved_elsewhere(self, other: Subgraph, type_name: str, f: Field) -> bool:
        other_field = other.field(type_name, f.name)
        if other_field is None:
            return False
        meta = self.originals[other.name]
        return not meta.is_external(type_name, f.name) or meta.is_partially_external(type_name, f.name)
