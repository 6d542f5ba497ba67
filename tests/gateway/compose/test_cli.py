"""`python -m gateway.supergraph.compose --subgraph NAME=URL=PATH ... [-o OUT]`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import graphql

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.supergraph.compose", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_composes_to_a_file(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.graphql", tmp_path / "b.graphql", tmp_path / "supergraph.graphql"
    a.write_text(LINK + 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! a: Int }')
    b.write_text(LINK + 'type T @key(fields: "id") { id: ID! b: Int }')
    url = "http://127.0.0.1:1/graphql?x=1"
    result = _run("-s", f"a={url}={a}", "--subgraph", f"b=http://b={b}", "-o", str(out))
    assert result.returncode == 0, result.stderr
    schema = graphql.build_schema(out.read_text())
    assert set(schema.type_map["T"].fields) == {"id", "a", "b"}  # type: ignore[attr-defined]
    assert 'url: "http://127.0.0.1:1/graphql?x=1"' in out.read_text()


def test_cli_reports_errors_without_traceback(tmp_path: Path) -> None:
    a, b = tmp_path / "a.graphql", tmp_path / "b.graphql"
    a.write_text(LINK + 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! name: String }')
    b.write_text(LINK + 'type T @key(fields: "id") { id: ID! name: String }')
    result = _run("-s", f"a=http://a={a}", "-s", f"b=http://b={b}")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "INVALID_FIELD_SHARING" in result.stderr
    assert 'Non-shareable field "T.name"' in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_prints_hints_on_stderr(tmp_path: Path) -> None:
    a = tmp_path / "a.graphql"
    link = LINK.replace('["@key"]', '["@key", "@override"]')
    a.write_text(
        link + 'type Query { t: T }\ntype T @key(fields: "id") { id: ID! x: Int @override(from: "zz") }'
    )
    result = _run("-s", f"a=http://a={a}")
    assert result.returncode == 0, result.stderr
    assert "hint: [FROM_SUBGRAPH_DOES_NOT_EXIST]" in result.stderr
    assert result.stdout.startswith("schema")


def test_cli_rejects_a_bad_subgraph_argument(tmp_path: Path) -> None:
    result = _run("-s", "nourl")
    assert result.returncode == 2
    assert "NAME=URL=PATH" in result.stderr
    missing = _run("-s", f"a=http://a={tmp_path / 'missing.graphql'}")
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
