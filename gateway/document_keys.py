"""Cache keys of operation documents, shared by the plan cache and the authorization cache."""

from __future__ import annotations

import hashlib
from typing import Any

import graphql
from graphql import language as ast


def document_key(document: ast.DocumentNode) -> str:
    """A hash of the document's source text (the printed AST when it has no source)."""
    body = document.loc.source.body if document.loc is not None else graphql.print_ast(document)
    return hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()


def condition_variables(document: ast.DocumentNode) -> tuple[str, ...]:
    """Variables used by @skip/@include: they change the plan, so they are part of its cache key."""
    names: set[str] = set()

    class _V(graphql.Visitor):
        def enter_directive(self, node: ast.DirectiveNode, *_: Any) -> None:
            if node.name.value in ("skip", "include"):
                for a in node.arguments or ():
                    if isinstance(a.value, ast.VariableNode):
                        names.add(a.value.name.value)

    graphql.visit(document, _V())
    return tuple(sorted(names))
