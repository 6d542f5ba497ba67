"""Response shaping compiled once per plan: the same result as ``shaping.Shaper``, without re-reading the
operation for every field of every request.

Every selection (a field list for one runtime type) becomes a tuple of steps ``(client key, data key,
kind, arg)`` and every field that needs checking becomes a closure specialized for its type wrappers
(non-null, list, enum, abstract, object), so per request only the data is walked.  Errors, paths and null
propagation are those of ``Shaper`` (its tests cover both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.execution.shaping import BUBBLE, Path, completion_error, explained, path_list
from gateway.http.lru import LRUCache
from gateway.planning.operation import NField
from gateway.sizing import estimate_bytes

Errors = list[dict[str, Any]]
Complete = Callable[[Any, Path, Errors], Any]  # value, its path, the response's errors -> shaped | BUBBLE
ObjectShape = Callable[[dict[str, Any], Path, Errors], Any]

_TYPENAME, _PLAIN, _NON_NULL_SCALAR, _CHECKED = 0, 1, 2, 3
_CACHE_SIZE = 4096


class CompiledShape:
    __slots__ = ("fields", "root")

    def __init__(self, fields: tuple[NField, ...], root: ObjectShape) -> None:
        self.fields = fields  # kept so that the cache's identity check stays valid
        self.root = root

    def shape(self, data: dict[str, Any], errors: Errors) -> dict[str, Any] | None:
        r = self.root(data, None, errors)
        return None if r is BUBBLE else r


class ShapeCompiler:
    """Compiles (and caches, by identity of the cached plan's field tuple) the shaping of a selection.

    Selections of the same shape (same keys, fields, types, sub-selections) share one compiled function
    across plans: operations that differ only by an alias or a root field reuse every other selection's
    code. Both caches are bounded by estimated bytes (each entry counts all it reaches, so the shared
    functions are counted in full in each: the real memory stays below the sum of the two budgets)."""

    def __init__(self, enum_values: dict[str, frozenset[str]], api_objects: frozenset[str], *,
                 max_bytes: int = 32 << 20) -> None:
        self.enum_values = enum_values
        self.api_objects = api_objects
        self._cache: LRUCache[tuple[int, str], CompiledShape] = LRUCache(
            _CACHE_SIZE, max_bytes=max_bytes // 2, sizer=lambda _k, v: estimate_bytes(v.root))
        # structural key -> (the same key, kept as the canonical copy that parents' keys reuse; the function)
        self._selections: LRUCache[tuple[Any, ...], tuple[tuple[Any, ...], ObjectShape]] = LRUCache(
            8 * _CACHE_SIZE, max_bytes=max_bytes // 2,
            sizer=lambda k, v: estimate_bytes(k) + estimate_bytes(v))
        # structural keys by identity of the field list, during one compilation
        self._keys: dict[tuple[int, str], tuple[Any, tuple[Any, ...]]] = {}

    def get(self, fields: tuple[NField, ...], root_type: str) -> CompiledShape:
        key = (id(fields), root_type)
        compiled = self._cache.get(key)
        if compiled is None or compiled.fields is not fields:
            try:
                compiled = CompiledShape(fields, self._object(fields, root_type))
            finally:
                self._keys.clear()
            self._cache.put(key, compiled)
        return compiled

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._cache) + len(self._selections),
                "bytes": self._cache.bytes + self._selections.bytes,
                "max_bytes": (self._cache.max_bytes or 0) + (self._selections.max_bytes or 0),
                "evictions": self._cache.evictions + self._selections.evictions}

    def _shape_key(self, fields: Any, type_name: str) -> tuple[Any, ...]:
        memo_key = (id(fields), type_name)
        memo = self._keys.get(memo_key)
        if memo is not None and memo[0] is fields:
            return memo[1]
        parts: list[Any] = [type_name]
        for f in fields:
            sub = None
            if f.sub is not None:
                sub = tuple(sorted((tn, self._shape_key(fl, tn or f.type_name))
                                   for tn, fl in f.sub.items()))
            parts.append((f.out_key, f.key, f.name, f.type_name, f.wrap, f.is_abstract, sub))
        key = tuple(parts)
        known = self._selections.get(key)
        if known is not None:
            key = known[0]
        self._keys[memo_key] = (fields, key)  # the fields kept alive: their id stays theirs
        return key

    def _object(self, fields: Any, type_name: str) -> ObjectShape:
        key = self._shape_key(fields, type_name)
        known = self._selections.get(key)
        if known is not None:
            return known[1]
        shape = self._compile_object(fields, type_name)
        self._selections.put(key, (key, shape))
        return shape

    def _compile_object(self, fields: Any, type_name: str) -> ObjectShape:
        steps: list[tuple[str, str, int, Any]] = []
        for f in fields:
            if f.name == "__typename":
                steps.append((f.out_key, f.key, _TYPENAME, type_name))
            elif f.sub is None and f.type_name not in self.enum_values and not f.wrap:
                steps.append((f.out_key, f.key, _PLAIN, None))
            elif f.sub is None and f.type_name not in self.enum_values and f.wrap == ("!",):
                steps.append((f.out_key, f.key, _NON_NULL_SCALAR, self._complete(f, 0)))
            else:
                steps.append((f.out_key, f.key, _CHECKED, self._complete(f, 0)))
        return _generate(steps)

    def _complete(self, f: NField, i: int) -> Complete:
        wrap = f.wrap
        if i < len(wrap) and wrap[i] == "!":
            return _non_null(self._complete(f, i + 1), f.name)
        if i < len(wrap) and wrap[i] == "[":
            slow = _list(self._complete(f, i + 1), f.name)
            if f.sub is None and f.type_name not in self.enum_values and wrap[i + 1:] in ((), ("!",)):
                return _scalar_list(slow, wrap[i + 1:] == ("!",))
            return slow
        if f.sub is None:
            allowed = self.enum_values.get(f.type_name)
            return _scalar if allowed is None else _enum(f.type_name, allowed)
        if f.is_abstract:
            by_type = {tn: self._object(fl, tn) for tn, fl in f.sub.items() if tn}
            fallback = self._object(f.sub.get("", []), f.type_name)
            return _abstract(by_type, fallback, self.api_objects, f.name)
        return _concrete(self._object(f.sub.get(f.type_name, []), f.type_name), f.name)


def _generate(steps: list[tuple[str, str, int, Any]]) -> ObjectShape:
    """Python source for one selection, compiled once: a dict display for the leading plain fields and
    one statement per checked field. Keys, constants and completers are names bound in the function's
    namespace, never text taken from the operation."""
    env: dict[str, Any] = {"BUBBLE": BUBBLE}
    head: list[str] = []
    body: list[str] = []
    for n, (out_key, key, kind, arg) in enumerate(steps):
        env[f"o{n}"], env[f"k{n}"], env[f"a{n}"] = out_key, key, arg
        if kind == _PLAIN and not body:
            head.append(f"o{n}: get(k{n})")
        elif kind == _TYPENAME and not body:
            head.append(f"o{n}: a{n}")
        elif kind == _PLAIN:
            body.append(f"    out[o{n}] = get(k{n})")
        elif kind == _TYPENAME:
            body.append(f"    out[o{n}] = a{n}")
        else:
            body.append(f"    v = get(k{n})")
            indent = "    "
            if kind == _NON_NULL_SCALAR:
                body.append("    if v is None:")
                indent = "        "
            body += [
                f"{indent}v = a{n}(v, (path, o{n}), errors)",
                f"{indent}if v is BUBBLE:",
                f"{indent}    return BUBBLE",
                f"    out[o{n}] = v",
            ]
    source = "\n".join(
        [
            "def shape_object(obj, path, errors):",
            "    get = obj.get",
            f"    out = {{{', '.join(head)}}}",
            *body,
            "    return out",
        ]
    )
    exec(compile(source, "<shaping>", "exec"), env)  # generated from the step kinds only
    shape: ObjectShape = env["shape_object"]
    return shape


def _non_null(inner: Complete, name: str) -> Complete:
    def complete(v: Any, path: Path, errors: Errors) -> Any:
        r = inner(v, path, errors)
        if r is None:
            where = path_list(path)
            if not explained(errors, where):
                message = f"Cannot return null for non-nullable field {name}."
                errors.append({"message": message, "path": where})
            return BUBBLE
        return r

    return complete


def _list(inner: Complete, name: str) -> Complete:
    def complete(v: Any, path: Path, errors: Errors) -> Any:
        if v is None:
            return None
        if not isinstance(v, list):
            errors.append(completion_error(f"Expected a list for field {name}.", path))
            return None
        items = []
        for n, item in enumerate(v):
            r = inner(item, (path, n), errors)
            if r is BUBBLE:
                return None
            items.append(r)
        return items

    return complete


def _scalar_list(slow: Complete, items_non_null: bool) -> Complete:
    """A list of scalars passes through as the subgraph sent it (scalars are not coerced: ``_scalar``), with
    no per-item call and no copy; a list that holds a null where none is allowed (or is no list) takes
    the general path, for its errors."""
    def complete(v: Any, path: Path, errors: Errors) -> Any:
        if v is None:
            return None
        if type(v) is list and not (items_non_null and None in v):
            return v
        return slow(v, path, errors)

    return complete


def _scalar(v: Any, path: Path, errors: Errors) -> Any:
    return v


def _enum(type_name: str, allowed: frozenset[str]) -> Complete:
    def complete(v: Any, path: Path, errors: Errors) -> Any:
        if v is None or v in allowed:
            return v
        message = f'Enum "{type_name}" cannot represent value: {v!r}'
        errors.append({"message": message, "path": path_list(path)})
        return None

    return complete


def _not_an_object(v: Any, name: str, path: Path, errors: Errors) -> None:
    if v is not None:
        errors.append(completion_error(f"Expected an object for field {name}.", path))


def _concrete(shape: ObjectShape, name: str) -> Complete:
    def complete(v: Any, path: Path, errors: Errors) -> Any:
        if not isinstance(v, dict):
            _not_an_object(v, name, path, errors)
            return None
        r = shape(v, path, errors)
        return None if r is BUBBLE else r

    return complete


def _abstract(
    by_type: dict[str, ObjectShape], fallback: ObjectShape, api_objects: frozenset[str], name: str
) -> Complete:
    def complete(v: Any, path: Path, errors: Errors) -> Any:
        if not isinstance(v, dict):
            _not_an_object(v, name, path, errors)
            return None
        tn = v.get("__typename")
        shape = by_type.get(tn) if isinstance(tn, str) else None
        if tn == "":  # the abstract type's own entry: not an object type clients may see
            return None
        if shape is None:
            shape = fallback
        elif tn not in api_objects:
            return None
        r = shape(v, path, errors)
        return None if r is BUBBLE else r

    return complete
