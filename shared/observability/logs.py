"""One logging configuration for every service: JSON lines with trace id, tenant and operation.

    configure_logging("gateway")     # LOG_LEVEL (default INFO), LOG_FORMAT=json (default) or text

Each line: ``ts``, ``level``, ``logger``, ``message``, ``service``, plus ``trace_id``/``span_id`` inside
a span, ``tenant`` and ``operation`` when the request set them (``log_context``), and ``exc`` for an
exception. Secrets never reach the output: bearer tokens, JWTs, passwords in URLs and ``key=value``
pairs with a sensitive key are masked in the message and the exception text, and extra fields with a
sensitive name are dropped to ``[redacted]``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from shared.observability.tracing import trace_ids

TENANT: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_tenant", default=None)
OPERATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_operation", default=None)
REDACTED = "[redacted]"
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[-_]?key|authori[sz]ation|cookie|credential|"
    r"x-gateway-context",
    re.IGNORECASE,
)
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),  # JWTs
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1" + REDACTED + "@"),  # user:password@host
    (
        re.compile(
            r"(?i)\b([\w-]*(?:pass(?:word|wd)?|secret|token|api[-_]?key|authorization)[\w-]*)"
            r"(\s*[=:]\s*)(['\"]?)[^\s'\",;&}]+"
        ),
        r"\1\2\3" + REDACTED,
    ),
)
# LogRecord's own attributes (and uvicorn's colour copy of the message) are not extra fields.
_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_state: dict[str, str] = {}


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@contextlib.contextmanager
def log_context(*, tenant: str | None = None, operation: str | None = None) -> Iterator[None]:
    """Tenant and operation name on every line logged inside the block."""
    tokens = (TENANT.set(tenant), OPERATION.set(operation))
    try:
        yield
    finally:
        OPERATION.reset(tokens[1])
        TENANT.reset(tokens[0])


def set_log_context(*, tenant: str | None, operation: str | None) -> None:
    """For the rest of the current task (one request): tenant and operation on its log lines."""
    TENANT.set(tenant)
    OPERATION.set(operation)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "service": self.service,
        }
        ids = trace_ids()
        if ids is not None:
            line["trace_id"], line["span_id"] = ids
        tenant, operation = TENANT.get(), OPERATION.get()
        if tenant:
            line["tenant"] = tenant
        if operation:
            line["operation"] = operation
        for key, value in vars(record).items():
            if key in _RESERVED or key.startswith("_"):
                continue
            line[key] = REDACTED if _SENSITIVE_KEY.search(key) else _plain(value)
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners swap it), not the one at set-up."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(service: str, level: str | None = None) -> None:
    """Install the JSON (or text) handler on the root logger, once per process."""
    if _state.get("service"):
        return
    _state["service"] = service
    handler = _StderrHandler()
    handler.set_name("b2b-observability")
    if os.environ.get("LOG_FORMAT", "json").strip().lower() == "text":
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("LOG_LEVEL") or "INFO").upper())
