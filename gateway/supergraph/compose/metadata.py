"""Derived federation facts about one subgraph: which fields are external, shareable, used."""

from __future__ import annotations

from .fieldset import target_fields
from .model import Kind, Subgraph, named_type

Coordinate = tuple[str, str]


class Metadata:
    """Predicates of Apollo's federation semantics, computed once per (upgraded) subgraph."""

    def __init__(self, sub: Subgraph) -> None:
        self.sub = sub
        self.fake_externals: set[Coordinate] = set()
        self.provided: set[Coordinate] = set()
        self.shareables: set[Coordinate] = set()
        self.used: set[Coordinate] = set()
        self._compute()

    def _compute(self) -> None:
        sub = self.sub
        for t in sub.types.values():
            if t.kind not in (Kind.OBJECT, Kind.INTERFACE):
                continue
            for key in t.keys:
                # Key fields of an extension may carry @external (federation 1 required it); they are
                # not really external: the subgraph can resolve them.
                if key.of_extension or t.extends:
                    for coord in target_fields(sub, t, key.fields, include_implementations=False):
                        f = sub.field(*coord)
                        if f is not None and f.external:
                            self.fake_externals.add(coord)
                for coord in target_fields(sub, t, key.fields, include_implementations=True):
                    self.shareables.add(coord)
                    self.used.add(coord)
            for f in t.fields.values():
                if f.requires:
                    self.used.update(target_fields(sub, t, f.requires, include_implementations=True))
                if f.provides:
                    target = sub.types.get(named_type(f.type))
                    if target is not None and target.is_composite:
                        coords = target_fields(sub, target, f.provides, include_implementations=True)
                        self.provided.update(coords)
                        self.used.update(coords)
        for t in sub.types.values():
            if t.kind is Kind.INTERFACE:
                for impl in sub.implementations(t.name):
                    for name in t.fields:
                        if name in impl.fields:
                            self.used.add((impl.name, name))
            if t.kind is not Kind.OBJECT:
                continue
            for f in t.fields.values():
                on_type = t.shareable_on_extension if f.of_extension else t.shareable_on_definition
                if f.shareable or on_type:
                    self.shareables.add((t.name, f.name))
        for coord in self.provided:
            if self.is_external(*coord):
                self.shareables.add(coord)

    def is_external(self, type_name: str, field_name: str) -> bool:
        t = self.sub.types.get(type_name)
        f = t.fields.get(field_name) if t is not None else None
        if t is None or f is None:
            return False
        marked = f.external or (self.sub.fed2 and t.external_on_type and t.kind is Kind.OBJECT)
        return marked and (type_name, field_name) not in self.fake_externals

    def is_fake_external(self, type_name: str, field_name: str) -> bool:
        return (type_name, field_name) in self.fake_externals

    def is_partially_external(self, type_name: str, field_name: str) -> bool:
        return self.is_external(type_name, field_name) and (type_name, field_name) in self.provided

    def is_fully_external(self, type_name: str, field_name: str) -> bool:
        return self.is_external(type_name, field_name) and (type_name, field_name) not in self.provided

    def is_shareable(self, type_name: str, field_name: str) -> bool:
        return (type_name, field_name) in self.shareables

    def is_used(self, type_name: str, field_name: str) -> bool:
        return (type_name, field_name) in self.used
