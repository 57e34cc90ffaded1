"""The `ngsi-v2` connector against the NGSI-v2 test broker over loopback HTTP: what it
reads (paths into the normalized form, geo:json and geo:point locations, tenants and
service paths, pages), what it pushes (`q`, geo-queries, count) and, through the gateway,
that a CQL2 filter pushed to the broker selects exactly what the gateway's own evaluation
selects (a differential corpus), and that a broker's error is a 502 naming the source.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from connectors.base import SourceQuery
from connectors.errors import SourceError
from connectors.ngsi.v2 import NgsiV2Connector
from gateway.query.cql2 import parse
from tests.ngsi_fixtures import (  # noqa: F401 - fixtures
    ENTITY_TYPE,
    STATIONS,
    Broker,
    ids,
    items,
    ngsi_broker,
    ngsi_gateway,
)

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def connector(url: str, **options: Any) -> NgsiV2Connector:
    config = NgsiV2Connector.Config.model_validate(
        {"url": url, "entity_type": ENTITY_TYPE, "service": "Rotterdam", **options}
    )
    return NgsiV2Connector(config, base_dir=Path("."), name="rotterdam/air")


def sid(i: int) -> str:
    return f"urn:ngsi:AirQualityObserved:RTM-{i:04d}"


async def read(c: NgsiV2Connector, q: SourceQuery) -> tuple[list[dict[str, Any]], int | None]:
    result = await c.query(q)
    return [r async for r in result.records], result.number_matched


# --- reading -----------------------------------------------------------------------------


async def test_fields_are_paths_into_the_normalized_form_typed_by_their_ngsi_type(
    ngsi_broker: Broker,  # noqa: F811
):
    c = connector(ngsi_broker.url)
    await c.open()
    try:
        fields = {f.name: f for f in (await c.describe()).fields}
        assert fields["NO2.value"].type == "number" and fields["NO2.value"].path == "NO2"
        assert fields["dateObserved.value"].type == "datetime"
        assert fields["NO2.metadata.unitCode.value"].path is None  # filtered in the gateway
        assert "location.value" not in fields and "location.type" not in fields
        assert (await c.describe()).geometry_type == "Point"
    finally:
        await c.close()


async def test_every_page_is_read_with_offsets_and_the_count_is_the_brokers(
    ngsi_broker: Broker,  # noqa: F811
):
    c = connector(ngsi_broker.url, page_size=50)
    await c.open()
    seen: list[str] = []
    fetch = c.endpoint.get

    async def counted(url: str, headers: Any = None) -> Any:
        seen.append(url)
        return await fetch(url, headers)

    c.endpoint.get = counted  # type: ignore[method-assign]
    try:
        records, matched = await read(c, SourceQuery(want_count=True))
        assert matched == STATIONS and len(records) == STATIONS
        assert len({r["id"] for r in records}) == STATIONS
        assert len(seen) == 5 and "options=count" in seen[0] and "offset=200" in seen[-1]
        deep, _ = await read(c, SourceQuery(offset=230, limit=25))
        assert [r["id"] for r in deep] == [r["id"] for r in records[230:]]  # creation order
    finally:
        await c.close()


async def test_tenant_and_service_paths_select_what_they_name(ngsi_broker: Broker):  # noqa: F811
    for options, expected in (
        ({"service_path": "/air/Noord"}, STATIONS // 6),
        ({"service_path": "/air/Noord,/air/Centrum"}, STATIONS // 3),
        ({"service_path": "/air/#"}, STATIONS),
        ({"service": "schiedam"}, 1),
        ({"service_path": "/traffic"}, 0),  # another entity type lives there
    ):
        c = connector(ngsi_broker.url, **options)
        try:
            _, matched = await read(c, SourceQuery(limit=1, want_count=True))
            assert matched == expected, options
        finally:
            await c.close()


async def test_locations_from_geo_json_and_lat_lon_geo_point(ngsi_broker: Broker):  # noqa: F811
    c = connector(ngsi_broker.url)
    try:
        raw = httpx.get(
            f"{ngsi_broker.url}/v2/entities/{sid(11)}", headers={"Fiware-Service": "rotterdam"}
        ).json()
        lat, lon = (float(v) for v in raw["location"]["value"].split(","))
        point = await c.get(sid(11))
        assert point is not None and point["geometry"]["coordinates"] == [lon, lat]
        assert (await c.get(sid(29)))["geometry"] is None  # type: ignore[index]
        assert (await c.get(sid(1)))["geometry"]["type"] == "Point"  # type: ignore[index]
        assert await c.get("urn:ngsi:nope") is None
    finally:
        await c.close()
    c = connector(ngsi_broker.url, id_pattern="RTM-00[0-4]")
    try:
        assert await c.get(sid(49)) is not None and await c.get(sid(50)) is None
    finally:
        await c.close()


async def test_a_value_of_an_unexpected_type_is_left_out_not_a_failure(ngsi_broker: Broker):  # noqa: F811
    c = connector(ngsi_broker.url)
    reported: list[tuple[str, str, str]] = []
    c.quality_sink = lambda *report: reported.append(report)
    await c.open()
    try:
        broken = await c.get(sid(53))  # NO2 "n/a" in a Number attribute
        assert broken is not None and "NO2.value" not in broken["properties"]
        assert broken["properties"]["NO2.metadata.unitCode.value"] == "GQ"
        assert c.dropped_values >= 1
        assert ("rotterdam/air", "NO2.value", "not number") in reported
    finally:
        await c.close()


async def test_key_values_fields_are_plain_attribute_names(ngsi_broker: Broker):  # noqa: F811
    c = connector(ngsi_broker.url, representation="keyValues")
    await c.open()
    try:
        fields = {f.name: f for f in (await c.describe()).fields}
        assert fields["NO2"].type == "number" and fields["NO2"].path == "NO2"
        records, matched = await read(
            c, SourceQuery(filter=parse("NO2 > 70"), want_count=True, limit=1000)
        )
        assert matched == len(records) and all(r["properties"]["NO2"] > 70 for r in records)
    finally:
        await c.close()


# --- pushdown --------------------------------------------------------------------------


async def test_what_q_cannot_say_exactly_stays_in_the_gateway(ngsi_broker: Broker):  # noqa: F811
    c = connector(ngsi_broker.url)
    await c.open()
    try:
        test = c.capabilities().filter_test
        assert test is not None
        for text in (
            "NO2.value > 30",
            "name.value = 'Station, Kade 5'",
            "NO2.value BETWEEN 10 AND 20",
            "district.value IN ('Noord', 'Centrum')",
            "name.value LIKE 'Station [G%'",
            "S_INTERSECTS(geometry, POLYGON((4.4 51.9, 4.5 51.9, 4.5 52, 4.4 51.9)))",
        ):
            assert test(parse(text)), text
        for text in (
            "name.value = 'Oude Haven''s'",  # a quote: Orion forbids it in q
            "name.value LIKE 'Station (%'",  # parentheses too
            "name.value = 'a..b'",  # `..` would be a range
            "NO2.value IS NULL",  # absent and null are one thing to the gateway only
            "NO2.value > 30 OR PM10.value > 30",  # q has no OR
            "NOT (NO2.value > 30)",
            "NO2.metadata.unitCode.value = 'GQ'",  # metadata: no q path
            "S_DWITHIN(geometry, POINT(4.45 51.9), 500, meters)",
        ):
            assert not test(parse(text)), text
        records, matched = await read(
            c, SourceQuery(filter=parse("name.value = 'Station, Kade 5'"), want_count=True)
        )
        assert matched == 1 and records[0]["id"] == sid(7)
    finally:
        await c.close()


async def test_a_broker_error_names_its_error_and_description(ngsi_broker: Broker):  # noqa: F811
    c = connector(ngsi_broker.url, id_pattern="Station(")
    try:
        with pytest.raises(SourceError, match=r"400 BadRequest: invalid regex in idPattern"):
            await c.open()
    finally:
        await c.close()


# --- through the gateway ----------------------------------------------------------------


@pytest.fixture(scope="module")
def client(ngsi_gateway: TestClient) -> TestClient:  # noqa: F811
    return ngsi_gateway


CORPUS = [
    "NO2.value > 40",
    "NO2.value = 23",
    "NO2.value <> 23",
    "PM10.value <= 10.5 AND district.value = 'Noord'",
    "NO2.value BETWEEN 20 AND 30",
    "NO2.value IN (10, 20, 30, 40, 50)",
    "district.value IN ('Centrum', 'IJsselmonde')",
    "district.value <> 'Centrum'",
    "name.value LIKE 'Meetstation Blaak%'",
    "name.value LIKE '%[Golf]'",
    "name.value LIKE 'Meet%5'",
    "name.value LIKE '%50\\%'",
    "name.value LIKE 'Station%' OR NO2.value < 8",
    "name.value = 'Station, Kade 5'",
    "name.value = 'Station ..Punt'",
    "name.value > 'Meetstation W'",
    "PM10.value IS NULL",
    "NO2.value IS NOT NULL AND reliability.value > 0.5",
    "NOT (NO2.value > 20)",
    "dateObserved.value > TIMESTAMP('2024-03-20T00:00:00Z')",
    "dateObserved.value BETWEEN TIMESTAMP('2024-03-05T00:00:00Z') "
    "AND TIMESTAMP('2024-03-06T12:00:00Z')",
    "T_AFTER(dateObserved.value, TIMESTAMP('2024-03-27T00:00:00Z'))",
    "S_INTERSECTS(geometry, BBOX(4.42, 51.89, 4.48, 51.93))",
    "S_INTERSECTS(geometry, POLYGON((4.4 51.88, 4.55 51.88, 4.47 51.96, 4.4 51.88)))",
    "S_DISJOINT(geometry, BBOX(4.42, 51.89, 4.48, 51.93)) AND NO2.value > 30",
    "S_INTERSECTS(geometry, BBOX(4.42, 51.89, 4.48, 51.93)) AND "
    "S_INTERSECTS(geometry, BBOX(4.45, 51.9, 4.55, 51.96))",
]


@pytest.mark.parametrize("text", CORPUS)
def test_pushed_and_gateway_evaluated_filters_select_the_same_stations(
    client: TestClient,
    ngsi_broker: Broker,  # noqa: F811
    text: str,
):
    pushed = items(client, "pushed", filter=text)
    asked = ngsi_broker.requests[-1]
    residual = items(client, "residual", filter=text)
    if not any(word in f" {text}" for word in (" OR ", " NOT ", "NULL", "..Punt")):
        assert "q=" in asked or "georel=" in asked, asked  # the broker did select
    assert ids(pushed) == ids(residual), text
    assert pushed["numberReturned"] == residual["numberReturned"]
    if "numberMatched" in pushed:
        assert pushed["numberMatched"] == pushed["numberReturned"]


def test_items_page_with_count_bbox_sort_and_offsets(client: TestClient):
    first = items(client, "pushed", limit=7)
    assert first["numberMatched"] == STATIONS and first["numberReturned"] == 7
    box = {"bbox": "4.42,51.89,4.48,51.93"}
    assert ids(items(client, "pushed", **box)) == ids(items(client, "residual", **box))
    ordered = items(client, "pushed", sortby="-reliability.value", limit=20, offset=5)["features"]
    values = [f["properties"]["reliability.value"] for f in ordered]
    assert values == sorted(values, reverse=True) and len(values) == 20
    everything = items(client, "pushed", sortby="-reliability.value")["features"]
    assert [f["id"] for f in everything[5:25]] == [f["id"] for f in ordered]
    station = client.get(f"/pushed/collections/air/items/{sid(7)}").json()
    assert station["properties"]["name.value"] == "Station, Kade 5"
    assert station["properties"]["NO2.metadata.unitCode.value"] == "GQ"


def test_a_broker_error_is_a_502_naming_the_source(
    client: TestClient, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO):
        answer = client.get("/broken/collections/air/items", params={"bbox": "4,51,5,53"})
    assert answer.status_code == 502, answer.text
    assert "broken/air" in answer.text or "broken" in answer.text
    assert "TooManyResults" in caplog.text  # the broker's error, for the operator
    assert "TooManyResults" in answer.json()["description"]  # and, as its protocol says, the client
    assert client.get("/pushed/collections/air/items?limit=1").status_code == 200
