"""The token limit, checked with the lexer before parsing so a huge document is cheap to refuse.

A document of at most ``max_tokens`` characters cannot have more tokens than that, so the common case
costs one ``len``; longer documents are lexed until the limit is passed (never further) and nothing
is built. The parser's own ``max_tokens`` stays as a backstop.
"""

from __future__ import annotations

import graphql
from graphql.language import Lexer, Source, TokenKind

MAX_TOKENS = "MAX_TOKENS_LIMIT"


def count_tokens(query: str, stop_after: int) -> int:
    """Tokens in ``query`` (comments excluded, as the parser counts them), at most ``stop_after + 1``."""
    lexer = Lexer(Source(query))
    count = 0
    while count <= stop_after:
        if lexer.advance().kind == TokenKind.EOF:
            break
        count += 1
    return count


def token_limit_error(query: str, max_tokens: int) -> graphql.GraphQLError | None:
    """A request error when ``query`` has more than ``max_tokens`` tokens; None otherwise.

    A lexing error is not ours to report: the parser reports it with its location.
    """
    if max_tokens <= 0 or len(query) <= max_tokens:
        return None
    try:
        count = count_tokens(query, max_tokens)
    except graphql.GraphQLError:
        return None
    if count <= max_tokens:
        return None
    return graphql.GraphQLError(f"The document has more than {max_tokens} tokens.",
                                extensions={"code": MAX_TOKENS, "limit": max_tokens})
