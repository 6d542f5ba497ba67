"""An in-memory span exporter installed as the process's tracer provider, for one test module."""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.observability import tracing

_EXPORTER = InMemorySpanExporter()


def spans_exporter() -> Iterator[InMemorySpanExporter]:
    """Tracing on with every finished span kept in memory; off again (no-op) afterwards."""
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):  # the global provider can be set once per process
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        tracing.install_provider(provider)
    else:
        tracing.install_provider(current)
    _EXPORTER.clear()
    try:
        yield _EXPORTER
    finally:
        tracing.uninstall()
        _EXPORTER.clear()
