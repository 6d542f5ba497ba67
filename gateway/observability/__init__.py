"""The gateway's operational signals: Prometheus metrics, OpenTelemetry spans, log context."""
