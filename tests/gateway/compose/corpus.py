"""The corpus of the differential composition test: subgraph sets, valid and invalid.

Bases: every federation-audit suite's subgraphs (``../shared/federation-audit``), the benchmark
scenario's (federation 2 and 1), and our seven domain subgraphs (``schema/``).  Mutations of each base,
drawn with a seed per base so the corpus is the same on every run: a field removed, a key changed
(to another field or to one that does not exist), a field's type changed, an ``@external`` dropped,
a ``@shareable`` dropped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import graphql
from graphql import language as ast

REPO = Path(__file__).resolve().parents[3]
AUDIT = REPO.parent / "shared" / "federation-audit"
BENCH = REPO.parent / "shared" / "bench-scenario"
SCHEMA = REPO / "schema"
_GRAPH = re.compile(r'@join__graph\(name: "([^"]+)", url: "([^"]+)"\)')


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    subgraphs: tuple[tuple[str, str, str], ...]  # (name, url, sdl)


def _urls(supergraph: str) -> dict[str, str]:
    return dict(_GRAPH.findall(supergraph))


def bases() -> list[Case]:
    out: list[Case] = []
    if AUDIT.is_dir():
        for ref in sorted((AUDIT / "supergraphs").glob("*.graphql")):
            urls = _urls(ref.read_text())
            subs = tuple(
                (p.stem, urls[p.stem], p.read_text())
                for p in sorted((AUDIT / "subgraphs" / ref.stem).glob("*.graphql"))
            )
            out.append(Case(f"audit/{ref.stem}", subs))
    if BENCH.is_dir():
        urls = _urls((BENCH / "supergraph.graphql").read_text())
        for variant in ("", ".fed1"):
            subs = tuple(
                (n, u, (BENCH / "subgraphs" / f"{n}{variant}.graphql").read_text())
                for n, u in sorted(urls.items())
            )
            out.append(Case(f"bench{variant or '.fed2'}", subs))
    domain = tuple(
        (p.stem, f"http://{p.stem}.local/graphql", p.read_text())
        for p in sorted(SCHEMA.glob("*.graphql"))
        if p.stem != "supergraph"
    )
    out.append(Case("domain", domain))
    return out


# ---- mutations --------------------------------------------------------------------------------------

Mutation = Callable[[ast.DocumentNode, random.Random], ast.DocumentNode | None]
_OBJECTS = (ast.ObjectTypeDefinitionNode, ast.ObjectTypeExtensionNode)
_SCALAR_SWAP = {"String": "Int", "Int": "String", "ID": "String", "Float": "Int", "Boolean": "String"}


def _replace_def(doc: ast.DocumentNode, old: ast.Node, new: ast.Node) -> ast.DocumentNode:
    return ast.DocumentNode(definitions=tuple(new if d is old else d for d in doc.definitions))


def _with_fields(t: ast.Node, fields: tuple[ast.FieldDefinitionNode, ...]) -> ast.Node:
    kw = {k: getattr(t, k) for k in t.keys if k != "loc"}
    kw["fields"] = fields
    return type(t)(**kw)


def _with_directives(node: ast.Node, directives: tuple[ast.DirectiveNode, ...]) -> ast.Node:
    kw = {k: getattr(node, k) for k in node.keys if k != "loc"}
    kw["directives"] = directives
    return type(node)(**kw)


def _objects(doc: ast.DocumentNode) -> list[ast.ObjectTypeDefinitionNode]:
    return [d for d in doc.definitions if isinstance(d, _OBJECTS) and d.fields]  # type: ignore[misc]


def _named(t: ast.TypeNode) -> ast.NamedTypeNode:
    while not isinstance(t, ast.NamedTypeNode):
        t = t.type  # type: ignore[attr-defined]
    return t


def _retype(t: ast.TypeNode, name: str) -> ast.TypeNode:
    if isinstance(t, ast.NamedTypeNode):
        return ast.NamedTypeNode(name=ast.NameNode(value=name))
    return type(t)(type=_retype(t.type, name))  # type: ignore[attr-defined]


def remove_field(doc: ast.DocumentNode, rng: random.Random) -> ast.DocumentNode | None:
    types = [t for t in _objects(doc) if len(t.fields) > 1 and not t.name.value.startswith("_")]
    if not types:
        return None
    t = rng.choice(types)
    gone = rng.choice(t.fields)
    return _replace_def(doc, t, _with_fields(t, tuple(f for f in t.fields if f is not gone)))


def _keyed(doc: ast.DocumentNode) -> list[tuple[ast.Node, ast.DirectiveNode]]:
    out = []
    for d in doc.definitions:
        for dir_ in getattr(d, "directives", None) or ():
            if dir_.name.value == "key":
                out.append((d, dir_))
    return out


def change_key(
    doc: ast.DocumentNode, rng: random.Random, *, unknown: bool = False
) -> ast.DocumentNode | None:
    keyed = [(t, k) for t, k in _keyed(doc) if getattr(t, "fields", None)]
    if not keyed:
        return None
    t, key = rng.choice(keyed)
    scalars = [
        f.name.value
        for f in t.fields  # type: ignore[attr-defined]
        if not f.arguments and _named(f.type).name.value in _SCALAR_SWAP
    ]
    field_set = "doesNotExist" if unknown or not scalars else rng.choice(scalars)
    args = tuple(
        ast.ArgumentNode(name=a.name, value=ast.StringValueNode(value=field_set))
        if a.name.value == "fields"
        else a
        for a in key.arguments or ()
    )
    new_key = ast.DirectiveNode(name=key.name, arguments=args)
    new_t = _with_directives(t, tuple(new_key if d is key else d for d in t.directives))  # type: ignore[attr-defined]
    return _replace_def(doc, t, new_t)


def change_type(doc: ast.DocumentNode, rng: random.Random) -> ast.DocumentNode | None:
    spots = [
        (t, f)
        for t in _objects(doc)
        for f in t.fields
        if _named(f.type).name.value in _SCALAR_SWAP or _named(f.type).name.value[0].isupper()
    ]
    if not spots:
        return None
    t, f = rng.choice(spots)
    old = _named(f.type).name.value
    new_field = ast.FieldDefinitionNode(
        description=f.description,
        name=f.name,
        arguments=f.arguments,
        type=_retype(f.type, _SCALAR_SWAP.get(old, "String")),
        directives=f.directives,
    )
    return _replace_def(doc, t, _with_fields(t, tuple(new_field if x is f else x for x in t.fields)))


def _drop_directive(
    doc: ast.DocumentNode, rng: random.Random, names: tuple[str, ...]
) -> ast.DocumentNode | None:
    spots = [
        (t, f)
        for t in _objects(doc)
        for f in t.fields
        if any(d.name.value in names for d in f.directives or ())
    ]
    if not spots:
        return None
    t, f = rng.choice(spots)
    new_field = _with_directives(f, tuple(d for d in f.directives if d.name.value not in names))
    return _replace_def(doc, t, _with_fields(t, tuple(new_field if x is f else x for x in t.fields)))


def drop_external(doc: ast.DocumentNode, rng: random.Random) -> ast.DocumentNode | None:
    return _drop_directive(doc, rng, ("external", "federation__external"))


def drop_shareable(doc: ast.DocumentNode, rng: random.Random) -> ast.DocumentNode | None:
    return _drop_directive(doc, rng, ("shareable", "federation__shareable"))


MUTATIONS: tuple[tuple[str, Mutation, int], ...] = (
    # (name, mutation, how many per base)
    ("remove-field", remove_field, 2),
    ("change-key", change_key, 1),
    ("unknown-key", lambda d, r: change_key(d, r, unknown=True), 1),
    ("change-type", change_type, 2),
    ("drop-external", drop_external, 1),
    ("drop-shareable", drop_shareable, 1),
)


def mutants(base: Case) -> Iterator[Case]:
    rng = random.Random(base.name)
    seen: set[tuple[tuple[str, str, str], ...]] = set()
    for label, mutate, count in MUTATIONS:
        for n in range(count):
            order = list(range(len(base.subgraphs)))
            rng.shuffle(order)
            for i in order:  # the first subgraph (in a random order) this mutation applies to
                name, url, sdl = base.subgraphs[i]
                changed = mutate(graphql.parse(sdl, no_location=True), rng)
                if changed is None:
                    continue
                subs = list(base.subgraphs)
                subs[i] = (name, url, graphql.print_ast(changed))
                key = tuple(subs)
                if key not in seen:
                    seen.add(key)
                    yield Case(f"{base.name}~{label}{n}@{name}", key)
                break


def corpus() -> list[Case]:
    out: list[Case] = []
    for base in bases():
        out.append(base)
        out.extend(mutants(base))
    return out
