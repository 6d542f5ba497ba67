"""Values a subgraph sent that cannot be completed: null at the nearest nullable parent and one error
with the path of the field that could not be completed (GraphQL spec, "Handling Field Errors").
Interpreted (``Shaper``) and compiled (``ShapeCompiler``) shaping answer the same."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.execution.compiled_shaping import ShapeCompiler
from gateway.execution.shaping import Shaper
from gateway.planning.operation import NField

OBJECTS = frozenset({"Query", "Shelf"})
SHELF = {
    "Shelf": [
        NField("label", "label", (), "String", ("!",)),
        NField("tags", "tags", (), "String", ("[", "!")),
    ]
}
FIELDS = (
    NField("shelves", "shelves", (), "Shelf", ("[",), sub=SHELF),
    NField("main", "main", (), "Shelf", ("!",), sub=SHELF),
    NField("extra", "extra", (), "Shelf", (), sub=SHELF),
)


def _both(data: dict[str, Any], errors: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    e1, e2 = list(errors), list(errors)
    r1 = Shaper(e1, {}, OBJECTS).shape_root(data, FIELDS, "Query")
    r2 = ShapeCompiler({}, OBJECTS).get(FIELDS, "Query").shape(data, e2)
    assert (r1, e1) == (r2, e2)
    return r1, e1


def _good() -> dict[str, Any]:
    return {
        "shelves": [{"label": "a", "tags": ["x"]}, {"label": "b", "tags": []}],
        "main": {"label": "m", "tags": None},
        "extra": None,
    }


def test_null_for_a_non_null_field_nulls_the_nearest_nullable_parent() -> None:
    data = _good()
    data["shelves"][1]["label"] = None
    shaped, errors = _both(data, [])
    assert shaped is not None
    assert shaped["shelves"] == [{"label": "a", "tags": ["x"]}, None]
    assert errors == [
        {"message": "Cannot return null for non-nullable field label.", "path": ["shelves", 1, "label"]}
    ]


def test_null_propagates_to_data_through_non_null_parents() -> None:
    data = _good()
    data["main"]["label"] = None
    shaped, errors = _both(data, [])
    assert shaped is None
    assert errors == [
        {"message": "Cannot return null for non-nullable field label.", "path": ["main", "label"]}
    ]


def test_non_null_list_item() -> None:
    data = _good()
    data["shelves"][0]["tags"] = ["x", None]
    shaped, errors = _both(data, [])
    assert shaped is not None and shaped["shelves"][0] == {"label": "a", "tags": None}
    assert errors[0]["path"] == ["shelves", 0, "tags", 1]


def test_an_unrelated_error_does_not_hide_the_completion_error() -> None:
    data = _good()
    data["shelves"][1]["label"] = None
    other = {"message": "boom", "path": ["extra"]}
    _, errors = _both(data, [other])
    assert [e["path"] for e in errors] == [["extra"], ["shelves", 1, "label"]]


@pytest.mark.parametrize("path", [["shelves", 1, "label"], ["shelves", 1], None])
def test_a_null_already_explained_by_a_subgraph_error_gets_no_second_error(path: list[Any] | None) -> None:
    data = _good()
    data["shelves"][1]["label"] = None
    cause: dict[str, Any] = {"message": "subgraph failed"} | ({"path": path} if path else {})
    shaped, errors = _both(data, [cause])
    assert shaped is not None and shaped["shelves"][1] is None
    assert errors == [cause]


def test_a_value_of_the_wrong_shape_is_an_error_at_its_path() -> None:
    data = _good()
    data["shelves"] = {"label": "not a list"}
    data["extra"] = "not an object"
    shaped, errors = _both(data, [])
    assert shaped is not None and shaped["shelves"] is None and shaped["extra"] is None
    assert [e["path"] for e in errors] == [["shelves"], ["extra"]]
