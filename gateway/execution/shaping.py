"""Shapes the merged result tree to exactly the client's selection, with GraphQL null propagation.

Paths are kept as linked tuples ``(parent, segment)`` and only turned into lists when an error needs
one, so shaping a large response allocates almost nothing besides the output itself.
"""

from __future__ import annotations

from typing import Any

from gateway.planning.operation import NField

Path = tuple[Any, Any] | None  # (parent path, key or index)


class _Bubble:
    """A non-null field came back null: its parent must become null."""


BUBBLE = _Bubble()
_NON_NULL = ("!",)


def path_list(path: Path) -> list[Any]:
    out: list[Any] = []
    while path is not None:
        path, seg = path
        out.append(seg)
    out.reverse()
    return out


def explained(errors: list[dict[str, Any]], path: list[Any]) -> bool:
    """Is a null at ``path`` already explained by an error: one at that path, above it (an entity fetch
    for the parent failed) or below it, or one of a whole fetch (no path)?  Only otherwise does
    completing the value add an error of its own."""
    n = len(path)
    for e in errors:
        p = e.get("path")
        if not p or p[:n] == path or path[: len(p)] == p:
            return True
    return False


def completion_error(message: str, path: Path) -> dict[str, Any]:
    return {"message": message, "path": path_list(path)}


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
        r = self._object(data, fields, root_type, None)
        return None if r is BUBBLE else r

    def _object(self, obj: dict[str, Any], fields: Any, type_name: str, path: Path) -> Any:
        # Returns the shaped dict, or BUBBLE when a non-null field came back null.
        out: dict[str, Any] = {}
        for f in fields:
            key = f.out_key
            if f.name == "__typename":
                out[key] = type_name
                continue
            v = obj.get(f.key)
            if f.sub is None and f.type_name not in self.enum_values:
                wrap = f.wrap
                if not wrap or (v is not None and wrap == _NON_NULL):
                    out[key] = v  # a scalar with nothing to check
                    continue
            r = self._complete(v, f, 0, (path, key))
            if r is BUBBLE:
                return BUBBLE
            out[key] = r
        return out

    def _complete(self, v: Any, f: NField, i: int, path: Path) -> Any:
        wrap = f.wrap
        if i < len(wrap) and wrap[i] == "!":
            r = self._complete(v, f, i + 1, path)
            if r is None:
                where = path_list(path)
                if not explained(self.errors, where):
                    message = f"Cannot return null for non-nullable field {f.name}."
                    self.errors.append({"message": message, "path": where})
                return BUBBLE
            return r
        if v is None:
            return None
        if i < len(wrap) and wrap[i] == "[":
            if not isinstance(v, list):
                self.errors.append(completion_error(f"Expected a list for field {f.name}.", path))
                return None
            items = []
            for n, item in enumerate(v):
                r = self._complete(item, f, i + 1, (path, n))
                if r is BUBBLE:
                    return None
                items.append(r)
            return items
        if f.sub is None:
            allowed = self.enum_values.get(f.type_name)
            if allowed is not None and v not in allowed:
                message = f'Enum "{f.type_name}" cannot represent value: {v!r}'
                self.errors.append({"message": message, "path": path_list(path)})
                return None
            return v
        if not isinstance(v, dict):
            self.errors.append(completion_error(f"Expected an object for field {f.name}.", path))
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
        r = self._object(v, fields, runtime, path)
        return None if r is BUBBLE else r
