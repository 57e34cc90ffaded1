"""The `rest` connector against two realistic APIs served over loopback HTTP
(gateway/demo/restapis: an Array of Things-style sensor API and a FairCare-style barrier
report API): every paging style reads the same records, every geometry style the same
places, describe() types the sampled fields, count and get(id) take the API's word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.base import SourceQuery
from connectors.errors import SourceError, SourceStatementTimeout
from connectors.rest import RestConnector
from gateway.demo.restapis import aot, barriers
from tests.connectors.rest_apis import Apis, rest_apis  # noqa: F401 - fixture

pytestmark = pytest.mark.anyio
REPORT_IDS = [r["id"] for r in barriers.reports()]
NODE_IDS = [n["vsn"] for n in aot.nodes()]
LONLAT = {"lon": "location.lon", "lat": "location.lat"}


def connector(url: str, **options: Any) -> RestConnector:
    config = RestConnector.Config.model_validate({"url": url, **options})
    return RestConnector(config, base_dir=Path("."), name="test/rest")


def reports(apis: Apis, **options: Any) -> RestConnector:
    settings = {"items": "reports", "total": "total", "geometry": LONLAT, **options}
    return connector(f"{apis.barriers}/reports", **settings)


def nodes(apis: Apis, **options: Any) -> RestConnector:
    settings = {
        "items": "data",
        "id": "vsn",
        "geometry": {"geojson": "location"},
        "paging": {"style": "page"},
        **options,
    }
    return connector(f"{apis.aot}/api/v1/nodes", **settings)


async def read(c: RestConnector, q: SourceQuery | None = None) -> list[dict[str, Any]]:
    await c.open()
    try:
        result = await c.query(q or SourceQuery())
        return [r async for r in result.records]
    finally:
        await c.close()


def counted(c: RestConnector) -> list[str]:
    """The URLs the connector asks for, from now on."""
    seen: list[str] = []
    fetch = c.endpoint.get

    async def get(url: str, headers: Any = None) -> Any:
        seen.append(url)
        return await fetch(url, headers)

    c.endpoint.get = get  # type: ignore[method-assign]
    return seen


# --- paging styles -----------------------------------------------------------------------


async def test_offset_paging_reads_every_report_in_order(rest_apis: Apis):  # noqa: F811
    found = await read(reports(rest_apis, page_size=30))
    assert [r["id"] for r in found] == REPORT_IDS


async def test_offset_paging_reads_everything_when_the_api_caps_the_page(rest_apis: Apis):  # noqa: F811
    c = reports(rest_apis, page_size=500)  # the API gives at most 100
    seen = counted(c)
    found = await read(c)
    assert [r["id"] for r in found] == REPORT_IDS
    assert len(seen) == 1 + 3  # sample, then 100 + 100 + 40 (total ends the walk)


async def test_a_deep_offset_is_one_request(rest_apis: Apis):  # noqa: F811
    c = reports(rest_apis, page_size=50)
    await c.open()
    seen = counted(c)
    try:
        result = await c.query(SourceQuery(offset=205, limit=10, want_count=True))
        assert [r["id"] async for r in result.records] == REPORT_IDS[205:215]
        assert result.number_matched == barriers.COUNT
        assert len(seen) == 1 and "offset=205" in seen[0] and "limit=10" in seen[0]
    finally:
        await c.close()


async def test_cursor_paging_reads_the_same_reports(rest_apis: Apis):  # noqa: F811
    cursor = {"style": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"}
    c = reports(rest_apis, query={"paging": "cursor"}, paging=cursor, page_size=40)
    found = await read(c)
    assert [r["id"] for r in found] == REPORT_IDS


async def test_cursor_paging_remembers_where_a_client_stopped(rest_apis: Apis):  # noqa: F811
    cursor = {"style": "cursor", "cursor_path": "next_cursor"}
    c = reports(rest_apis, query={"paging": "cursor"}, paging=cursor)
    await c.open()
    try:
        seen = counted(c)
        got: list[str] = []
        for offset in range(0, 60, 20):  # as the planner asks: limit + 1
            result = await c.query(SourceQuery(offset=offset, limit=21))
            got.extend([r["id"] async for r in result.records][:20])
        assert got == REPORT_IDS[:60]
        assert len(seen) == 3, seen  # one page per page: each continues where the last stopped
        assert "cursor=" in seen[1] and "cursor=" in seen[2]
    finally:
        await c.close()


@pytest.mark.parametrize(
    "paging",
    [
        {"style": "page", "page_param": "page", "size_param": "size", "first_page": 1},
        {"style": "next_link", "next_path": "meta.links.next", "limit_param": "size"},
        {"style": "link_header", "limit_param": "size"},
    ],
    ids=["page", "next_link", "link_header"],
)
async def test_page_and_link_styles_read_the_same_nodes(rest_apis: Apis, paging: dict):  # noqa: F811
    c = nodes(rest_apis, paging=paging, page_size=5, total="meta.total")
    seen = counted(c)
    found = await read(c)
    assert [r["id"] for r in found] == NODE_IDS
    assert len(seen) == 1 + 5  # the sample, then 24 nodes in pages of 5


async def test_page_style_reaches_a_deep_offset_directly(rest_apis: Apis):  # noqa: F811
    paging = {"style": "page", "first_page": 1}
    c = nodes(rest_apis, paging=paging, page_size=5, total="meta.total")
    await c.open()
    seen = counted(c)
    try:
        result = await c.query(SourceQuery(offset=12, limit=4, want_count=True))
        assert [r["id"] async for r in result.records] == NODE_IDS[12:16]
        assert result.number_matched == aot.NODES
        assert [u.split("?")[1] for u in seen] == ["page=3&size=5", "page=4&size=5"]
    finally:
        await c.close()


async def test_a_page_size_above_the_apis_largest_page_fails_not_truncates(rest_apis: Apis):  # noqa: F811
    c = connector(
        f"{rest_apis.aot}/api/v1/observations",
        items="data",
        paging={"style": "page"},
        page_size=aot.MAX_SIZE + 50,
    )
    with pytest.raises(SourceError, match="lower page_size"):
        await read(c)


async def test_an_api_ignoring_the_paging_parameters_fails_not_loops(rest_apis: Apis):  # noqa: F811
    c = nodes(rest_apis, paging={"style": "offset"}, page_size=10)  # the AoT API pages by page
    with pytest.raises(SourceError, match="ignores the paging parameters"):
        await read(c)


async def test_style_none_is_one_request(rest_apis: Apis):  # noqa: F811
    c = connector(
        f"{rest_apis.aot}/api/v1/sensors",
        items="data",
        id="path",
        query={"size": "200"},
        paging={"style": "none"},
    )
    seen = counted(c)
    found = await read(c)
    assert [r["id"] for r in found] == [s["path"] for s in aot.sensors()]
    assert found[0]["geometry"] is None and found[0]["properties"]["uom"] == "C"
    assert len(seen) == 2  # the sample and the query


# --- geometry styles and flattening --------------------------------------------------------


async def test_geometry_from_lon_lat_wkt_in_utm_and_geojson(rest_apis: Apis):  # noqa: F811
    by_lonlat = await read(reports(rest_apis))
    by_wkt = await read(reports(rest_apis, geometry={"wkt": "position_wkt", "crs": "EPSG:25832"}))
    for a, b in zip(by_lonlat, by_wkt, strict=True):
        (x1, y1), (x2, y2) = a["geometry"]["coordinates"], b["geometry"]["coordinates"]
        assert abs(x1 - x2) < 1e-6 and abs(y1 - y2) < 1e-6
    first = by_lonlat[0]["properties"]
    assert "location.lon" not in first and "location.lat" not in first
    assert "position_wkt" not in by_wkt[0]["properties"]
    node = (await read(nodes(rest_apis)))[3]
    assert node["geometry"] == aot.nodes()[3]["location"]
    assert not any(k.startswith("location") for k in node["properties"])


async def test_records_are_flattened_by_path(rest_apis: Apis):  # noqa: F811
    found = await read(reports(rest_apis, page_size=100))
    source = {r["id"]: r for r in barriers.reports()}
    with_photo = next(r for r in found if source[r["id"]]["photos"])
    props, raw = with_photo["properties"], source[with_photo["id"]]
    assert props["location.address.street"] == raw["location"]["address"]["street"]
    assert props["photos[0].url"] == raw["photos"][0]["url"]
    assert props["reporter.anonymous"] == raw["reporter"]["anonymous"]


async def test_describe_types_the_sampled_fields(rest_apis: Apis):  # noqa: F811
    c = reports(rest_apis)
    await c.open()
    try:
        d = await c.describe()
    finally:
        await c.close()
    types = {f.name: f.type for f in d.fields}
    assert types["severity"] == "integer" and types["votes"] == "integer"
    assert types["reported_at"] == "datetime" and types["reported_date"] == "date"
    assert types["reporter.anonymous"] == "boolean"
    assert types["location.address.street"] == "string"
    assert "location.lon" not in types
    assert d.geometry_type == "Point" and d.id_field == "id"


# --- bbox ----------------------------------------------------------------------------------


def _inside(box: tuple[float, float, float, float]) -> list[str]:
    w, s, e, n = box
    return [
        r["id"]
        for r in barriers.reports()
        if (w <= r["location"]["lon"] <= e if w <= e else not e < r["location"]["lon"] < w)
        and s <= r["location"]["lat"] <= n
    ]


@pytest.mark.parametrize(
    "style", ["bbox", ["min_lon", "min_lat", "max_lon", "max_lat"]], ids=["one", "four"]
)
async def test_bbox_as_one_parameter_or_four(rest_apis: Apis, style: Any):  # noqa: F811
    box = (9.9, 53.5, 10.0, 53.6)
    c = reports(rest_apis, bbox_param=style)
    await c.open()
    seen = counted(c)
    try:
        assert c.capabilities().bbox
        result = await c.query(SourceQuery(bbox=box, want_count=True))
        found = [r["id"] async for r in result.records]
    finally:
        await c.close()
    assert found == _inside(box) and 0 < len(found) < barriers.COUNT
    assert result.number_matched == len(found)
    assert len(seen) == 1 and ("bbox=9.9,53.5,10,53.6" in seen[0] or "min_lon=9.9" in seen[0])


async def test_a_box_across_the_antimeridian_is_tested_here(rest_apis: Apis):  # noqa: F811
    box = (9.99, 53.5, -170.0, 53.6)  # from 9.99° east round to 170° west
    c = reports(rest_apis, bbox_param="bbox")
    await c.open()
    seen = counted(c)
    try:
        result = await c.query(SourceQuery(bbox=box, want_count=True, offset=2, limit=5))
        found = [r["id"] async for r in result.records]
    finally:
        await c.close()
    assert found == _inside(box)[2:7]
    assert result.number_matched is None  # the API's total counts what it was not asked
    assert all("bbox" not in u for u in seen)


# --- count and get(id) ---------------------------------------------------------------------


async def test_count_is_the_apis_total_or_nothing(rest_apis: Apis):  # noqa: F811
    c = reports(rest_apis)
    await c.open()
    try:
        assert c.capabilities().count
        result = await c.query(SourceQuery(limit=0, want_count=True))
        assert result.number_matched == barriers.COUNT
        assert [r async for r in result.records] == []
    finally:
        await c.close()
    uncounted = nodes(rest_apis)  # no `total` declared
    assert not uncounted.capabilities().count


async def test_get_by_item_url_by_id_pushdown_and_by_a_bounded_scan(rest_apis: Apis):  # noqa: F811
    wanted = REPORT_IDS[150]
    ways = [
        reports(rest_apis, item_url=f"{rest_apis.barriers}/reports/{{id}}"),
        reports(rest_apis, pushdown={"id": {"param": "id", "op": "in"}}),
        reports(rest_apis, page_size=100),
    ]
    for c in ways:
        await c.open()
        try:
            found = await c.get(wanted)
            assert found is not None and found["id"] == wanted
            assert found["properties"]["location.address.street"]
            assert await c.get("FC-1999-00001") is None
        finally:
            await c.close()


async def test_a_scan_beyond_its_page_budget_fails_instead_of_not_found(rest_apis: Apis):  # noqa: F811
    c = nodes(rest_apis, paging={"style": "page"}, page_size=2, get_scan_pages=3)
    await c.open()
    try:
        assert (await c.get(NODE_IDS[5]))["id"] == NODE_IDS[5]
        with pytest.raises(SourceStatementTimeout, match="first 3 pages"):
            await c.get(NODE_IDS[20])
    finally:
        await c.close()
