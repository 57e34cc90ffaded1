"""The wfs connector against a real MapServer 8 WFS 2.0 (tests/mapserver.py) over the same
PostGIS trees the postgis connector reads, and over a GeoPackage served as GML only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base import SourceQuery
from connectors.errors import SourceError
from connectors.postgis import PostGISConnector
from connectors.wfs import WFSConnector
from tests.mapserver import MapServerHandle, mapserver_trees_fixture  # noqa: F401
from tests.postgis_fixtures import (  # noqa: F401
    TREE_COUNT,
    ids,
    postgis_fixture,
    run,
    trees_connector,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
# MapServer over PostGIS: fid identifies, dates come as TimeInstants, NULL as empty text
TREES: dict[str, Any] = {
    "id_field": "fid",
    "field_types": {"last_update": "date"},
    "empty_is_null": True,
}


def make(server: MapServerHandle, type_name: str = "trees", **options: Any) -> WFSConnector:
    config = WFSConnector.Config.model_validate(
        {"url": server.wfs_url("trees"), "type_name": type_name, **options}
    )
    return WFSConnector(config, base_dir=Path("."), name=f"test/wfs-{type_name}")


@pytest.fixture
async def wfs(mapserver_trees: MapServerHandle) -> AsyncIterator[WFSConnector]:
    connector = make(mapserver_trees, **TREES)
    await connector.open()
    yield connector
    await connector.close()


async def test_describe_gives_the_schema_crs_and_extent(wfs: WFSConnector) -> None:
    d = await wfs.describe()
    types = {f.name: f.type for f in d.fields}
    assert types["fid"] == "integer" and types["height_m"] == "number"
    assert types["district"] == "string" and types["last_update"] == "date"
    assert "msGeometry" not in types
    assert d.geometry_type == "Geometry"
    assert d.storage_crs == "http://www.opengis.net/def/crs/EPSG/0/25832"
    assert d.bbox is not None and 9.8 < d.bbox[0] < d.bbox[2] < 10.3
    assert d.id_field == "fid"


async def test_records_match_the_postgis_connector_coordinates_included(
    wfs: WFSConnector, trees: PostGISConnector
) -> None:
    got, _ = await run(wfs, SourceQuery(limit=50))
    want = {r["id"]: r for r in (await run(trees, SourceQuery()))[0]}
    assert len(got) == 50
    for record in got:
        twin = want[record["id"]]
        assert record["geometry"] == twin["geometry"]  # lon/lat, unrounded, same transform
        assert record["properties"] == {k: twin["properties"][k] for k in record["properties"]}
