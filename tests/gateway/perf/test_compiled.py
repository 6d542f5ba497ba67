"""Compiled shaping and representation collection give exactly what the interpreted versions give."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from gateway.execution.collect import MISSING, CompiledFlatten, path_list, project
from gateway.execution.compiled_shaping import ShapeCompiler
from gateway.execution.shaping import Shaper
from gateway.planning.operation import NField
from gateway.planning.plan import EntityInput, Fetch, Flatten, SelectionTree

ENUMS = {"Color": frozenset({"RED", "BLUE"})}
OBJECTS = frozenset({"Query", "Book", "Film", "Shelf"})  # "Secret" is an @inaccessible object type


def _fields() -> tuple[NField, ...]:
    media_sub = {
        "Book": [
            NField("__typename", "__typename", (), "String", ("!",)),
            NField("title", "title", (), "String", ("!",)),
        ],
        "Film": [NField("length", "length", (), "Int", ())],
        "Secret": [NField("code", "code", (), "String", ())],
        "": [NField("id", "id", (), "ID", ("!",))],
    }
    shelf_sub = {
        "Shelf": [
            NField("label", "label", (), "String", ()),
            NField("colors", "colors", (), "Color", ("[", "!")),
            NField("items", "items", (), "Media", ("!", "[", "!"), sub=media_sub, is_abstract=True),
            NField("best", "best", (), "Media", (), sub=media_sub, is_abstract=True),
        ]
    }
    return (
        NField("__typename", "__typename", (), "String", ("!",)),
        NField("name__title", "title", (), "String", (), out_key="name"),
        NField("shelves", "shelves", (), "Shelf", ("[",), sub=shelf_sub),
        NField("main", "main", (), "Shelf", ("!",), sub=shelf_sub),
        NField("color", "color", (), "Color", ()),
    )


GOOD: dict[str, Any] = {
    "name__title": "n",
    "color": "RED",
    "shelves": [
        {
            "label": "a",
            "colors": ["RED", "BLUE"],
            "items": [
                {"__typename": "Book", "title": "t", "id": "1"},
                {"__typename": "Film", "length": 3, "id": "2"},
            ],
            "best": {"__typename": "Secret", "code": "x", "id": "3"},
        },
        None,
        {"label": "b", "colors": ["GREEN"], "items": [], "best": {"__typename": "Unknown", "id": "9"}},
    ],
    "main": {"label": "m", "colors": None, "items": [{"__typename": "Book", "title": None, "id": "1"}]},
}


@pytest.mark.parametrize("case", ["good", "main null", "bad enum", "nested bubble", "missing list"])
def test_compiled_shaping_equals_interpreted(case: str) -> None:
    data = copy.deepcopy(GOOD)
    if case == "main null":
        data["main"] = None
    elif case == "bad enum":
        data["color"] = "PINK"
    elif case == "nested bubble":
        data["shelves"][0]["items"][0]["title"] = None
    elif case == "missing list":
        del data["shelves"][0]["colors"]
    fields = _fields()
    errors_a: list[dict[str, Any]] = []
    errors_b: list[dict[str, Any]] = []
    expected = Shaper(errors_a, ENUMS, OBJECTS).shape_root(data, fields, "Query")
    compiled = ShapeCompiler(ENUMS, OBJECTS)
    assert compiled.get(fields, "Query") is compiled.get(fields, "Query")  # compiled once per plan
    assert compiled.get(fields, "Query").shape(data, errors_b) == expected
    assert errors_b == errors_a


def _reference(node: Flatten, data: dict[str, Any]) -> tuple[list[Any], list[list[Any]]]:
    """Each path walked on its own, recursively: the executor before compilation."""
    reps: list[Any] = []
    targets: list[list[Any]] = []
    index: dict[bytes, int] = {}

    def walk(v: Any, path: tuple[str, ...], i: int, cur: Any, out: list[Any]) -> None:
        if isinstance(v, list):
            for n, item in enumerate(v):
                walk(item, path, i, (cur, n), out)
        elif isinstance(v, dict):
            if i == len(path):
                out.append((v, cur))
            else:
                walk(v.get(path[i]), path, i + 1, (cur, path[i]), out)

    for path in node.paths:
        found: list[Any] = []
        walk(data, path, 0, None, found)
        for obj, obj_path in found:
            for inp in (i for i in node.node.inputs if i.path == path):
                if inp.match_type != obj.get("__typename"):
                    continue
                rep = project(obj, inp.requires)
                if rep is MISSING:
                    break
                rep["__typename"] = inp.send_as
                k = orjson.dumps(rep, option=orjson.OPT_SORT_KEYS)
                if k not in index:
                    index[k] = len(reps)
                    reps.append(rep)
                    targets.append([])
                targets[index[k]].append((obj, obj_path))
                break
    return reps, targets


def test_compiled_representations_equal_the_reference() -> None:
    key = SelectionTree((("__typename", "__typename", None), ("id", "id", None)))
    nested = SelectionTree((("id", "id", None), ("dims", "dims", SelectionTree((("w", "w", None),)))))
    tags = SelectionTree((("id", "id", None), ("tags", "tags", None)))
    fetch = Fetch("s", "http://x", "query", "query", (), inputs=(
        EntityInput(("a",), "P", "P", key),
        EntityInput(("a", "b"), "P", "P", key),
        EntityInput(("a", "b"), "Q", "Node", nested),
        EntityInput(("c",), "P", "P", tags),
    ))
    node = Flatten((("a",), ("a", "b"), ("c",)), fetch)
    data = {
        "a": [
            {
                "__typename": "P",
                "id": "1",
                "b": [
                    [{"__typename": "P", "id": "1"}, {"__typename": "Q", "id": "7", "dims": {"w": 2}}],
                    None,
                ],
            },
            {"__typename": "P", "id": 1, "b": {"__typename": "Q", "id": "8"}},  # int 1: not the string "1"
            {"__typename": "P", "b": []},  # no id: no representation
            None,
        ],
        "c": [{"__typename": "P", "id": "1", "tags": ["x"]}, {"__typename": "P", "id": "1", "tags": ["x"]}],
    }
    compiled = CompiledFlatten(node)
    reps, targets = compiled.representations(data)
    ref_reps, ref_targets = _reference(node, data)
    assert reps == ref_reps
    assert [[id(o) for o in t] for t in targets] == [[id(o) for o, _ in t] for t in ref_targets]
    # Paths (for errors) are found on demand: the first path of each object, as walked before.
    paths = compiled.paths(data)
    assert [path_list(paths[id(t[0][0])]) for t in ref_targets] == [path_list(t[0][1]) for t in ref_targets]
    assert path_list(paths[id(targets[1][0])]) == ["a", 1]
