"""Observations in bulk and in every shape: CreateObservations with data arrays, results
of every JSON type, MultiDatastreams with array results, concurrent writers and readers."""

from __future__ import annotations

import threading

import pytest

from tests.sensorthings.conftest import (
    AUTH,
    MEASUREMENT,
    STA,
    location,
    location_id,
    observed_property,
)
from tests.sensorthings.test_cud import post, thing_with_everything


def test_create_observations_with_data_arrays(client):
    post(client, "Things", thing_with_everything())
    ds = client.get(f"{STA}/Datastreams").json()["value"][0]["@iot.id"]
    foi = client.get(f"{STA}/FeaturesOfInterest").json()["value"][0]["@iot.id"]
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
            "dataArray": [
                ["2020-01-01T00:00:00Z", 20, foi],
                ["2020-01-01T00:05:00Z", 21, foi],
                ["bad time", 1, foi],
                ["2020-01-01T00:10:00Z", 22, 99999],
            ],
        },
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result"],
            "dataArray": [["2020-01-01T00:15:00Z", "text"]],
        },
    ]
    r = client.post(f"{STA}/CreateObservations", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    links = r.json()
    assert links[2] == "error" and links[3] == "error"
    assert [client.get(links[i]).json()["result"] for i in (0, 1, 4)] == [20, 21, "text"]
    assert (
        client.get(f"{STA}/Datastreams({ds})").json()["phenomenonTime"]
        == "2015-03-01T00:00:00Z/2020-01-01T00:15:00Z"
    )
    r = client.post(
        f"{STA}/CreateObservations",
        json=[{"Datastream": {"@iot.id": 424242}, "components": ["result"], "dataArray": [[1]]}],
        headers=AUTH,
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        ("on", "on"),
        ({"a": [1]}, '{"a":[1]}'),
        ([1, 2], "[1,2]"),
        (None, None),
        (2.5, "2.5"),
    ],
)
def test_results_of_every_json_type_round_trip(client, value, text):
    post(client, "Things", thing_with_everything())
    ds = client.get(f"{STA}/Datastreams").json()["value"][0]["@iot.id"]
    obs = post(
        client,
        "Observations",
        {
            "result": value,
            "resultQuality": {"q": 1},
            "parameters": {"p": "x"},
            "validTime": "2015-01-01T00:00:00Z/2015-01-02T00:00:00Z",
            "Datastream": {"@iot.id": ds},
        },
    ).json()
    got = client.get(obs["@iot.selfLink"]).json()
    assert (
        got["result"] == value
        and got["resultQuality"] == {"q": 1}
        and got["validTime"] == "2015-01-01T00:00:00Z/2015-01-02T00:00:00Z"
    )
    raw = client.get(f"{obs['@iot.selfLink']}/result/$value")
    assert (raw.text if raw.status_code == 200 else None) == text


def test_concurrent_writers_and_readers_stay_consistent(client):
    post(client, "Things", thing_with_everything())
    ds = client.get(f"{STA}/Datastreams").json()["value"][0]["@iot.id"]
    errors: list[str] = []

    def writer(n: int) -> None:
        for i in range(25):
            body = {
                "result": n * 100 + i,
                "phenomenonTime": f"2021-01-01T00:{n:02d}:{i:02d}Z",
                "Datastream": {"@iot.id": ds},
            }
            r = client.post(f"{STA}/Observations", json=body, headers=AUTH)
            if r.status_code != 201:
                errors.append(r.text)

    def reader() -> None:
        for _ in range(25):
            doc = client.get(f"{STA}/Datastreams({ds})/Observations?$count=true&$top=1000").json()
            if doc["@iot.count"] != len(doc["value"]):
                errors.append("count and page disagree")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = [o["@iot.id"] for o in client.get(f"{STA}/Observations?$top=1000").json()["value"]]
    assert len(ids) == len(set(ids)) == 101


def test_multi_datastreams_with_array_results(client):
    thing = location_id(
        post(client, "Things", {"name": "t", "description": "d", "Locations": [location(1)]})
    )
    body = {
        "name": "wind",
        "description": "speed and direction",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation",
        "multiObservationDataTypes": [MEASUREMENT, MEASUREMENT],
        "unitOfMeasurements": [
            {"name": "m/s", "symbol": "m/s", "definition": "u1"},
            {"name": "degree", "symbol": "deg", "definition": "u2"},
        ],
        "Thing": {"@iot.id": thing},
        "Sensor": {
            "name": "anemometer",
            "description": "d",
            "encodingType": "text/html",
            "metadata": "m",
        },
        "ObservedProperties": [observed_property(1), observed_property(2)],
        "Observations": [{"phenomenonTime": "2024-01-01T00:00:00Z", "result": [3.5, 270]}],
    }
    mds = location_id(post(client, "MultiDatastreams", body))
    got = client.get(
        f"{STA}/MultiDatastreams({mds})?$expand=ObservedProperties,Observations"
    ).json()
    assert [p["name"] for p in got["ObservedProperties"]] == [
        "ObservedProperty 1",
        "ObservedProperty 2",
    ]
    assert got["Observations"][0]["result"] == [3.5, 270]
    assert got["phenomenonTime"] == "2024-01-01T00:00:00Z"
    obs = client.get(
        f"{STA}/Observations?$expand=MultiDatastream&$select=result,MultiDatastream"
    ).json()["value"]
    assert obs[0]["MultiDatastream"]["@iot.id"] == mds
    bad = {**body, "ObservedProperties": [observed_property(3)]}
    assert client.post(f"{STA}/MultiDatastreams", json=bad, headers=AUTH).status_code == 400
