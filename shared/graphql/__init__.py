"""Strawberry building blocks shared by every subgraph (types declared `@shareable`)."""

from shared.graphql.money import Money
from shared.graphql.relay import Connection, Edge, PageArgs, PageInfo, decode_cursor, encode_cursor
from shared.graphql.types import FEDERATION_VERSION, Info, UserError, user_error_at, user_errors

__all__ = [
    "FEDERATION_VERSION",
    "Connection",
    "Edge",
    "Info",
    "Money",
    "PageArgs",
    "PageInfo",
    "UserError",
    "decode_cursor",
    "encode_cursor",
    "user_error_at",
    "user_errors",
]
