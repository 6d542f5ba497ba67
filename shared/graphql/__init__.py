"""Strawberry building blocks shared by every subgraph (types declared `@shareable`)."""

from shared.graphql.money import Money
from shared.graphql.relay import Connection, Edge, PageArgs, PageInfo, decode_cursor, encode_cursor
from shared.graphql.types import (
    CONNECTION_LIST_SIZE,
    FEDERATION_VERSION,
    TENANT_ID_DESCRIPTION,
    Info,
    UserError,
    tenant_id_of,
    user_error_at,
    user_errors,
)

__all__ = [
    "CONNECTION_LIST_SIZE",
    "FEDERATION_VERSION",
    "TENANT_ID_DESCRIPTION",
    "Connection",
    "Edge",
    "Info",
    "Money",
    "PageArgs",
    "PageInfo",
    "UserError",
    "decode_cursor",
    "encode_cursor",
    "tenant_id_of",
    "user_error_at",
    "user_errors",
]
