"""Merging validated subgraphs into a supergraph, with Apollo Federation 2's merge rules.

Output types merge by union (a field is resolvable from every subgraph that defines it, which
must then be `@shareable`), input types by intersection, enums by usage (output only: union,
input only: intersection, both: must be equal), and `join__*` applications record which subgraph
resolves what. Like Apollo, a `@join__field` is only written when needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from graphql import language as ast

from .directives import (
    ACCESS_CONTROL_DIRECTIVES,
    FEATURES,
    has_directive,
    merge_applications,
    merge_description,
)
from .errors import IssueCollector, SourceLocation
from .merged import Graph, JoinArgs, MArgument, MEnumValue, MField, MType, Supergraph
from .metadata import Metadata
from .model import Argument, Field, Kind, Subgraph, TypeDef, named_type, type_str

_LABEL = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-:./]*$")
_PERCENT = re.compile(r"^percent\((\d{1,2}(\.\d{1,8})?|100)\)$")
_MERGE_ORDER = (Kind.SCALAR, Kind.INPUT_OBJECT, Kind.INTERFACE, Kind.OBJECT)


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


def _quote(value: str) -> str:
    return ast.print_ast(ast.StringValueNode(value=value))


def _required(type_node: ast.TypeNode, default: ast.ConstValueNode | None) -> bool:
    return isinstance(type_node, ast.NonNullTypeNode) and default is None


def _printed(value: ast.ConstValueNode | None) -> str | None:
    return None if value is None else ast.print_ast(value)


@dataclass(slots=True)
class _MergeContext:
    """What @override decided for one field: per subgraph index."""

    used_overridden: set[int] = field(default_factory=set)
    unused_overridden: set[int] = field(default_factory=set)
    unknown_target: set[int] = field(default_factory=set)
    labels: dict[int, str] = field(default_factory=dict)


class Merger:
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

    # -- entry point ---------------------------------------------------------------------------
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
            graphs, self.types, roots, self._directive_definitions(), self.features, self._join_version()
        )

    def _join_version(self) -> str:
        newest = max((s.fed_version for s in self.subs if s.fed_version is not None), default=(2, 0))
        if newest >= (2, 8):
            return "v0.5"
        if newest >= (2, 7) or self.uses_labels:
            return "v0.4"
        return "v0.3"

    # -- helpers -------------------------------------------------------------------------------
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

    def _add_types_shallow(self) -> None:
        kinds: dict[str, dict[Kind, list[str]]] = {}
        for sub in self.subs:
            for t in sub.types.values():
                kinds.setdefault(t.name, {}).setdefault(t.merged_kind, []).append(sub.name)
        for name, by_kind in kinds.items():
            if len(by_kind) > 1:
                detail = " and ".join(
                    f"{kind.name.lower().replace('_', ' ')} type in {_names(subs)}"
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
                    f"defined (it is defined in {_names(by_kind[kind])} but should be defined as an "
                    "interface in at least one subgraph)",
                    *self._type_locations(name),
                )
                continue
            self.types[name] = MType(name, kind)

    def _type_locations(self, name: str) -> list[SourceLocation | None]:
        return [t.location for s in self.subs if (t := s.types.get(name)) is not None]

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
                args: JoinArgs = [("graph", graph), ("key", _quote(key.fields))]
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
                dest.implements_joins.append([("graph", self._graph(idx)), ("interface", _quote(itf))])

    def _merge_union(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.UNION)
        for _, t in sources:
            for member in t.members:
                if member not in dest.members:
                    dest.members.append(member)
        for member in dest.members:
            for idx, t in sources:
                if member in t.members:
                    dest.member_joins.append([("graph", self._graph(idx)), ("member", _quote(member))])

    # -- subtyping (on the merged schema) ------------------------------------------------------
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

    # -- object and interface fields -----------------------------------------------------------
    def _field_names(self, sources: list[tuple[int, TypeDef]]) -> list[str]:
        names: list[str] = []
        for _, t in sources:
            for name in t.fields:
                if name not in names:
                    names.append(name)
        return names

    def _merge_object(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.OBJECT)
        names = self._field_names(sources)
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
        for name in self._field_names(sources):
            fsources = {i: t.fields.get(name) for i, t in sources}
            mfield = MField(name)
            dest.fields[name] = mfield
            ctx = self._validate_override(dest, mfield, fsources)
            self._merge_field(dest, mfield, fsources, ctx)

    def _validate_interface_keys(self, dest: MType, sources: list[tuple[int, TypeDef]]) -> None:
        implementations = self._implementations(dest.name)
        for idx, t in sources:
            sub = self.subs[idx]
            if t.interface_object:
                defined = [name for name in implementations if name in sub.types]
                if defined:
                    self.issues.add(
                        "INTERFACE_OBJECT_USAGE_ERROR",
                        f'[{sub.name}] Interface type "{dest.name}" is defined as an @interfaceObject in '
                        f'subgraph "{sub.name}" so that subgraph should not define any of the '
                        f'implementation types of "{dest.name}", but it defines {_names(defined)}',
                        t.location,
                    )
                continue
            resolvable = next((k for k in t.keys if k.resolvable is not False), None)
            if resolvable is None:
                continue
            local = {i.name for i in sub.implementations(dest.name)}
            missing = [name for name in implementations if name not in local]
            if missing:
                self.issues.add(
                    "INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE",
                    f'[{sub.name}] Interface type "{dest.name}" has a resolvable key '
                    f'(@key(fields: "{resolvable.fields}")) in subgraph "{sub.name}" but that subgraph is '
                    f'missing some of the supergraph implementation types of "{dest.name}". Subgraph '
                    f'"{sub.name}" should define {_names(missing)} (and have them implement '
                    f'"{dest.name}").',
                    resolvable.location,
                )

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

    def _validate_override(
        self, dest: MType, mfield: MField, fsources: dict[int, Field | None]
    ) -> _MergeContext:
        ctx = _MergeContext()
        coordinate = f"{dest.name}.{mfield.name}"
        names = [s.name for s in self.subs]
        with_override = {i for i, f in fsources.items() if f is not None and f.override_from is not None}
        for idx in sorted(with_override):
            f = fsources[idx]
            assert f is not None and f.override_from is not None
            sub = self.subs[idx]
            src_type = sub.types[dest.name]
            loc = f.override_location
            if src_type.kind is Kind.INTERFACE:
                self.issues.add(
                    "OVERRIDE_ON_INTERFACE",
                    f'@override cannot be used on field "{coordinate}" on subgraph "{sub.name}": '
                    "@override is not supported on interface type fields.",
                    loc,
                )
                continue
            if src_type.interface_object:
                self.issues.add(
                    "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
                    "@override is not yet supported on fields of @interfaceObject types: cannot be used "
                    f'on field "{coordinate}" on subgraph "{sub.name}".',
                    loc,
                )
                continue
            origin = f.override_from
            if origin not in names:
                # Apollo composes this (with a hint): the @override simply has no effect.
                ctx.unknown_target.add(idx)
                continue
            if origin == sub.name:
                self.issues.add(
                    "OVERRIDE_FROM_SELF_ERROR",
                    f'Source and destination subgraphs "{origin}" are the same for overridden field '
                    f'"{coordinate}"',
                    loc,
                )
                continue
            from_idx = names.index(origin)
            if from_idx in with_override:
                self.issues.add(
                    "OVERRIDE_SOURCE_HAS_OVERRIDE",
                    f'Field "{coordinate}" on subgraph "{sub.name}" is also marked with directive @override '
                    f'in subgraph "{origin}". Only one @override directive is allowed per field.',
                    loc,
                )
                continue
            from_field = fsources.get(from_idx)
            if from_field is None:
                if self._stand_ins(dest, mfield.name, from_idx):
                    self.issues.add(
                        "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
                        f'Invalid @override on field "{coordinate}" of subgraph "{sub.name}": source '
                        f'subgraph "{origin}" does not have field "{coordinate}" but abstracts it in an '
                        "@interfaceObject and overriding abstracted fields is not supported.",
                        loc,
                    )
                continue  # the field is gone from the source already: nothing to override
            from_meta = self.metas[from_idx]
            conflict: tuple[str, str] | None = None
            if from_field.requires is not None:
                conflict = ("requires", origin)
            elif from_field.provides is not None:
                conflict = ("provides", origin)
            elif self.metas[idx].is_external(dest.name, mfield.name):
                conflict = ("external", sub.name)
            if conflict is not None:
                self.issues.add(
                    "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
                    f'@override cannot be used on field "{coordinate}" on subgraph "{sub.name}" since '
                    f'"{coordinate}" on "{conflict[1]}" is marked with directive "@{conflict[0]}"',
                    loc,
                )
                continue
            if from_meta.is_external(dest.name, mfield.name):
                pass  # already not resolved by the source: the @override is a no-op
            elif from_meta.is_used(dest.name, mfield.name):
                ctx.used_overridden.add(from_idx)
            else:
                ctx.unused_overridden.add(from_idx)
            label = f.override_label
            if label is not None:
                if _LABEL.match(label) or _PERCENT.match(label):
                    ctx.labels[idx] = ctx.labels[from_idx] = label
                    self.uses_labels = True
                else:
                    self.issues.add(
                        "OVERRIDE_LABEL_INVALID",
                        f'Invalid @override label "{label}" on field "{coordinate}" on subgraph '
                        f'"{sub.name}": labels must start with a letter and after that may contain '
                        "alphanumerics, underscores, minuses, colons, periods, or slashes. Alternatively, "
                        'labels may be of the form "percent(x)" where x is a float between 0-100 '
                        "inclusive.",
                        loc,
                    )
        return ctx

    def _merge_field(
        self, dest: MType, mfield: MField, fsources: dict[int, Field | None], ctx: _MergeContext
    ) -> None:
        coordinate = f"{dest.name}.{mfield.name}"
        present = {i: f for i, f in fsources.items() if f is not None}
        all_external = all(self.metas[i].is_external(dest.name, mfield.name) for i in present)
        for i in range(len(self.subs)):
            if i not in fsources:
                all_external = all_external and all(
                    self.metas[i].is_external(itf, f.name) for itf, f in self._stand_ins(dest, mfield.name, i)
                )
        if all_external:
            self.issues.add(
                "EXTERNAL_MISSING_ON_BASE",
                f'Field "{coordinate}" is marked @external on all the subgraphs in which it is listed '
                f"({_names([self.subs[i].name for i in present])}).",
                *[f.location for f in present.values()],
            )
        internal = {i: f for i, f in present.items() if not self.metas[i].is_external(dest.name, mfield.name)}
        for i, f in present.items():
            if i not in internal and f.directives:
                for d in f.directives:
                    self.issues.add(
                        "MERGED_DIRECTIVE_APPLICATION_ON_EXTERNAL",
                        f"[{self.subs[i].name}] Cannot apply merged directive @{d.name.value} to external "
                        f'field "{coordinate}"',
                        f.location,
                    )
        mfield.description = merge_description(f.description for f in internal.values())
        mfield.directives = self._merged_directives([f.directives for f in internal.values()])
        self._merge_arguments(coordinate, mfield, internal)
        typed = internal or present
        mfield.type, all_equal = self._merge_type_reference(
            coordinate, "field", [(i, f.type) for i, f in typed.items()], input_position=False
        )
        if len(internal) != len(present):
            self._validate_external_types(coordinate, mfield, present, all_equal)
        self._add_join_field(dest, mfield, fsources, all_equal, ctx)

    def _merge_arguments(self, coordinate: str, mfield: MField, internal: dict[int, Field]) -> None:
        names: list[str] = []
        for f in internal.values():
            for name in f.arguments:
                if name not in names:
                    names.append(name)
        for name in names:
            args = {i: f.arguments.get(name) for i, f in internal.items()}
            present = {i: a for i, a in args.items() if a is not None}
            arg_coordinate = f"{coordinate}({name}:)"
            if len(present) != len(args):
                required = [self.subs[i].name for i, a in present.items() if _required(a.type, a.default)]
                if required:
                    missing = [self.subs[i].name for i, a in args.items() if a is None]
                    self.issues.add(
                        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                        f'Argument "{arg_coordinate}" is required in some subgraphs but does not appear '
                        f"in all subgraphs: it is required in {_names(required)} but does not appear in "
                        f"{_names(missing)}",
                        *[a.location for a in present.values()],
                    )
                continue  # optional arguments not known everywhere are left out
            mfield.arguments[name] = self._merge_argument(arg_coordinate, present)

    def _merge_argument(self, coordinate: str, present: dict[int, Argument]) -> MArgument:
        arg_type, _ = self._merge_type_reference(
            coordinate, "argument", [(i, a.type) for i, a in present.items()], input_position=True
        )
        marg = MArgument(next(iter(present.values())).name, arg_type)
        marg.description = merge_description(a.description for a in present.values())
        marg.directives = self._merged_directives([a.directives for a in present.values()])
        marg.default = self._merge_default(coordinate, "Argument", {i: a.default for i, a in present.items()})
        return marg

    def _merge_default(
        self, coordinate: str, what: str, defaults: dict[int, ast.ConstValueNode | None]
    ) -> ast.ConstValueNode | None:
        printed = {i: _printed(d) for i, d in defaults.items()}
        distinct = {p for p in printed.values() if p is not None}
        if len(distinct) > 1:
            detail = ", ".join(
                f'default value {p} in "{self.subs[i].name}"'
                if p is not None
                else f'no default value in "{self.subs[i].name}"'
                for i, p in printed.items()
            )
            code = "FIELD_ARGUMENT_DEFAULT_MISMATCH" if what == "Argument" else "INPUT_FIELD_DEFAULT_MISMATCH"
            self.issues.add(
                code,
                f'{what} "{coordinate}" has incompatible default values across subgraphs: it has {detail}',
            )
            return None
        if any(p is None for p in printed.values()):
            return None  # a default in only some subgraphs: the supergraph can't promise it
        return next(iter(defaults.values()))

    def _validate_external_types(
        self, coordinate: str, mfield: MField, present: dict[int, Field], all_equal: bool
    ) -> None:
        assert mfield.type is not None
        for i, f in present.items():
            if not self.metas[i].is_external(coordinate.split(".")[0], f.name):
                continue
            same = type_str(mfield.type) == type_str(f.type)
            if not same and not (not all_equal and self._is_strict_subtype(mfield.type, f.type)):
                self.issues.add(
                    "EXTERNAL_TYPE_MISMATCH",
                    f'Type of field "{coordinate}" is incompatible across subgraphs (where marked '
                    f'@external): it has type "{type_str(mfield.type)}" in the supergraph but type '
                    f'"{type_str(f.type)}" in "{self.subs[i].name}"',
                    f.location,
                )
            for name in mfield.arguments:
                if name not in f.arguments:
                    self.issues.add(
                        "EXTERNAL_ARGUMENT_MISSING",
                        f'Field "{coordinate}" is missing argument "{coordinate}({name}:)" in subgraph '
                        f'"{self.subs[i].name}" where it is marked @external',
                        f.location,
                    )

    def _needs_join_field(
        self,
        parent: str,
        fsources: dict[int, Field | None],
        all_equal: bool,
        ctx: _MergeContext,
        input_type: bool,
    ) -> bool:
        if not all_equal or ctx.used_overridden or ctx.labels:
            return True
        for i, f in fsources.items():
            if f is not None and i not in ctx.unused_overridden:
                if not input_type and (self.metas[i].is_external(parent, f.name) or f.requires or f.provides):
                    return True
            elif parent in self.subs[i].types:
                return True
        return False

    def _add_join_field(
        self,
        dest: MType,
        mfield: MField,
        fsources: dict[int, Field | None],
        all_equal: bool,
        ctx: _MergeContext,
    ) -> None:
        input_type = dest.kind is Kind.INPUT_OBJECT
        if not self._needs_join_field(dest.name, fsources, all_equal, ctx, input_type):
            return
        for i, f in fsources.items():
            label = ctx.labels.get(i)
            if f is None or (i in ctx.unused_overridden and label is None):
                continue
            args: JoinArgs = [("graph", self._graph(i))]
            if f.requires is not None and not input_type:
                args.append(("requires", _quote(f.requires)))
            if f.provides is not None and not input_type:
                args.append(("provides", _quote(f.provides)))
            if not all_equal:
                args.append(("type", _quote(type_str(f.type))))
            if not input_type and self.metas[i].is_external(dest.name, f.name):
                args.append(("external", "true"))
            if f.override_from is not None and not input_type:
                args.append(("override", _quote(f.override_from)))
            if i in ctx.used_overridden:
                args.append(("usedOverridden", "true"))
            if label is not None:
                args.append(("overrideLabel", _quote(label)))
            mfield.joins.append(args)

    def _validate_field_sharing(
        self, dest: MType, mfield: MField, fsources: dict[int, Field | None], ctx: _MergeContext
    ) -> None:
        shareable: list[str] = []
        non_shareable: list[tuple[int, str]] = []
        resolving: list[str] = []
        locations: list[SourceLocation | None] = []
        for i, sub in enumerate(self.subs):
            meta = self.metas[i]
            candidates: list[tuple[str, Field, str]] = []
            f = fsources.get(i)
            if f is None:
                for itf, stand_in in self._stand_ins(dest, mfield.name, i):
                    label = f'"{sub.name}" (through @interfaceObject field "{itf}.{mfield.name}")'
                    candidates.append((itf, stand_in, label))
            elif i in ctx.used_overridden or i in ctx.unused_overridden:
                continue
            else:
                candidates.append((dest.name, f, f'"{sub.name}"'))
            for type_name, cf, label in candidates:
                if meta.is_fully_external(type_name, cf.name):
                    continue
                resolving.append(label)
                locations.append(cf.location)
                if meta.is_shareable(type_name, cf.name):
                    shareable.append(label)
                else:
                    non_shareable.append((i, label))
        if non_shareable and (shareable or len(non_shareable) > 1):
            labels = [label for _, label in non_shareable]
            which = _names(labels, quote=False) if shareable else "all of them"
            extra = ""
            targetless = next((label for i, label in non_shareable if i in ctx.unknown_target), None)
            if targetless is not None:
                extra = (
                    f' (please note that "{dest.name}.{mfield.name}" has an @override directive in '
                    f"{targetless} that targets an unknown subgraph so this could be due to misspelling the "
                    "@override(from:) argument)"
                )
            self.issues.add(
                "INVALID_FIELD_SHARING",
                f'Non-shareable field "{dest.name}.{mfield.name}" is resolved from multiple subgraphs: it '
                f"is resolved from {_names(resolving, quote=False)} and defined as non-shareable in "
                f"{which}{extra}",
                *locations,
            )

    # -- input objects and enums ---------------------------------------------------------------
    def _merge_input(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.INPUT_OBJECT)
        for name in self._field_names(sources):
            fsources = {i: t.fields.get(name) for i, t in sources}
            present = {i: f for i, f in fsources.items() if f is not None}
            coordinate = f"{dest.name}.{name}"
            mfield = MField(name)
            mfield.description = merge_description(f.description for f in present.values())
            mfield.directives = self._merged_directives([f.directives for f in present.values()])
            mfield.type, all_equal = self._merge_type_reference(
                coordinate, "field", [(i, f.type) for i, f in present.items()], input_position=True
            )
            mfield.default = self._merge_default(
                coordinate, "Input field", {i: f.default for i, f in present.items()}
            )
            self._add_join_field(dest, mfield, fsources, all_equal, _MergeContext())
            if len(present) != len(fsources) and not has_directive(mfield.directives, "inaccessible"):
                required = [self.subs[i].name for i, f in present.items() if _required(f.type, f.default)]
                if required:
                    missing = [self.subs[i].name for i, f in fsources.items() if f is None]
                    self.issues.add(
                        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                        f'Input object field "{coordinate}" is required in some subgraphs but does not '
                        f"appear in all subgraphs: it is required in {_names(required)} but does not "
                        f"appear in {_names(missing)}",
                        *[f.location for f in present.values()],
                    )
                continue  # input types merge by intersection
            dest.fields[name] = mfield
        if not dest.fields:
            self.issues.add(
                "EMPTY_MERGED_INPUT_TYPE",
                f'None of the fields of input object type "{dest.name}" are consistently defined in all '
                "the subgraphs defining that type. As only fields common to all subgraphs are merged, "
                "this would result in an empty type.",
                *[t.location for _, t in sources],
            )

    def _merge_enum(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.ENUM)
        usage = self.enum_usage.get(dest.name, {"output"})
        for _, t in sources:
            for name in t.values:
                if name not in dest.values:
                    dest.values[name] = MEnumValue(name)
        for name, value in list(dest.values.items()):
            vsources = [(i, t.values[name]) for i, t in sources if name in t.values]
            value.description = merge_description(v.description for _, v in vsources)
            value.directives = self._merged_directives([v.directives for _, v in vsources])
            value.joins = [[("graph", self._graph(i))] for i, _ in vsources]
            if (
                "input" not in usage
                or len(vsources) == len(sources)
                or has_directive(value.directives, "inaccessible")
            ):
                continue
            if "output" in usage:
                missing = [self.subs[i].name for i, t in sources if name not in t.values]
                self.issues.add(
                    "ENUM_VALUE_MISMATCH",
                    f'Enum type "{dest.name}" is used as both input type and output type, but value '
                    f'"{name}" is not defined in all the subgraphs defining "{dest.name}": "{name}" is '
                    f"defined in {_names([self.subs[i].name for i, _ in vsources])} but not in "
                    f"{_names(missing)}",
                    *[v.location for _, v in vsources],
                )
            else:
                del dest.values[name]  # input-only enums merge by intersection
        if not dest.values:
            self.issues.add(
                "EMPTY_MERGED_ENUM_TYPE",
                f'None of the values of enum type "{dest.name}" are defined consistently in all the '
                "subgraphs defining that type. As only values common to all subgraphs are merged, this "
                "would result in an empty type.",
                *[t.location for _, t in sources],
            )

    # -- after merging -------------------------------------------------------------------------
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
                    self._validate_field_sharing(t, added, {}, _MergeContext())

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

    def _post_merge_validations(self) -> None:
        for t in self.types.values():
            if t.kind not in (Kind.OBJECT, Kind.INTERFACE):
                continue
            for itf_name in t.interfaces:
                itf = self.types.get(itf_name)
                if itf is None:
                    continue
                for name in itf.fields:
                    if name not in t.fields:
                        self.issues.add(
                            "INTERFACE_FIELD_NO_IMPLEM",
                            f'Interface field "{itf_name}.{name}" is declared in some subgraph but type '
                            f'"{t.name}", which implements "{itf_name}", does not have field "{name}".',
                            *self._type_locations(t.name),
                        )

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


def _names(names: Sequence[str], quote: bool = True) -> str:
    shown = [f'"{n}"' if quote else n for n in names]
    prefix = "subgraph " if len(shown) == 1 else "subgraphs "
    if len(shown) <= 1:
        return prefix + "".join(shown)
    return prefix + ", ".join(shown[:-1]) + " and " + shown[-1]
