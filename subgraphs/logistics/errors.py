"""The logistics domain's business failure: a code, a message and the input field at fault."""

from __future__ import annotations


class LogisticsError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
