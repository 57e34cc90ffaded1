"""Writes of the `ngsi-ld` connector against the NGSI-LD test broker over loopback HTTP
(create, replace, update, delete, read back through the connector), what the broker then
holds (Property, Relationship, GeoProperty, units kept, names expanded with the @context
of the Link header), and the answers by whose fault: conflict, not found, refused, broker
failure (respx, for the 5xx and timeouts the broker never gives)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from connectors.base import SourceQuery
from connectors.errors import SourceConflict, SourceError, SourceRefused, SourceTimeout
from connectors.ngsi.ld import NGSILDConnector
from tests.ngsi.ldbroker import Broker, ld_broker

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
SDM = "https://smartdatamodels.org/context.jsonld"
LINK = {"Link": f'<{SDM}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
TYPE = "AirQualityObserved"
TENANT = "aarhus"
POINT = {"type": "Point", "coordinates": [10.2, 56.15]}


def seed(n: int) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:{TYPE}:seed-{n}",
        "type": TYPE,
        "NO2": {
            "type": "Property",
            "value": 20.0 + n,
            "unitCode": "GQ",
            "observedAt": "2026-12-01T10:00:00Z",
        },
        "name": {"type": "Property", "value": f"Station {n}"},
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{n}"},
        "location": {"type": "GeoProperty", "value": POINT},
    }


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with ld_broker() as running:
        headers = {**LINK, "NGSILD-Tenant": TENANT}
        with httpx.Client() as client:
            answer = client.post(
                f"{running.url}/ngsi-ld/v1/entityOperations/upsert",
                json=[seed(n) for n in range(4)],
                headers=headers,
            )
            assert answer.status_code in (201, 204), answer.text
        yield running


def connector(url: str, **options: Any) -> NGSILDConnector:
    config = {"url": url, "type": TYPE, "tenant": TENANT, "writable": True, **options}
    return NGSILDConnector(
        NGSILDConnector.Config.model_validate(config), base_dir=Path("."), name="aarhus/aq"
    )


def held(broker: Broker, entity_id: str) -> dict[str, Any]:
    """The entity as the broker stores it (expanded names), without system stamps."""
    entity = broker.store.tenants[TENANT].entities[entity_id]

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in ("createdAt", "modifiedAt")}
        return value

    return clean(entity)


@pytest.fixture
async def ld(broker: Broker) -> Any:
    c = connector(broker.url)
    await c.open()
    yield c
    await c.close()


def test_writable_is_off_unless_configured(broker: Broker):
    plain = NGSILDConnector.Config.model_validate({"url": broker.url, "type": TYPE})
    assert NGSILDConnector(plain, base_dir=Path("."), name="x").writable() is False
    assert connector(broker.url).writable() is True


async def test_create_writes_property_relationship_geoproperty_and_reads_back(ld, broker):
    record = {
        "id": f"urn:ngsi-ld:{TYPE}:new-1",
        "properties": {
            "type": TYPE,
            "NO2.value": 31.5,
            "NO2.unitCode": "GQ",
            "NO2.observedAt": "2026-12-07T08:00:00Z",
            "refDevice.object": "urn:ngsi-ld:Device:9",
            "address.value.streetAddress": "Gade 1",
        },
        "geometry": {"type": "Point", "coordinates": [10.21, 56.16]},
    }
    assert await ld.create(record) == f"urn:ngsi-ld:{TYPE}:new-1"
    entity = held(broker, f"urn:ngsi-ld:{TYPE}:new-1")
    no2 = next(v for k, v in entity.items() if k.endswith("NO2"))
    assert no2 == {
        "type": "Property",
        "value": 31.5,
        "unitCode": "GQ",
        "observedAt": "2026-12-07T08:00:00Z",
    }
    relations = [
        v for v in entity.values() if isinstance(v, dict) and v.get("type") == "Relationship"
    ]
    assert relations == [{"type": "Relationship", "object": "urn:ngsi-ld:Device:9"}]
    geo = [v for v in entity.values() if isinstance(v, dict) and v.get("type") == "GeoProperty"]
    assert geo == [{"type": "GeoProperty", "value": record["geometry"]}]
    back = await ld.get(f"urn:ngsi-ld:{TYPE}:new-1")
    assert back["geometry"] == record["geometry"]
    for name, value in record["properties"].items():
        assert back["properties"][name] == value


async def test_create_without_id_makes_a_typed_urn_and_the_query_finds_it(ld):
    new = await ld.create({"id": None, "properties": {"name.value": "Viby"}, "geometry": POINT})
    assert new.startswith(f"urn:ngsi-ld:{TYPE}:")
    result = await ld.query(SourceQuery())
    found = {r["id"]: r async for r in result.records}
    assert found[new]["properties"]["name.value"] == "Viby" and found[new]["geometry"] == POINT


async def test_create_of_an_existing_id_is_a_conflict(ld, broker):
    with pytest.raises(SourceConflict, match="AlreadyExists"):
        await ld.create({"id": f"urn:ngsi-ld:{TYPE}:seed-0", "properties": {"name.value": "X"}})
    assert (await ld.get(f"urn:ngsi-ld:{TYPE}:seed-0"))["properties"]["name.value"] == "Station 0"


async def test_replace_puts_the_whole_entity_and_drops_the_rest(ld, broker):
    entity_id = await ld.create(
        {"id": None, "properties": {"name.value": "A", "NO2.value": 1}, "geometry": POINT}
    )
    created = broker.store.tenants[TENANT].entities[entity_id]["createdAt"]
    done = await ld.replace(entity_id, {"properties": {"name.value": "B"}, "geometry": None})
    assert done is True
    back = await ld.get(entity_id)
    assert back["properties"] == {"type": TYPE, "name.value": "B"}
    assert back["geometry"] is None
    # one Replace Entity, not a delete and a create: the entity keeps its creation time
    assert broker.store.tenants[TENANT].entities[entity_id]["createdAt"] == created


async def test_update_merges_members_and_removes_null_attributes(ld):
    entity_id = f"urn:ngsi-ld:{TYPE}:seed-1"
    changes = {"properties": {"NO2.value": 44.0, "name.value": None, "status.value": "ok"}}
    assert await ld.update(entity_id, changes) is True
    back = (await ld.get(entity_id))["properties"]
    assert back["NO2.value"] == 44.0
    assert back["NO2.unitCode"] == "GQ" and back["NO2.observedAt"] == "2026-12-01T10:00:00Z"
    assert "name.value" not in back and back["status.value"] == "ok"
    assert back["refDevice.object"] == "urn:ngsi-ld:Device:1"


async def test_update_of_the_geometry_and_its_removal(ld):
    entity_id = f"urn:ngsi-ld:{TYPE}:seed-2"
    moved = {"type": "Point", "coordinates": [10.3, 56.2]}
    assert await ld.update(entity_id, {"properties": {}, "geometry": moved}) is True
    assert (await ld.get(entity_id))["geometry"] == moved
    assert await ld.update(entity_id, {"properties": {}, "geometry": None}) is True
    back = await ld.get(entity_id)
    assert back["geometry"] is None and back["properties"]["name.value"] == "Station 2"


async def test_key_values_records_keep_relationships_relationships(broker):
    c = connector(broker.url, representation="keyValues")
    await c.open()
    try:
        entity_id = await c.create(
            {"id": None, "properties": {"NO2": 5, "refDevice": "urn:ngsi-ld:Device:7"}}
        )
        entity = held(broker, entity_id)
        kinds = {k.rsplit("/", 1)[-1]: v["type"] for k, v in entity.items() if isinstance(v, dict)}
        assert kinds["refDevice"] == "Relationship" and kinds["NO2"] == "Property"
        assert await c.update(entity_id, {"properties": {"NO2": 6}}) is True
        assert (await c.get(entity_id))["properties"]["NO2"] == 6
    finally:
        await c.close()


async def test_the_first_entity_of_a_new_tenant_is_created(broker):
    c = connector(broker.url, tenant="odense")
    try:
        entity_id = await c.create({"id": None, "properties": {"name.value": "first"}})
        assert await c.update(entity_id, {"properties": {"name.value": "second"}}) is True
        assert (await c.get(entity_id))["properties"]["name.value"] == "second"
    finally:
        await c.close()


async def test_unknown_ids_and_other_types_are_false(ld, broker):
    gone = f"urn:ngsi-ld:{TYPE}:nobody"
    assert await ld.replace(gone, {"properties": {"name.value": "x"}}) is False
    assert await ld.update(gone, {"properties": {"name.value": "x"}}) is False
    assert await ld.delete(gone) is False
    other = {
        "id": "urn:ngsi-ld:Device:1",
        "type": "Device",
        "name": {"type": "Property", "value": "d"},
    }
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{broker.url}/ngsi-ld/v1/entities",
            json=other,
            headers={**LINK, "NGSILD-Tenant": TENANT},
        )
        assert answer.status_code == 201
    assert await ld.delete("urn:ngsi-ld:Device:1") is False
    assert "urn:ngsi-ld:Device:1" in broker.store.tenants[TENANT].entities


async def test_delete_removes_the_entity(ld, broker):
    entity_id = f"urn:ngsi-ld:{TYPE}:seed-3"
    assert await ld.delete(entity_id) is True
    assert await ld.get(entity_id) is None and await ld.delete(entity_id) is False
    assert entity_id not in broker.store.tenants[TENANT].entities


async def test_the_brokers_refusal_is_a_refused_request_with_its_problem(ld):
    with pytest.raises(SourceRefused) as refused:
        await ld.create({"id": "not a uri", "properties": {"name.value": "x"}})
    assert refused.value.status == 400 and "BadRequestData" in refused.value.message
    for props in ({"name": "bare"}, {"a.value": 1, "a.value.b": 2}, {"type": "Device"}):
        with pytest.raises(SourceRefused) as refused:
            await ld.create({"id": None, "properties": props})
        assert refused.value.status == 400


# --- faults the test broker never gives ---------------------------------------------------

BASE = "http://orion-ld.test"
API = f"{BASE}/ngsi-ld/v1"


@pytest.fixture
async def faulty() -> Any:
    c = connector(BASE)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{API}/entities").respond(json=[seed(0)])
        mock.get(url__startswith=f"{API}/entities/").respond(json=seed(0))
        await c.open()
        yield c, mock
    await c.close()


async def test_a_broker_5xx_is_a_source_error_with_its_problem_and_never_retried(faulty):
    c, mock = faulty
    problem = {"type": "https://uri.etsi.org/ngsi-ld/errors/InternalError", "title": "db down"}
    route = mock.post(f"{API}/entities").respond(500, json=problem)
    with pytest.raises(SourceError) as failed:
        await c.create({"id": None, "properties": {"name.value": "x"}})
    assert failed.value.answer == "InternalError (500): db down"
    assert route.call_count == 1
    put = mock.put(url__startswith=f"{API}/entities/").respond(503)
    with pytest.raises(SourceError):
        await c.replace(f"urn:ngsi-ld:{TYPE}:seed-0", {"properties": {"name.value": "x"}})
    assert put.call_count == 1


async def test_a_write_timeout_is_a_source_timeout(faulty):
    c, mock = faulty
    mock.delete(url__startswith=f"{API}/entities/").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(SourceTimeout):
        await c.delete(f"urn:ngsi-ld:{TYPE}:seed-0")
