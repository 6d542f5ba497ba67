"""Representations for one ``Flatten``, compiled once per plan node instead of interpreted per object.

A ``Flatten`` names the paths whose objects become ``_entities`` representations. Compiled: the paths
become a trie walked level by level (shared prefixes once, no recursion per object), each input's
``requires`` becomes a flat list of keys when it has no nested selection, and identical representations
are found by a tuple of their values instead of serializing every one.  The order of representations,
of targets and the paths reported are the same as walking each path on its own.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.planning.plan import EntityInput, Flatten, SelectionTree

MISSING: Any = object()
Obj = dict[str, Any]


class _Input:
    """One ``EntityInput``; ``flat`` is ((field name, response key), ...) when ``requires`` has no nesting."""

    __slots__ = ("flat", "names", "raw", "send_as", "single")

    def __init__(self, raw: EntityInput) -> None:
        self.raw = raw
        self.send_as = raw.send_as
        req = raw.requires
        self.flat: tuple[tuple[str, str], ...] | None = None
        if not req.fragments and all(child is None for _, _, child in req.fields):
            self.flat = tuple((name, key) for name, key, _ in req.fields)
        self.names = tuple(name for name, _ in self.flat or ())
        # The usual entity key, one field besides __typename: its key is built inline (same shape as
        # _key_and_rep's).
        keys = [key for _, key in self.flat or () if key != "__typename"]
        self.single = keys[0] if len(keys) == 1 else None


class _Node:
    __slots__ = ("by_type", "children", "ends")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.ends: list[int] = []  # indices of the Flatten's paths ending here
        self.by_type: dict[str, _Input] = {}  # first input per __typename for the path(s) ending here


class CompiledFlatten:
    __slots__ = ("by_path", "node", "npaths", "root")

    def __init__(self, node: Flatten) -> None:
        self.node = node
        self.npaths = len(node.paths)
        self.root = _Node()
        self.by_path: list[dict[str, _Input]] = []
        for idx, path in enumerate(node.paths):
            by_type: dict[str, _Input] = {}
            for inp in node.node.inputs:  # the first input matching a type wins, as it always did
                if inp.path == path and inp.match_type not in by_type:
                    by_type[inp.match_type] = _Input(inp)
            self.by_path.append(by_type)
            trie = self.root
            for seg in path:
                trie = trie.children.setdefault(seg, _Node())
            trie.ends.append(idx)

    def objects(self, data: Obj) -> list[list[Obj]]:
        """Objects at each path (lists walked transparently), in document order. Their paths are only
        needed for errors: ``paths`` finds them then."""
        found: list[list[Obj]] = [[] for _ in range(self.npaths)]
        stack: list[tuple[_Node, list[Obj]]] = [(self.root, [data])]
        while stack:
            trie, level = stack.pop()
            for idx in trie.ends:
                found[idx] = level
            for seg, child in trie.children.items():
                nxt: list[Obj] = []
                for obj in level:
                    v = obj.get(seg)
                    if type(v) is dict:
                        nxt.append(v)
                    elif type(v) is list:
                        _expand(v, nxt)
                if nxt:
                    stack.append((child, nxt))
        return found

    def paths(self, data: Obj) -> dict[int, Any]:
        """id(object) -> its first path (a linked tuple (parent, segment), see ``path_list``), in the
        order ``objects`` finds them: the slow walk, for errors only."""
        first: dict[int, Any] = {}

        def walk(v: Any, path: tuple[str, ...], i: int, cur: Any) -> None:
            if type(v) is list:
                for n, item in enumerate(v):
                    walk(item, path, i, (cur, n))
            elif type(v) is dict:
                if i == len(path):
                    first.setdefault(id(v), cur)
                else:
                    walk(v.get(path[i]), path, i + 1, (cur, path[i]))

        for path in self.node.paths:
            walk(data, path, 0, None)
        return first

    def representations(self, data: Obj) -> tuple[list[Obj], list[list[Obj]]]:
        """Deduplicated representations and, per representation, the objects its result merges into."""
        reps: list[Obj] = []
        targets: list[list[Obj]] = []
        index: dict[Any, int] = {}
        for by_type, found in zip(self.by_path, self.objects(data), strict=True):
            if not by_type:
                continue
            for obj in found:
                inp = by_type.get(obj.get("__typename"))  # type: ignore[arg-type]
                if inp is None:
                    continue
                single, rep = inp.single, None
                v = obj.get(single, MISSING) if single is not None else MISSING
                if type(v) is str:
                    key: Any = (inp.names, inp.send_as, v)
                else:
                    key, rep = _key_and_rep(obj, inp)
                    if key is MISSING:
                        continue
                i = index.get(key)
                if i is None:
                    if rep is None:
                        rep = _flat_rep(obj, inp)
                    i = index[key] = len(reps)
                    reps.append(rep)
                    targets.append([])
                targets[i].append(obj)
        return reps, targets


def _expand(items: list[Any], out: list[Obj]) -> None:
    for item in items:
        if type(item) is dict:
            out.append(item)
        elif type(item) is list:
            _expand(item, out)


def path_list(path: Any) -> list[Any]:
    out: list[Any] = []
    while path is not None:
        path, seg = path
        out.append(seg)
    out.reverse()
    return out


def _key_and_rep(obj: dict[str, Any], inp: _Input) -> tuple[Any, dict[str, Any] | None]:
    """The deduplication key of ``obj``'s representation (MISSING: a required field is absent) and the
    representation when it had to be built to get the key."""
    flat = inp.flat
    if flat is not None:
        values = []
        for _, key in flat:
            if key == "__typename":
                continue
            v = obj.get(key, MISSING)
            if v is MISSING:
                return MISSING, None
            values.append(v)
            if type(v) is not str:  # 1, 1.0 and True are equal keys in Python, not in JSON
                values.append(type(v))
        key_t = (inp.names, inp.send_as, *values)
        try:
            hash(key_t)
        except TypeError:  # a list or object among the values (custom scalars): fall back below
            pass
        else:
            return key_t, None
    rep = project(obj, inp.raw.requires)
    if rep is MISSING or not isinstance(rep, dict):
        return MISSING, None
    rep["__typename"] = inp.send_as
    return orjson.dumps(rep, option=orjson.OPT_SORT_KEYS), rep


def _flat_rep(obj: dict[str, Any], inp: _Input) -> dict[str, Any]:
    rep: dict[str, Any] = {}
    for name, key in inp.flat or ():
        if key == "__typename" and key not in obj:
            continue
        rep[name] = obj[key]
    rep["__typename"] = inp.send_as
    return rep


def project(v: Any, sel: SelectionTree) -> Any:
    """``v`` restricted to ``sel`` (MISSING when a required field is absent)."""
    if isinstance(v, list):
        out_list = []
        for item in v:
            r = project(item, sel)
            if r is MISSING:
                return MISSING
            out_list.append(r)
        return out_list
    if not isinstance(v, dict):
        return v
    out: dict[str, Any] = {}
    for name, key, child in sel.fields:
        val = v.get(key, MISSING)
        if val is MISSING:
            if key == "__typename":
                continue
            return MISSING
        if child is not None and val is not None:
            val = project(val, child)
            if val is MISSING:
                return MISSING
        out[name] = val
    tn = v.get("__typename")
    # A fragment on the object's own type is the one that applies; fragments on other object types do
    # not (a requirement on ``... on WorkAddress`` sends nothing for a HomeAddress).
    own_type_listed = any(cond == tn for cond, _ in sel.fragments)
    for cond, fsel in sel.fragments:
        if cond != tn:
            if own_type_listed:
                continue
            # Fragments on abstract types: take what is there.
            part = _project_present(v, fsel)
        else:
            part = project(v, fsel)
            if part is MISSING:
                return MISSING
        if isinstance(part, dict):
            out.update(part)
    return out


def _project_present(v: dict[str, Any], sel: SelectionTree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key, child in sel.fields:
        if key in v:
            val = v[key]
            if child is not None and val is not None:
                r = project(val, child)
                if r is MISSING:
                    continue
                val = r
            out[name] = val
    return out
