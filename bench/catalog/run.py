"""Catalog search benchmark: 100k SKUs in a fresh database, search p50/p95 over fixed queries.

    python -m bench.catalog [--skus 100000] [--repeat 20] [--no-http]

Uses DATABASE_URL when set (a server, not a database: a fresh `bench_catalog_*` database is
created and dropped), else starts the embedded PostgreSQL in a temporary folder. Measures two
layers, both with facets and row-level security on (application role):

- `sql`: `search_products` + loading the page's products, as the resolver does;
- `http`: the `searchProducts` GraphQL query over HTTP to the catalog subgraph with a signed
  gateway context (everything the gateway would wait for).

As reference, measured in the same run: the same word matches done the naive way (`ILIKE
'%word%'` on name and description, no full-text index); the report prints our time as a ratio of
it. Target: p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.catalog.data import CATEGORY_COLUMNS, PRODUCT_COLUMNS, SKU_COLUMNS, build
from bench.runlock import exclusive_run
from devstack.asgi import serve_asgi
from devstack.migrate import upgrade_all
from devstack.services import start_services
from shared.db import Database, app_database_url, libpq_url
from shared.settings import Settings
from shared.testing import gateway_headers
from subgraphs.catalog import repository
from subgraphs.catalog.app import create_app
from subgraphs.catalog.demo_ids import category_id
from subgraphs.catalog.search import AttributeFilter, SearchParams, search_products

TENANT = uuid.UUID("5c0ffee0-0000-4000-8000-00000000be4c")
PLATFORM = uuid.UUID("5c0ffee0-0000-4000-8000-000000000001")
VENDORS = [uuid.UUID(f"5c0ffee0-0000-4000-8000-00000000000{i}") for i in (2, 3)]
BUYER = uuid.UUID("5c0ffee0-0000-4000-8000-000000000004")


@dataclass(frozen=True, slots=True)
class BenchQuery:
    label: str
    query: str | None = None
    category: str | None = None
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def params(self, limit: int = 20) -> SearchParams:
        return SearchParams(
            query=self.query,
            category_id=category_id(self.category) if self.category else None,
            attributes=tuple(AttributeFilter(n, v) for n, v in self.attributes),
            limit=limit,
        )

    def variables(self) -> dict[str, Any]:
        f: dict[str, Any] = {}
        if self.category:
            f["categoryId"] = str(category_id(self.category))
        if self.attributes:
            f["attributes"] = [{"name": n, "values": list(v)} for n, v in self.attributes]
        return {"q": self.query, "f": f or None, "first": 20}


QUERIES: tuple[BenchQuery, ...] = (
    BenchQuery("word", "gloves"),
    BenchQuery("two words", "nitrile gloves"),
    BenchQuery("prefix", "grin"),
    BenchQuery("three words", "cordless combi drill"),
    BenchQuery("numbers", "angle grinder 125"),
    BenchQuery("rare", "ER316LSi"),
    BenchQuery("code prefix", "GLV-NIT4-BL"),
    BenchQuery("exact SKU", "PT-DRL-VO18-COM90-K2-S0042"),
    BenchQuery("broad", "steel"),
    BenchQuery("text + category", "disc", category="abrasives"),
    BenchQuery("text + attribute", "gloves", attributes=(("size", ("M", "L")),)),
    BenchQuery("browse category", None, category="welding"),
    BenchQuery("browse + 2 attributes", None, "steel", (("grade", ("S355J2",)), ("finish", ("Hot rolled",)))),
    BenchQuery("no match", "zyxwv"),
)

GRAPHQL = """query($q: String, $f: ProductSearchFilter, $first: Int) {
  searchProducts(query: $q, filter: $f, first: $first) {
    totalCount
    edges { node { id name brand status } }
    facets { categories { category { code } count } vendors { vendor { id } count }
             attributes { name values { value count } } }
  }
}"""


@contextmanager
def _server() -> Iterator[str]:
    """A PostgreSQL server URL: DATABASE_URL's server, or an embedded one for this run."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        env = {**os.environ, "NATS_URL": "nats://unused", "REDIS_URL": "redis://unused"}
        services = start_services(Path(tmp), persistent=False, env=env)
        try:
            yield services.database_url
        finally:
            services.stop()


async def _load(url: str, sku_target: int) -> tuple[int, int]:
    rows = build(TENANT, VENDORS, sku_target)
    conn = await asyncpg.connect(libpq_url(url))
    try:
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(TENANT))
        await conn.copy_records_to_table(
            "categories", schema_name="catalog", records=rows.categories, columns=CATEGORY_COLUMNS
        )
        await conn.copy_records_to_table(
            "products", schema_name="catalog", records=rows.products, columns=PRODUCT_COLUMNS
        )
        await conn.copy_records_to_table(
            "skus", schema_name="catalog", records=rows.skus, columns=SKU_COLUMNS
        )
        orgs = [(PLATFORM, "PLATFORM"), *((v, "SUPPLIER") for v in VENDORS), (BUYER, "BUYER")]
        await conn.executemany(
            "INSERT INTO catalog.organizations (id, tenant_id, kind) VALUES ($1, $2, $3)",
            [(o, TENANT, k) for o, k in orgs],
        )
        pub = uuid.uuid4()
        await conn.execute(
            "INSERT INTO catalog.publications (id, tenant_id, code, name, all_buyers) "
            "VALUES ($1, $2, 'standard', 'Standard', true)",
            pub,
            TENANT,
        )
        await conn.executemany(
            "INSERT INTO catalog.publication_categories (publication_id, category_id, tenant_id) "
            "VALUES ($1, $2, $3)",
            [(pub, category_id(c), TENANT) for c in ("ppe", "power-tools", "abrasives", "welding", "steel")],
        )
        # The steady state of a loaded catalog (what autovacuum leaves after a bulk load): fresh
        # statistics for the planner and an all-visible heap (scans skip per-row visibility checks).
        await conn.execute("VACUUM (ANALYZE) catalog.products, catalog.skus")
    finally:
        await conn.close()
    return len(rows.products), len(rows.skus)


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _measure(fn: Callable[[], Awaitable[Any]], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        await fn()
    out: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def _reference(db: Database, q: BenchQuery) -> None:
    """The naive way: every word as ILIKE '%word%' on name or description, count plus a page."""
    words = [w for w in (q.query or "").split() if w]
    where = (
        " AND ".join(f"(name ILIKE :w{i} OR description ILIKE :w{i})" for i in range(len(words))) or "TRUE"
    )
    params = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    async with db.tenant_session(TENANT) as s:
        await s.execute(text(f"SELECT count(*) FROM catalog.products WHERE {where}"), params)
        await s.execute(text(f"SELECT id FROM catalog.products WHERE {where} ORDER BY name LIMIT 20"), params)


async def _bench(server_url: str, sku_target: int, repeat: int, http: bool) -> dict[str, Any]:
    db_name = f"bench_catalog_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(libpq_url(server_url))
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    await admin.close()
    url = make_url(server_url).set(database=db_name).render_as_string(hide_password=False)
    report: dict[str, Any] = {"skus": sku_target, "repeat": repeat, "queries": []}
    try:
        t0 = time.perf_counter()
        await asyncio.to_thread(upgrade_all, url, ["catalog"])
        products, skus = await _load(url, sku_target)
        report.update(products=products, skus=skus, load_seconds=round(time.perf_counter() - t0, 1))
        print(f"loaded {products} products / {skus} SKUs in {report['load_seconds']} s")
        db = Database.from_url(app_database_url(url), pool_size=4)
        try:
            async with db.tenant_session(TENANT) as s:
                tree = await repository.load_tree(s)
                _, _, buyer_vis = await repository.scope_for(s, str(BUYER), ["catalog:read"])
            viewers = {"admin": repository.Visibility(everything=True), "buyer": buyer_vis}
            all_sql: list[float] = []
            all_ref: list[float] = []
            for q in QUERIES:
                entry: dict[str, Any] = {"label": q.label, "query": q.query}
                for who, vis in viewers.items():

                    async def run_sql(
                        q: BenchQuery = q, vis: repository.Visibility = vis, entry: dict[str, Any] = entry
                    ) -> None:
                        async with db.tenant_session(TENANT) as s:
                            result = await search_products(s, q.params(), vis, tree)
                            await repository.products_by_id(s, result.ids)
                            entry["total"] = result.total

                    samples = await _measure(run_sql, repeat)
                    all_sql += samples
                    entry[f"sql_{who}_p50"] = round(_pct(samples, 0.5), 2)
                    entry[f"sql_{who}_p95"] = round(_pct(samples, 0.95), 2)
                ref = await _measure(lambda q=q: _reference(db, q), max(5, repeat // 2), warmup=1)  # type: ignore[misc]
                all_ref += ref
                entry["reference_p50"] = round(_pct(ref, 0.5), 2)
                report["queries"].append(entry)
            report["sql_p50"] = round(_pct(all_sql, 0.5), 2)
            report["sql_p95"] = round(_pct(all_sql, 0.95), 2)
            report["reference_p50"] = round(_pct(all_ref, 0.5), 2)
            report["reference_p95"] = round(_pct(all_ref, 0.95), 2)
            if http:
                report.update(await _bench_http(url, db, repeat))
        finally:
            await db.dispose()
    finally:
        admin = await asyncpg.connect(libpq_url(server_url))
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.close()
    return report


async def _bench_http(url: str, db: Database, repeat: int) -> dict[str, Any]:
    settings = Settings(database_url=url, outbox_relay_enabled=False)
    headers = {
        **gateway_headers(TENANT, organization_id=BUYER, scopes=["catalog:read"], ttl=3600),
        "content-type": "application/json",
    }
    samples: list[float] = []
    async with serve_asgi(create_app(settings, database=db)) as base, aiohttp.ClientSession() as client:
        for q in QUERIES:

            async def call(q: BenchQuery = q) -> None:
                body = orjson.dumps({"query": GRAPHQL, "variables": q.variables()})
                async with client.post(f"{base}/graphql", data=body, headers=headers) as response:
                    payload = await response.json(content_type=None)
                    if "errors" in payload:
                        raise RuntimeError(payload["errors"])

            samples += await _measure(call, repeat)
    return {"http_p50": round(_pct(samples, 0.5), 2), "http_p95": round(_pct(samples, 0.95), 2)}


def _print(report: dict[str, Any]) -> None:
    print(f"\ncatalog search over {report['products']} products / {report['skus']} SKUs (ms)")
    print(f"{'query':<24}{'total':>7}{'admin p50':>11}{'p95':>8}{'buyer p50':>11}{'p95':>8}{'ILIKE p50':>11}")
    for e in report["queries"]:
        print(
            f"{e['label']:<24}{e['total']:>7}{e['sql_admin_p50']:>11}{e['sql_admin_p95']:>8}"
            f"{e['sql_buyer_p50']:>11}{e['sql_buyer_p95']:>8}{e['reference_p50']:>11}"
        )
    ratio = report["sql_p95"] / report["reference_p95"] if report["reference_p95"] else 0.0
    print(
        f"\nsql  p50 {report['sql_p50']} ms, p95 {report['sql_p95']} ms "
        f"(reference ILIKE p95 {report['reference_p95']} ms; ratio {ratio:.2f}x)"
    )
    if "http_p95" in report:
        print(f"http p50 {report['http_p50']} ms, p95 {report['http_p95']} ms (GraphQL with facets, buyer)")
    verdict = "PASS" if max(report["sql_p95"], report.get("http_p95", 0)) < 50 else "ABOVE TARGET"
    print(f"target p95 < 50 ms: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog", description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    # One benchmark at a time on this machine (the other benches take the same lock).
    with exclusive_run(), _server() as server_url:
        report = asyncio.run(_bench(server_url, args.skus, args.repeat, not args.no_http))
    _print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (args.out / f"catalog-{stamp}.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    (args.out / "catalog-latest.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


__all__ = ["main"]
