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


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    document: graphql.DocumentNode | None
    error: graphql.GraphQLError | None


class DocumentStore:
    def __init__(self, schema: graphql.GraphQLSchema, *, parse_cache_size: int, validation_cache_size: int,
                 max_tokens: int, suggestions: bool = True,
                 precheck: Callable[[str], graphql.GraphQLError | None] | None = None) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        self.suggestions = suggestions
        # Run on parse-cache misses only (the safety layer's token limit); a refusal is not cached, so
        # huge refused documents never take cache memory.
        self.precheck = precheck
        self.parsed: LRUCache[str, ParseOutcome] = LRUCache(parse_cache_size)
        self.validated: LRUCache[str, tuple[graphql.GraphQLError, ...]] = LRUCache(validation_cache_size)

    def parse(self, query: str) -> ParseOutcome:
        outcome = self.parsed.get(query)
        if outcome is None:
            refusal = self.precheck(query) if self.precheck is not None else None
            if refusal is not None:
                return ParseOutcome(None, refusal)
            try:
                outcome = ParseOutcome(graphql.parse(query, max_tokens=self.max_tokens), None)
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
