"""PostGIS connector against a real PostgreSQL: catalog, typed values, CRS84 output, bbox
with the GiST index (antimeridian too), failures; and the gateway serving a PostGIS source
mapped onto the street-trees profile. Paging, counting, keyset paging and filters are in
test_postgis_paging.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pyproj import Transformer
from starlette.testclient import TestClient

import profiles
from connectors.base import SourceQuery
from connectors.errors import SourceError, SourceStatementTimeout
from connectors.postgis import PostGISConnector
from connectors.postgis.sql import Params, conditions
from gateway.app import create_app
from gateway.config import parse_config
from tests.conftest import free_port
from tests.postgis_fixtures import (  # noqa: F401 - fixtures
    BAEUME,
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
TO84 = Transformer.from_crs("EPSG:25832", "OGC:CRS84", always_xy=True)
TREES_LONLAT = {fid: TO84.transform(*xy) for fid, xy in BAEUME.items() if xy is not None}
WELT = {"fj": (179.5, -17.0), "ws": (-172.0, -13.8), "ki": (-179.9, 0.5)}
WELT |= {"hh": (10.0, 53.55), "nz": (174.78, -41.29)}


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


# --- failures -------------------------------------------------------------------------------------


async def test_statement_timeout_says_the_query_was_too_costly(postgis) -> None:
    slow = make(postgis, "baeume_langsam", id_field="baumid", statement_timeout=0.1)
    await slow.open()
    try:
        with pytest.raises(SourceStatementTimeout, match="cancelled the query after 0.1 s"):
            await run(slow, SourceQuery(limit=5))
        assert (await slow.health()).ok  # the connection survives a cancelled statement
    finally:
        await slow.close()


async def test_unreachable_server_is_a_source_error_naming_it(postgis) -> None:
    port = free_port()
    connector = make(postgis, "trees", port=port, connect_timeout=2)
    with pytest.raises(SourceError, match=f"cannot connect to PostgreSQL at 127.0.0.1:{port}"):
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


def test_gateway_answers_502_naming_only_the_source_when_postgres_is_down(
    postgis, monkeypatch
) -> None:
    with gateway(postgis, monkeypatch, port=free_port(), connect_timeout=1) as client:
        response = client.get("/hamburg/collections/trees/items")
        assert response.status_code == 502
        body = response.json()
        assert body["code"] == "UpstreamFailed"
        assert "hamburg/trees" in body["description"]
        # the operator's details (host, port, database, driver) stay in the log
        assert "PostgreSQL" not in response.text and "127.0.0.1" not in response.text
        assert body["requestId"] == response.headers["x-request-id"]
        ready = client.get("/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"


def test_gateway_answers_504_when_postgres_cancels_a_slow_query(postgis, monkeypatch) -> None:
    with gateway(
        postgis, monkeypatch, table="baeume_langsam", id_field="baumid", statement_timeout=0.1
    ) as client:
        response = client.get("/hamburg/collections/trees/items?limit=5")
        assert response.status_code == 504
        assert "hamburg/trees" in response.json()["description"]
