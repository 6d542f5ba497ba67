"""Merging validated subgraphs into a supergraph, with Apollo Federation 2's merge rules.

Output types merge by union (a field is resolvable from every subgraph that defines it, which
must then be `@shareable`), input types by intersection, enums by usage (output only: union,
input only: intersection, both: must be equal), and `join__*` applications record which subgraph
resolves what. Like Apollo, a `@join__field` is only written when needed.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import language as ast

from .directives import (
    ACCESS_CONTROL_DIRECTIVES,
    merge_description,
)
from .merge_base import OverrideContext, quote_string, subgraph_list
from .merge_checks import SharingRules
from .merge_fields import FieldMerging
from .merged import Graph, JoinArgs, MField, MType, Supergraph
from .model import Kind, TypeDef

_MERGE_ORDER = (Kind.SCALAR, Kind.INPUT_OBJECT, Kind.INTERFACE, Kind.OBJECT)
_EXECUTABLE_LOCATIONS = frozenset(
    {
        "QUERY",
        "MUTATION",
        "SUBSCRIPTION",
        "FIELD",
        "FRAGMENT_DEFINITION",
        "FRAGMENT_SPREAD",
        "INLINE_FRAGMENT",
        "VARIABLE_DEFINITION",
    }
)


class Merger(FieldMerging, SharingRules):
    """Merges upgraded, validated subgraphs; problems go to the IssueCollector, not exceptions."""

    def merge(self) -> Supergraph:
        self._add_types_shallow()
        for t in self.types.values():
            if t.kind in (Kind.OBJECT, Kind.INTERFACE):
                self._merge_implements(t)
            elif t.kind is Kind.UNION:
                self._merge_type_header(t)
                self._merge_union(t)
        for kind in _MERGE_ORDER:
            for t in list(self.types.values()):
                if t.kind is kind:
                    self._merge_type_header(t)
                    if kind is Kind.INPUT_OBJECT:
                        self._merge_input(t)
                    elif kind is Kind.INTERFACE:
                        self._merge_interface(t)
                    elif kind is Kind.OBJECT:
                        self._merge_object(t)
        for t in list(self.types.values()):
            if t.kind is Kind.ENUM:
                self._merge_type_header(t)
                self._merge_enum(t)
        if "Query" not in self.types:
            self.issues.add(
                "NO_QUERIES", "No queries found in any subgraph: a supergraph must have a query root type."
            )
        self._add_interface_object_fields()
        self._propagate_access_control()
        self._post_merge_validations()
        roots = {
            op: name
            for op, name in (("query", "Query"), ("mutation", "Mutation"), ("subscription", "Subscription"))
            if name in self.types
        }
        graphs = [Graph(e, s.name, s.url) for e, s in zip(self.enum_names, self.subs, strict=True)]
        return Supergraph(
            graphs,
            self.types,
            roots,
            self._directive_definitions(),
            self._feature_order(),
            self._join_version(),
        )

    def _feature_order(self) -> list[str]:
        """Used features in the order Apollo links them: by subgraph, then by import order."""
        order: list[str] = []
        for sub in self.subs:
            order.extend(name for name in sub.imported if name in self.features and name not in order)
        return order + sorted(self.features - set(order))

    def _join_version(self) -> str:
        newest = max((s.fed_version for s in self.subs if s.fed_version is not None), default=(2, 0))
        if newest >= (2, 8):
            return "v0.5"
        if newest >= (2, 7) or self.uses_labels:
            return "v0.4"
        return "v0.3"

    def _add_types_shallow(self) -> None:
        kinds: dict[str, dict[Kind, list[str]]] = {}
        for sub in self.subs:
            for t in sub.types.values():
                kinds.setdefault(t.name, {}).setdefault(t.merged_kind, []).append(sub.name)
        for name, by_kind in kinds.items():
            if len(by_kind) > 1:
                detail = " and ".join(
                    f"{kind.name.lower().replace('_', ' ')} type in {subgraph_list(subs)}"
                    for kind, subs in by_kind.items()
                )
                self.issues.add(
                    "TYPE_KIND_MISMATCH",
                    f'Type "{name}" has mismatched kind: it is defined as {detail}',
                    *self._type_locations(name),
                )
                continue
            kind = next(iter(by_kind))
            if kind is Kind.INTERFACE and all(
                s.types[name].interface_object for s in self.subs if name in s.types
            ):
                self.issues.add(
                    "INTERFACE_OBJECT_USAGE_ERROR",
                    f'Type "{name}" is declared with @interfaceObject in all the subgraphs in which it is '
                    f"defined (it is defined in {subgraph_list(by_kind[kind])} but should be defined as an "
                    "interface in at least one subgraph)",
                    *self._type_locations(name),
                )
                continue
            self.types[name] = MType(name, kind)

    def _merge_type_header(self, dest: MType) -> None:
        sources = self._sources(dest.name, dest.kind)
        self._check_extension_with_no_base(dest, sources)
        dest.description = merge_description(t.description for _, t in sources)
        dest.directives = self._merged_directives([t.directives for _, t in sources])
        for idx, t in sources:
            graph = self._graph(idx)
            iface_obj: JoinArgs = [("isInterfaceObject", "true")] if t.interface_object else []
            if not t.keys:
                dest.joins.append([("graph", graph), *iface_obj])
                continue
            for key in t.keys:
                args: JoinArgs = [("graph", graph), ("key", quote_string(key.fields))]
                if key.of_extension or t.extends:
                    args.append(("extension", "true"))
                if key.resolvable is not None:
                    args.append(("resolvable", "true" if key.resolvable else "false"))
                dest.joins.append(args + iface_obj)

    def _check_extension_with_no_base(self, dest: MType, sources: list[tuple[int, TypeDef]]) -> None:
        if dest.name in ("Query", "Mutation", "Subscription"):
            return
        if any(t.has_extension for _, t in sources) and not any(t.has_definition for _, t in sources):
            for idx, t in sources:
                self.issues.add(
                    "EXTENSION_WITH_NO_BASE",
                    f'[{self.subs[idx].name}] Type "{dest.name}" is an extension type, but there is no '
                    f'type definition for "{dest.name}" in any subgraph.',
                    t.location,
                )

    def _merge_implements(self, dest: MType) -> None:
        for idx, t in self._sources(dest.name, dest.kind):
            for itf in t.interfaces:
                if itf not in dest.interfaces:
                    dest.interfaces.append(itf)
                dest.implements_joins.append([("graph", self._graph(idx)), ("interface", quote_string(itf))])

    def _merge_union(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.UNION)
        for _, t in sources:
            for member in t.members:
                if member not in dest.members:
                    dest.members.append(member)
        for member in dest.members:
            for idx, t in sources:
                if member in t.members:
                    dest.member_joins.append([("graph", self._graph(idx)), ("member", quote_string(member))])

    def _merge_object(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.OBJECT)
        names = self._fieldsubgraph_list(sources)
        if not names:
            del self.types[dest.name]
            return
        for name in names:
            fsources = {i: t.fields.get(name) for i, t in sources}
            mfield = MField(name)
            dest.fields[name] = mfield
            ctx = self._validate_override(dest, mfield, fsources)
            self._merge_field(dest, mfield, fsources, ctx)
            self._validate_field_sharing(dest, mfield, fsources, ctx)

    def _merge_interface(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.INTERFACE)
        self._validate_interface_keys(dest, sources)
        for name in self._fieldsubgraph_list(sources):
            fsources = {i: t.fields.get(name) for i, t in sources}
            mfield = MField(name)
            dest.fields[name] = mfield
            ctx = self._validate_override(dest, mfield, fsources)
            self._merge_field(dest, mfield, fsources, ctx)

    def _add_interface_object_fields(self) -> None:
        """Fields an @interfaceObject adds to an interface also exist on its implementations."""
        for t in list(self.types.values()):
            if t.kind is not Kind.OBJECT:
                continue
            for itf_name in t.interfaces:
                itf = self.types.get(itf_name)
                if itf is None:
                    continue
                for name, itf_field in itf.fields.items():
                    if name in t.fields or not self._provided_by_interface_object(itf_name, name):
                        continue
                    added = MField(
                        name,
                        itf_field.type,
                        itf_field.description,
                        dict(itf_field.arguments),
                        None,
                        list(itf_field.directives),
                        [[]],
                    )
                    t.fields[name] = added
                    self._validate_field_sharing(t, added, {}, OverrideContext())

    def _provided_by_interface_object(self, interface: str, field_name: str) -> bool:
        for sub, meta in zip(self.subs, self.metas, strict=True):
            t = sub.types.get(interface)
            if (
                t is not None
                and t.interface_object
                and field_name in t.fields
                and not meta.is_external(interface, field_name)
            ):
                return True
        return False

    def _propagate_access_control(self) -> None:
        """An interface (field) carries the auth requirements of all its implementations (field), ANDed.

        Otherwise a query through the interface would reach data that the object type protects.
        """
        for itf in self.types.values():
            if itf.kind is not Kind.INTERFACE:
                continue
            impls = [self.types[name] for name in self._implementations(itf.name)]
            itf.directives = self._with_access_control(itf.directives, [t.directives for t in impls])
            for name, f in itf.fields.items():
                impl_fields = [t.fields[name].directives for t in impls if name in t.fields]
                f.directives = self._with_access_control(f.directives, impl_fields)

    def _with_access_control(
        self, own: list[ast.ConstDirectiveNode], others: Sequence[Sequence[ast.ConstDirectiveNode]]
    ) -> list[ast.ConstDirectiveNode]:
        def auth(ds: Sequence[ast.ConstDirectiveNode]) -> list[ast.ConstDirectiveNode]:
            return [d for d in ds if d.name.value in ACCESS_CONTROL_DIRECTIVES]

        extra = [auth(ds) for ds in others if auth(ds)]
        if not extra:
            return own
        merged = self._merged_directives([auth(own), *extra])
        return [d for d in own if d.name.value not in ACCESS_CONTROL_DIRECTIVES] + merged

    def _directive_definitions(self) -> list[ast.DirectiveDefinitionNode]:
        """Executable directives defined in every subgraph (intersection of their executable locations)."""
        out: list[ast.DirectiveDefinitionNode] = []
        names: list[str] = []
        for sub in self.subs:
            for name in sub.directive_definitions:
                if name not in names:
                    names.append(name)
        for name in names:
            defs = [s.directive_definitions.get(name) for s in self.subs]
            first = next(d for d in defs if d is not None)
            composed = any(name in s.composed_directives for s in self.subs)
            if composed:
                out.append(first.node)
                continue
            if any(d is None for d in defs):
                continue
            common = [
                loc
                for loc in first.node.locations
                if loc.value in _EXECUTABLE_LOCATIONS
                and all(
                    any(loc.value == other.value for other in d.node.locations) for d in defs if d is not None
                )
            ]
            if common:
                out.append(
                    ast.DirectiveDefinitionNode(
                        name=first.node.name,
                        description=first.node.description,
                        arguments=first.node.arguments,
                        repeatable=all(d.node.repeatable for d in defs if d is not None),
                        locations=tuple(common),
                    )
                )
        return out
