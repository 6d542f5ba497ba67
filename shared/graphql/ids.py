"""IDs at the GraphQL edge: UUIDs out as `ID`, `ID` inputs in as UUIDs (garbage is a userError)."""

from __future__ import annotations

import uuid

import strawberry

from shared.errors import FieldError, UserInputError


def graphql_id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def optional_graphql_id(value: uuid.UUID | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


def parse_input_id(value: strawberry.ID | str, field: str) -> uuid.UUID:
    """The UUID of an input id; anything else is an `INVALID` userError at `field` (dotted path)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserInputError([FieldError(tuple(field.split(".")), "not a valid id", "INVALID")]) from None
