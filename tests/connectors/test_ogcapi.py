"""The `oapif` connector against real upstreams (tipg and pygeoapi over PostGIS, started
by the session): what it pushes follows what each declares, and whichever way a filter
runs (pushed to tipg, or evaluated in the gateway: over pygeoapi 0.21, which declares no
filtering and reads `filter` as ECQL, and over tipg with `filter: off`) the gateway answers
exactly as the `postgis` connector over the same table: a differential corpus of CQL2
filters, sorting, bbox and paging to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from connectors.base import SourceQuery
from connectors.ogcapi import OAPIFConnector
from gateway.app import create_app
from gateway.checks import check_sources
from gateway.config import parse_config
from gateway.query.cql2 import parse
from tests.ogcapi_fixtures import Upstreams, upstreams  # noqa: F401 - fixtures
from tests.postgis_fixtures import TREE_COUNT, postgis_fixture  # noqa: F401 - fixtures

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
PATHS = ("tipg", "pygeoapi", "residual")

CORPUS = [
    "genus = 'Tilia'",
    "height_m > 20",
    "planting_year <> 1990 AND height_m <= 5.5",
    "species_german LIKE 'Spitz%'",
    "street LIKE '%straße 1_'",
    "street LIKE '%\\%%' OR species_scientific LIKE 'Acer\\_%'",
    "height_m BETWEEN 10 AND 12.5",
    "district IN ('Altona', 'Eimsbüttel')",
    "planting_year IN (1990, 1991, 2005)",
    "street IS NULL",
    "NOT (genus = 'Acer') AND street IS NOT NULL",
    "genus = 'Acer' OR (height_m > 25 AND NOT district = 'Altona')",
    "trunk_circumference_cm < 50 OR crown_diameter_m >= 12",
    "species_scientific > 'Q' AND species_scientific < 'T'",
    "S_INTERSECTS(geometry, BBOX(9.95, 53.55, 10.0, 53.6))",
    "S_INTERSECTS(geometry, POLYGON((9.9 53.5, 10.05 53.5, 10.05 53.6, 9.9 53.5)))",
    "T_AFTER(last_update, DATE('2022-06-30'))",
    "T_DURING(last_update, INTERVAL('2021-01-01', '2021-12-31'))",
    "last_update >= DATE('2023-01-01') AND genus <> 'Tilia'",
    "CASEI(genus) = CASEI('tilia')",
]


def connector(url: str, **options: Any) -> OAPIFConnector:
    config = OAPIFConnector.Config.model_validate({"url": url, **options})
    return OAPIFConnector(config, base_dir=Path("."), name="test/oapif")


def tipg_url(up: Upstreams) -> str:
    return f"{up.tipg}/collections/public.trees84"


def pygeoapi_url(up: Upstreams) -> str:
    return f"{up.pygeoapi}/collections/trees"


@pytest.fixture(scope="module")
def client(upstreams: Upstreams) -> Iterator[TestClient]:  # noqa: F811
    db = upstreams.db
    sources = {
        "ref": {"connector": "postgis", **db.options("trees84"), "count": "exact"},
        "tipg": {"connector": "oapif", "url": tipg_url(upstreams)},
        "pygeoapi": {"connector": "oapif", "url": pygeoapi_url(upstreams)},
        "residual": {"connector": "oapif", "url": tipg_url(upstreams), "filter": "off"},
    }
    tenants = {
        name: {"collections": {"trees": {"source": source, "temporal_property": "last_update"}}}
        for name, source in sources.items()
    }
    server = {"max_limit": 10000, "default_limit": 10}
    loaded = parse_config({"server": server, "tenants": tenants}, "oapif.yaml", Path("."))
    with TestClient(create_app(loaded)) as c:
        yield c


def items(client: TestClient, tenant: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/{tenant}/collections/trees/items", params={"limit": 10000, **params})
    assert answer.status_code == 200, (tenant, params, answer.text)
    return answer.json()


def ids(doc: dict[str, Any]) -> list[str]:
    return [str(f["id"]) for f in doc["features"]]


# --- what is pushed follows what the upstream declares ---------------------------------


async def test_tipg_gets_basic_cql2_because_it_declares_part3_filter(upstreams: Upstreams):  # noqa: F811
    c = connector(tipg_url(upstreams))
    await c.open()
    try:
        caps = c.capabilities()
        test = caps.filter_test
        assert test is not None
        assert test(parse("genus = 'Tilia'")) and test(parse("street IS NULL"))
        assert not test(parse("genus LIKE 'T%'"))  # advanced comparison is not declared
        assert not test(parse("S_INTERSECTS(geometry, POINT(10 53.5))"))
        assert not caps.sort and not caps.projection
        result = await c.query(
            SourceQuery(limit=3, filter=parse("genus = 'Tilia' AND height_m > 10"), want_count=True)
        )
        found = [r async for r in result.records]
        # tipg counted the filtered rows itself: the filter went upstream
        assert result.number_matched == 580 and len(found) == 3
        assert all(r["properties"]["genus"] == "Tilia" for r in found)
    finally:
        await c.close()


async def test_pygeoapi_gets_no_filter_as_it_declares_none(upstreams: Upstreams):  # noqa: F811
    c = connector(pygeoapi_url(upstreams))
    await c.open()
    try:
        caps = c.capabilities()
        assert caps.filter_test is None and not caps.filter_ops
        assert {f.name for f in (await c.describe()).fields} >= {"genus", "last_update"}
        assert dict((f.name, f.type) for f in (await c.describe()).fields)["last_update"] == "date"
    finally:
        await c.close()


async def test_item_by_id_and_a_missing_one(upstreams: Upstreams):  # noqa: F811
    for url in (tipg_url(upstreams), pygeoapi_url(upstreams)):
        c = connector(url)
        await c.open()
        try:
            found = await c.get("5")
            assert found is not None and str(found["id"]) == "5"
            assert found["geometry"]["type"] == "Point"
            assert await c.get("999999") is None
            assert await c.get("..") is None
        finally:
            await c.close()


async def test_deep_offsets_read_the_rows_postgis_has_there(upstreams: Upstreams):  # noqa: F811
    c = connector(tipg_url(upstreams), page_size=300)
    await c.open()
    try:
        result = await c.query(SourceQuery(limit=5, offset=1500))
        assert [r["id"] async for r in result.records] == [1501, 1502, 1503, 1504, 1505]
        result = await c.query(SourceQuery(limit=10, offset=TREE_COUNT - 3))
        assert [r["id"] async for r in result.records] == [1998, 1999, 2000]
    finally:
        await c.close()


async def test_a_client_paging_through_costs_one_upstream_request_per_page(upstreams: Upstreams):  # noqa: F811
    c = connector(tipg_url(upstreams), offset="links")
    await c.open()
    seen: list[str] = []
    fetch = c.endpoint.get

    async def counted(url: str, headers: Any = None) -> Any:
        seen.append(url)
        return await fetch(url, headers)

    c.endpoint.get = counted  # type: ignore[method-assign]
    try:
        got: list[int] = []
        for offset in range(0, 60, 20):  # as the planner asks: limit + 1 to learn of a next
            result = await c.query(SourceQuery(limit=21, offset=offset))
            page = [r["id"] async for r in result.records]
            got.extend(page[:20])
        assert got == list(range(1, 61))
        assert len(seen) == 3, seen
        assert all("offset" in u for u in seen[1:])  # tipg's own next links, followed
    finally:
        await c.close()


def test_config_check_names_what_an_upstream_lacks(upstreams: Upstreams):  # noqa: F811
    typo = {"properties": {"genus": "gattung", "district": "district"}}
    tenants = {
        "typo": {"source": {"connector": "oapif", "url": tipg_url(upstreams)}, "mapping": typo},
        "gone": {"source": {"connector": "oapif", "url": f"{upstreams.tipg}/collections/nope"}},
    }
    config = {"tenants": {n: {"collections": {"trees": c}} for n, c in tenants.items()}}
    reports = asyncio.run(check_sources(parse_config(config, "check.yaml", Path("."))))
    problems = {r.tenant: " ".join(r.problems) for r in reports}
    assert "'gattung'" in problems["typo"] and "genus" in problems["typo"]
    assert problems["gone"]  # the collection is unknown upstream


# --- differential: every path answers as PostGIS ----------------------------------------


@pytest.mark.parametrize("text", CORPUS)
def test_filters_answer_as_postgis_whichever_way_they_run(client: TestClient, text: str):
    expected = ids(items(client, "ref", filter=text))
    for path in PATHS:
        if path != "pygeoapi" and "last_update" in text:
            continue  # tipg's queryables type the date column as a plain string
        assert sorted(ids(items(client, path, filter=text))) == sorted(expected), (path, text)


def test_bbox_datetime_and_sorting_answer_as_postgis(client: TestClient):
    params = {"bbox": "9.95,53.55,10.0,53.6", "sortby": "-height_m"}
    expected = items(client, "ref", **params)
    assert 0 < len(expected["features"]) < TREE_COUNT
    heights = [f["properties"]["height_m"] for f in expected["features"]]
    for path in PATHS:
        doc = items(client, path, **params)
        assert sorted(ids(doc)) == sorted(ids(expected)), path
        assert [f["properties"]["height_m"] for f in doc["features"]] == heights, path


def test_number_matched_only_from_the_upstream_and_only_when_exact(client: TestClient):
    assert items(client, "tipg", limit=5)["numberMatched"] == TREE_COUNT
    pushed = items(client, "tipg", limit=5, filter="genus = 'Tilia'")
    assert pushed["numberMatched"] == len(
        items(client, "ref", filter="genus = 'Tilia'")["features"]
    )


@pytest.mark.parametrize("path", PATHS)
def test_paging_to_the_end_across_page_boundaries(client: TestClient, path: str):
    text = "height_m > 15 AND district <> 'Altona'"
    expected = ids(items(client, "ref", filter=text))
    assert 20 < len(expected) < TREE_COUNT
    got: list[str] = []
    url = f"/{path}/collections/trees/items"
    params: dict[str, Any] | None = {"limit": 37, "filter": text}
    while url:
        answer = client.get(url, params=params)
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        got.extend(ids(doc))
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
        params = None
        assert len(got) <= len(expected)
    assert sorted(got) == sorted(expected) and len(set(got)) == len(got)
