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


async def test_small_pages_join_up_across_their_boundaries_and_to_the_end(
    mapserver_trees: MapServerHandle, wfs: WFSConnector
) -> None:
    whole, _ = await run(wfs, SourceQuery())
    assert len(whole) == TREE_COUNT and len(set(ids(whole))) == TREE_COUNT
    small = make(mapserver_trees, **TREES, page_size=7)
    await small.open()
    before = len(mapserver_trees.requests("REQUEST=GetFeature"))
    head, _ = await run(small, SourceQuery(limit=30, offset=5))
    assert ids(head) == ids(whole)[5:35]
    assert len(mapserver_trees.requests("REQUEST=GetFeature")) - before == 5  # 7+7+7+7+2
    tail, _ = await run(small, SourceQuery(offset=TREE_COUNT - 10))
    assert ids(tail) == ids(whole)[-10:]
    await small.close()


async def test_the_count_comes_from_a_hits_request_and_can_be_turned_off(
    mapserver_trees: MapServerHandle, wfs: WFSConnector
) -> None:
    result = await wfs.query(SourceQuery(limit=3, want_count=True))
    assert result.number_matched == TREE_COUNT
    assert len([r async for r in result.records]) == 3
    quiet = make(mapserver_trees, **TREES, hits=False)
    await quiet.open()
    before = len(mapserver_trees.requests("RESULTTYPE=hits"))
    assert (await quiet.query(SourceQuery(limit=3, want_count=True))).number_matched is None
    assert len(mapserver_trees.requests("RESULTTYPE=hits")) == before
    assert not quiet.capabilities().count
    await quiet.close()


@pytest.mark.parametrize(
    "bbox",
    [
        (9.95, 53.55, 10.0, 53.6),  # inner Hamburg
        (10.05, 53.40, 10.3, 53.48),  # the south-east edge of the data
        (11.0, 54.0, 11.1, 54.1),  # nothing there
    ],
)
async def test_a_bbox_selects_exactly_what_postgis_selects(
    wfs: WFSConnector, trees: PostGISConnector, bbox: tuple[float, float, float, float]
) -> None:
    got, count = await run(wfs, SourceQuery(bbox=bbox, want_count=True))
    want, _ = await run(trees, SourceQuery(bbox=bbox))
    assert sorted(ids(got)) == sorted(ids(want))
    assert count is None  # the server's count is of its wider envelope
    some, _ = await run(wfs, SourceQuery(bbox=bbox, offset=3, limit=4))
    assert ids(some) == ids(got)[3:7]


async def test_get_by_id_and_unknown_ids(wfs: WFSConnector, trees: PostGISConnector) -> None:
    record = await wfs.get("42")
    assert record is not None and record["id"] == 42
    assert record == await trees.get("42")
    assert await wfs.get("999999") is None
    assert await wfs.get("no-number") is None


async def test_geojson_and_gml_answers_give_identical_records(
    mapserver_trees: MapServerHandle,
) -> None:
    answers = []
    for output_format in ("geojson", "gml32", "gml31"):
        connector = make(mapserver_trees, **TREES, output_format=output_format)
        await connector.open()
        records, _ = await run(connector, SourceQuery(limit=300, offset=100))
        answers.append(records)
        await connector.close()
    assert len(answers[0]) == 300
    assert answers[0] == answers[1] == answers[2]


async def test_a_gml_only_layer_is_read_as_gml_with_its_own_ids(
    mapserver_trees: MapServerHandle, trees: PostGISConnector
) -> None:
    connector = make(mapserver_trees, "baeume")
    await connector.open()
    records, count = await run(connector, SourceQuery(want_count=True))
    assert count == 5  # MapServer does not serve the GeoPackage's tree without geometry
    by_id = {r["id"]: r for r in records}
    assert set(by_id) == {f"baeume.{n}" for n in range(1, 6)}
    linde = by_id["baeume.1"]
    assert linde["properties"]["art"] == "Linde" and linde["properties"]["hoehe"] == 12.5
    x, y = linde["geometry"]["coordinates"]
    assert 9.99 < x < 10.0 and 53.55 < y < 53.56  # Hamburg's Rathaus, lon/lat
    assert await connector.get("baeume.2") == by_id["baeume.2"]
    assert await connector.get("baeume.77") is None
    await connector.close()


async def test_an_exception_report_is_a_source_error_with_the_upstream_message(
    mapserver_trees: MapServerHandle,
) -> None:
    connector = make(mapserver_trees, **TREES, srs_name="EPSG:99999")
    await connector.open()
    before = len(mapserver_trees.requests("REQUEST=GetFeature"))
    with pytest.raises(SourceError, match="Invalid SRS") as raised:
        await run(connector, SourceQuery(limit=5))
    assert "test/wfs-trees" in str(raised.value)
    assert len(mapserver_trees.requests("REQUEST=GetFeature")) == before + 1  # not retried
    await connector.close()


async def test_an_unknown_feature_type_is_named(mapserver_trees: MapServerHandle) -> None:
    connector = make(mapserver_trees, "nope")
    await connector.open()
    with pytest.raises(SourceError, match="no feature type 'nope'"):
        await connector.describe()
    await connector.close()


async def test_a_burst_of_cold_requests_fetches_the_metadata_once(
    mapserver_trees: MapServerHandle,
) -> None:
    connector = make(mapserver_trees, **TREES)
    await connector.open()
    caps = len(mapserver_trees.requests("REQUEST=GetCapabilities"))
    schema = len(mapserver_trees.requests("REQUEST=DescribeFeatureType"))
    await asyncio.gather(*(connector.describe() for _ in range(10)))
    await asyncio.gather(*(run(connector, SourceQuery(limit=1)) for _ in range(5)))
    assert len(mapserver_trees.requests("REQUEST=GetCapabilities")) == caps + 1
    assert len(mapserver_trees.requests("REQUEST=DescribeFeatureType")) == schema + 1
    await connector.close()


async def test_a_request_too_long_for_a_url_goes_as_a_post_with_the_same_answer(
    mapserver_trees: MapServerHandle, wfs: WFSConnector
) -> None:
    short = make(mapserver_trees, **TREES, page_size=450, http={"max_url_length": 256})
    await short.open()
    bbox = (9.95, 53.55, 10.0, 53.6)
    posts = len(mapserver_trees.requests("POST /ms"))
    for q in (SourceQuery(), SourceQuery(bbox=bbox)):
        # MapServer orders a POSTed query otherwise than the same query as KVP
        (posted, _), (got, _) = await run(short, q), await run(wfs, q)
        assert sorted(posted, key=lambda r: r["id"]) == sorted(got, key=lambda r: r["id"])
    assert len(mapserver_trees.requests("POST /ms")) - posts == 5 + 1
    await short.close()


async def test_config_check_names_what_the_server_does_not_have(
    mapserver_trees: MapServerHandle, wfs: WFSConnector
) -> None:
    assert await wfs.problems() == []
    wrong = make(mapserver_trees, id_field="baum_id", srs_name="EPSG:3857", output_format="gml31")
    await wrong.open()
    problems = " | ".join(await wrong.problems())
    assert "id_field 'baum_id' is not a property of ms:trees" in problems
    assert "srs_name EPSG:3857 is not offered" in problems
    await wrong.close()
    unknown = make(mapserver_trees, "strassen")
    await unknown.open()
    assert "no feature type 'strassen'" in " ".join(await unknown.problems())
    await unknown.close()
