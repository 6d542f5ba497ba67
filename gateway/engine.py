"""The gateway engine: the seam between the HTTP layer and planning/execution.

The HTTP layer parses and validates the operation against ``Gateway.api_schema`` and hands an
``OperationRequest`` to ``Gateway.execute``, which plans (cached) and runs the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import graphql

from gateway.supergraph.api_schema import build_api_schema


@dataclass(frozen=True, slots=True)
class OperationRequest:
    document: graphql.DocumentNode  # already parsed and validated against api_schema by the HTTP layer
    operation_name: str | None
    variables: dict[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict)  # inbound headers, lower-case names
    explain: bool = False  # when true, put the query plan (plain JSON) in extensions["queryPlan"]


class Gateway:
    """Executes operations against a federation supergraph."""

    api_schema: graphql.GraphQLSchema

    def __init__(self, supergraph_document: graphql.DocumentNode, *, subgraph_timeout: float = 30.0,
                 subgraph_headers: Mapping[str, str] | None = None) -> None:
        self.api_schema = build_api_schema(supergraph_document)
        self.subgraph_timeout = subgraph_timeout
        self.subgraph_headers = dict(subgraph_headers or {})

    @classmethod
    def from_supergraph_sdl(cls, sdl: str, *, subgraph_timeout: float = 30.0,
                            subgraph_headers: Mapping[str, str] | None = None) -> Gateway:
        return cls(graphql.parse(sdl), subgraph_timeout=subgraph_timeout, subgraph_headers=subgraph_headers)

    async def execute(self, request: OperationRequest) -> dict[str, Any]:
        """Full GraphQL response: {"data": ...} plus "errors"/"extensions" when present.

        Never raises for subgraph failures: partial data + errors with paths and extensions.code.
        """
        return {"data": None, "errors": [{"message": "query planning not implemented yet",
                                          "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}

    async def close(self) -> None:
        """Close pooled connections (the aiohttp session is created lazily in the running loop)."""
