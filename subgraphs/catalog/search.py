"""Product search: PostgreSQL full text with prefix matching, filters, and facet counts.

One statement per search: the match set is materialized once, then read for the page (ranked by
`ts_rank` with weights name A > brand/SKU codes B > description C, top-N only) and, in one pass,
for the total and the facet counts per category, per vendor and per attribute value: the matches
are grouped by (category, vendor, `facet_tags` array) and only the groups are unnested, so the
counts cost one hash aggregate, never one query per value.

Matching: every word of the query must match as a prefix (`word:*`) in the stemmed (english) or
unstemmed (simple) form; or the whole query is the beginning of a SKU code (`GLV-NIT` finds
`GLV-NIT4-BL-DX-M`), through a `text_pattern_ops` index instead of pg_trgm. Filters: category
subtree, vendor, status, attribute values (OR inside one attribute, AND across attributes, on the
GIN-indexed `facet_tags`). Visibility (buyer catalogs, vendors, admins) is one more predicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.catalog.models import SCHEMA
from subgraphs.catalog.repository import Visibility
from subgraphs.catalog.service import CategoryTree, ProductStatus, query_tokens, sku_prefix


@dataclass(frozen=True, slots=True)
class AttributeFilter:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SearchParams:
    query: str | None = None
    category_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    attributes: tuple[AttributeFilter, ...] = ()
    status: ProductStatus | None = None
    # Only these products (the survivors of the price filter, see `price_filter.py`); None: any.
    product_ids: tuple[uuid.UUID, ...] | None = None
    limit: int = 20
    offset: int = 0
    with_facets: bool = True


@dataclass(frozen=True, slots=True)
class FacetCount:
    value: str
    count: int


@dataclass(slots=True)
class SearchResult:
    ids: list[uuid.UUID]
    has_next: bool
    total: int
    categories: list[FacetCount] = field(default_factory=list)  # value: category id (subtree counts)
    vendors: list[FacetCount] = field(default_factory=list)  # value: vendor organization id
    attributes: dict[str, list[FacetCount]] = field(default_factory=dict)


@dataclass(slots=True)
class _Sql:
    where: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    rank: str | None = None


def _build(params: SearchParams, visibility: Visibility, tree: CategoryTree) -> _Sql | None:
    """The WHERE clause and rank expression, or None when nothing can match."""
    sql = _Sql()
    if visibility.nothing:
        return None
    if not visibility.everything:
        if visibility.vendor_id is not None:
            sql.where.append("p.vendor_id = :vis_vendor")
            sql.params["vis_vendor"] = visibility.vendor_id
        else:
            sql.where.append("p.status = 'ACTIVE'")
            sql.where.append("(p.category_id = ANY(:vis_categories) OR p.id = ANY(:vis_products))")
            sql.params["vis_categories"] = list(visibility.category_ids)
            sql.params["vis_products"] = list(visibility.product_ids)
    if params.status is not None:
        sql.where.append("p.status = :status")
        sql.params["status"] = params.status.value
    if params.product_ids is not None:
        if not params.product_ids:
            return None
        sql.where.append("p.id = ANY(:only_products)")
        sql.params["only_products"] = list(params.product_ids)
    if params.category_id is not None:
        if params.category_id not in tree.nodes:
            return None
        sql.where.append("p.category_id = ANY(:categories)")
        sql.params["categories"] = tree.subtree_ids(params.category_id)
    if params.vendor_id is not None:
        sql.where.append("p.vendor_id = :vendor")
        sql.params["vendor"] = params.vendor_id
    for i, attr in enumerate(params.attributes):
        if not attr.values:
            continue
        sql.where.append(f"p.facet_tags && CAST(:attr{i} AS text[])")
        sql.params[f"attr{i}"] = [f"{attr.name}={v}" for v in attr.values]
    tokens = query_tokens(params.query)
    prefix = sku_prefix(params.query)
    if tokens or prefix:
        matches: list[str] = []
        if tokens:
            parts = []
            for i, token in enumerate(tokens):
                # One letter as a prefix matches nearly everything: single letters match exactly.
                sql.params[f"t{i}"] = f"{token}:*" if len(token) > 1 else token
                # Stemmed or not; one term when both forms are the same word (`steel`, `grin`):
                # an OR of a term with itself matches the same rows but makes the planner
                # overestimate the matches (1 - (1 - s)^2) and scan the whole table.
                english = f"to_tsquery('english'::regconfig, :t{i})"
                simple = f"to_tsquery('simple'::regconfig, :t{i})"
                parts.append(f"(CASE WHEN {english} = {simple} THEN {simple} ELSE {english} || {simple} END)")
            tsquery = " && ".join(parts)
            matches.append(f"p.search @@ ({tsquery})")
            # ts_rank, not ts_rank_cd: the weights (name A > codes B > description C) carry the
            # ranking, and cover density costs a lot on broad queries matching half the catalog.
            sql.rank = f"ts_rank(p.search, {tsquery})"
        if prefix:
            # `= ANY(ARRAY(subquery))` is an init plan: the planner can OR it with the GIN scan
            # (BitmapOr) instead of checking every product row against an IN (subquery). The
            # prefix is a range in byte order (`~>=~`, `~<~`: leakproof, so the b-tree
            # text_pattern_ops index is usable under RLS, which LIKE is not).
            matches.append(
                f"p.id = ANY(ARRAY(SELECT s.product_id FROM {SCHEMA}.skus s "
                "WHERE s.code ~>=~ :sku_from AND s.code ~<~ :sku_to))"
            )
            sql.params["sku_from"] = prefix
            sql.params["sku_to"] = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        sql.where.append("(" + " OR ".join(matches) + ")")
    elif params.query and params.query.strip():
        return None  # only punctuation: nothing to look for
    return sql


# Planner and executor settings for the search transaction only (`set_config(..., true)` is
# SET LOCAL). The default random_page_cost (4, spinning disks) makes a full scan evaluating `@@`
# on every row look cheaper than the GIN bitmap scan, which it is not; 1.1 is the usual SSD
# setting. The statement is prepared (asyncpg): a generic plan cannot see how selective the words
# are and falls back to scanning everything, so every search is planned for its own words.
# work_mem: the materialized match set of a broad word (10k+ rows with name and tags) must not
# spill to a temporary file (the 4 MB default does). jit: a broad search over a large catalog
# crosses jit_above_cost, and compiling costs more than the whole query.
_PLANNER_SETTINGS = (
    "SELECT set_config('random_page_cost', '1.1', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true), "
    "set_config('work_mem', '32MB', true), "
    "set_config('jit', 'off', true)"
)


_PAGE = """
            SELECT 'p' AS kind, id::text AS value, row_number() OVER (ORDER BY rank DESC, name, id) AS n
            FROM page"""

# The total and every facet in one pass over the match set: the matches are hashed once by
# (category, vendor, whole `facet_tags` array). Products share attribute combinations, so there
# are far fewer such groups than matches (a few hundred for 10k matches); the total, the category
# and vendor counts and the tag counts (only the groups' arrays are unnested, each tag weighted by
# its group's size) are then sums over the groups.
_COUNTS_WITH_FACETS = (
    """,
            g AS (
                SELECT category_id, vendor_id, facet_tags, count(*) AS n
                FROM m GROUP BY category_id, vendor_id, facet_tags
            )"""
    + _PAGE
    + """
            UNION ALL SELECT 'n', NULL, coalesce(sum(n), 0) FROM g
            UNION ALL SELECT 'c', category_id::text, sum(n) FROM g GROUP BY category_id
            UNION ALL SELECT 'v', vendor_id::text, sum(n) FROM g GROUP BY vendor_id
            UNION ALL SELECT 't', tag, sum(n)
                FROM g CROSS JOIN LATERAL unnest(g.facet_tags) AS tag GROUP BY tag"""
)
_COUNT_ONLY = (
    _PAGE
    + """
            UNION ALL SELECT 'n', NULL, count(*) FROM m"""
)


async def search_products(
    session: AsyncSession, params: SearchParams, visibility: Visibility, tree: CategoryTree
) -> SearchResult:
    """One statement: the match set is computed once (materialized), then the page, the total and
    the facet counts are read from it."""
    sql = _build(params, visibility, tree)
    if sql is None:
        return SearchResult(ids=[], has_next=False, total=0)
    where = " AND ".join(sql.where) or "TRUE"
    rank = sql.rank or "0::real"
    await session.execute(text(_PLANNER_SETTINGS))
    rows = await session.execute(
        text(
            f"""
            WITH m AS MATERIALIZED (
                SELECT p.id, p.name, {rank} AS rank, p.category_id, p.vendor_id, p.facet_tags
                FROM {SCHEMA}.products p WHERE {where}
            ),
            page AS (
                SELECT id, name, rank FROM m ORDER BY rank DESC, name, id LIMIT :limit OFFSET :offset
            ){_COUNTS_WITH_FACETS if params.with_facets else _COUNT_ONLY}
            """
        ),
        {**sql.params, "limit": params.limit + 1, "offset": params.offset},
    )
    page: list[tuple[int, uuid.UUID]] = []
    per_category: dict[uuid.UUID, int] = {}
    result = SearchResult(ids=[], has_next=False, total=0)
    for kind, value, n in rows:
        if kind == "p":
            page.append((int(n), uuid.UUID(value)))
        elif kind == "n":
            result.total = int(n)
        elif kind == "c":
            per_category[uuid.UUID(value)] = int(n)
        elif kind == "v":
            result.vendors.append(FacetCount(value, int(n)))
        else:
            name, _, attr_value = str(value).partition("=")
            result.attributes.setdefault(name, []).append(FacetCount(attr_value, int(n)))
    page.sort()
    result.ids = [pid for _, pid in page[: params.limit]]
    result.has_next = len(page) > params.limit
    result.categories = rollup_categories(per_category, tree)
    result.vendors.sort(key=lambda f: (-f.count, f.value))
    for values in result.attributes.values():
        values.sort(key=lambda f: (-f.count, f.value))
    return result


async def candidate_skus(
    session: AsyncSession, params: SearchParams, visibility: Visibility, tree: CategoryTree, *, cap: int
) -> dict[uuid.UUID, list[uuid.UUID]] | None:
    """Every product matching `params` (all filters but the price) with its SKU ids, or None when
    more than `cap` products match (the caller refuses such a broad price-filtered query)."""
    sql = _build(params, visibility, tree)
    if sql is None:
        return {}
    where = " AND ".join(sql.where) or "TRUE"
    await session.execute(text(_PLANNER_SETTINGS))
    rows = await session.execute(
        text(
            f"""
            WITH m AS MATERIALIZED (
                SELECT p.id FROM {SCHEMA}.products p WHERE {where} LIMIT :cap
            )
            SELECT m.id, s.id FROM m LEFT JOIN {SCHEMA}.skus s ON s.product_id = m.id
            """
        ),
        {**sql.params, "cap": cap + 1},
    )
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for product_id, sku_id in rows:
        skus = out.setdefault(product_id, [])
        if sku_id is not None:
            skus.append(sku_id)
    return None if len(out) > cap else out


def rollup_categories(per_category: dict[uuid.UUID, int], tree: CategoryTree) -> list[FacetCount]:
    """Counts per category including its subtree (a glove in `disposable-gloves` also counts for
    `gloves` and `ppe`); a product sits in exactly one category, so sums do not double count."""
    totals: dict[uuid.UUID, int] = {}
    for category_id, n in per_category.items():
        chain: Sequence[uuid.UUID] = (
            [c.id for c in tree.path(category_id)] if category_id in tree.nodes else [category_id]
        )
        for cid in chain:
            totals[cid] = totals.get(cid, 0) + n
    return sorted((FacetCount(str(cid), n) for cid, n in totals.items()), key=lambda f: (-f.count, f.value))
