"""gml.py and spatial pushdown against a real MapServer 8: its GML in every version reads as
the postgis connector's records, and on a layer stored in EPSG:4326 spatial filters are
pushed exactly (no tolerance), the literal in latitude/longitude order."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from connectors.base import SourceQuery
from connectors.wfs.fes import (
    FilterCapabilities,
    pushable,
    render_filter,
)
from connectors.wfs.gml import GmlFeatures
from gateway.query.cql2 import parse
from tests.connectors.wfs_mapserver import (
    TYPES,
    caps_fixture,  # noqa: F401
    features_fixture,  # noqa: F401
    reference,
    selected,
    wfs_fixture,  # noqa: F401
)
from tests.mapserver import MapServerHandle, mapserver_trees_fixture, start_mapserver  # noqa: F401
from tests.mapserver_process import GEOJSON_OUTPUTFORMAT
from tests.postgis_fixtures import PostGIS, loader, make, postgis_fixture  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("srs", "output"),
    [
        ("urn:ogc:def:crs:EPSG::25832", "application/gml+xml; version=3.2"),
        ("EPSG:25832", "text/xml; subtype=gml/3.1.1"),
        ("EPSG:25832", "text/xml; subtype=gml/2.1.2"),
    ],
)
def test_mapservers_gml_reads_as_the_postgis_records(wfs, features, srs, output):
    """In the storage CRS MapServer writes every digit: records equal the postgis
    connector's, coordinates to the bit (both move the same numbers with pyproj)."""

    async def read() -> tuple[GmlFeatures, list[dict[str, Any]]]:
        params = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature"}
        params |= {"TYPENAMES": "ms:trees", "SRSNAME": srs, "OUTPUTFORMAT": output}
        async with (
            httpx.AsyncClient(timeout=60) as client,
            client.stream("GET", httpx.URL(wfs).copy_merge_params(params)) as answer,
        ):
            found = GmlFeatures(
                answer.aiter_bytes(), fields=TYPES, geometry_name="msGeometry", empty_is_null=True
            )
            await found.start()
            return found, [r async for r in found]

    found, records = asyncio.run(read())
    assert len(records) == len(features)
    expected = {int(f["id"]): f for f in features}
    for record in records:
        fid = record["properties"]["fid"]
        assert record["id"] == f"trees.{fid}"
        assert record["properties"] == expected[fid]["properties"]
        assert record["geometry"] == expected[fid]["geometry"]


def test_a_wfs_1_1_answer_in_short_epsg_4326_is_read_latitude_first(wfs, features):
    """MapServer writes srsName="EPSG:4326" with latitude first in WFS 1.1 (and rounds to
    6 decimals there): read so, every tree lands within 1e-6 degrees of its place."""
    params = {"SERVICE": "WFS", "VERSION": "1.1.0", "REQUEST": "GetFeature"}
    params |= {"TYPENAME": "ms:trees", "SRSNAME": "EPSG:4326"}
    answer = httpx.get(httpx.URL(wfs).copy_merge_params(params), timeout=60)
    assert 'srsName="EPSG:4326"' in answer.text

    async def read() -> list[dict[str, Any]]:
        async def chunks():
            yield answer.content

        found = GmlFeatures(chunks(), fields=TYPES, geometry_name="msGeometry")
        return [r async for r in found]

    places = {int(f["id"]): f["geometry"]["coordinates"] for f in features}
    records = asyncio.run(read())
    assert len(records) == len(features)
    for record in records:
        x, y = record["geometry"]["coordinates"]
        px, py = places[record["properties"]["fid"]]
        assert abs(x - px) <= 1e-6 and abs(y - py) <= 1e-6


# --- a layer stored in EPSG:4326: spatial filters go exactly, without a tolerance ---------

LONLAT_MAP = (
    """MAP
  NAME "lonlat"
  EXTENT -180 -90 180 90
  PROJECTION
    "init=epsg:4326"
  END
"""
    + GEOJSON_OUTPUTFORMAT
    + """  WEB
    METADATA
      "wfs_title" "Trees in lon/lat"
      "wfs_onlineresource" "{base_url}?map=lonlat&"
      "wfs_srs" "EPSG:4326"
      "wfs_enable_request" "*"
    END
  END
  LAYER
    NAME "trees"
    TYPE POINT
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "%(connection)s"
    DATA "geom from trees_4326 using unique fid using srid=4326"
    TEMPLATE "none"
    PROJECTION
      "init=epsg:4326"
    END
    METADATA
      "wfs_getfeature_formatlist" "geojson"
      "gml_include_items" "all"
      "gml_featureid" "fid"
      "gml_types" "auto"
      "wfs_enable_request" "*"
    END
  END
END
"""
)
LONLAT_SPATIAL = [
    "S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.58))",
    "S_WITHIN(geometry, POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)))",
    "S_CONTAINS(POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)), geometry)",
    "S_DISJOINT(geometry, BBOX(9.95, 53.55, 10.0, 53.58))",
    "S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.58)) AND genus = 'Tilia'",
    "NOT S_INTERSECTS(geometry, POLYGON((9.9 53.5, 10.1 53.52, 10.0 53.6, 9.9 53.5)))",
]


@pytest.fixture(scope="module")
def lonlat(postgis: PostGIS, tmp_path_factory: pytest.TempPathFactory):
    """(WFS URL, the trees as features) of the same 2,000 trees stored in EPSG:4326."""
    load = loader()

    async def create() -> None:
        import asyncpg

        conn = await asyncpg.connect(postgis.dsn)
        try:
            rows = load.tree_rows(2000, srid=4326)
            await load.load_table(conn, rows, table="trees_4326", srid=4326)
        finally:
            await conn.close()

    asyncio.run(create())
    connection = f"host={postgis.host} port={postgis.port} user={postgis.user} "
    connection += f"dbname={postgis.database}"
    workdir = tmp_path_factory.mktemp("mapserver-lonlat")
    handle = start_mapserver(workdir, {"lonlat": LONLAT_MAP % {"connection": connection}})

    async def read() -> list[dict[str, Any]]:
        connector = make(postgis, "trees_4326")
        await connector.open()
        try:
            result = await connector.query(SourceQuery())
            return [{"type": "Feature", **r} async for r in result.records]
        finally:
            await connector.close()

    try:
        yield handle.wfs_url("lonlat"), asyncio.run(read())
    finally:
        handle.stop()


@pytest.mark.parametrize("text", LONLAT_SPATIAL)
def test_spatial_filters_on_lonlat_storage_are_pushed_exactly(caps, lonlat, text):
    """No tolerance: the literal goes in EPSG:4326 (latitude first), which the server
    compares with its own coordinates without reprojecting."""
    wfs, features = lonlat
    expr = parse(text, "cql2-text")
    assert pushable(caps, TYPES, storage_crs="EPSG:4326")(expr)
    filter_xml = render_filter(
        expr, geometry_name="msGeometry", crs="EPSG:4326", caps=caps, types=TYPES
    )
    assert "urn:ogc:def:crs:EPSG::4326" in filter_xml
    expected = reference(features, expr)
    assert 0 < len(expected) < len(features) or text.startswith(("S_DISJOINT", "NOT"))
    assert sorted(selected(wfs, filter_xml)) == expected


def test_a_box_on_a_tree_selects_it_exactly(caps, lonlat):
    """Degenerate and tight boxes, edges through the very coordinates of trees: exact."""
    wfs, features = lonlat
    test = pushable(caps, TYPES, storage_crs="EPSG:4326")
    for feature in features[:5]:
        x, y = feature["geometry"]["coordinates"]
        for text in (
            f"S_INTERSECTS(geometry, BBOX({x}, {y}, {x + 0.01}, {y + 0.01}))",
            f"S_INTERSECTS(geometry, BBOX({x - 0.01}, {y - 0.01}, {x}, {y}))",
            f"S_WITHIN(geometry, BBOX({x}, {y - 0.01}, {x + 0.01}, {y + 0.01}))",
        ):
            expr = parse(text, "cql2-text")
            assert test(expr)
            xml = render_filter(
                expr, geometry_name="msGeometry", crs="EPSG:4326", caps=caps, types=TYPES
            )
            assert sorted(selected(wfs, xml)) == reference(features, expr), text


def test_a_minimal_spatial_server_gets_a_bbox_in_latitude_longitude(caps, lonlat):
    wfs, features = lonlat
    minimal = FilterCapabilities(
        spatial=frozenset({"BBOX"}), geometry_operands=frozenset({"Envelope"})
    )
    expr = parse("S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.58))", "cql2-text")
    assert pushable(minimal, TYPES, storage_crs="EPSG:4326")(expr)
    xml = render_filter(expr, geometry_name="msGeometry", crs="EPSG:4326", caps=minimal)
    assert "<fes:BBOX>" in xml and "53.55 9.95" in xml
    assert sorted(selected(wfs, xml)) == reference(features, expr)
