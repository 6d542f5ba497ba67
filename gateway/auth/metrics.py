"""Counters of the auth layer, rendered in the Prometheus text format at ``/metrics``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AuthMetrics:
    tenant_guard_blocked: int = 0  # objects of another tenant replaced by null
    unauthorized_fields: int = 0  # fields removed from operations by authorization
    rejected_operations: int = 0  # whole operations refused (reject_unauthorized mode)
    authentication_failures: int = 0

    def prometheus(self) -> str:
        rows = [
            (
                "gateway_tenant_guard_blocked_total",
                "Objects of another tenant removed from responses.",
                self.tenant_guard_blocked,
            ),
            (
                "gateway_unauthorized_fields_total",
                "Fields removed from operations by authorization.",
                self.unauthorized_fields,
            ),
            (
                "gateway_rejected_operations_total",
                "Operations rejected for unauthorized fields.",
                self.rejected_operations,
            ),
            (
                "gateway_authentication_failures_total",
                "Requests refused with UNAUTHENTICATED or FORBIDDEN.",
                self.authentication_failures,
            ),
        ]
        return "".join(f"# HELP {n} {h}\n# TYPE {n} counter\n{n} {v}\n" for n, h, v in rows)
