"""Business failures of the pricing domain: a stable machine code, a message and the input field.

The GraphQL layer turns a `PricingError` into a `userError { field message code }`; nothing here
knows about GraphQL.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # money and input
    INVALID_AMOUNT = "INVALID_AMOUNT"
    AMOUNT_PRECISION = "AMOUNT_PRECISION"
    UNSUPPORTED_CURRENCY = "UNSUPPORTED_CURRENCY"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_VALIDITY = "INVALID_VALIDITY"
    # price resolution
    NO_PRICE = "NO_PRICE"
    QUANTITY_BELOW_MINIMUM = "QUANTITY_BELOW_MINIMUM"
    QUANTITY_ABOVE_MAXIMUM = "QUANTITY_ABOVE_MAXIMUM"
    QUANTITY_NOT_MULTIPLE_OF_INCREMENT = "QUANTITY_NOT_MULTIPLE_OF_INCREMENT"
    INVALID_QUANTITY_RULE = "INVALID_QUANTITY_RULE"
    # price lists
    PRICE_LIST_NOT_FOUND = "PRICE_LIST_NOT_FOUND"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    BASE_LIST_NOT_ASSIGNABLE = "BASE_LIST_NOT_ASSIGNABLE"
    CONTRACT_ALREADY_ASSIGNED = "CONTRACT_ALREADY_ASSIGNED"
    ORGANIZATION_NOT_FOUND = "ORGANIZATION_NOT_FOUND"
    # quotes
    QUOTE_NOT_FOUND = "QUOTE_NOT_FOUND"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    NOT_QUOTE_BUYER = "NOT_QUOTE_BUYER"
    NOT_QUOTE_SELLER = "NOT_QUOTE_SELLER"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    # access
    NO_ORGANIZATION = "NO_ORGANIZATION"
    FORBIDDEN = "FORBIDDEN"


class PricingError(Exception):
    """A business rule said no. `field` is the dotted input path (`input.lines.2.quantity`)."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def at(self, field: str) -> PricingError:
        """The same error reported at another input path."""
        return PricingError(self.code, self.message, field)

    def __repr__(self) -> str:
        return f"PricingError({self.code.value!r}, {self.message!r}, field={self.field!r})"
