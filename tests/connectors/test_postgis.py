"""PostGIS connector against a real PostgreSQL: catalog, typed values, CRS84 output, bbox
with the GiST index (antimeridian too), paging, counting, keyset paging, failures; and the
gateway serving a PostGIS source mapped onto the street-trees profile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pyproj import Transformer
from starlette.testclient import TestClient

import profiles
from connectors.base import Record, SourceQuery
from connectors.postgis import PostGISConnector
from connectors.postgis.sql import Params, conditions
from gateway.app import create_app
from gateway.config import parse_config
from tests.conftest import free_port
from tests.postgis_fixtures import BAEUME, TREE_COUNT, PostGIS, postgis_fixture  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
TO84 = Transformer.from_crs("EPSG:25832", "OGC:CRS84", always_xy=True)
TREES_LONLAT = {fid: TO84.transform(*xy) for fid, xy in BAEUME.items() if xy is not None}
WELT = {"fj": (179.5, -17.0), "ws": (-172.0, -13.8), "ki": (-179.9, 0.5)}
WELT |= {"hh": (10.0, 53.55), "nz": (174.78, -41.29)}


def make(db: PostGIS, table: str, **options: Any) -> PostGISConnector:
    config = PostGISConnector.Config.model_validate(db.options(table, **options))
    return PostGISConnector(config, base_dir=Path("."), name=f"test/{table}")


@pytest.fixture
async def baeume(postgis: PostGIS) -> AsyncIterator[PostGISConnector]:
    connector = make(postgis, "baeume", count="exact")
    await connector.open()
    yield connector
    await connector.close()


@pytest.fixture
async def trees(postgis: PostGIS) -> AsyncIterator[PostGISConnector]:
    connector = make(postgis, "trees", count="exact", pool_max_size=2)
    await connector.open()
    yield connector
    await connector.close()


async def run(connector: PostGISConnector, q: SourceQuery) -> tuple[list[Record], int | None]:
    result = await connector.query(q)
    return [r async for r in result.records], result.number_matched


def ids(records: list[Record]) -> list[Any]:
    return [r["id"] for r in records]


# --- catalog and values ------------------------------------------------------------------


async def test_describe_reads_types_titles_srid_and_extent_from_the_catalog(baeume) -> None:
    d = await baeume.describe()
    types = {f.name: f.type for f in d.fields}
    assert types == {
        "baumid": "integer",
        "art_latein": "string",
        "gattung": "string",
        "pflanzjahr": "integer",
        "hoehe": "number",
        "krone": "number",
        "stand": "date",
        "geprueft": "datetime",
        "erfasst": "datetime",
        "geschuetzt": "boolean",
        "extra": "json",
        "tags": "json",
        "uid": "string",
    }  # bytea and the geometry are not published
    assert next(f.title for f in d.fields if f.name == "hoehe") == "Baumhöhe in m"
    assert d.storage_crs == "http://www.opengis.net/def/crs/EPSG/0/25832"
    assert d.geometry_type == "Point" and d.id_field == "baumid"
    minx, miny, maxx, maxy = d.bbox
    for x, y in TREES_LONLAT.values():
        assert minx - 1e-3 <= x <= maxx + 1e-3 and miny - 1e-3 <= y <= maxy + 1e-3


async def test_values_are_typed_as_json_wants_them(baeume) -> None:
    props = (await baeume.get("1"))["properties"]
    assert props == {
        "baumid": 1,
        "art_latein": "Tilia cordata",
        "gattung": "Tilia",
        "pflanzjahr": 1990,
        "hoehe": 12.5,  # numeric -> float
        "krone": 8.3,  # real -> the float it prints as, not 8.300000190734863
        "stand": "2024-03-01",
        "geprueft": "2024-03-01T09:15:00+00:00",  # timestamptz -> UTC
        "erfasst": "2024-03-01T10:15:00",
        "geschuetzt": True,
        "extra": {"pflege": "A", "n": 1},
        "tags": ["alt", "gross"],
        "uid": "00000000-0000-0000-0000-000000000001",
    }
    assert isinstance(props["hoehe"], float)
    nulls = (await baeume.get("3"))["properties"]
    assert nulls["pflanzjahr"] is None and nulls["krone"] is None and nulls["tags"] is None


async def test_get_transforms_the_rathaus_to_crs84(baeume) -> None:
    record = await baeume.get("1")
    x, y = record["geometry"]["coordinates"]
    assert record["id"] == 1 and record["geometry"]["type"] == "Point"
    assert (x, y) == pytest.approx(TREES_LONLAT[1], abs=1e-7)
    assert (await baeume.get("6"))["geometry"] is None


@pytest.mark.parametrize("record_id", ["999", "abc", "1.5", "1' OR '1'='1", "", "9" * 30])
async def test_get_returns_none_for_unknown_or_malformed_ids(baeume, record_id: str) -> None:
    assert await baeume.get(record_id) is None


async def test_text_ids_and_views_with_configured_keys(postgis: PostGIS) -> None:
    welt = make(postgis, "welt")
    await welt.open()
    try:
        assert (await welt.get("hh"))["properties"]["name"] == "Hamburg"
        assert await welt.get("xx") is None
    finally:
        await welt.close()


# --- bbox ----------------------------------------------------------------------------------


def inside(bbox: tuple[float, float, float, float], points: dict[Any, tuple[float, float]]):
    minx, miny, maxx, maxy = bbox
    in_x = (lambda x: minx <= x <= maxx) if minx <= maxx else (lambda x: x >= minx or x <= maxx)
    return sorted(k for k, (x, y) in points.items() if in_x(x) and miny <= y <= maxy)


@pytest.mark.parametrize(
    "bbox",
    [
        (9.9, 53.5, 10.1, 53.6),  # the centre
        (9.95, 53.40, 10.05, 53.47),  # Harburg only
        (0.0, 0.0, 1.0, 1.0),  # far away: nothing
        (170.0, -60.0, -170.0, 60.0),  # across the antimeridian: nothing in Hamburg
        (-180.0, -90.0, 180.0, 90.0),  # everything with a geometry
    ],
)
async def test_bbox_selects_exactly_the_trees_inside(baeume, bbox) -> None:
    records, matched = await run(baeume, SourceQuery(bbox=bbox, want_count=True))
    assert ids(records) == inside(bbox, TREES_LONLAT)
    assert matched == len(records)


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ((179.0, -20.0, -179.0, 5.0), ["fj", "ki"]),
        ((170.0, -50.0, -170.0, 0.0), ["fj", "nz", "ws"]),
        ((-175.0, -20.0, 175.0, 60.0), ["hh", "ws"]),  # minx < maxx: not across
    ],
)
async def test_bbox_across_the_antimeridian_is_split_in_two(postgis, bbox, expected) -> None:
    welt = make(postgis, "welt")
    await welt.open()
    try:
        records, matched = await run(welt, SourceQuery(bbox=bbox, want_count=True))
    finally:
        await welt.close()
    assert sorted(ids(records)) == expected == inside(bbox, WELT)
    assert matched == len(expected)


@pytest.mark.parametrize(
    ("table", "bbox"),
    [("trees", (9.99, 53.54, 10.0, 53.55)), ("welt", (179.0, -20.0, -179.0, 5.0))],
)
async def test_bbox_conditions_can_use_the_gist_index(postgis, table, bbox) -> None:
    """The connector's own bbox condition, planned with sequential scans disallowed."""
    connector = make(postgis, table)
    await connector.open()
    params = Params()
    where = conditions(connector._table, SourceQuery(bbox=bbox), params)
    await connector.close()
    conn = await asyncpg.connect(postgis.dsn)
    try:
        await conn.execute("SET enable_seqscan = off")
        sql = f"EXPLAIN SELECT count(*) FROM {table} WHERE {where[0]}"
        plan = "\n".join(r[0] for r in await conn.fetch(sql, *params))
    finally:
        await conn.close()
    assert "Index" in plan and "Seq Scan" not in plan


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


def position(record: Record, sortby: tuple[tuple[str, bool], ...], id_field: str) -> tuple:
    """The proposed token: the sort keys' values, then the id unless it was a sort key."""
    keys = [f for f, _ in sortby]
    values = [record["id"] if f == id_field else record["properties"][f] for f in keys]
    return tuple(values) if id_field in keys else (*values, record["id"])


async def walk(connector, sortby, size: int, bbox=None) -> list[Any]:
    seen: list[Any] = []
    after = None
    while True:
        q = SourceQuery(limit=size, bbox=bbox, sortby=sortby, after=after)
        page, _ = await run(connector, q)
        seen += ids(page)
        if len(page) < size:
            return seen
        after = position(page[-1], sortby, "fid")


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


async def test_sessions_run_in_utc_with_iso_dates_no_jit_and_the_statement_timeout(
    postgis,
) -> None:
    connector = make(postgis, "trees", statement_timeout=2.5, server_settings={"work_mem": "8MB"})
    await connector.open()
    try:
        async with connector._connection() as conn:
            settings = [await conn.fetchval(f"SHOW {name}") for name in SESSION]
    finally:
        await connector.close()
    assert settings == ["UTC", "ISO, YMD", "off", "0", "2500ms", "8MB"]


SESSION = ("TimeZone", "DateStyle", "jit", "max_parallel_workers_per_gather")
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


# --- failures -------------------------------------------------------------------------------------


async def test_statement_timeout_raises_timeout_error(postgis) -> None:
    slow = make(postgis, "baeume_langsam", id_field="baumid", statement_timeout=0.1)
    await slow.open()
    try:
        with pytest.raises(TimeoutError, match="cancelled the query after 0.1 s"):
            await run(slow, SourceQuery(limit=5))
        assert (await slow.health()).ok  # the connection survives a cancelled statement
    finally:
        await slow.close()


async def test_unreachable_server_is_a_connection_error_naming_it(postgis) -> None:
    port = free_port()
    connector = make(postgis, "trees", port=port, connect_timeout=2)
    with pytest.raises(ConnectionError, match=f"cannot connect to PostgreSQL at 127.0.0.1:{port}"):
        await connector.open()
    health = await connector.health()
    assert not health.ok and str(port) in health.detail


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"table": "gibtsnicht"}, r"no table or view public.gibtsnicht .*public.baeume"),
        ({"table": "trees", "id_field": "nope"}, "no column 'nope' usable as id_field"),
        ({"table": "trees", "geometry_field": "district"}, "no geometry column 'district'"),
        ({"table": "baeume_langsam"}, "no single-column primary key: set id_field"),
    ],
)
async def test_configuration_mistakes_name_the_fix(postgis, options, message) -> None:
    connector = make(postgis, **options)
    with pytest.raises(ValueError, match=message):
        await connector.open()


def test_password_is_secret_and_dsn_excludes_the_parts(postgis) -> None:
    config = PostGISConnector.Config.model_validate(
        postgis.options("trees", password="geheim", schema="public")
    )
    assert "geheim" not in repr(config) and config.db_schema == "public"
    with pytest.raises(ValueError, match="either 'dsn' or database"):
        PostGISConnector.Config.model_validate(postgis.options("trees", dsn=postgis.dsn))
    with pytest.raises(ValueError, match="set 'database'"):
        PostGISConnector.Config.model_validate({"table": "trees"})
    by_dsn = make_dsn(postgis.dsn)
    assert by_dsn.config.dsn == postgis.dsn


async def test_a_dsn_connects_too(postgis) -> None:
    connector = make_dsn(postgis.dsn)
    await connector.open()
    try:
        assert (await connector.get("7"))["id"] == 7
    finally:
        await connector.close()


def make_dsn(dsn: str) -> PostGISConnector:
    config = PostGISConnector.Config.model_validate({"dsn": dsn, "table": "trees"})
    return PostGISConnector(config, base_dir=Path("."), name="test/dsn")


# --- through the gateway -----------------------------------------------------------------------


def gateway(db: PostGIS, monkeypatch, table: str = "trees", **source: Any) -> TestClient:
    monkeypatch.setenv("TWINBRIDGE_TEST_PG_PASSWORD", "unused-with-trust-auth")
    options = db.options(table, password="${TWINBRIDGE_TEST_PG_PASSWORD}", **source)
    names = list(profiles.get("street-trees").properties())
    mapping = {n: n for n in names if n != "tenant"}
    config = {
        "tenants": {
            "hamburg": {
                "collections": {
                    "trees": {
                        "profile": "street-trees",
                        "source": {"connector": "postgis", **options},
                        "mapping": {"id": "fid", "properties": mapping},
                    }
                }
            }
        }
    }
    return TestClient(create_app(parse_config(config, "test.yaml", Path("."))))


def test_gateway_serves_postgis_trees_valid_against_the_profile(postgis, monkeypatch) -> None:
    profile = profiles.get("street-trees")
    with gateway(postgis, monkeypatch, count="exact") as client:
        items = client.get("/hamburg/collections/trees/items?limit=100&offset=100")
        assert items.status_code == 200, items.text
        doc = items.json()
        assert doc["numberMatched"] == TREE_COUNT and doc["numberReturned"] == 100
        assert [f["id"] for f in doc["features"]] == list(range(101, 201))
        for feature in doc["features"]:
            assert profile.validate(feature) == [], feature
        assert {link["rel"] for link in doc["links"]} >= {"self", "next", "prev"}
        one = client.get("/hamburg/collections/trees/items/150").json()
        assert one["properties"] == doc["features"][49]["properties"]
        assert client.get("/hamburg/collections/trees/items/abc").status_code == 404
        box = "9.9,53.5,10.1,53.6"
        boxed = client.get(f"/hamburg/collections/trees/items?bbox={box}&limit=5").json()
        assert boxed["numberReturned"] == 5 and boxed["numberMatched"] < TREE_COUNT
        federated = client.get("/collections/street-trees/items?limit=3&offset=10").json()
        expected = [f"hamburg.trees.{i}" for i in (11, 12, 13)]
        assert [f["id"] for f in federated["features"]] == expected
        meta = client.get("/hamburg/collections/trees").json()
        assert meta["extent"]["spatial"]["bbox"][0][0] == pytest.approx(9.97, abs=0.2)


def test_gateway_answers_502_naming_the_source_when_postgres_is_down(postgis, monkeypatch) -> None:
    with gateway(postgis, monkeypatch, port=free_port(), connect_timeout=1) as client:
        response = client.get("/hamburg/collections/trees/items")
        assert response.status_code == 502
        body = response.json()
        assert body["code"] == "UpstreamFailed"
        assert "hamburg/trees" in body["description"]
        assert "cannot connect to PostgreSQL" in body["description"]
        assert client.get("/ready").status_code == 503


def test_gateway_answers_504_when_postgres_cancels_a_slow_query(postgis, monkeypatch) -> None:
    with gateway(
        postgis, monkeypatch, table="baeume_langsam", id_field="baumid", statement_timeout=0.1
    ) as client:
        response = client.get("/hamburg/collections/trees/items?limit=5")
        assert response.status_code == 504
        assert "hamburg/trees" in response.json()["description"]
