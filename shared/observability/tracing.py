"""OpenTelemetry tracing for every service: on when an OTLP endpoint is configured, else a no-op.

``configure_tracing`` installs an SDK tracer provider exporting over OTLP/HTTP only when the standard
variables ask for it (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, and
``OTEL_SDK_DISABLED`` not true). Otherwise the API's no-op tracer stays in place and ``enabled()`` is
False, so hot paths skip span work entirely. Tests install their own provider with
``install_provider`` (in-memory exporter). Context travels as W3C ``traceparent``/``tracestate``.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

log = logging.getLogger(__name__)

_state: dict[str, bool] = {"enabled": False, "configured": False}
_TRACEPARENT = "traceparent"


def enabled() -> bool:
    """True once a real tracer provider is installed (OTLP configured, or a test's provider)."""
    return _state["enabled"]


def _wants_export() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service_name: str) -> bool:
    """Once per process: the OTLP exporter when configured. Returns whether tracing is on."""
    if _state["configured"]:
        return _state["enabled"]
    _state["configured"] = True
    if not _wants_export():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install_provider(provider)
    log.info("tracing: exporting spans over OTLP")
    return True


def install_provider(provider: trace.TracerProvider) -> None:
    """Make ``provider`` the global one (tests: an SDK provider with an in-memory exporter)."""
    trace.set_tracer_provider(provider)
    _state["configured"] = True
    _state["enabled"] = True


def uninstall() -> None:
    """Back to no-op behaviour (tests: the global provider cannot be replaced, only stop being used)."""
    _state["enabled"] = False


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current context's ``traceparent`` (and ``tracestate``) to outgoing ``headers``."""
    propagate.inject(headers)
    return headers


def extract(headers: Mapping[str, Any]) -> otel_context.Context:
    """The context a caller sent (an empty one when it sent none)."""
    return propagate.extract(headers)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside a recorded span."""
    if not _state["enabled"]:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(_TRACEPARENT)


def trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span in hex, for log lines; None when there is none."""
    if not _state["enabled"]:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def instrument_engine(engine: Any) -> None:
    """SQL spans for a SQLAlchemy engine (async engines: their sync engine), when tracing is on.

    Each engine gets the instrumentation's listener once (``SQLAlchemyInstrumentor().instrument`` only
    takes the first engine of a process; services and tests have several).
    """
    if not _state["enabled"]:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    sync_engine = getattr(engine, "sync_engine", engine)
    if sync_engine in _ENGINES:
        return
    _ENGINES.add(sync_engine)
    usage = get_meter("shared.observability").create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    EngineTracer(
        trace.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
        sync_engine,  # type: ignore[no-untyped-call]
        usage,
    )


_ENGINES: weakref.WeakSet[Any] = weakref.WeakSet()
