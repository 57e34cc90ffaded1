"""Writes of the `ngsi-v2` connector against the NGSI-v2 test broker over loopback HTTP
(create, replace, update, delete, read back through the connector), what the broker then
holds (NGSI types, metadata, geo:json), and the answers by whose fault: conflict, not
found, refused, broker failure (respx, for the 5xx and timeouts the broker never gives)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from connectors.base import SourceQuery
from connectors.errors import SourceConflict, SourceError, SourceRefused, SourceTimeout
from connectors.ngsi.v2 import NgsiV2Connector
from gateway.demo.ngsibroker import create_app
from gateway.demo.ngsibroker.serve import serving
from gateway.demo.ngsibroker.store import Store

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
TYPE = "WeatherObserved"
TENANT = "leipzig"
PATH = "/weather"
POINT = {"type": "Point", "coordinates": [12.3731, 51.3397]}


def seed(n: int) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:{TYPE}:seed-{n}",
        "type": TYPE,
        "temperature": {
            "type": "Number",
            "value": 10.5 + n,
            "metadata": {"unitCode": {"type": "Text", "value": "CEL"}},
        },
        "dateObserved": {"type": "DateTime", "value": f"2026-12-0{n + 1}T10:00:00.000Z"},
        "stationName": {"type": "Text", "value": f"Station {n}"},
        "location": {"type": "geo:json", "value": POINT},
    }


@pytest.fixture(scope="module")
def broker() -> Iterator[tuple[str, Store]]:
    store = Store()
    with serving(create_app(store=store)) as url:
        headers = {"Fiware-Service": TENANT, "Fiware-ServicePath": PATH}
        with httpx.Client() as client:
            for n in range(3):
                answer = client.post(f"{url}/v2/entities", json=seed(n), headers=headers)
                assert answer.status_code == 201, answer.text
        yield url, store


def connector(url: str, **options: Any) -> NgsiV2Connector:
    config = {
        "url": url,
        "entity_type": TYPE,
        "service": TENANT,
        "service_path": PATH,
        "writable": True,
        **options,
    }
    c = NgsiV2Connector(
        NgsiV2Connector.Config.model_validate(config), base_dir=Path("."), name="leipzig/weather"
    )
    return c


def stored(store: Store, entity_id: str) -> dict[str, Any]:
    """The entity as the broker holds it: attribute -> (type, value, metadata)."""
    (entity,) = [
        e for e in store.tenant(TENANT).entities.values() if e.id == entity_id and e.type == TYPE
    ]
    assert entity.service_path == PATH
    return {n: (a.type, a.value, a.metadata) for n, a in entity.attrs.items()}


@pytest.fixture
async def v2(broker: tuple[str, Store]) -> Any:
    c = connector(broker[0])
    await c.open()
    yield c
    await c.close()


def test_writable_is_off_unless_configured_and_needs_one_service_path(broker):
    url = broker[0]
    plain = NgsiV2Connector.Config.model_validate({"url": url, "entity_type": TYPE})
    assert NgsiV2Connector(plain, base_dir=Path("."), name="x").writable() is False
    assert connector(url).writable() is True
    with pytest.raises(ValidationError, match="one path"):
        connector(url, service_path="/weather/#")


async def test_create_writes_ngsi_types_metadata_and_geo_json_and_reads_back(v2, broker):
    record = {
        "id": "urn:ngsi-ld:WeatherObserved:new-1",
        "properties": {
            "type": TYPE,
            "temperature.value": 3.5,
            "temperature.metadata.unitCode.value": "CEL",
            "dateObserved.value": "2026-12-07T08:00:00Z",
            "stationName.value": "Augustusplatz",
            "address.value.streetAddress": "Augustusplatz 1",
        },
        "geometry": {"type": "Point", "coordinates": [12.38, 51.34]},
    }
    assert await v2.create(record) == "urn:ngsi-ld:WeatherObserved:new-1"
    held = stored(broker[1], "urn:ngsi-ld:WeatherObserved:new-1")
    assert held["temperature"][:2] == ("Number", 3.5)
    assert held["temperature"][2] == {"unitCode": {"type": "Text", "value": "CEL"}}
    assert held["dateObserved"][:2] == ("DateTime", "2026-12-07T08:00:00.000Z")
    assert held["address"][:2] == ("StructuredValue", {"streetAddress": "Augustusplatz 1"})
    assert held["location"][:2] == ("geo:json", record["geometry"])
    back = await v2.get("urn:ngsi-ld:WeatherObserved:new-1")
    assert back["geometry"] == record["geometry"]
    assert back["properties"]["temperature.value"] == 3.5
    assert back["properties"]["temperature.metadata.unitCode.value"] == "CEL"
    assert back["properties"]["address.value.streetAddress"] == "Augustusplatz 1"


async def test_create_without_id_makes_a_typed_urn_and_the_query_finds_it(v2):
    new = await v2.create({"id": None, "properties": {"stationName.value": "Lindenau"}})
    assert new.startswith(f"urn:ngsi-ld:{TYPE}:") and len(new) == len(f"urn:ngsi-ld:{TYPE}:") + 36
    result = await v2.query(SourceQuery())
    found = {r["id"]: r async for r in result.records}
    assert found[new]["properties"]["stationName.value"] == "Lindenau"
    assert found[new]["geometry"] is None


async def test_create_of_an_existing_id_is_a_conflict_and_changes_nothing(v2, broker):
    seeded = f"urn:ngsi-ld:{TYPE}:seed-0"
    with pytest.raises(SourceConflict, match="Already Exists"):
        await v2.create({"id": seeded, "properties": {"stationName.value": "X"}})
    assert stored(broker[1], seeded)["stationName"][1] == "Station 0"


async def test_replace_sets_every_attribute_and_removes_the_others(v2, broker):
    entity_id = await v2.create(
        {"id": None, "properties": {"temperature.value": 1, "stationName.value": "A"}}
    )
    done = await v2.replace(
        entity_id, {"id": entity_id, "properties": {"temperature.value": 2}, "geometry": POINT}
    )
    assert done is True
    held = stored(broker[1], entity_id)
    assert set(held) == {"temperature", "location"} and held["temperature"][:2] == ("Number", 2)
    back = await v2.get(entity_id)
    assert "stationName.value" not in back["properties"] and back["geometry"] == POINT


async def test_update_changes_only_the_given_attributes_null_keeps_the_type(v2, broker):
    entity_id = f"urn:ngsi-ld:{TYPE}:seed-1"
    changes = {
        "properties": {"temperature.value": 99, "dateObserved.value": None, "humidity.value": 40}
    }
    assert await v2.update(entity_id, changes) is True
    held = stored(broker[1], entity_id)
    assert held["temperature"] == ("Number", 99, {"unitCode": {"type": "Text", "value": "CEL"}})
    assert held["dateObserved"][:2] == ("DateTime", None)
    assert held["humidity"][:2] == ("Number", 40)  # an attribute it lacked: added
    assert held["stationName"][1] == "Station 1" and held["location"][1] == POINT
    back = await v2.get(entity_id)
    assert back["properties"]["dateObserved.value"] is None


async def test_update_of_the_geometry_only_and_to_null(v2, broker):
    entity_id = f"urn:ngsi-ld:{TYPE}:seed-2"
    moved = {"type": "Point", "coordinates": [12.4, 51.3]}
    assert await v2.update(entity_id, {"properties": {}, "geometry": moved}) is True
    assert (await v2.get(entity_id))["geometry"] == moved
    assert await v2.update(entity_id, {"properties": {}, "geometry": None}) is True
    assert stored(broker[1], entity_id)["location"][:2] == ("geo:json", None)
    assert (await v2.get(entity_id))["geometry"] is None


async def test_unknown_ids_are_false_and_delete_removes_only_this_type(v2, broker):
    url, store = broker
    gone = f"urn:ngsi-ld:{TYPE}:nobody"
    assert await v2.replace(gone, {"properties": {"temperature.value": 1}}) is False
    assert await v2.update(gone, {"properties": {"temperature.value": 1}}) is False
    assert await v2.update(gone, {"properties": {}}) is False
    assert await v2.delete(gone) is False
    twin = {"id": "urn:ngsi-ld:shared", "type": "Parking", "name": {"value": "P1"}}
    headers = {"Fiware-Service": TENANT, "Fiware-ServicePath": PATH}
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{url}/v2/entities", json=twin, headers=headers)).is_success
    entity_id = await v2.create(
        {"id": "urn:ngsi-ld:shared", "properties": {"temperature.value": 1}}
    )
    assert await v2.delete(entity_id) is True
    assert await v2.get(entity_id) is None and await v2.delete(entity_id) is False
    kinds = {e.type for e in store.tenant(TENANT).entities.values() if e.id == entity_id}
    assert kinds == {"Parking"}


async def test_the_brokers_refusal_is_a_refused_request_with_its_text(v2):
    with pytest.raises(SourceRefused) as refused:
        await v2.create({"id": None, "properties": {"stationName.value": "<script>"}})
    assert refused.value.status == 400
    assert "Invalid characters in stationName value" in refused.value.message
    with pytest.raises(SourceRefused, match="not a GeoJSON geometry"):
        await v2.create({"id": None, "properties": {}, "geometry": {"type": "Point"}})


async def test_malformed_records_are_refused_before_the_broker_is_asked(v2):
    bad = [
        {"stationName": "no .value"},  # normalized attributes are given by .value
        {"a.value": 1, "a.value.b": 2},  # paths that clash
        {"type": "Parking"},  # another entity type
        {"location.value": POINT},  # the location is the geometry
    ]
    for props in bad:
        with pytest.raises(SourceRefused) as refused:
            await v2.create({"id": None, "properties": props})
        assert refused.value.status == 400


async def test_an_id_outside_the_id_pattern_is_not_this_sources(broker):
    c = connector(broker[0], id_pattern="^urn:ngsi-ld:WeatherObserved:seed-")
    await c.open()
    try:
        with pytest.raises(SourceRefused, match="not this source's"):
            await c.create({"id": None, "properties": {"stationName.value": "x"}})
        assert await c.delete(f"urn:ngsi-ld:{TYPE}:new-1") is False
    finally:
        await c.close()


async def test_key_values_records_are_written_with_the_types_the_broker_holds(broker):
    c = connector(broker[0], representation="keyValues")
    await c.open()
    try:
        record = {
            "id": None,
            "properties": {"temperature": 7, "dateObserved": "2026-12-07T09:00:00Z", "x.y": 1},
            "geometry": POINT,
        }
        entity_id = await c.create(record)
        held = stored(broker[1], entity_id)
        assert held["dateObserved"][:2] == ("DateTime", "2026-12-07T09:00:00.000Z")
        assert held["temperature"][:2] == ("Number", 7)
        assert held["x"][:2] == ("StructuredValue", {"y": 1})
        back = await c.get(entity_id)
        assert back["properties"]["temperature"] == 7 and back["geometry"] == POINT
    finally:
        await c.close()


async def test_a_geo_point_location_is_written_back_as_geo_point():
    store = Store()
    with serving(create_app(store=store)) as url:
        point = {
            "id": "urn:ngsi-ld:Bench:1",
            "type": "Bench",
            "spot": {"type": "geo:point", "value": "51.3, 12.4"},
        }
        with httpx.Client() as client:
            assert client.post(f"{url}/v2/entities", json=point).status_code == 201
        config = {"url": url, "entity_type": "Bench", "writable": True}
        c = NgsiV2Connector(
            NgsiV2Connector.Config.model_validate(config), base_dir=Path("."), name="b"
        )
        await c.open()
        try:
            new = await c.create({"id": None, "properties": {}, "geometry": POINT})
            (entity,) = [e for e in store.tenant(None).entities.values() if e.id == new]
            assert (entity.attrs["spot"].type, entity.attrs["spot"].value) == (
                "geo:point",
                "51.3397, 12.3731",
            )
            assert (await c.get(new))["geometry"] == POINT
        finally:
            await c.close()


# --- faults the test broker never gives ---------------------------------------------------

BASE = "http://orion.test"


@pytest.fixture
async def faulty() -> Any:
    c = connector(BASE)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{BASE}/v2/entities").respond(json=[seed(0)])
        mock.get(f"{BASE}/v2/types/{TYPE}").respond(json={"attrs": {}, "count": 1})
        await c.open()
        yield c, mock
    await c.close()


async def test_a_broker_5xx_is_a_source_error_with_its_answer_and_never_retried(faulty):
    c, mock = faulty
    route = mock.post(f"{BASE}/v2/entities").respond(
        503, json={"error": "ServiceUnavailable", "description": "database down"}
    )
    with pytest.raises(SourceError) as failed:
        await c.create({"id": None, "properties": {"temperature.value": 1}})
    assert failed.value.answer == "503 ServiceUnavailable: database down"
    assert route.call_count == 1
    deleted = mock.delete(url__startswith=f"{BASE}/v2/entities/").respond(500)
    with pytest.raises(SourceError):
        await c.delete("urn:x")
    assert deleted.call_count == 1


async def test_a_write_timeout_is_a_source_timeout(faulty):
    c, mock = faulty
    mock.put(url__startswith=f"{BASE}/v2/entities/").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(SourceTimeout):
        await c.replace("urn:x", {"properties": {"temperature.value": 1}})
