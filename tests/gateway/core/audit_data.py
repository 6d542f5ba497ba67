"""Access to the Federation Gateway Audit's exported data (../shared/federation-audit/)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import graphql

from gateway.planning.plan import Fetch, Flatten, Parallel, PlanNode, Sequence
from gateway.planning.planner import Planner
from gateway.supergraph.api_schema import build_api_schema
from gateway.supergraph.model import parse_supergraph
from tests.gateway.core.subgraph_schemas import build_subgraph_schema

AUDIT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "federation-audit"


def available() -> bool:
    return (AUDIT_DIR / "cases.json").is_file()


@functools.cache
def cases() -> list[dict[str, Any]]:
    if not available():
        return []
    data: list[dict[str, Any]] = json.loads((AUDIT_DIR / "cases.json").read_text())
    return data


@functools.cache
def supergraph_sdl(suite: str) -> str:
    return (AUDIT_DIR / "supergraphs" / f"{suite}.graphql").read_text()


@functools.cache
def planner(suite: str) -> tuple[Planner, graphql.GraphQLSchema]:
    doc = graphql.parse(supergraph_sdl(suite))
    sg = parse_supergraph(doc)
    return Planner(sg, graphql.build_ast_schema(doc, assume_valid_sdl=True)), build_api_schema(doc)


@functools.cache
def subgraph_schema(suite: str, subgraph: str) -> graphql.GraphQLSchema:
    return build_subgraph_schema((AUDIT_DIR / "subgraphs" / suite / f"{subgraph}.graphql").read_text())


def fetch_nodes(node: PlanNode | None) -> list[Fetch]:
    if node is None:
        return []
    if isinstance(node, Flatten):
        return [node.node]
    if isinstance(node, Fetch):
        return [node]
    if isinstance(node, Sequence | Parallel):
        return [f for n in node.nodes for f in fetch_nodes(n)]
    return []


def levels(node: PlanNode | None) -> list[list[PlanNode]]:
    """The plan's steps: each step is the list of fetch nodes that run together."""
    if node is None:
        return []
    if isinstance(node, Sequence):
        return [lv for n in node.nodes for lv in levels(n)]
    if isinstance(node, Parallel) and all(isinstance(n, Fetch | Flatten) for n in node.nodes):
        return [list(node.nodes)]
    if isinstance(node, Parallel):
        return [lv for n in node.nodes for lv in levels(n)]
    return [[node]]
