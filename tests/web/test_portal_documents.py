"""The buyer portal's operations (web/buyer/src/graphql) against the supergraph the gateway serves.

Fails when a subgraph change breaks a front-end operation (a removed field, a renamed argument, a
type change), before any browser test runs and without node: the documents are validated with
graphql-core against the API schema of the checked-in schema/supergraph.graphql, which `make schema`
regenerates from the code. The trusted-documents manifest the build writes (the gateway's
GATEWAY_PERSISTED_MANIFEST) must hold exactly these operations, each under its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import graphql
import pytest

from devstack import web

SOURCES = sorted((web.PORTAL / "src" / "graphql").glob("*.graphql"))


def _document() -> graphql.DocumentNode:
    # One document: fragments are shared between files, as codegen sees them.
    return graphql.parse("\n".join(path.read_text() for path in SOURCES))


@pytest.fixture(scope="module")
def api_schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(web.api_schema_sdl(web.SUPERGRAPH.read_text()))


def _operations(document: graphql.DocumentNode) -> list[graphql.OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]


def test_the_portal_has_its_operations() -> None:
    names = [op.name.value for op in _operations(_document()) if op.name is not None]
    assert len(names) == len(set(names)), "operation names must be unique (they name the trusted documents)"
    for flow in ("Login", "SearchProducts", "ProductPage", "QuoteRequest", "QuoteAccept", "CheckoutPreview",
                 "PlaceOrder", "ApprovalQueue", "OrderApprove", "OrderReject", "OrderDetail", "Invoices",
                 "Shipments"):
        assert flow in names


def test_every_operation_validates_against_the_supergraph(api_schema: graphql.GraphQLSchema) -> None:
    errors = graphql.validate(api_schema, _document())
    assert not errors, "\n".join(f"{e.message} at {e.locations}" for e in errors)


def test_a_broken_operation_is_caught(api_schema: graphql.GraphQLSchema) -> None:
    # The check itself: an operation asking for a field the supergraph does not have fails it.
    broken = graphql.parse("query Broken { searchProducts(first: 1) { totalCount noSuchField } }")
    assert graphql.validate(api_schema, broken)


def test_the_built_manifest_holds_exactly_the_portal_operations() -> None:
    if not web.built():
        pytest.skip("the buyer portal is not built: make install (node, npm ci)")
    manifest: dict[str, str] = json.loads(Path(web.MANIFEST).read_text())
    for key, body in manifest.items():
        assert hashlib.sha256(body.encode()).hexdigest() == key
    built = {op.name.value for body in manifest.values() for op in _operations(graphql.parse(body))
             if op.name is not None}
    sources = {op.name.value for op in _operations(_document()) if op.name is not None}
    assert built == sources, "the build is stale: make install (python -m devstack.web)"
