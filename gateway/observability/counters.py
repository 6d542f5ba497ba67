"""The auth and safety layers' counters (plain ints their code increments) mirrored into Prometheus.

``mirror(metrics, prefix)`` returns a subclass instance of the same dataclass whose every ``+=`` on a
field also increments the Prometheus counter ``<prefix>_<field>_total``; the fields keep their
per-instance values (tests and diagnostics read them).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from prometheus_client import Counter

T = TypeVar("T")
_COUNTERS: dict[str, Counter] = {}
_CLASSES: dict[type[Any], type[Any]] = {}
_HELP = {
    "tenant_guard_blocked": "Objects of another tenant removed from responses.",
    "unauthorized_fields": "Fields removed from operations by authorization.",
    "rejected_operations": "Operations rejected for unauthorized fields.",
    "authentication_failures": "Requests refused with UNAUTHENTICATED or FORBIDDEN.",
    "limits_refused": "Operations refused by an operation limit.",
    "csrf_refused": "Requests refused by CSRF prevention.",
    "rate_limited": "Requests refused by the rate limit (429).",
    "rate_limit_redis_errors": "Rate-limit checks that could not reach Redis.",
    "apq_hits": "Persisted queries found by hash.",
    "apq_misses": "Persisted query hashes not found.",
    "apq_registered": "Persisted queries registered.",
    "apq_redis_errors": "Persisted query store calls that could not reach Redis.",
    "persisted_only_refused": "Free-form documents refused (trusted documents only).",
}


def _counter(name: str, field: str) -> Counter:
    counter = _COUNTERS.get(name)
    if counter is None:
        counter = _COUNTERS[name] = Counter(name, _HELP.get(field, field.replace("_", " ")))
    return counter


def mirror(metrics: T, prefix: str = "gateway") -> T:
    """A copy of the dataclass instance ``metrics`` whose field increments reach Prometheus."""
    base = type(metrics)
    cls: type[Any] | None = _CLASSES.get(base)
    if cls is None:
        counters = {f.name: _counter(f"{prefix}_{f.name}_total", f.name) for f in dataclasses.fields(base)}  # type: ignore[arg-type]

        def __setattr__(self: Any, name: str, value: Any) -> None:
            counter = counters.get(name)
            if counter is not None:
                previous = getattr(self, name, 0)
                if isinstance(value, int) and value > previous:
                    counter.inc(value - previous)
            base.__setattr__(self, name, value)

        cls = _CLASSES[base] = type(
            f"Mirrored{base.__name__}", (base,), {"__setattr__": __setattr__, "__slots__": ()}
        )
    copy: Any = object.__new__(cls)
    for f in dataclasses.fields(base):  # type: ignore[arg-type]
        object.__setattr__(copy, f.name, getattr(metrics, f.name))
    return copy  # type: ignore[no-any-return]
