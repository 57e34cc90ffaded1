"""The `pygeoapi` connector over pygeoapi's own CSV and GeoJSON providers, and over tiny
scripted providers that raise or hang: what reaches the provider, what comes back, and how
its failures are answered (502 naming the source, 400, 404, 504 within the timeout).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from connectors.base import SourceQuery
from connectors.errors import SourceError, SourceRefused, SourceTimeout
from connectors.pygeoapi import PygeoapiConnector
from gateway.app import create_app
from gateway.config import parse_config
from tests.connectors import pygeoapi_providers as scripted

pytestmark = pytest.mark.anyio
SCRIPTED = "tests.connectors.pygeoapi_providers.ScriptedProvider"
CSV = """id,lon,lat,name,height,planted
1,10.0,53.5,Linde,12.5,1990
2,10.1,53.6,Eiche,20,1975
3,11.0,48.1,Ahorn,8,2001
4,12.0,48.2,Birke,4.5,2010
"""


def features() -> list[dict[str, Any]]:
    """Four trees; the fourth without geometry."""
    points = [(10.0, 53.5), (10.1, 53.6), (11.0, 48.1), None]
    return [
        {
            "type": "Feature",
            "id": str(i),
            "geometry": None if xy is None else {"type": "Point", "coordinates": list(xy)},
            "properties": {"name": f"Baum {i}", "height": 4.5 * i, "year": 1990 + i},
        }
        for i, xy in enumerate(points, start=1)
    ]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "trees.csv").write_text(CSV, encoding="utf-8")
    doc = {"type": "FeatureCollection", "features": features()}
    (tmp_path / "trees.geojson").write_text(json.dumps(doc), encoding="utf-8")
    return tmp_path


def connector(base: Path, provider: dict[str, Any], **options: Any) -> PygeoapiConnector:
    config = PygeoapiConnector.Config.model_validate({"provider": provider, **options})
    return PygeoapiConnector(config, base_dir=base, name="test/pygeoapi")


def csv_provider() -> dict[str, Any]:
    return {
        "name": "CSV",
        "data": "trees.csv",
        "id_field": "id",
        "geometry": {"x_field": "lon", "y_field": "lat"},
    }


async def read(c: PygeoapiConnector, q: SourceQuery) -> tuple[list[dict], int | None]:
    result = await c.query(q)
    return [r async for r in result.records], result.number_matched


async def test_csv_provider_fields_paging_count_and_get_from_a_relative_path(files):
    c = connector(files, csv_provider(), page_size=3)
    await c.open()
    try:
        d = await c.describe()
        assert [(f.name, f.type) for f in d.fields] == [
            ("id", "string"),
            ("name", "string"),
            ("height", "number"),
            ("planted", "integer"),
        ]
        caps = c.capabilities()
        assert (caps.paging, caps.count, caps.bbox, caps.sort, caps.filter_ops) == (
            True,
            True,
            False,
            False,
            frozenset(),
        )
        records, matched = await read(c, SourceQuery(limit=2, offset=1, want_count=True))
        assert [r["id"] for r in records] == ["2", "3"] and matched == 4
        assert records[0]["properties"] == {
            "name": "Eiche",
            "height": 20,
            "planted": 1975,
            "id": "2",
        }
        assert records[0]["geometry"] == {"type": "Point", "coordinates": [10.1, 53.6]}
        # more than one page_size: read on in further calls
        records, _ = await read(c, SourceQuery())
        assert [r["id"] for r in records] == ["1", "2", "3", "4"]
        _, matched = await read(c, SourceQuery(limit=0, want_count=True))
        assert matched == 4
        assert (await c.get("3"))["properties"]["name"] == "Ahorn"
        assert await c.get("99") is None
    finally:
        await c.close()


async def test_geojson_provider_projection_keeps_the_fields_asked_in_order(files):
    provider = {"name": "GeoJSON", "data": str(files / "trees.geojson"), "id_field": "id"}
    c = connector(files, provider, page_size=2)
    await c.open()
    try:
        records, matched = await read(
            c, SourceQuery(limit=10, want_count=True, fields=("year", "name"))
        )
        assert matched == 4
        assert [list(r["properties"]) for r in records] == [["year", "name"]] * 4
        assert records[3]["geometry"] is None
    finally:
        await c.close()


def gateway(base: Path, sources: dict[str, dict[str, Any]], **collection: Any) -> TestClient:
    tenants = {
        name: {"collections": {"trees": {"source": source, **collection}}}
        for name, source in sources.items()
    }
    config = {"server": {"resilience": {"timeout": 5, "breaker_failures": 0}}, "tenants": tenants}
    return TestClient(create_app(parse_config(config, "pygeoapi.yaml", base)))


def test_bbox_on_a_geojson_provider_leaves_out_features_without_geometry(files):
    source = {"connector": "pygeoapi", "provider": {"name": "GeoJSON", "data": "trees.geojson"}}
    with gateway(files, {"t": source}) as client:
        doc = client.get("/t/collections/trees/items", params={"bbox": "9,50,11,54"}).json()
        assert sorted(f["id"] for f in doc["features"]) == ["1", "2"]
        doc = client.get("/t/collections/trees/items", params={"limit": 2}).json()
        assert doc["numberMatched"] == 4 and len(doc["features"]) == 2


def scripted_source(fail: str | None = None, **more: Any) -> dict[str, Any]:
    provider = {"name": SCRIPTED, "data": "-", "id_field": "id", "options": {"fail": fail}}
    return {"connector": "pygeoapi", "provider": provider, **more}


@pytest.mark.parametrize(
    ("fail", "status"),
    [
        ("ProviderConnectionError", 502),
        ("ProviderQueryError", 502),
        ("ProviderTypeError", 502),
        ("ProviderGenericError", 502),
        ("ValueError", 502),
        ("ProviderInvalidQueryError", 400),
    ],
)
def test_a_provider_that_raises_is_answered_by_whose_fault_it_is(files, fail, status):
    with gateway(files, {"t": scripted_source(fail)}) as client:
        response = client.get("/t/collections/trees/items")
        assert response.status_code == status, response.text
        body = response.json()
        assert "t/trees" in body["description"] or status == 400
        assert "scripted" not in body["description"]  # the provider's text stays in the log


def test_items_by_id_from_the_provider_and_404_for_a_missing_one(files):
    with gateway(files, {"t": scripted_source()}) as client:
        assert client.get("/t/collections/trees/items/2").json()["properties"]["height"] == 10
        assert client.get("/t/collections/trees/items/9").status_code == 404


def test_a_hanging_provider_is_answered_504_within_the_timeout_and_the_pool_stays_bounded(files):
    hang = scripted_source("sleep", threads=2, timeout=0.3)
    hang["provider"]["options"]["seconds"] = 2.0
    with gateway(files, {"t": hang}) as client:
        for _ in range(4):
            started = time.monotonic()
            response = client.get("/t/collections/trees/items")
            assert response.status_code == 504, response.text
            assert time.monotonic() - started < 1.5
        # four hung calls, still sleeping, hold no more than the pool's two threads
        pool = [t for t in threading.enumerate() if t.name.startswith("pygeoapi")]
        assert 1 <= len(pool) <= 2, [t.name for t in pool]


async def test_connector_level_errors_for_raising_and_hanging_providers(files):
    c = connector(files, scripted_source("ProviderInvalidQueryError")["provider"])
    await c.open()
    with pytest.raises(SourceRefused):
        await c.query(SourceQuery(limit=1))
    c.config.provider.options = {"fail": "ProviderConnectionError"}
    c2 = connector(files, {**c.config.provider.model_dump(), "options": {"fail": "ValueError"}})
    with pytest.raises(SourceError, match="ValueError"):
        await c2.query(SourceQuery(limit=1))
    hang = {**c.config.provider.model_dump(), "options": {"fail": "sleep", "seconds": 1}}
    c3 = connector(files, hang, threads=1, timeout=0.2)
    await c3.open()
    started = time.monotonic()
    with pytest.raises(SourceTimeout):
        await c3.query(SourceQuery(limit=1))
    with pytest.raises(SourceTimeout):  # queued behind the hung call: it never starts
        await c3.query(SourceQuery(limit=1))
    assert time.monotonic() - started < 0.8
    for each in (c, c2, c3):
        await each.close()
    assert scripted.RUNNING is not None


def test_an_unknown_plugin_name_is_a_configuration_error_naming_it(files):
    bad = {"connector": "pygeoapi", "provider": {"name": "NoSuchPlugin", "data": "x"}}
    with pytest.raises(Exception, match="NoSuchPlugin"):
        gateway(files, {"t": bad})


def test_a_provider_that_cannot_start_answers_502_naming_the_source(files):
    broken = {"connector": "pygeoapi", "provider": {"name": "CSV", "data": "missing.csv"}}
    broken["provider"]["geometry"] = {"x_field": "x", "y_field": "y"}
    with gateway(files, {"t": broken}) as client:
        response = client.get("/t/collections/trees/items")
        assert response.status_code == 502 and "t/trees" in response.json()["description"]
