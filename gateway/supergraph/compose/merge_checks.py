"""Cross-subgraph rules: `@override`, field sharing, interface keys and interface objects."""

from __future__ import annotations

import re

from .errors import SourceLocation
from .merge_base import MergeState, OverrideContext, subgraph_list
from .merged import MField, MType
from .model import Field, Kind, TypeDef

_LABEL = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-:./]*$")


_PERCENT = re.compile(r"^percent\((\d{1,2}(\.\d{1,8})?|100)\)$")


class SharingRules(MergeState):
    def _validate_override(
        self, dest: MType, mfield: MField, fsources: dict[int, Field | None]
    ) -> OverrideContext:
        ctx = OverrideContext()
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
                self.issues.hint(
                    "FROM_SUBGRAPH_DOES_NOT_EXIST",
                    f'Source subgraph "{origin}" for field "{coordinate}" on subgraph "{sub.name}" does not '
                    "exist: the @override has no effect.",
                    loc,
                )
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
                else:
                    self.issues.hint(
                        "OVERRIDE_DIRECTIVE_CAN_BE_REMOVED",
                        f'Field "{coordinate}" on subgraph "{sub.name}" no longer exists in the from '
                        "subgraph. The @override directive can be removed.",
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

    def _validate_field_sharing(
        self, dest: MType, mfield: MField, fsources: dict[int, Field | None], ctx: OverrideContext
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
            which = subgraph_list(labels, quoted=False) if shareable else "all of them"
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
                f"is resolved from {subgraph_list(resolving, quoted=False)} and defined as non-shareable in "
                f"{which}{extra}",
                *locations,
            )

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
                        f'implementation types of "{dest.name}", but it defines {subgraph_list(defined)}',
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
                    f'"{sub.name}" should define {subgraph_list(missing)} (and have them implement '
                    f'"{dest.name}").',
                    resolvable.location,
                )

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
