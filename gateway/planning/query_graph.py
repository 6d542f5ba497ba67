"""The query graph: what each subgraph of the supergraph can resolve, and how to enter it.

Questions the planning passes ask about the supergraph: which subgraph resolves a field directly or
through an ``@interfaceObject``, its keys, ``@provides`` trees, the possible types of an abstract type
per subgraph, the type a field has in one subgraph.  Answers depend on the supergraph only.
"""

from __future__ import annotations

from typing import Any

import graphql
from graphql import language as ast

from gateway.planning.operation import NField, Normalizer, parse_field_set
from gateway.supergraph.model import Supergraph, TypeInfo

Provided = dict[str, dict[str, Any]]  # concrete type -> field name -> Provided of the child


class PlanningError(Exception):
    pass


class QueryGraph:
    """The supergraph's resolvability questions (pure; answers for field sets are cached)."""

    def __init__(self, supergraph: Supergraph, schema: graphql.GraphQLSchema) -> None:
        self.sg = supergraph
        self.schema = schema
        self._fieldsets: dict[tuple[str, str], list[NField]] = {}

    def fieldset(self, type_name: str, fs: str) -> list[NField]:
        k = (type_name, fs)
        r = self._fieldsets.get(k)
        if r is None:
            r = self._fieldsets[k] = parse_field_set(self.schema, type_name, fs)
        return r

    def type_in(self, graph: str, type_name: str) -> bool:
        ti = self.sg.types.get(type_name)
        if ti is None:
            return True
        return not ti.join_types or any(jt.graph == graph for jt in ti.join_types)

    def is_interface_object(self, graph: str, type_name: str) -> bool:
        ti = self.sg.types.get(type_name)
        return ti is not None and any(jt.graph == graph and jt.is_interface_object for jt in ti.join_types)

    def keys(self, graph: str, type_name: str) -> list[str]:
        ti = self.sg.types.get(type_name)
        if ti is None:
            return []
        return [jt.key for jt in ti.join_types if jt.graph == graph and jt.key and jt.resolvable]

    def _key_field_names(self, graph: str, ti: TypeInfo) -> set[str]:
        names: set[str] = set()
        for jt in ti.join_types:
            if jt.graph == graph and jt.key:
                names.update(f.name for f in self.fieldset(ti.name, jt.key))
        return names

    def direct(self, graph: str, type_name: str, name: str) -> bool:
        """Can ``graph`` resolve ``type_name.name`` on the type itself (not through an interface object)?"""
        if name == "__typename":
            return True
        ti = self.sg.types.get(type_name)
        if ti is None:
            return False
        fi = ti.fields.get(name)
        if fi is None:
            return False
        if not self.type_in(graph, type_name):
            return False
        if not fi.join_fields:
            if ti.owner is not None:
                return graph == ti.owner or name in self._key_field_names(graph, ti)
            return True
        for jf in fi.join_fields:
            if jf.graph != graph:
                continue
            if jf.used_overridden:
                return False
            if jf.override_label is not None:
                # Progressive override: the overriding graph (``override:``) resolves while the label is
                # on, the overridden one (Apollo writes the label on it too) while it is off.
                on = jf.override_label in self.sg.enabled_override_labels
                return (on if jf.override is not None else not on) and not jf.external
            return not jf.external
        # Progressive override: the overridden graph keeps resolving while the label is off.
        for jf in fi.join_fields:
            if (
                jf.override_label is not None
                and jf.override_label not in self.sg.enabled_override_labels
                and jf.override is not None
                and self.sg.subgraphs.get(graph) is not None
                and self.sg.subgraphs[graph].name == jf.override
            ):
                return True
        return False

    def interface_objects_for(self, graph: str, type_name: str, name: str) -> str | None:
        """The interface-object type through which ``graph`` resolves ``type_name.name``, if any."""
        ti = self.sg.types.get(type_name)
        if ti is None or ti.kind != "OBJECT":
            return None
        ifaces: set[str] = set()
        for s in ti.implements.values():
            ifaces |= s
        for iname in sorted(ifaces):
            if self.is_interface_object(graph, iname) and self.direct(graph, iname, name):
                return iname
        return None

    def resolvable(self, graph: str, type_name: str, name: str, provided: Provided | None) -> bool:
        if provided is not None and name in provided.get(type_name, ()):
            return True
        return (
            self.direct(graph, type_name, name)
            or self.interface_objects_for(graph, type_name, name) is not None
        )

    def field_graph_type(self, graph: str, type_name: str, name: str) -> str:
        ti = self.sg.types.get(type_name)
        fi = ti.fields.get(name) if ti else None
        if fi is None:
            return ""
        for jf in fi.join_fields:
            if jf.graph == graph and jf.type:
                return jf.type.strip("[]!")
        return fi.type.strip("[]!")

    def field_graph_sig(self, graph: str, type_name: str, name: str) -> str:
        ti = self.sg.types.get(type_name)
        fi = ti.fields.get(name) if ti else None
        if fi is None:
            return ""
        for jf in fi.join_fields:
            if jf.graph == graph and jf.type:
                return jf.type
        return fi.type

    def possible_in(self, graph: str, type_name: str) -> set[str]:
        ti = self.sg.types.get(type_name)
        if ti is None:
            return set()
        if ti.kind == "OBJECT":
            return {type_name}
        if ti.kind == "UNION":
            return {m for m in ti.union_members.get(graph, set()) if self.type_in(graph, m)}
        return {
            t.name
            for t in self.sg.types.values()
            if t.kind == "OBJECT"
            and type_name in t.implements.get(graph, set())
            and self.type_in(graph, t.name)
        }

    def provided_for(self, graph: str, parent: str, name: str, return_type: str) -> Provided | None:
        ti = self.sg.types.get(parent)
        fi = ti.fields.get(name) if ti else None
        if fi is None:
            return None
        for jf in fi.join_fields:
            if jf.graph == graph and jf.provides:
                return self._provided_tree(return_type, jf.provides)
        return None

    def _provided_tree(self, type_name: str, fs: str) -> Provided:
        doc = graphql.parse("{" + fs + "}", no_location=True)
        op = doc.definitions[0]
        assert isinstance(op, ast.OperationDefinitionNode)
        named = self.schema.get_type(type_name)
        assert named is not None
        sub = Normalizer(self.schema, {}, {}).sub_for(named, [op.selection_set])
        return {t: self._fields_to_provided(fs_) for t, fs_ in sub.items()}

    def _fields_to_provided(self, fields: list[NField]) -> dict[str, Any]:
        return {
            f.name: ({t: self._fields_to_provided(x) for t, x in f.sub.items()} if f.sub else {})
            for f in fields
        }
