"""The one `Money` GraphQL type of the supergraph. Value types shared by subgraphs must be
identical in each (Federation v2 `@shareable`), so every subgraph that shows money imports this
instead of declaring its own (same SDL as pricing's original declaration)."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.federation.type(shareable=True, description="An exact amount of money.")
class Money:
    amount: str = strawberry.field(description="Decimal amount as a string (never a float).")
    currency: str = strawberry.field(description="ISO 4217 currency code.")

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """From an exact Decimal; `format(..., "f")` never switches to exponent notation."""
        if not amount.is_finite():
            raise ValueError("money amounts are finite")
        return cls(amount=format(amount, "f"), currency=currency)
