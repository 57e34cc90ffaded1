"""PostGIS connector against a real PostgreSQL: offset paging and counting (exact and
estimated), keyset paging (`SourceQuery.after`) against the gateway's order, and CQL2 filters
compiled by connectors/sqlfilter.py against the reference evaluation.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from connectors.base import Record, SourceQuery
from connectors.postgis.sql import Params, conditions
from tests.postgis_fixtures import (  # noqa: F401 - fixtures
    TREE_COUNT,
    PostGIS,
    baeume_connector,
    ids,
    make,
    postgis_fixture,
    run,
    trees_connector,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


# --- paging and counting ---------------------------------------------------------------------


@pytest.mark.parametrize("bbox", [None, (9.9, 53.5, 10.1, 53.6)])
async def test_pages_concatenate_to_the_whole_result_and_match_the_count(trees, bbox) -> None:
    everything, total = await run(trees, SourceQuery(bbox=bbox, want_count=True))
    assert total == len(everything) and (bbox is not None or total == TREE_COUNT)
    walked: list[Any] = []
    offset, size = 0, 333
    while True:
        page, matched = await run(
            trees, SourceQuery(limit=size, offset=offset, bbox=bbox, want_count=True)
        )
        assert matched == total
        if not page:
            break
        walked += ids(page)
        offset += size
    assert walked == ids(everything) == sorted(ids(everything))


async def test_estimate_counts_only_what_is_cheap_and_never_guesses(postgis) -> None:
    connector = make(postgis, "trees", count="estimate", count_limit=100)
    await connector.open()
    try:
        _, big = await run(connector, SourceQuery(limit=10, want_count=True))
        assert big is None  # 2,000 rows by the statistics: more than count_limit
        _, only_count = await run(connector, SourceQuery(limit=0, want_count=True))
        assert only_count == TREE_COUNT  # the caller wants nothing but the count
        _, short = await run(connector, SourceQuery(limit=50, offset=1990, want_count=True))
        assert short == TREE_COUNT  # a short page counts itself
        box = (9.99, 53.54, 10.0, 53.55)
        small, exact = await run(connector, SourceQuery(limit=1, bbox=box, want_count=True))
        everything, _ = await run(connector, SourceQuery(bbox=box))
        assert 1 < len(everything) <= 100 and exact == len(everything) and len(small) == 1
        wide = (9.0, 53.0, 11.0, 54.0)
        _, capped = await run(connector, SourceQuery(limit=1, bbox=wide, want_count=True))
        assert capped is None
    finally:
        await connector.close()


async def test_count_none_declares_no_count(postgis) -> None:
    assert make(postgis, "trees", count="none").capabilities().count is False
    assert make(postgis, "trees").capabilities().count is True


async def test_an_unlimited_query_streams_and_releases_its_connection(trees) -> None:
    result = await trees.query(SourceQuery())
    seen = 0
    async for _ in result.records:
        seen += 1
        if seen == 1500:
            break
    await result.records.aclose()
    assert seen == 1500
    # both pooled connections are free again: two queries at once succeed
    first, second = await trees.query(SourceQuery(limit=5)), await trees.query(SourceQuery())
    assert len([r async for r in second.records]) == TREE_COUNT
    assert len([r async for r in first.records]) == 5


# --- keyset paging ------------------------------------------------------------------------------


def position(record: Record, sortby: tuple[tuple[str, bool], ...]) -> tuple:
    """As the planner takes it: the sort keys' values, then the id (the connector ignores
    what follows the id when the id is itself a sort key)."""
    return (*(record["properties"][f] for f, _ in sortby), record["id"])


async def walk(connector, sortby, size: int, bbox=None) -> list[Any]:
    seen: list[Any] = []
    after = None
    while True:
        q = SourceQuery(limit=size, bbox=bbox, sortby=sortby, after=after)
        page, _ = await run(connector, q)
        seen += ids(page)
        if len(page) < size:
            return seen
        after = position(page[-1], sortby)


def oracle(records: list[Record], sortby) -> list[Any]:
    """The gateway's order: nulls last in both directions, ties by id."""
    ordered = sorted(records, key=lambda r: r["id"])
    for field, ascending in reversed(sortby):

        def value(r: Record, f: str = field) -> Any:
            v = r["id"] if f == "fid" else r["properties"][f]
            return 0 if v is None else v

        ordered.sort(key=value, reverse=not ascending)
        ordered.sort(key=lambda r, f=field: r["properties"][f] is None)
    return ids(ordered)


@pytest.mark.parametrize(
    "sortby",
    [
        (),
        (("fid", False),),
        (("planting_year", True),),  # nullable
        (("planting_year", False), ("height_m", True)),  # mixed directions, nulls
        (("last_update", True), ("trunk_circumference_cm", False)),
    ],
)
async def test_keyset_pages_walk_the_same_order_as_sorting_everything(trees, sortby) -> None:
    everything, _ = await run(trees, SourceQuery())
    assert await walk(trees, sortby, 150) == oracle(everything, sortby)


async def test_keyset_and_offset_paging_agree_on_text_keys_with_a_bbox(trees) -> None:
    sortby = (("district", True), ("street", False))
    box = (9.9, 53.5, 10.1, 53.6)
    by_offset, _ = await run(trees, SourceQuery(bbox=box, sortby=sortby))
    assert await walk(trees, sortby, 97, bbox=box) == ids(by_offset)


async def test_a_short_keyset_page_does_not_pass_for_the_total(postgis) -> None:
    connector = make(postgis, "trees", count="estimate", count_limit=100)
    await connector.open()
    try:
        q = SourceQuery(limit=50, after=(TREE_COUNT - 10,), want_count=True)
        page, matched = await run(connector, q)
    finally:
        await connector.close()
    assert ids(page) == list(range(TREE_COUNT - 9, TREE_COUNT + 1)) and matched is None


async def test_keyset_values_are_bound_not_spliced(trees) -> None:
    sortby = (("district", True),)
    hostile = SourceQuery(limit=5, sortby=sortby, after=("x' OR 1=1 --", 0))
    page, _ = await run(trees, hostile)
    assert all(r["properties"]["district"] > "x" for r in page)
    with pytest.raises(ValueError, match="keyset position"):
        await run(trees, SourceQuery(limit=5, sortby=sortby, after=(1,)))
    with pytest.raises(ValueError, match="no column"):
        await run(trees, SourceQuery(limit=5, sortby=(("nope; DROP TABLE trees", True),)))


async def test_sessions_run_in_utc_with_iso_dates_custom_plans_and_the_statement_timeout(
    postgis,
) -> None:
    connector = make(postgis, "trees", statement_timeout=2.5, server_settings={"work_mem": "8MB"})
    await connector.open()
    try:
        async with connector._connection() as conn:
            settings = [await conn.fetchval(f"SHOW {name}") for name in SESSION]
    finally:
        await connector.close()
    assert settings == ["UTC", "ISO, YMD", "off", "0", "force_custom_plan", "2500ms", "8MB"]


SESSION = ("TimeZone", "DateStyle", "jit", "max_parallel_workers_per_gather", "plan_cache_mode")
SESSION += ("statement_timeout", "work_mem")


# --- filters (connectors/sqlfilter.py) ----------------------------------------------------

FILTERS = [
    "pflanzjahr > 1980 AND gattung = 'Betula'",
    "hoehe >= 12.5 OR hoehe < 6",
    "krone > 8.3",  # real: 8.3 as records show it, not 8.300000190734863
    "krone = 8.3",
    "stand > DATE('2024-01-01')",
    "geprueft < TIMESTAMP('2024-03-01T09:30:00Z')",
    "erfasst > TIMESTAMP('2024-03-01T10:00:00Z')",  # naive timestamps read as UTC
    "art_latein LIKE 'Betula%' AND NOT art_latein LIKE '%a'",
    "uid = '00000000-0000-0000-0000-000000000001'",
    "pflanzjahr IS NULL OR geschuetzt = false",
    "NOT (geschuetzt = true)",  # null stays unknown
    "gattung IN ('Tilia', 'Acer') OR pflanzjahr BETWEEN 1970 AND 1995",
    "T_AFTER(stand, DATE('2023-12-31'))",
    "S_INTERSECTS(geometry, BBOX(9.9, 53.5, 10.1, 53.6))",
    "S_WITHIN(geometry, POLYGON((9.9 53.5, 10.1 53.5, 10.1 53.6, 9.9 53.5)))",
]


@pytest.mark.parametrize("text", FILTERS)
async def test_filters_select_exactly_what_the_gateway_would(baeume, text) -> None:
    from gateway.query import cql2, evaluate

    expr = cql2.parse(text)
    everything, _ = await run(baeume, SourceQuery())
    types = {f.name: f.type for f in (await baeume.describe()).fields}
    expected = [r["id"] for r in everything if evaluate.compile_predicate(expr, types=types)(r)]
    pushed, matched = await run(baeume, SourceQuery(filter=expr, want_count=True))
    assert ids(pushed) == expected and matched == len(expected)


async def test_filter_values_are_bound_and_filters_page_and_count(trees) -> None:
    from gateway.query import cql2

    hostile = cql2.parse("district = 'Altona'' OR ''1''=''1' OR street LIKE '%''; --'")
    assert (await run(trees, SourceQuery(filter=hostile)))[0] == []
    expr = cql2.parse("planting_year > 2000 AND district = 'Altona'")
    everything, total = await run(trees, SourceQuery(filter=expr, want_count=True))
    assert total == len(everything) > 10
    page, matched = await run(trees, SourceQuery(filter=expr, limit=5, offset=3, want_count=True))
    assert ids(page) == ids(everything)[3:8] and matched == total
    assert "s_intersects" in trees.capabilities().filter_ops


async def create(postgis: PostGIS, *statements: str) -> None:
    conn = await asyncpg.connect(postgis.dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


STRASSEN = [
    "CREATE TABLE strassen (id integer PRIMARY KEY, name text, geom geometry(Point, 4326))",
    "INSERT INTO strassen SELECT i, 'Straße ' || i, ST_Point(10, 53.5, 4326)"
    " FROM generate_series(1, 2000) i",
    "CREATE INDEX strassen_name ON strassen (name)",  # the database's default collation
    "ANALYZE strassen",
]


async def test_text_equality_can_use_a_plain_btree_index(postgis) -> None:
    """The index has the database's default collation: equality and IN must keep it."""
    from gateway.query import cql2

    await create(postgis, *STRASSEN)
    connector = make(postgis, "strassen")
    await connector.open()
    conn = await asyncpg.connect(postgis.dsn)
    try:
        await conn.execute("SET enable_seqscan = off")
        for text in ("name = 'Straße 7'", "name IN ('Straße 7', 'Straße 70')"):
            params = Params()
            where = conditions(connector._table, SourceQuery(filter=cql2.parse(text)), params)
            sql = f"EXPLAIN SELECT * FROM strassen WHERE {' AND '.join(where)}"
            plan = "\n".join(r[0] for r in await conn.fetch(sql, *params))
            assert "Index Cond: (name = " in plan and "Seq Scan" not in plan, plan
    finally:
        await conn.close()
        await connector.close()


async def test_a_nondeterministic_collation_still_compares_by_code_point(postgis) -> None:
    """Equality keeps the column's collation, unless that one ignores case or accents."""
    from gateway.query import cql2, evaluate

    try:
        await create(
            postgis,
            "CREATE COLLATION ohne_case (provider = icu, locale = 'und-u-ks-level2',"
            " deterministic = false)",
        )
    except asyncpg.PostgresError as e:
        pytest.skip(f"no ICU collations in this PostgreSQL: {e}")
    await create(
        postgis,
        "CREATE TABLE namen (id integer PRIMARY KEY, name text COLLATE ohne_case,"
        " geom geometry(Point, 4326))",
        "INSERT INTO namen VALUES (1, 'Abc', NULL), (2, 'abc', NULL), (3, 'ABC ', NULL)",
    )
    connector = make(postgis, "namen", count="exact")
    await connector.open()
    try:
        everything, _ = await run(connector, SourceQuery())
        for text in ("name = 'abc'", "name <> 'abc'", "name IN ('ABC', 'Abc')", "name < 'a'"):
            expr = cql2.parse(text)
            check = evaluate.compile_predicate(expr, types={"name": "string"})
            expected = [r["id"] for r in everything if check(r)]
            assert ids((await run(connector, SourceQuery(filter=expr)))[0]) == expected, text
    finally:
        await connector.close()


async def test_a_projected_query_reads_only_the_fields_asked_for(baeume) -> None:
    q = SourceQuery(limit=2, fields=("gattung", "pflanzjahr"))
    page, _ = await run(baeume, q)
    assert [r["id"] for r in page] == [1, 2]  # the id comes along, outside the properties
    assert [list(r["properties"].items()) for r in page] == [
        [("gattung", "Tilia"), ("pflanzjahr", 1990)],
        [("gattung", "Quercus"), ("pflanzjahr", 1975)],
    ]


async def test_a_deep_projected_page_reads_only_those_fields_too(trees) -> None:
    deep = SourceQuery(limit=2, offset=1500, fields=("genus",))  # pages over the ids first
    page, _ = await run(trees, deep)
    assert [r["id"] for r in page] == [1501, 1502]
    assert all(list(r["properties"]) == ["genus"] for r in page)
