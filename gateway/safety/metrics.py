"""Counters of the safety layer, exported on /metrics next to the auth layer's (Prometheus text)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SafetyMetrics:
    limits_refused: int = 0  # operations over a depth/alias/root-field/directive/cost/token limit
    csrf_refused: int = 0  # requests without a preflight-forcing content type or header
    rate_limited: int = 0  # requests answered 429
    rate_limit_redis_errors: int = 0  # rate-limit checks that could not reach Redis (fail open or closed)
    apq_hits: int = 0
    apq_misses: int = 0
    apq_registered: int = 0
    apq_redis_errors: int = 0
    persisted_only_refused: int = 0  # free-form documents refused in trusted-documents mode

    def prometheus(self) -> str:
        rows = (
            ("gateway_limits_refused_total", "Operations refused by an operation limit.",
             self.limits_refused),
            ("gateway_csrf_refused_total", "Requests refused by CSRF prevention.", self.csrf_refused),
            ("gateway_rate_limited_total", "Requests refused by the rate limit (429).", self.rate_limited),
            ("gateway_rate_limit_redis_errors_total", "Rate-limit checks that could not reach Redis.",
             self.rate_limit_redis_errors),
            ("gateway_apq_hits_total", "Persisted queries found by hash.", self.apq_hits),
            ("gateway_apq_misses_total", "Persisted query hashes not found.", self.apq_misses),
            ("gateway_apq_registered_total", "Persisted queries registered.", self.apq_registered),
            ("gateway_apq_redis_errors_total", "Persisted query store calls that could not reach Redis.",
             self.apq_redis_errors),
            ("gateway_persisted_only_refused_total", "Free-form documents refused (trusted documents only).",
             self.persisted_only_refused),
        )
        return "".join(f"# HELP {n} {h}\n# TYPE {n} counter\n{n} {v}\n" for n, h, v in rows)
