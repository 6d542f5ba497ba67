"""Relay connections (`first/after`, `pageInfo`, `totalCount`) with a page-size cap.

Cursors are opaque: base64url of a JSON list of the sort key of the row (keyset pagination).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson
import strawberry

from shared.errors import BadUserInputError

if TYPE_CHECKING:
    from shared.graphql.types import Info

NodeT = TypeVar("NodeT")


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise BadUserInputError("invalid cursor", extensions={"argument": "after"}) from exc
    if not isinstance(value, list):
        raise BadUserInputError("invalid cursor", extensions={"argument": "after"})
    return value


@dataclass(frozen=True, slots=True)
class PageArgs:
    """Validated `first`/`after`: `limit` rows after the sort key `after` (None: from the start)."""

    limit: int
    after: list[Any] | None

    @classmethod
    def parse(
        cls, first: int | None, after: str | None, *, default: int = 20, maximum: int = 100
    ) -> PageArgs:
        if first is None:
            first = default
        if first < 0:
            raise BadUserInputError("first must not be negative", extensions={"argument": "first"})
        if first > maximum:
            raise BadUserInputError(f"first must be at most {maximum}", extensions={"argument": "first"})
        return cls(limit=first, after=decode_cursor(after) if after else None)

    @classmethod
    def of_request(cls, info: Info, first: int | None, after: str | None) -> PageArgs:
        """`parse` with the page sizes of the subgraph's settings (`page_size_default/max`)."""
        s = info.context.settings
        return cls.parse(first, after, default=s.page_size_default, maximum=s.page_size_max)


@strawberry.federation.type(shareable=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    cursor: str


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int

    @classmethod
    def build(
        cls, rows: list[tuple[NodeT, list[Any]]], *, limit: int, total_count: int, has_previous: bool
    ) -> Connection[NodeT]:
        """`rows`: up to `limit + 1` (node, sort key) pairs; the extra one only says there is more."""
        page = rows[:limit]
        edges = [Edge(node=node, cursor=encode_cursor(key)) for node, key in page]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > limit,
                has_previous_page=has_previous,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=total_count,
        )
