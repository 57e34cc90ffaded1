"""OGC SensorThings test suite, level 2 (create, update, delete), ported from ets-sta10
createUpdateDelete/Capability2Tests and FROST's c02cud tests, plus the API key guard,
JSON Patch, CreateObservations and concurrent writers."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from tests.sensorthings.conftest import (
    AUTH,
    KEY,
    STA,
    datastream,
    location,
    location_id,
    observed_property,
)


def post(client: TestClient, path: str, body, status: int = 201):
    r = client.post(f"{STA}/{path}", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    return r


def thing_with_everything(n: int = 1) -> dict:
    ds = datastream(n, observed_property(n))
    ds["Observations"] = [{"phenomenonTime": "2015-03-01T00:00:00Z", "result": 1}]
    return {
        "name": f"thing {n}",
        "description": "d",
        "Locations": [location(n)],
        "Datastreams": [ds],
    }


def test_create_each_type_by_linking_ids_with_location_headers(client):
    thing = location_id(post(client, "Things", {"name": "t", "description": "d"}))
    loc = location_id(post(client, f"Things({thing})/Locations", location(1)))
    assert (
        client.get(f"{STA}/Things({thing})/HistoricalLocations?$count=true").json()["@iot.count"]
        == 1
    )
    sensor = location_id(
        post(
            client,
            "Sensors",
            {"name": "s", "description": "d", "encodingType": "application/pdf", "metadata": "m"},
        )
    )
    prop = location_id(post(client, "ObservedProperties", observed_property(1)))
    body = {k: v for k, v in datastream(1, {}).items() if k not in ("Sensor", "ObservedProperty")}
    body |= {
        "Thing": {"@iot.id": thing},
        "Sensor": {"@iot.id": sensor},
        "ObservedProperty": {"@iot.id": prop},
    }
    r = post(client, "Datastreams", body)
    assert r.headers["location"] == f"http://testserver{STA}/Datastreams({location_id(r)})"
    ds = location_id(r)
    foi = location_id(
        post(
            client,
            "FeaturesOfInterest",
            {
                "name": "f",
                "description": "d",
                "encodingType": "application/vnd.geo+json",
                "feature": {"type": "Point", "coordinates": [1, 2]},
            },
        )
    )
    obs = post(
        client,
        f"Datastreams({ds})/Observations",
        {
            "result": 3.5,
            "phenomenonTime": "2016-01-01T00:00:00Z",
            "FeatureOfInterest": {"@iot.id": foi},
        },
    ).json()
    assert obs["result"] == 3.5 and obs["resultTime"] is None
    assert (
        client.get(f"{STA}/Observations({obs['@iot.id']})/FeatureOfInterest").json()["@iot.id"]
        == foi
    )
    assert client.get(f"{STA}/Locations({loc})/Things").json()["value"][0]["@iot.id"] == thing


def test_feature_of_interest_made_from_the_thing_location_once(client):
    post(client, "Things", thing_with_everything())
    ds = client.get(f"{STA}/Datastreams").json()["value"][0]["@iot.id"]
    second = post(client, "Observations", {"result": 2, "Datastream": {"@iot.id": ds}}).json()
    fois = client.get(f"{STA}/FeaturesOfInterest").json()["value"]
    assert len(fois) == 1 and fois[0]["feature"] == location(1)["location"]
    assert second["phenomenonTime"] is not None  # generated when missing


def test_deep_insert_and_related_entities_by_path(client):
    thing = location_id(post(client, "Things", thing_with_everything()))
    ds = client.get(f"{STA}/Things({thing})/Datastreams").json()["value"][0]
    assert client.get(f"{STA}/Datastreams({ds['@iot.id']})/Sensor").json()["name"] == "sensor 1"
    obs = client.get(f"{STA}/Things({thing})/Datastreams({ds['@iot.id']})/Observations").json()[
        "value"
    ]
    assert [o["result"] for o in obs] == [1]
    assert ds["phenomenonTime"] == "2015-03-01T00:00:00Z"
    inline_foi = {
        "result": 7,
        "Datastream": {"@iot.id": ds["@iot.id"]},
        "FeatureOfInterest": {
            "name": "f",
            "description": "d",
            "encodingType": "application/vnd.geo+json",
            "feature": {"type": "Point", "coordinates": [0, 0]},
        },
    }
    created = post(client, "Observations", inline_foi).json()
    assert client.get(created["FeatureOfInterest@iot.navigationLink"]).json()["name"] == "f"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "Datastreams",
            {k: v for k, v in datastream(1, observed_property(1)).items() if k != "Sensor"},
        ),
        (
            "Datastreams",
            {
                k: v
                for k, v in datastream(1, observed_property(1)).items()
                if k != "ObservedProperty"
            },
        ),
        ("Datastreams", datastream(1, observed_property(1))),  # no Thing
        ("Observations", {"result": 1}),
        ("Things", {"name": "no description"}),
        ("Things", {"name": "t", "description": "d", "Datastreams": [{"name": "broken"}]}),
        ("Things", {"name": "t", "description": "d", "extra": 1}),
        ("Things", {"name": 3, "description": "d"}),
        ("Things", [1, 2]),
        (
            "Locations",
            {"name": "l", "description": "d", "encodingType": "x", "location": "not geojson"},
        ),
        (
            "Observations",
            {"result": 1, "phenomenonTime": "yesterday", "Datastream": {"@iot.id": 1}},
        ),
        ("Observations", {"result": 1, "Datastream": {"@iot.id": 999}}),
    ],
)
def test_invalid_creates_fail_and_leave_nothing_behind(client, path, body):
    post(client, "Things", thing_with_everything())
    before = {
        s: client.get(f"{STA}/{s}?$count=true").json()["@iot.count"]
        for s in ("Things", "Datastreams", "Sensors", "ObservedProperties", "Observations")
    }
    r = client.post(f"{STA}/{path}", json=body, headers=AUTH)
    assert r.status_code in (400, 404, 409), r.text
    assert r.json()["type"] == "error"
    after = {s: client.get(f"{STA}/{s}?$count=true").json()["@iot.count"] for s in before}
    assert after == before


def test_observation_without_foi_on_a_thing_without_location_is_400(client):
    body = {"name": "t", "description": "d", "Datastreams": [datastream(1, observed_property(1))]}
    thing = location_id(post(client, "Things", body))
    ds = client.get(f"{STA}/Things({thing})/Datastreams").json()["value"][0]["@iot.id"]
    r = client.post(
        f"{STA}/Observations", json={"result": 1, "Datastream": {"@iot.id": ds}}, headers=AUTH
    )
    assert r.status_code == 400 and "Location" in r.json()["message"]


def test_patch_changes_only_the_given_properties(client):
    thing = location_id(post(client, "Things", thing_with_everything()))
    before = client.get(f"{STA}/Things({thing})").json()
    r = client.patch(
        f"{STA}/Things({thing})", json={"description": "new", "properties": {"k": 1}}, headers=AUTH
    )
    assert r.status_code == 200
    after = client.get(f"{STA}/Things({thing})").json()
    assert after == {**before, "description": "new", "properties": {"k": 1}}
    ds = client.get(f"{STA}/Datastreams").json()["value"][0]["@iot.id"]
    unit = {
        "name": "Celsius",
        "symbol": "degC",
        "definition": "http://unitsofmeasure.org/ucum.html#para-30",
    }
    assert (
        client.patch(
            f"{STA}/Datastreams({ds})", json={"unitOfMeasurement": unit}, headers=AUTH
        ).json()["unitOfMeasurement"]
        == unit
    )
    loc = client.get(f"{STA}/Locations").json()["value"][0]["@iot.id"]
    point = {"type": "Point", "coordinates": [10, 53]}
    assert (
        client.patch(f"{STA}/Locations({loc})", json={"location": point}, headers=AUTH).json()[
            "location"
        ]
        == point
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("Things({thing})", {"Locations": [location(9)]}),
        ("Things({thing})", {"Datastreams": [datastream(9, observed_property(9))]}),
        (
            "Datastreams({ds})",
            {"Sensor": {"name": "new", "description": "d", "encodingType": "x", "metadata": "m"}},
        ),
        ("Datastreams({ds})", {"Observations": [{"result": 1}]}),
        ("Things({thing})", {"name": None}),
        ("Things({thing})", {"nosuch": 1}),
    ],
)
def test_invalid_patches_are_400(client, path, body):
    thing = location_id(post(client, "Things", thing_with_everything()))
    ds = client.get(f"{STA}/Datastreams").json()["value"][0]["@iot.id"]
    r = client.patch(f"{STA}/{path.format(thing=thing, ds=ds)}", json=body, headers=AUTH)
    assert r.status_code == 400, r.text


def test_patch_relinks_and_records_history(client):
    thing = location_id(post(client, "Things", thing_with_everything(1)))
    other = location_id(post(client, "Things", thing_with_everything(2)))
    ds = client.get(f"{STA}/Things({thing})/Datastreams").json()["value"][0]["@iot.id"]
    assert (
        client.patch(
            f"{STA}/Datastreams({ds})", json={"Thing": {"@iot.id": other}}, headers=AUTH
        ).status_code
        == 200
    )
    assert client.get(f"{STA}/Datastreams({ds})/Thing").json()["@iot.id"] == other
    loc2 = client.get(f"{STA}/Things({other})/Locations").json()["value"][0]["@iot.id"]
    assert (
        client.patch(
            f"{STA}/Things({thing})", json={"Locations": [{"@iot.id": loc2}]}, headers=AUTH
        ).status_code
        == 200
    )
    history = client.get(
        f"{STA}/Things({thing})/HistoricalLocations?$expand=Locations&$orderby=time desc"
    ).json()["value"]
    assert len(history) == 2 and history[0]["Locations"][0]["@iot.id"] == loc2


def test_put_replaces_and_json_patch_edits(client):
    thing = location_id(
        post(client, "Things", {"name": "t", "description": "d", "properties": {"a": 1}})
    )
    r = client.put(f"{STA}/Things({thing})", json={"name": "t2", "description": "d2"}, headers=AUTH)
    assert r.status_code == 200 and "properties" not in r.json() and r.json()["name"] == "t2"
    assert (
        client.put(f"{STA}/Things({thing})", json={"name": "only"}, headers=AUTH).status_code == 400
    )
    ops = [
        {"op": "add", "path": "/properties", "value": {"x": [1]}},
        {"op": "add", "path": "/properties/x/-", "value": 2},
        {"op": "replace", "path": "/name", "value": "t3"},
    ]
    r = client.patch(
        f"{STA}/Things({thing})",
        content=__import__("orjson").dumps(ops),
        headers={**AUTH, "Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"] == {"x": [1, 2]} and r.json()["name"] == "t3"
    bad = [{"op": "test", "path": "/name", "value": "other"}]
    r = client.patch(
        f"{STA}/Things({thing})",
        content=__import__("orjson").dumps(bad),
        headers={**AUTH, "Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 409


def _counts(client: TestClient) -> dict[str, int]:
    sets = (
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    )
    return {s: client.get(f"{STA}/{s}?$count=true&$top=0").json()["@iot.count"] for s in sets}


def test_delete_cascades_as_the_standard_says(client):
    thing = location_id(post(client, "Things", thing_with_everything(1)))
    post(client, "Things", thing_with_everything(2))
    assert client.delete(f"{STA}/Things({thing})", headers=AUTH).status_code == 200
    assert client.get(f"{STA}/Things({thing})").status_code == 404
    counts = _counts(client)
    assert counts == {
        "Things": 1,
        "Locations": 2,
        "HistoricalLocations": 1,
        "Datastreams": 1,
        "Sensors": 2,
        "ObservedProperties": 2,
        "Observations": 1,
        "FeaturesOfInterest": 2,
    }
    sensor = client.get(f"{STA}/Datastreams?$expand=Sensor").json()["value"][0]["Sensor"]["@iot.id"]
    client.delete(f"{STA}/Sensors({sensor})", headers=AUTH)
    assert _counts(client)["Datastreams"] == 0 and _counts(client)["Observations"] == 0
    foi = client.get(f"{STA}/FeaturesOfInterest").json()["value"][0]["@iot.id"]
    assert client.delete(f"{STA}/FeaturesOfInterest({foi})", headers=AUTH).status_code == 200
    assert client.delete(f"{STA}/Things(9223372036854775807)", headers=AUTH).status_code == 404


def test_deleting_observations_shrinks_the_datastream_time(client):
    post(client, "Things", thing_with_everything())
    ds = client.get(f"{STA}/Datastreams").json()["value"][0]["@iot.id"]
    late = post(
        client,
        "Observations",
        {"result": 2, "phenomenonTime": "2016-01-01T00:00:00Z", "Datastream": {"@iot.id": ds}},
    ).json()
    assert (
        client.get(f"{STA}/Datastreams({ds})/phenomenonTime")
        .json()["phenomenonTime"]
        .endswith("2016-01-01T00:00:00Z")
    )
    client.delete(late["@iot.selfLink"], headers=AUTH)
    assert (
        client.get(f"{STA}/Datastreams({ds})/phenomenonTime").json()["phenomenonTime"]
        == "2015-03-01T00:00:00Z"
    )


def test_writes_need_the_api_key_reads_do_not(client):
    thing = {"name": "t", "description": "d"}
    assert client.post(f"{STA}/Things", json=thing).status_code == 401
    assert (
        client.post(f"{STA}/Things", json=thing, headers={"X-API-Key": "wrong"}).status_code == 403
    )
    assert (
        client.post(
            f"{STA}/Things", json=thing, headers={"Authorization": f"Bearer {KEY}"}
        ).status_code
        == 201
    )
    basic = base64.b64encode(f"anyone:{KEY}".encode()).decode()
    assert (
        client.post(
            f"{STA}/Things", json=thing, headers={"Authorization": f"Basic {basic}"}
        ).status_code
        == 201
    )
    assert client.delete(f"{STA}/Things(1)").status_code == 401
    assert client.get(f"{STA}/Things?$count=true").json()["@iot.count"] == 2


def test_a_tenant_without_api_key_is_read_only(make_client):
    client = make_client({"t": {"api_key_env": None}})
    r = client.post(f"{STA}/Things", json={"name": "t", "description": "d"}, headers=AUTH)
    assert r.status_code == 403 and r.json()["type"] == "error"
    assert "create-update-delete" not in str(client.get(f"{STA}/").json()["serverSettings"])
