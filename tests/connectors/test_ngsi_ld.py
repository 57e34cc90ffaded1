"""The `ngsi-ld` connector against the NGSI-LD test broker over loopback HTTP: the requests
it sends (Link @context, NGSILD-Tenant, paging, count, q, georel), the records it makes of
normalized and keyValues entities, and the broker's errors as SourceError."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from connectors.base import SourceQuery
from connectors.errors import SourceError
from connectors.filters import Call, Literal, Property
from connectors.ngsi.ld import NGSILDConnector
from tests.ngsi.ldbroker import Broker, ld_broker, serve_app

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
SDM = "https://smartdatamodels.org/context.jsonld"
LINK = {"Link": f'<{SDM}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
TYPE = "AirQualityObserved"
COUNT = 120


def station(n: int, rng: random.Random) -> dict[str, Any]:
    """A Smart Data Models AirQualityObserved in Aarhus, normalized; every 7th lacks PM10."""
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:{TYPE}:aarhus-{n:03d}",
        "type": TYPE,
        "name": {"type": "Property", "value": f"{'Nord' if n % 3 else 'Syd'} {n}"},
        "NO2": {
            "type": "Property",
            "value": round(rng.uniform(5, 60), 1),
            "unitCode": "GQ" if n % 11 else "59",
            "observedAt": f"2026-12-0{1 + n % 5}T{n % 24:02d}:00:00Z",
        },
        "status": {"type": "Property", "value": rng.choice(["active", "maintenance", "off"])},
        "address": {
            "type": "Property",
            "value": {"streetAddress": f"Gade {n}", "addressLocality": "Aarhus"},
        },
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{n % 10}"},
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "Point",
                "coordinates": [
                    round(rng.uniform(10.1, 10.3), 5),
                    round(rng.uniform(56.1, 56.2), 5),
                ],
            },
        },
    }
    if n % 7:
        entity["PM10"] = {"type": "Property", "value": rng.randint(10, 80), "unitCode": "GQ"}
    return entity


def entities() -> list[dict[str, Any]]:
    rng = random.Random(12)
    return [station(n, rng) for n in range(COUNT)]


def load(broker: Broker, tenant: str = "aarhus") -> None:
    headers = {**LINK, "NGSILD-Tenant": tenant}
    batch = entities()
    with httpx.Client() as client:
        for start in range(0, len(batch), 50):
            answer = client.post(
                f"{broker.url}/ngsi-ld/v1/entityOperations/upsert",
                json=batch[start : start + 50],
                headers=headers,
            )
            assert answer.status_code in (201, 204), answer.text


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with ld_broker() as running:
        load(running)
        yield running


def connector(broker: Broker, **options: Any) -> NGSILDConnector:
    config = {"url": broker.url, "type": TYPE, "tenant": "aarhus", **options}
    return NGSILDConnector(
        NGSILDConnector.Config.model_validate(config), base_dir=Path("."), name="test/aq"
    )


async def read(c: NGSILDConnector, q: SourceQuery) -> tuple[list[dict[str, Any]], int | None]:
    result = await c.query(q)
    return [r async for r in result.records], result.number_matched


async def test_describe_names_normalized_fields_and_their_q_paths(broker: Broker):
    c = connector(broker)
    await c.open()
    try:
        fields = {f.name: f for f in (await c.describe()).fields}
    finally:
        await c.close()
    assert fields["NO2.value"].type == "number" and fields["NO2.value"].path == "NO2"
    assert fields["NO2.unitCode"].path == "NO2.unitCode"
    assert fields["NO2.observedAt"].path == "NO2.observedAt"
    assert fields["PM10.value"].type == "integer"
    assert fields["address.value.streetAddress"].path == "address[streetAddress]"
    assert fields["refDevice.object"].path == "refDevice"
    assert fields["location.value"].type == "json" and fields["location.value"].path is None
    assert fields["type"].path is None
    assert not any(name.endswith(".type") for name in fields)


async def test_records_carry_id_geometry_and_flattened_attributes(broker: Broker):
    c = connector(broker)
    await c.open()
    try:
        record = await c.get(f"urn:ngsi-ld:{TYPE}:aarhus-001")
        missing = await c.get(f"urn:ngsi-ld:{TYPE}:nowhere")
        other_type = await connector(broker, type="WaterQualityObserved").get(
            f"urn:ngsi-ld:{TYPE}:aarhus-001"
        )
    finally:
        await c.close()
    expected = entities()[1]
    assert record is not None and record["id"] == expected["id"]
    assert record["geometry"] == expected["location"]["value"]
    props = record["properties"]
    assert props["NO2.value"] == expected["NO2"]["value"]
    assert props["NO2.unitCode"] == "GQ" and props["type"] == TYPE
    assert props["address.value.addressLocality"] == "Aarhus"
    assert props["refDevice.object"] == "urn:ngsi-ld:Device:1"
    assert missing is None and other_type is None


async def test_key_values_records_hold_values_only(broker: Broker):
    c = connector(broker, representation="keyValues")
    await c.open()
    try:
        records, _ = await read(c, SourceQuery(limit=3))
        fields = {f.name: f.path for f in (await c.describe()).fields}
    finally:
        await c.close()
    assert records[0]["properties"]["NO2"] == entities()[0]["NO2"]["value"]
    assert records[0]["properties"]["address.streetAddress"] == "Gade 0"
    assert fields["address.streetAddress"] == "address[streetAddress]"
    assert records[0]["geometry"]["type"] == "Point"


async def test_pages_by_limit_and_offset_within_the_brokers_page_size(broker: Broker):
    c = connector(broker, page_size=7)
    await c.open()
    before = len(broker.requests)
    try:
        everything, matched = await read(c, SourceQuery(want_count=True))
        window, _ = await read(c, SourceQuery(offset=30, limit=20))
    finally:
        await c.close()
    ids = [f"urn:ngsi-ld:{TYPE}:aarhus-{n:03d}" for n in range(COUNT)]
    assert [r["id"] for r in everything] == ids and matched == COUNT
    assert [r["id"] for r in window] == ids[30:50]
    sent = broker.requests[before:]
    limits = {
        int(dict(httpx.QueryParams(q))["limit"]) for p, q, _ in sent if p.endswith("/entities")
    }
    assert max(limits) == 7
    assert all(h["ngsild-tenant"] == "aarhus" and SDM in h["link"] for _, _, h in sent)


async def test_filters_go_as_q_and_bbox_as_a_georel(broker: Broker):
    c = connector(broker)
    await c.open()
    before = len(broker.requests)
    expr = Call(
        "or",
        (
            Call(">", (Property("NO2.value"), Literal(50))),
            Call("and", (Call("=", (Property("status.value"), Literal('ac"tive'))),
                         Call("isNull", (Property("PM10.value"),)))),
        ),
    )  # fmt: skip
    try:
        assert c.capabilities().filter_test(expr)
        assert not c.capabilities().filter_test(
            Call("not", (Call("=", (Property("NO2.value"), Literal(1))),))
        )
        records, matched = await read(
            c, SourceQuery(filter=expr, bbox=(10.15, 56.1, 10.25, 56.2), want_count=True)
        )
    finally:
        await c.close()
    params = dict(httpx.QueryParams(broker.requests[before][1]))
    assert params["q"] == '(NO2.value>50)|((status.value=="ac\\"tive");(!PM10.value))'.replace(
        ".value", ""
    )
    assert (params["georel"], params["geometry"], params["geoproperty"]) == (
        "intersects",
        "Polygon",
        "location",
    )
    assert params["coordinates"].startswith("[[[10.15,56.1],[10.25,56.1]")
    assert params["count"] == "true"
    assert matched == len(records) and records
    for r in records:
        lon, lat = r["geometry"]["coordinates"]
        assert 10.15 <= lon <= 10.25 and r["properties"]["NO2.value"] > 50


async def test_a_bbox_across_the_antimeridian_is_two_boxes(broker: Broker):
    c = connector(broker)
    await c.open()
    before = len(broker.requests)
    try:
        records, _ = await read(c, SourceQuery(bbox=(170.0, 50.0, 10.2, 57.0)))
    finally:
        await c.close()
    params = dict(httpx.QueryParams(broker.requests[before][1]))
    assert params["geometry"] == "MultiPolygon"
    assert records and all(r["geometry"]["coordinates"][0] <= 10.2 for r in records)


async def test_broker_errors_become_source_errors_naming_the_problem(broker: Broker):
    unknown = connector(broker, tenant="nobody")
    with pytest.raises(SourceError, match="NonexistentTenant.*nobody"):
        await unknown.open()
    await unknown.close()
    greedy = connector(broker, page_size=5000)
    await greedy.open()
    try:
        with pytest.raises(SourceError, match="TooManyResults.*5000"):
            await read(greedy, SourceQuery())
    finally:
        await greedy.close()


async def test_without_the_context_short_names_match_nothing(broker: Broker):
    c = connector(broker, context=None)
    await c.open()
    try:
        records, _ = await read(c, SourceQuery(limit=5))
    finally:
        await c.close()
    assert records == []
    assert "link" not in broker.requests[-1][2]


async def test_a_fixed_q_restricts_every_query(broker: Broker):
    c = connector(broker, q='status=="active"')
    await c.open()
    try:
        expr = Call(">", (Property("NO2.value"), Literal(30)))
        records, matched = await read(c, SourceQuery(filter=expr, want_count=True))
    finally:
        await c.close()
    expected = [
        e["id"] for e in entities() if e["status"]["value"] == "active" and e["NO2"]["value"] > 30
    ]
    assert [r["id"] for r in records] == expected and matched == len(expected) > 0
    assert broker.queries()[-1]["q"] == '(status=="active");(NO2>30)'


async def test_fields_are_learnt_once_the_broker_has_entities():
    with ld_broker() as empty:
        c = connector(empty, tenant=None)  # the default tenant, empty at first
        await c.open()
        try:
            assert (await c.describe()).fields == ()
            load(empty, tenant="")
            assert "NO2.value" in {f.name for f in (await c.describe()).fields}
            assert c.capabilities().filter_test is not None
        finally:
            await c.close()


async def test_config_check_names_a_type_the_broker_does_not_hold(broker: Broker):
    fine = connector(broker)
    wrong = connector(broker, type="AirQualityObservation")
    no_context = connector(broker, context=None)
    try:
        assert await fine.problems() == []
        found = (await wrong.problems())[0]
        assert "no entities of type AirQualityObservation in tenant aarhus" in found
        assert "(core)" in (await no_context.problems())[0]
    finally:
        for c in (fine, wrong, no_context):
            await c.close()


def _faulty_broker(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    async def answer(request: Any) -> Response:
        return Response(body, status, headers=headers, media_type="application/json")

    return Starlette(routes=[Route("/ngsi-ld/v1/entities", answer)])


@pytest.mark.parametrize(
    ("body", "status", "headers", "message"),
    [
        (b"<html>oops</html>", 200, None, "not JSON"),
        (b'{"id": "urn:x"}', 200, None, "not a list of entities"),
        (
            b'{"type": "https://uri.etsi.org/ngsi-ld/errors/InternalError", "title": "Internal",'
            b' "status": 500, "detail": "mongo down"}',
            500,
            None,
            "InternalError \\(500\\): Internal: mongo down",
        ),
        (b"[]", 200, {"NGSILD-Results-Count": "many"}, "NGSILD-Results-Count is not a number"),
    ],
)
async def test_a_broken_broker_answer_is_a_source_error(body, status, headers, message):
    with serve_app(_faulty_broker(body, status, headers)) as url:
        c = NGSILDConnector(
            NGSILDConnector.Config.model_validate({"url": url, "type": TYPE}),
            base_dir=Path("."),
            name="test/broken",
        )
        try:
            with pytest.raises(SourceError, match=message):
                await c.open()
                await read(c, SourceQuery(want_count=True))
        finally:
            await c.close()
