"""Common GraphQL types. Value types defined by several subgraphs must be identical and
`@shareable` (Federation v2), so every subgraph imports these instead of declaring its own."""

from __future__ import annotations

import uuid
from typing import Final, TypeAlias

import strawberry
from strawberry.federation.schema_directives import ListSize

from shared.context import RequestContext
from shared.errors import UserInputError

Info: TypeAlias = strawberry.Info[RequestContext, None]


@strawberry.federation.type(shareable=True, description="A business-rule violation in a mutation's input.")
class UserError:
    field: list[str] | None = strawberry.field(description="Path to the input field at fault, if any.")
    message: str
    code: str


TENANT_ID_DESCRIPTION: Final = "The tenant this belongs to (checked by the gateway's tenant guard)."


def tenant_id_of(value: uuid.UUID | None) -> strawberry.ID:
    """`tenantId` of a row; an unknown tenant is "" (never the caller's: the guard fails closed)."""
    return strawberry.ID(str(value) if value is not None else "")


def user_errors(error: UserInputError) -> list[UserError]:
    return [UserError(field=list(e.field) or None, message=e.message, code=e.code) for e in error.errors]


def user_error_at(path: str | None, message: str, code: str) -> UserError:
    """A `UserError` for a domain error that names its input field as a dotted path
    (`skus.1.code`, `input.lines.2.quantity`); no path (None or "") is `field: null`."""
    return UserError(field=path.split(".") if path else None, message=message, code=code)


# The Federation version every subgraph declares (`@link(url: ".../federation/v2.9")`): the oldest
# with all directives the project uses (@shareable, @key, @authenticated, @requiresScopes, @policy,
# and @listSize on connections for the gateway's cost limit).
FEDERATION_VERSION: Final = "2.9"

# A connection's list size for demand control: `first` slices its `edges`; without it a page has
# the default page size (shared.settings.page_size_default).
CONNECTION_LIST_SIZE: Final = ListSize(
    slicing_arguments=["first"], sized_fields=["edges"], assumed_size=20, require_one_slicing_argument=False
)
