"""Business failures of finance mutations, as `UserInputError`s with a code."""

from __future__ import annotations

from shared.errors import FieldError, UserInputError


def refuse(field: str, message: str, code: str) -> UserInputError:
    """`raise refuse("amount", "...", "INVALID")`: one userError at input path `field`."""
    return UserInputError([FieldError(tuple(field.split(".")) if field else (), message, code)])
