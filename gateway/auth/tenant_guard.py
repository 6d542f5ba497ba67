"""The tenant guard: every object of a tenant-scoped type (a type with a ``tenantId`` field) in a result
must belong to the principal's tenant; any other is replaced by null with a ``FORBIDDEN`` error.

It walks the merged result along the planned selection (which carries the ``tenantId`` the gateway added
under ``TENANT_ALIAS``) before shaping, so null propagation and the client's shape come after. Objects
whose tenant cannot be read (missing or null ``tenantId``) fail closed.
"""

from __future__ import annotations

from typing import Any

from gateway.auth.authorize import TENANT_ALIAS
from gateway.planning.operation import NField

FORBIDDEN = "FORBIDDEN"


class TenantGuard:
    __slots__ = ("blocked", "errors", "tenant_id", "tenant_types")

    def __init__(
        self, tenant_id: str | None, tenant_types: frozenset[str], errors: list[dict[str, Any]]
    ) -> None:
        self.tenant_id = tenant_id
        self.tenant_types = tenant_types
        self.errors = errors
        self.blocked = 0

    def check(self, data: dict[str, Any], fields: tuple[NField, ...] | list[NField]) -> int:
        """Null out foreign objects in ``data`` (in place); returns how many were blocked."""
        self._object(data, fields, [])
        return self.blocked

    def _object(self, obj: dict[str, Any], fields: Any, path: list[Any]) -> None:
        for f in fields:
            if f.sub is None:
                continue
            value = obj.get(f.key)
            if value is not None:
                self._value(obj, f.key, value, f, [*path, f.key])

    def _value(self, container: Any, slot: Any, value: Any, f: NField, path: list[Any]) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is not None:
                    self._value(value, i, item, f, [*path, i])
            return
        if not isinstance(value, dict):
            return
        assert f.sub is not None
        runtime = f.type_name
        sub = None
        if f.is_abstract:
            tn = value.get("__typename")
            if isinstance(tn, str):
                runtime = tn
                sub = f.sub.get(tn)
            if sub is None:
                sub = f.sub.get("", [])
        else:
            sub = f.sub.get(runtime, [])
        if runtime in self.tenant_types:
            tenant = value.get(TENANT_ALIAS)
            if tenant is None or str(tenant) != self.tenant_id:
                container[slot] = None
                self.blocked += 1
                self.errors.append(
                    {
                        "message": "Forbidden: this object belongs to another tenant.",
                        "path": path,
                        "extensions": {"code": FORBIDDEN},
                    }
                )
                return
        self._object(value, sub, path)
