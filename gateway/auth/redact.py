"""Removes denied fields from the merged result before shaping.

The planner never asks for a denied field, but the merged result can still hold its response key (an
entity key or ``@requires`` input the plan fetched for itself under the same name). Deleting those keys
for the runtime types where the field is denied makes the shaper complete them as null, with the usual
null propagation, whatever shaping optimizations it does.
"""

from __future__ import annotations

from typing import Any

from gateway.auth.authorize import DeniedField
from gateway.planning.operation import NField


def strip_denied(data: dict[str, Any], fields: tuple[NField, ...] | list[NField]) -> None:
    _object(data, fields)


def _object(obj: dict[str, Any], fields: Any) -> None:
    for f in fields:
        if type(f) is DeniedField:
            obj.pop(f.key, None)
        elif f.sub is not None:
            value = obj.get(f.key)
            if value is not None:
                _value(value, f)


def _value(value: Any, f: NField) -> None:
    if isinstance(value, list):
        for item in value:
            if item is not None:
                _value(item, f)
        return
    if not isinstance(value, dict) or f.sub is None:
        return
    sub = None
    if f.is_abstract:
        tn = value.get("__typename")
        if isinstance(tn, str):
            sub = f.sub.get(tn)
        if sub is None:
            sub = f.sub.get("", [])
    else:
        sub = f.sub.get(f.type_name, [])
    _object(value, sub)
