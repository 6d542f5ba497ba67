"""Common GraphQL types. Value types defined by several subgraphs must be identical and
`@shareable` (Federation v2), so every subgraph imports these instead of declaring its own."""

from __future__ import annotations

from typing import Final, TypeAlias

import strawberry

from shared.context import RequestContext
from shared.errors import UserInputError

Info: TypeAlias = strawberry.Info[RequestContext, None]


@strawberry.federation.type(shareable=True, description="A business-rule violation in a mutation's input.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault, if any.")
    message: str
    code: str


def user_errors(error: UserInputError) -> list[UserError]:
    return [UserError(field=list(e.field) or None, message=e.message, code=e.code) for e in error.errors]


# The Federation version every subgraph declares (`@link(url: ".../federation/v2.6")`): the oldest
# with all directives the project uses (@shareable, @key, @authenticated, @requiresScopes, @policy).
FEDERATION_VERSION: Final = "2.6"
