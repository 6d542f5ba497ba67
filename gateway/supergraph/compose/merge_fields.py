"""Merging fields, arguments, input objects and enums, and writing `@join__field`."""

from __future__ import annotations

from graphql import language as ast

from .directives import has_directive, merge_description
from .merge_base import MergeState, OverrideContext, is_required, print_value, quote_string, subgraph_list
from .merged import JoinArgs, MArgument, MEnumValue, MField, MType
from .model import Argument, Field, Kind, type_str


class FieldMerging(MergeState):
    def _merge_field(
        self, dest: MType, mfield: MField, fsources: dict[int, Field | None], ctx: OverrideContext
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
                f"({subgraph_list([self.subs[i].name for i in present])}).",
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
                required = [self.subs[i].name for i, a in present.items() if is_required(a.type, a.default)]
                if required:
                    missing = [self.subs[i].name for i, a in args.items() if a is None]
                    self.issues.add(
                        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                        f'Argument "{arg_coordinate}" is required in some subgraphs but does not appear '
                        f"in all subgraphs: it is required in {subgraph_list(required)} but does not appear "
                        f"in {subgraph_list(missing)}",
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
        printed = {i: print_value(d) for i, d in defaults.items()}
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
        ctx: OverrideContext,
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
        ctx: OverrideContext,
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
                args.append(("requires", quote_string(f.requires)))
            if f.provides is not None and not input_type:
                args.append(("provides", quote_string(f.provides)))
            if not all_equal:
                args.append(("type", quote_string(type_str(f.type))))
            if not input_type and self.metas[i].is_external(dest.name, f.name):
                args.append(("external", "true"))
            if f.override_from is not None and not input_type:
                args.append(("override", quote_string(f.override_from)))
            if i in ctx.used_overridden:
                args.append(("usedOverridden", "true"))
            if label is not None:
                args.append(("overrideLabel", quote_string(label)))
            mfield.joins.append(args)

    def _merge_input(self, dest: MType) -> None:
        sources = self._sources(dest.name, Kind.INPUT_OBJECT)
        for name in self._fieldsubgraph_list(sources):
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
            self._add_join_field(dest, mfield, fsources, all_equal, OverrideContext())
            if len(present) != len(fsources) and not has_directive(mfield.directives, "inaccessible"):
                required = [self.subs[i].name for i, f in present.items() if is_required(f.type, f.default)]
                if required:
                    missing = [self.subs[i].name for i, f in fsources.items() if f is None]
                    self.issues.add(
                        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                        f'Input object field "{coordinate}" is required in some subgraphs but does not '
                        f"appear in all subgraphs: it is required in {subgraph_list(required)} but does not "
                        f"appear in {subgraph_list(missing)}",
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
                    f"defined in {subgraph_list([self.subs[i].name for i, _ in vsources])} but not in "
                    f"{subgraph_list(missing)}",
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
