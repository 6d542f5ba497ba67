"""Parse and validate operations against the API schema, with LRU caches keyed by query text.

Both caches are keyed by the raw query text: the API schema is fixed for the life of the process,
so the same text always parses to the same document and validates to the same errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import graphql

from gateway.http.lru import LRUCache
from gateway.http.validation_errors import condense
from gateway.sizing import estimate_bytes


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    document: graphql.DocumentNode | None
    error: graphql.GraphQLError | None


def drop_token_chain(document: graphql.DocumentNode) -> graphql.DocumentNode:
    """Unlink the lexer's token list: a cached document then keeps only the tokens its nodes' locations
    start and end at (error locations need ``loc.source`` and ``loc.start``), not one per punctuator and
    name (about a third of a parsed document's memory)."""
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:
        following = token.next
        token.prev = token.next = None
        token = following
    return document


def _entry_bytes(query: str, value: object) -> int:
    return estimate_bytes(query) + estimate_bytes(value)


class DocumentStore:
    def __init__(self, schema: graphql.GraphQLSchema, *, parse_cache_size: int, validation_cache_size: int,
                 max_tokens: int, parse_cache_bytes: int = 32 << 20, validation_cache_bytes: int = 8 << 20,
                 suggestions: bool = True,
                 precheck: Callable[[str], graphql.GraphQLError | None] | None = None) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        self.suggestions = suggestions
        # Run on parse-cache misses only (the safety layer's token limit); a refusal is not cached, so
        # huge refused documents never take cache memory.
        self.precheck = precheck
        # Bounded by entries and by estimated bytes (query text + what the entry keeps alive).
        self.parsed: LRUCache[str, ParseOutcome] = LRUCache(
            parse_cache_size, max_bytes=parse_cache_bytes, sizer=_entry_bytes)
        self.validated: LRUCache[str, tuple[graphql.GraphQLError, ...]] = LRUCache(
            validation_cache_size, max_bytes=validation_cache_bytes, sizer=_entry_bytes)

    def parse(self, query: str) -> ParseOutcome:
        outcome = self.parsed.get(query)
        if outcome is None:
            refusal = self.precheck(query) if self.precheck is not None else None
            if refusal is not None:
                return ParseOutcome(None, refusal)
            try:
                document = drop_token_chain(graphql.parse(query, max_tokens=self.max_tokens))
                outcome = ParseOutcome(document, None)
            except graphql.GraphQLError as error:
                outcome = ParseOutcome(None, error)
            self.parsed.put(query, outcome)
        return outcome

    def validate(self, query: str, document: graphql.DocumentNode) -> tuple[graphql.GraphQLError, ...]:
        errors = self.validated.get(query)
        if errors is None:
            errors = condense(graphql.validate(self.schema, document), suggestions=self.suggestions)
            self.validated.put(query, errors)
        return errors
