"""OGC SensorThings test suite, level 1 (sensing core), ported from ets-sta10
sensingCore/Capability1Tests: every entity set, every entity, every property, resource
paths up to four segments, $ref, and the service root."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from gateway.sensorthings.model import BY_PLURAL, target
from tests.sensorthings.conftest import AUTH, STA

MANDATORY = {
    "Things": ("name", "description"),
    "Locations": ("name", "description", "encodingType", "location"),
    "HistoricalLocations": ("time",),
    "Datastreams": ("name", "description", "unitOfMeasurement", "observationType"),
    "Sensors": ("name", "description", "encodingType", "metadata"),
    "ObservedProperties": ("name", "definition", "description"),
    "Observations": ("phenomenonTime", "result", "resultTime"),
    "FeaturesOfInterest": ("name", "description", "encodingType", "feature"),
}
RELATIONS = {
    "Things": ("Datastreams", "HistoricalLocations", "Locations"),
    "Locations": ("HistoricalLocations", "Things"),
    "HistoricalLocations": ("Thing", "Locations"),
    "Datastreams": ("Thing", "Sensor", "ObservedProperty", "Observations"),
    "Sensors": ("Datastreams",),
    "ObservedProperties": ("Datastreams",),
    "Observations": ("Datastream", "FeatureOfInterest"),
    "FeaturesOfInterest": ("Observations",),
}
JSON_VALUES = ("location", "feature", "unitOfMeasurement")


def check_entity(entity: dict, plural: str) -> None:
    assert isinstance(entity["@iot.id"], int)
    assert entity["@iot.selfLink"] == f"http://testserver{STA}/{plural}({entity['@iot.id']})"
    for name in MANDATORY[plural]:
        assert name in entity, f"{plural}: {name} missing"
    for rel in RELATIONS[plural]:
        assert entity[f"{rel}@iot.navigationLink"] == f"{entity['@iot.selfLink']}/{rel}"


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_every_set_lists_entities_with_ids_links_and_mandatory_properties(ets, plural: str):
    client, _ = ets
    r = client.get(f"{STA}/{plural}")
    assert r.status_code == 200
    entities = r.json()["value"]
    assert entities
    for entity in entities[:2]:
        check_entity(entity, plural)
        one = client.get(entity["@iot.selfLink"])
        assert one.status_code == 200
        check_entity(one.json(), plural)


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_unknown_ids_are_404_in_the_sta_error_shape(ets, plural: str):
    client, _ = ets
    r = client.get(f"{STA}/{plural}(9223372036854775807)")
    assert r.status_code == 404
    assert r.json()["type"] == "error" and r.json()["code"] == 404


@pytest.mark.parametrize("plural", list(MANDATORY))
def test_each_property_alone_and_as_raw_value(ets, plural: str):
    client, _ = ets
    entity = client.get(f"{STA}/{plural}").json()["value"][0]
    for name in MANDATORY[plural]:
        r = client.get(f"{entity['@iot.selfLink']}/{name}")
        assert r.status_code == 200
        assert list(r.json()) == [name]
        raw = client.get(f"{entity['@iot.selfLink']}/{name}/$value")
        if entity[name] is None:
            assert raw.status_code == 204
            continue
        assert raw.status_code == 200
        assert raw.text.startswith("{") == (name in JSON_VALUES)


def _walk(client: TestClient, url: str, plural: str, depth: int, seen: list[str]) -> None:
    """Follow every relation up to four segments, as the ETS's resource-path test does."""
    if depth >= 4:  # `url` has `depth` segments; each nav adds one
        return
    etype = BY_PLURAL[plural]
    for rel in etype.rels:
        if rel.name.startswith("Multi"):
            continue
        nav = f"{url}/{rel.name}"
        r = client.get(nav)
        child = target(rel).plural
        if rel.many:
            assert r.status_code == 200, nav
            values = r.json()["value"]
            if not values:
                continue
            refs = client.get(f"{nav}/$ref").json()["value"]
            assert all(list(ref) == ["@iot.selfLink"] for ref in refs)
            seen.append(nav)
            _walk(client, f"{nav}({values[0]['@iot.id']})", child, depth + 1, seen)
        else:
            assert r.status_code == 200, nav
            assert list(client.get(f"{nav}/$ref").json()) == ["@iot.selfLink"]
            seen.append(nav)
            _walk(client, nav, child, depth + 1, seen)


@pytest.mark.parametrize("plural", ["Things", "Datastreams", "Observations"])
def test_resource_paths_up_to_four_segments(ets, plural: str):
    client, _ = ets
    first = client.get(f"{STA}/{plural}").json()["value"][0]["@iot.id"]
    seen: list[str] = []
    _walk(client, f"{STA}/{plural}({first})", plural, 1, seen)
    assert any(p.count("/") - STA.count("/") >= 4 for p in seen)


def test_four_segment_paths_that_do_not_connect_are_404(ets):
    client, ids = ets
    thing1, thing2 = ids["things"]
    ds_of_2 = client.get(f"{STA}/Things({thing2})/Datastreams").json()["value"][0]["@iot.id"]
    assert client.get(f"{STA}/Things({thing1})/Datastreams({ds_of_2})").status_code == 404
    deep = client.get(f"{STA}/Things({thing2})/Datastreams({ds_of_2})/Sensor/Datastreams")
    assert deep.status_code == 200 and deep.json()["value"][0]["@iot.id"] == ds_of_2


def test_a_collections_missing_parent_is_404_whatever_the_page_and_a_present_one_is_200(ets):
    """The store looks a collection's parent up only when the page is empty (its rows prove
    it otherwise): every way to an empty page must still tell a missing parent apart."""
    client, ids = ets
    ds = ids["datastreams"][0]
    none = "$filter=result gt 1000"
    for suffix in ("", "?$top=0", f"?$count=true&{none}", f"/$ref?{none}", f"?$top=5000&{none}"):
        missing = client.get(f"{STA}/Datastreams(424242)/Observations{suffix}")
        assert missing.status_code == 404 and missing.json()["code"] == 404, suffix
        present = client.get(f"{STA}/Datastreams({ds})/Observations{suffix}")
        assert present.status_code == 200, suffix
        assert len(present.json()["value"]) == (3 if suffix == "" else 0), suffix
    assert client.get(f"{STA}/Things(424242)/Locations").status_code == 404
    assert len(client.get(f"{STA}/Things({ids['things'][0]})/Locations").json()["value"]) == 1
    # a deeper parent must belong to its own parent, which its children do not prove
    thing1, thing2 = ids["things"]
    ds_of_2 = client.get(f"{STA}/Things({thing2})/Datastreams").json()["value"][0]["@iot.id"]
    assert client.get(f"{STA}/Datastreams({ds_of_2})/Observations").json()["value"]
    elsewhere = client.get(f"{STA}/Things({thing1})/Datastreams({ds_of_2})/Observations")
    assert elsewhere.status_code == 404


def test_service_root_lists_the_sets_and_the_conformance(ets):
    client, _ = ets
    doc = client.get(f"{STA}/").json()
    names = {v["name"]: v["url"] for v in doc["value"]}
    assert set(MANDATORY) <= set(names) <= {*MANDATORY, "MultiDatastreams"}
    assert all(url == f"http://testserver{STA}/{n}" for n, url in names.items())
    classes = doc["serverSettings"]["conformance"]
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete" in classes
    assert client.get(f"{STA}").json() == doc


def test_unknown_sets_versions_and_tenants_answer_in_the_sta_shape(client: TestClient):
    for path in (
        f"{STA}/Nothing",
        "/t/sta/v2.0/Things",
        "/nobody/sta/v1.1/Things",
        f"{STA}/Things(1)/Nope",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["type"] == "error"


def test_ref_of_an_entity_and_a_collection(ets):
    client, ids = ets
    thing = ids["things"][0]
    assert client.get(f"{STA}/Things({thing})/$ref").json() == {
        "@iot.selfLink": f"http://testserver{STA}/Things({thing})"
    }
    refs = client.get(f"{STA}/Things({thing})/Datastreams/$ref?$count=true").json()
    assert refs["@iot.count"] == 2 and all(list(r) == ["@iot.selfLink"] for r in refs["value"])


def test_links_follow_a_trusted_reverse_proxy_only(make_client):
    client = make_client(server={"forwarded_allow_ips": ["192.0.2.0/29"]})
    thing = {"name": "a", "description": "b"}
    assert client.post(f"{STA}/Things", json=thing, headers=AUTH).status_code == 201
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "twin.example.org",
        "X-Forwarded-Prefix": "/gw",
    }
    proxy = TestClient(client.app, client=("192.0.2.3", 40000))
    doc = proxy.get(f"{STA}/Things?$top=1", headers=headers).json()
    assert doc["value"][0]["@iot.selfLink"].startswith(
        "https://twin.example.org/gw/t/sta/v1.1/Things("
    )
    doc = proxy.get(f"{STA}", headers={"Forwarded": "host=sta.example;proto=https"}).json()
    assert doc["value"][0]["url"] == "https://sta.example/t/sta/v1.1/Things"
    evil = proxy.get(f"{STA}/Things?$top=1", headers={"X-Forwarded-Host": 'evil"><x'}).json()
    assert evil["value"][0]["@iot.selfLink"].startswith("http://testserver/")
    stranger = client.get(f"{STA}/Things?$top=1", headers=headers).json()  # peer "testclient"
    assert stranger["value"][0]["@iot.selfLink"].startswith("http://testserver/t/sta/v1.1/")


def test_head_works(ets):
    client, ids = ets
    head = client.head(f"{STA}/Things({ids['things'][0]})")
    assert head.status_code == 200 and head.headers["content-type"] == "application/json"
