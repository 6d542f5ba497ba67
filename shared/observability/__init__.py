"""Signals every service shares: Prometheus metrics, OpenTelemetry tracing, JSON logs.

Subgraphs get all three through ``shared.app_factory``; the gateway uses the same helpers
(docs/operations.md).
"""
