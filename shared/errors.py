"""Errors with a stable `extensions.code`, raised by resolvers and services alike.

Services (no GraphQL imports) raise these; the app factory's error formatter turns them into
GraphQL errors with the code. Anything else becomes INTERNAL_SERVER_ERROR with a generic message:
no stack trace or exception text reaches a client. Business failures of mutations are not
exceptions but `userErrors` (see `UserInputError` and shared.graphql.UserError).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class AppError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, extensions: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions or {}


class BadUserInputError(AppError):
    code = "BAD_USER_INPUT"


class NotFoundError(AppError):
    code = "NOT_FOUND"


class ForbiddenError(AppError):
    code = "FORBIDDEN"


class UnauthenticatedError(AppError):
    code = "UNAUTHENTICATED"


class ConflictError(AppError):
    """Optimistic-concurrency failure (stale `version`)."""

    code = "CONFLICT"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One business-rule violation: `field` is the path into the mutation input."""

    field: tuple[str, ...]
    message: str
    code: str


@dataclass(slots=True)
class UserInputError(Exception):
    """A mutation's input broke domain rules; mapped to the payload's `userErrors`."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(e.field)}: {e.message}" for e in self.errors)
