"""The `pygeoapi` connector over pygeoapi's PostgreSQL provider (the machine's PostGIS), side
by side with the native `postgis` connector over the same tables: whatever the adapter hands
the provider (bbox, filterq, sortby, paging) or leaves to the gateway, the answers are the
same ids and numberMatched, for the oapif tests' CQL2 corpus, boxes (one across the
antimeridian), sorting and paging to the end, in EPSG:4326 and in a projected storage CRS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.testclient import TestClient

from connectors.base import SourceQuery
from connectors.pygeoapi import PygeoapiConnector
from gateway.app import create_app
from gateway.config import parse_config
from gateway.query.cql2 import parse
from tests.connectors.test_ogcapi import CORPUS
from tests.postgis_fixtures import TREE_COUNT, PostGIS, loader, postgis_fixture  # noqa: F401

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
TABLE = "pg_trees84"
PATHS = ("pygeoapi", "pygeoapi25832", "plain")


def provider(db: PostGIS, table: str, **more: Any) -> dict[str, Any]:
    """pygeoapi's PostgreSQL provider block (reference/peers.md)."""
    data = {
        "host": db.host,
        "port": db.port,
        "dbname": db.database,
        "user": db.user,
        "password": "",
        "search_path": ["public"],
    }
    return {"name": "PostgreSQL", "data": data, "id_field": "fid", "table": table, **more}


async def _load(dsn: str) -> None:
    load = loader()
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await load.load_table(conn, load.tree_rows(TREE_COUNT, srid=4326), table=TABLE, srid=4326)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def db(postgis: PostGIS) -> PostGIS:  # noqa: F811
    asyncio.run(_load(postgis.dsn))
    return postgis


def connector(block: dict[str, Any], **options: Any) -> PygeoapiConnector:
    config = PygeoapiConnector.Config.model_validate({"provider": block, **options})
    return PygeoapiConnector(config, base_dir=Path("."), name="test/pygeoapi")


@pytest.fixture(scope="module")
def client(db: PostGIS) -> Iterator[TestClient]:
    sources = {
        "ref": {"connector": "postgis", **db.options(TABLE), "count": "exact"},
        "ref25832": {"connector": "postgis", **db.options("trees"), "count": "exact"},
        "pygeoapi": {"connector": "pygeoapi", "provider": provider(db, TABLE), "page_size": 700},
        "pygeoapi25832": {
            "connector": "pygeoapi",
            "provider": provider(db, "trees", storage_crs="EPSG:25832"),
        },
        "plain": {"connector": "pygeoapi", "provider": provider(db, TABLE), "pushdown": "off"},
        "welt": {"connector": "pygeoapi", "provider": provider(db, "welt", id_field="id")},
    }
    tenants = {
        name: {"collections": {"trees": {"source": source, "temporal_property": "last_update"}}}
        for name, source in sources.items()
    }
    tenants["welt"]["collections"]["trees"].pop("temporal_property")
    # scans are the point of the "plain" path: a loaded machine must not turn them into 400s
    server = {"max_limit": 10000, "default_limit": 10, "query": {"scan_seconds": 60}}
    loaded = parse_config({"server": server, "tenants": tenants}, "pg.yaml", Path("."))
    with TestClient(create_app(loaded)) as c:
        yield c


def items(client: TestClient, tenant: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/{tenant}/collections/trees/items", params={"limit": 10000, **params})
    assert answer.status_code == 200, (tenant, params, answer.text)
    return answer.json()


def ids(doc: dict[str, Any]) -> list[str]:
    return [str(f["id"]) for f in doc["features"]]


async def test_what_the_postgresql_provider_is_handed(db: PostGIS):
    c = connector(provider(db, TABLE))
    await c.open()
    try:
        caps = c.capabilities()
        assert caps.bbox and caps.count and caps.paging and caps.projection
        assert caps.sort and caps.sortables == frozenset({"fid"})  # the only NOT NULL number
        test = caps.filter_test
        assert test is not None
        for pushed in (
            "height_m > 20 AND planting_year IN (1990, 1991)",
            "genus = 'Tilia' OR street IS NULL",
            "last_update IS NOT NULL",
            "species_german LIKE 'Spitz%'",
            "NOT (height_m BETWEEN 10 AND 12.5)",
            "S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.6))",
            "S_WITHIN(geometry, POLYGON((9.9 53.5, 10.05 53.5, 10.05 53.6, 9.9 53.5)))",
        ):
            assert test(parse(pushed, "cql2-text")), pushed
        for kept in (
            "species_scientific > 'Q'",  # text order is the database collation's
            "last_update >= DATE('2023-01-01')",
            "CASEI(genus) = CASEI('tilia')",
            "fid > 1.5",  # bigint against a float
            "genus = 'a\x00b'",
        ):
            assert not test(parse(kept, "cql2-text")), kept
        fields = {f.name: f.type for f in (await c.describe()).fields}
        assert fields["fid"] == "integer" and fields["height_m"] == "number"
        assert fields["last_update"] == "date"
        result = await c.query(
            SourceQuery(limit=3, offset=2, want_count=True, filter=parse("genus = 'Tilia'"))
        )
        records = [r async for r in result.records]
        assert len(records) == 3 and result.number_matched is not None
        assert all(r["properties"]["genus"] == "Tilia" for r in records)
        assert isinstance(records[0]["properties"]["last_update"], str)
        found = await c.get("5")
        assert found is not None and found["id"] == 5 and found["geometry"]["type"] == "Point"
        assert set(found["properties"]) >= {"fid", "genus"} and "prev" not in found
        assert await c.get("999999") is None
        assert await c.get("abc") is None and await c.get("5 ") is None
    finally:
        await c.close()


@pytest.mark.parametrize("text", CORPUS)
def test_filters_answer_as_postgis_whichever_way_they_run(client: TestClient, text: str):
    expected = items(client, "ref", filter=text)
    for path in PATHS:
        doc = items(client, path, filter=text)
        assert sorted(ids(doc)) == sorted(ids(expected)), (path, text)
        assert doc.get("numberMatched", len(doc["features"])) == len(expected["features"])


def test_bbox_sorting_and_datetime_answer_as_postgis(client: TestClient):
    for params in (
        {"bbox": "9.95,53.55,10.0,53.6", "sortby": "-height_m"},
        {"bbox": "9.95,53.55,10.0,53.6", "sortby": "-fid"},
        {"datetime": "2022-01-01/2022-12-31", "sortby": "fid"},
    ):
        expected = items(client, "ref", **params)
        assert 0 < len(expected["features"]) < TREE_COUNT
        key = params["sortby"].lstrip("-")
        order = [f["properties"].get(key, f["id"]) for f in expected["features"]]
        for path in PATHS:
            doc = items(client, path, **params)
            assert sorted(ids(doc)) == sorted(ids(expected)), (path, params)
            assert [f["properties"].get(key, f["id"]) for f in doc["features"]] == order


def test_a_box_across_the_antimeridian(client: TestClient):
    doc = items(client, "welt", bbox="170,-20,-170,10")
    assert sorted(ids(doc)) == ["fj", "ki", "ws"]


def test_number_matched_is_the_providers_exact_count(client: TestClient):
    assert items(client, "pygeoapi", limit=5)["numberMatched"] == TREE_COUNT
    filtered = items(client, "pygeoapi", limit=5, filter="genus = 'Tilia' AND height_m > 10")
    reference = items(client, "ref", filter="genus = 'Tilia' AND height_m > 10")
    assert filtered["numberMatched"] == len(reference["features"])


def test_geometries_from_a_projected_table_come_in_crs84(client: TestClient):
    ref = items(client, "ref25832", limit=5)
    got = items(client, "pygeoapi25832", limit=5)
    assert ids(got) == ids(ref)
    for a, b in zip(got["features"], ref["features"], strict=True):
        assert a["geometry"]["coordinates"] == pytest.approx(b["geometry"]["coordinates"], abs=1e-9)


@pytest.mark.parametrize("path", ["pygeoapi", "plain"])
def test_paging_to_the_end_across_page_boundaries(client: TestClient, path: str):
    text = "height_m > 15 AND district <> 'Altona'"
    expected = ids(items(client, "ref", filter=text))
    assert 20 < len(expected) < TREE_COUNT
    got: list[str] = []
    url: str | None = f"/{path}/collections/trees/items"
    params: dict[str, Any] | None = {"limit": 137, "filter": text}
    while url:
        answer = client.get(url, params=params)
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        got.extend(ids(doc))
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
        params = None
    assert got == expected


def test_item_by_id_and_a_missing_one_through_the_gateway(client: TestClient):
    assert client.get("/pygeoapi/collections/trees/items/7").json()["id"] == 7
    assert client.get("/pygeoapi/collections/trees/items/0").status_code == 404
    assert client.get("/pygeoapi/collections/trees/items/x1").status_code == 404


async def test_values_of_unreadable_types_are_left_out_and_the_page_served(db: PostGIS, caplog):
    c = connector(provider(db, "baeume", id_field="baumid", storage_crs="EPSG:25832"))
    await c.open()
    try:
        result = await c.query(SourceQuery(want_count=True))
        records = {r["id"]: r for r in [r async for r in result.records]}
        assert result.number_matched == 6 and len(records) == 6
        first = records[1]["properties"]
        assert "foto" not in first  # bytea
        assert first["extra"] == {"pflege": "A", "n": 1} and first["tags"] == ["alt", "gross"]
        assert first["hoehe"] == 12.5 and first["stand"] == "2024-03-01"
        assert records[6]["geometry"] is None
        assert records[1]["geometry"]["coordinates"][0] == pytest.approx(9.99, abs=0.05)
        assert "foto" in caplog.text
    finally:
        await c.close()
