"""Estimated memory of cached values, so that caches keyed by query text are bounded by bytes, not entries.

``estimate_bytes`` walks an object graph and adds ``sys.getsizeof`` of every object reached once. It stops
at what is shared by all entries and lives as long as the process: classes, modules, module-level
functions, the GraphQL schemas and their types, the supergraph model. Generated closures and code objects
(compiled shaping) are counted. The figure is an estimate (allocator overhead is not counted) that tracks
what an entry keeps alive, which is what a byte budget needs.
"""

from __future__ import annotations

import builtins
import gc
import sys
import types
from typing import Any

import graphql

_ATOMS = (str, bytes, int, float, bool, type(None), complex)
# Shared, process-lifetime objects: never counted as part of an entry.
_SHARED: tuple[type, ...] = (
    type, types.ModuleType, types.BuiltinFunctionType, types.MethodDescriptorType,
    graphql.GraphQLSchema, graphql.GraphQLNamedType, graphql.GraphQLField, graphql.GraphQLArgument,
    graphql.GraphQLInputField, graphql.GraphQLDirective, graphql.GraphQLEnumValue,
    graphql.GraphQLWrappingType,
    graphql.Source,
)
_shared_extra: list[type] = []


def register_shared(*classes: type) -> None:
    """Classes whose instances are process-wide (e.g. the supergraph model) and not part of an entry."""
    global _SHARED
    _shared_extra.extend(classes)
    _SHARED = (*_SHARED, *classes)


def estimate_bytes(obj: Any) -> int:
    """Bytes kept alive by ``obj`` alone (shared schema/process objects excluded)."""
    seen: set[int] = {id(builtins.__dict__)}
    stack = [obj]
    total = 0
    getsizeof = sys.getsizeof
    get_referents = gc.get_referents
    while stack:
        o = stack.pop()
        oid = id(o)
        if oid in seen:
            continue
        seen.add(oid)
        if isinstance(o, _ATOMS):
            total += getsizeof(o)
            continue
        if isinstance(o, _SHARED):
            continue
        if isinstance(o, types.FunctionType):
            code = o.__code__
            if o.__closure__ is None and not code.co_filename.startswith("<"):
                continue  # a module-level function: shared
            total += getsizeof(o)
            stack.append(code)
            if code.co_filename.startswith("<"):
                stack.append(o.__globals__)  # generated code: its namespace is its own
            if o.__closure__:
                stack.extend(o.__closure__)
            if o.__defaults__:
                stack.append(o.__defaults__)
            continue
        total += getsizeof(o)
        if isinstance(o, types.CodeType):  # not tracked by gc: no referents from it
            stack.extend((o.co_code, o.co_consts, o.co_names, o.co_linetable, o.co_exceptiontable))
            continue
        if isinstance(o, dict) and o.get("__builtins__") is not None and "__name__" in o:
            continue  # a module's namespace
        # gc's view of what an object refers to: slots, attributes (without materializing an instance's
        # __dict__, which reading it would do), items, closure cells, code constants
        stack.extend(get_referents(o))
    return total
