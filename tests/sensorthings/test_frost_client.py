"""frost-sta-client (FraunhoferIOSB's Python client, as real users run it) against a live
`twinbridge serve` with an embedded STA store: lists, filters, expands, follows nextLinks
to the end, creates a Thing with a Datastream and Observations and reads them back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import frost_sta_client as fsc
import pytest
import requests
import yaml
from geojson import Point

from tests.conftest import start_gateway
from tests.sensorthings.conftest import KEY

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[fsc.SensorThingsService]:
    folder = tmp_path_factory.mktemp("frost")
    env = f"TB_FROST_KEY_{uuid.uuid4().hex[:8]}"
    config = {
        "tenants": {
            "city": {
                "sensorthings": {"store": {"path": str(folder / "city.sqlite")}, "api_key_env": env}
            }
        }
    }
    path = Path(folder / "config.yaml")
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    proc, url = start_gateway({env: KEY}, "--config", str(path))
    try:
        yield fsc.SensorThingsService(
            f"{url}/city/sta/v1.1", auth_handler=fsc.AuthHandler("me", KEY)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    os.environ.pop(env, None)


def make_thing(n: int) -> fsc.Thing:
    sensor = fsc.Sensor(
        name=f"sensor {n}",
        description="PM sensor",
        encoding_type="application/pdf",
        metadata="https://example.org/pm.pdf",
    )
    prop = fsc.ObservedProperty(
        name="PM10",
        definition="http://vocab.nerc.ac.uk/collection/P01/current/PM10",
        description="particulate matter",
    )
    unit = fsc.UnitOfMeasurement(
        name="microgram per cubic metre",
        symbol="ug/m3",
        definition="http://unitsofmeasure.org/ucum.html",
    )
    datastream = fsc.Datastream(
        name=f"PM10 at node {n}",
        description="PM10",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement=unit,
        sensor=sensor,
        observed_property=prop,
    )
    location = fsc.Location(
        name=f"node {n}",
        description="a node",
        encoding_type="application/geo+json",
        location=Point((12.37 + n / 100, 51.34)),
    )
    return fsc.Thing(
        name=f"node {n}",
        description="air quality node",
        properties={"city": "Leipzig", "n": n},
        locations=[location],
        datastreams=[datastream],
    )


def test_create_thing_with_datastream_and_observations_then_read_back(service):
    thing = make_thing(1)
    service.create(thing)
    assert isinstance(thing.id, int)
    found = service.things().find(thing.id)
    assert found.name == "node 1" and found.properties == {"city": "Leipzig", "n": 1}
    datastream = found.get_datastreams().query().list().entities[0]
    for minute in range(30):
        obs = fsc.Observation(
            result=20 + minute,
            phenomenon_time=f"2024-05-01T10:{minute:02d}:00Z",
            datastream=datastream,
        )
        service.create(obs)
    observations = list(datastream.get_observations().query().top(7).list())  # follows nextLinks
    assert [o.result for o in observations] == list(range(20, 50))
    latest = (
        datastream.get_observations()
        .query()
        .orderby("phenomenonTime", "desc")
        .top(1)
        .list()
        .entities
    )
    assert latest[0].result == 49


def test_data_array_create_is_parsed_by_the_client(service):
    thing = make_thing(2)
    service.create(thing)
    datastream = service.things().find(thing.id).get_datastreams().query().list().entities[0]
    dav = fsc.DataArrayValue()
    dav.datastream = datastream
    dav.components = {
        fsc.DataArrayValue.Property.PHENOMENON_TIME,
        fsc.DataArrayValue.Property.RESULT,
    }
    for i in range(5):
        dav.add_observation(fsc.Observation(phenomenon_time=f"2024-05-02T00:0{i}:00Z", result=i))
    doc = fsc.DataArrayDocument()
    doc.add_data_array_value(dav)
    created = service.observations().create(doc)
    assert len(created) == 5 and all(o.self_link.startswith("http://127.0.0.1") for o in created)
    assert (
        service.datastreams()
        .find(datastream.id)
        .get_observations()
        .query()
        .count()
        .top(0)
        .list()
        .count
        == 5
    )


def test_lists_filters_expands_and_counts(service):
    for n in range(3, 8):
        service.create(make_thing(n))
    things = (
        service.things()
        .query()
        .filter("properties/n ge 3 and properties/n le 7")
        .count()
        .top(2)
        .list()
    )
    assert things.count == 5 and len(things.entities) == 2 and things.next_link
    assert sorted(t.properties["n"] for t in things) == [3, 4, 5, 6, 7]
    expanded = (
        service.things()
        .query()
        .filter("name eq 'node 4'")
        .expand("Datastreams($expand=Sensor,ObservedProperty;$count=true),Locations")
        .list()
    )
    [node] = expanded.entities
    assert node.datastreams.count == 1
    assert node.datastreams.entities[0].sensor.name == "sensor 4"
    assert node.locations.entities[0].name == "node 4"
    selected = service.things().query().select("id", "name").orderby("name", "asc").top(100).list()
    names = [t.name for t in selected]
    assert names == sorted(names) and all(t.description is None for t in selected)


def test_patch_and_delete_through_the_client(service):
    thing = make_thing(9)
    service.create(thing)
    service.patch(thing, [{"op": "replace", "path": "/description", "value": "moved"}])
    assert service.things().find(thing.id).description == "moved"
    service.delete(thing)
    with pytest.raises(requests.exceptions.HTTPError):
        service.things().find(thing.id)
