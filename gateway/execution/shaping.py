"""Shapes the merged result tree to exactly the client's selection, with GraphQL null propagation."""

from __future__ import annotations

from typing import Any

from gateway.planning.operation import NField


class _Bubble:
    """A non-null field came back null: its parent must become null."""


BUBBLE = _Bubble()


class Shaper:
    __slots__ = ("api_objects", "enum_values", "errors")

    def __init__(
        self,
        errors: list[dict[str, Any]],
        enum_values: dict[str, frozenset[str]],
        api_objects: frozenset[str],
    ) -> None:
        self.errors = errors
        self.enum_values = enum_values
        self.api_objects = api_objects  # object types clients may see (inaccessible ones resolve to null)

    def shape_root(
        self, data: dict[str, Any], fields: tuple[NField, ...], root_type: str
    ) -> dict[str, Any] | None:
        r = self._object(data, fields, root_type, [])
        return None if r is BUBBLE else r

    def _object(self, obj: dict[str, Any], fields: Any, type_name: str, path: list[Any]) -> Any:
        # Returns the shaped dict, or BUBBLE when a non-null field came back null.
        out: dict[str, Any] = {}
        for f in fields:
            if f.name == "__typename":
                out[f.key] = type_name
                continue
            r = self._complete(obj.get(f.key), f, 0, path, f.key)
            if r is BUBBLE:
                return BUBBLE
            out[f.key] = r
        return out

    def _complete(self, v: Any, f: NField, i: int, path: list[Any], seg: Any) -> Any:
        wrap = f.wrap
        if i < len(wrap) and wrap[i] == "!":
            r = self._complete(v, f, i + 1, path, seg)
            if r is None:
                if not self.errors:
                    self.errors.append(
                        {
                            "message": f"Cannot return null for non-nullable field {f.name}.",
                            "path": [*path, seg],
                        }
                    )
                return BUBBLE
            return r
        if v is None:
            return None
        if i < len(wrap) and wrap[i] == "[":
            if not isinstance(v, list):
                return None
            items = []
            sub_path = [*path, seg]
            for n, item in enumerate(v):
                r = self._complete(item, f, i + 1, sub_path, n)
                if r is BUBBLE:
                    return None
                items.append(r)
            return items
        if f.sub is None:
            allowed = self.enum_values.get(f.type_name)
            if allowed is not None and v not in allowed:
                self.errors.append(
                    {"message": f'Enum "{f.type_name}" cannot represent value: {v!r}', "path": [*path, seg]}
                )
                return None
            return v
        if not isinstance(v, dict):
            return None
        runtime = f.type_name
        fields = None
        if f.is_abstract:
            tn = v.get("__typename")
            if isinstance(tn, str):
                fields = f.sub.get(tn)
                if fields is not None:
                    if tn not in self.api_objects:
                        return None
                    runtime = tn
            if fields is None:
                fields = f.sub.get("", [])
        else:
            fields = f.sub.get(runtime, [])
        r = self._object(v, fields, runtime, [*path, seg])
        return None if r is BUBBLE else r
