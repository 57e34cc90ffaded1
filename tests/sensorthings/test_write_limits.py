"""What one written entity may be: text properties, JSON properties (size and nesting),
entities nested in one create body, GeoJSON in `location` and `feature`, and no NUL
character anywhere. Each limit is a setting of `server.sensorthings`; beyond it a 400 names
the property and the limit, and a value just under it is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.store.geojson import check_geojson
from tests.sensorthings.conftest import AUTH, STA, location, populate_ets

LIMITS = {"max_text_length": 100, "max_json_bytes": 1024, "max_json_depth": 5}


@pytest.fixture
def small(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(server={"sensorthings": LIMITS})


def _bad(response, *fragments: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "error" and body["code"] == 400
    for fragment in fragments:
        assert fragment in body["message"], body["message"]


def thing(**extra: Any) -> dict[str, Any]:
    return {"name": "a thing", "description": "for the limits", **extra}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def nested_text(depth: int) -> str:
    """`nested(depth)` as JSON text (beyond what the JSON encoders will write)."""
    return '{"a":' * depth + "1" + "}" * depth


def sized(size: int) -> dict[str, str]:
    """An object whose JSON is exactly `size` bytes."""
    return {"a": "x" * (size - len('{"a":""}'))}


def test_text_properties_have_a_length_limit(small: TestClient):
    ok = small.post(f"{STA}/Things", json=thing(name="n" * 100), headers=AUTH)
    assert ok.status_code == 201, ok.text
    too_long = small.post(f"{STA}/Things", json=thing(description="d" * 101), headers=AUTH)
    _bad(too_long, "Thing/description", "longer than 100 characters", "max_text_length")


def test_json_properties_have_a_size_limit(small: TestClient):
    assert len(orjson.dumps(sized(1024))) == 1024
    ok = small.post(f"{STA}/Things", json=thing(properties=sized(1024)), headers=AUTH)
    assert ok.status_code == 201, ok.text
    big = small.post(f"{STA}/Things", json=thing(properties=sized(1025)), headers=AUTH)
    _bad(big, "Thing/properties", "1025 bytes as JSON, more than 1024", "max_json_bytes")


def test_json_properties_have_a_nesting_limit(small: TestClient):
    ok = small.post(f"{STA}/Things", json=thing(properties=nested(5)), headers=AUTH)
    assert ok.status_code == 201, ok.text
    deep = small.post(f"{STA}/Things", json=thing(properties=nested(6)), headers=AUTH)
    _bad(deep, "Thing/properties", "nested more than 5 levels", "max_json_depth")


def test_a_body_deeper_than_any_valid_one_is_refused_before_it_is_walked(client: TestClient):
    """300 levels made the encoder fail (500); deeper still, recursive code would."""
    default = 2 * 10 + 32 + 4  # two levels per nested entity, then a JSON property
    ok = client.post(f"{STA}/Things", json=thing(properties=nested(32)), headers=AUTH)
    assert ok.status_code == 201, ok.text
    headers = {**AUTH, "Content-Type": "application/json"}
    for depth in (default, 300, 1000):
        body = '{"name": "n", "description": "d", "properties": ' + nested_text(depth) + "}"
        response = client.post(f"{STA}/Things", content=body, headers=headers)
        _bad(response, f"/properties/{'a/' * (default - 2)}a: JSON nested more than {default}")
    body = '{"name": "n", "description": "d", "properties": ' + nested_text(default - 1) + "}"
    response = client.post(f"{STA}/Things", content=body, headers=headers)
    _bad(response, "Thing/properties: nested more than 32 levels")  # the backstop let it by


def test_observation_results_and_parameters_have_the_json_limits(small: TestClient):
    ids = populate_ets(small)
    ds = {"@iot.id": ids["datastreams"][0]}
    for key in ("result", "parameters", "resultQuality"):
        ok = small.post(
            f"{STA}/Observations", json={key: sized(1024), "Datastream": ds}, headers=AUTH
        )
        assert ok.status_code == 201, ok.text
        big = {"result": 1, key: sized(1025), "Datastream": ds}
        _bad(small.post(f"{STA}/Observations", json=big, headers=AUTH), f"Observation/{key}")
    long_string = {"result": "r" * 2000, "Datastream": ds}
    _bad(small.post(f"{STA}/Observations", json=long_string, headers=AUTH), "max_json_bytes")


def test_create_observations_turns_rows_beyond_the_limits_into_errors(small: TestClient):
    ids = populate_ets(small)
    body = [
        {
            "Datastream": {"@iot.id": ids["datastreams"][0]},
            "components": ["phenomenonTime", "result", "parameters"],
            "dataArray": [
                ["2020-01-01T00:00:00Z", 1, sized(1024)],
                ["2020-01-01T00:01:00Z", 2, sized(1025)],
                ["2020-01-01T00:02:00Z", nested(6), None],
            ],
        }
    ]
    response = small.post(f"{STA}/CreateObservations", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    first, second, third = response.json()
    assert "Observations(" in first and second == "error" and third == "error"


def test_updates_keep_the_limits(small: TestClient):
    url = small.post(f"{STA}/Things", json=thing(), headers=AUTH).headers["location"]
    path = url[url.index(STA) :]
    assert small.patch(path, json={"properties": sized(1024)}, headers=AUTH).status_code == 200
    _bad(small.patch(path, json={"properties": sized(1025)}, headers=AUTH), "max_json_bytes")
    _bad(small.put(path, json=thing(name="n" * 101), headers=AUTH), "max_text_length")
    patch = [{"op": "add", "path": "/properties/deep", "value": nested(5)}]
    headers = {**AUTH, "Content-Type": "application/json-patch+json"}
    response = small.patch(path, content=orjson.dumps(patch), headers=headers)
    _bad(response, "Thing/properties", "max_json_depth")
    patch_text = '[{"op": "add", "path": "/properties/deep", "value": ' + nested_text(2000) + "}]"
    response = small.patch(path, content=patch_text, headers=headers)
    _bad(response, "not valid JSON")  # orjson's own limit (1024 levels), not a 500
    patch_text = '[{"op": "add", "path": "/properties/deep", "value": ' + nested_text(500) + "}]"
    _bad(small.patch(path, content=patch_text, headers=headers), "JSON nested more than")


def located_thing(depth: int) -> dict[str, Any]:
    """A Thing with a Location with a Thing with a Location …: `depth` entities deep."""
    kinds = ["Thing" if i % 2 == 0 else "Location" for i in range(depth)]
    body: dict[str, Any] | None = None
    for i, kind in reversed(list(enumerate(kinds))):
        entity = thing(name=f"thing {i}") if kind == "Thing" else location(i)
        if body is not None:
            entity["Things" if kind == "Location" else "Locations"] = [body]
        body = entity
    assert body is not None
    return body


def test_entities_nest_in_a_create_body_as_deep_as_expand_may_go(
    make_client: Callable[..., TestClient],
):
    client = make_client(server={"sensorthings": {"max_expand_depth": 10}})
    ok = client.post(f"{STA}/Things", json=located_thing(10), headers=AUTH)
    assert ok.status_code == 201, ok.text
    assert len(client.get(f"{STA}/Things").json()["value"]) == 5
    deep = client.post(f"{STA}/Things", json=located_thing(11), headers=AUTH)
    _bad(deep, "entities nested more than 10 levels deep", "max_expand_depth")
    assert len(client.get(f"{STA}/Things").json()["value"]) == 5  # nothing of it written


def test_nul_characters_are_refused_wherever_they_are(client: TestClient):
    for body, where in [
        (thing(name="a\x00b"), "/name"),
        (thing(properties={"list": ["ok", "no\x00"]}), "/properties/list/1"),
        (thing(properties={"k\x00": 1}), "/properties"),
        (thing(Locations=[{**location(1), "description": "\x00"}]), "/Locations/0/description"),
    ]:
        response = client.post(f"{STA}/Things", json=body, headers=AUTH)
        _bad(response, f"{where}: NUL characters are not allowed")
    assert client.get(f"{STA}/Things").json()["value"] == []


def test_references_to_ids_no_store_can_hold_are_not_found(client: TestClient):
    body = thing(Locations=[{"@iot.id": 2**63}])
    assert client.post(f"{STA}/Things", json=body, headers=AUTH).status_code == 404
    ids = populate_ets(client)
    rows = [
        {
            "Datastream": {"@iot.id": ids["datastreams"][0]},
            "components": ["result", "FeatureOfInterest/id"],
            "dataArray": [[1, 2**63], [2, -1]],
        }
    ]
    response = client.post(f"{STA}/CreateObservations", json=rows, headers=AUTH)
    assert response.status_code == 201 and response.json() == ["error", "error"]


POINT = {"type": "Point", "coordinates": [9.99, 53.55]}
RING = [[9.9, 53.5], [10.0, 53.5], [10.0, 53.6], [9.9, 53.5]]
VALID = [
    POINT,
    {"type": "Point", "coordinates": [9.99, 53.55, 12.5]},
    {"type": "MultiPoint", "coordinates": [[9.9, 53.5], [10.0, 53.6]]},
    {"type": "LineString", "coordinates": [[9.9, 53.5], [10.0, 53.6]]},
    {"type": "MultiLineString", "coordinates": [[[9.9, 53.5], [10.0, 53.6]]]},
    {"type": "Polygon", "coordinates": [RING]},
    {"type": "MultiPolygon", "coordinates": [[RING], [RING]]},
    {
        "type": "GeometryCollection",
        "geometries": [POINT, {"type": "Polygon", "coordinates": [RING]}],
    },
    {"type": "Feature", "properties": {"a": 1}, "geometry": POINT},
    {"type": "Point", "coordinates": [-180, -90]},
]
INVALID = [
    ({"type": "Circle", "coordinates": [1, 2]}, "unknown GeoJSON type 'Circle'"),
    ({"coordinates": [1, 2]}, "unknown GeoJSON type None"),
    ({"type": "Point"}, "needs 'coordinates'"),
    ({"type": "Point", "coordinates": ["a", 2]}, "coordinates must be numbers"),
    ({"type": "Point", "coordinates": [True, 2]}, "coordinates must be numbers"),
    ({"type": "Point", "coordinates": [1]}, "array of 2 or 3 numbers"),
    ({"type": "Point", "coordinates": [1, 2, 3, 4]}, "array of 2 or 3 numbers"),
    ({"type": "Point", "coordinates": [[1, 2]]}, "array of 2 or 3 numbers"),
    ({"type": "Point", "coordinates": [181, 2]}, "outside CRS84"),
    ({"type": "Point", "coordinates": [565000.0, 5933000.0]}, "outside CRS84"),
    ({"type": "Point", "coordinates": [10, -90.5]}, "outside CRS84"),
    ({"type": "LineString", "coordinates": [[1, 2]]}, "2 or more positions"),
    ({"type": "Polygon", "coordinates": [RING[:3]]}, "4 or more positions"),
    ({"type": "Polygon", "coordinates": [[*RING[:3], [9.0, 53.0]]]}, "must end where it starts"),
    ({"type": "Polygon", "coordinates": RING}, "4 or more positions"),
    ({"type": "MultiPolygon", "coordinates": [RING]}, "coordinates/0/0: a linear ring needs"),
    ({"type": "MultiPoint", "coordinates": []}, "non-empty array of positions"),
    ({"type": "GeometryCollection", "geometries": []}, "non-empty 'geometries'"),
    ({"type": "GeometryCollection", "geometries": [{"type": "Feature"}]}, "unknown GeoJSON"),
    ({"type": "Feature", "geometry": None}, "a Feature needs a geometry"),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]}}, "geometry/coord"),
    ("POINT (1 2)", "expected a GeoJSON object"),
]


@pytest.mark.parametrize("geometry", VALID, ids=lambda g: g["type"])
def test_valid_geojson_passes(geometry: dict):
    check_geojson(geometry, "Location/location")


@pytest.mark.parametrize(("geometry", "fragment"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_geojson_says_what_is_wrong(geometry: Any, fragment: str):
    with pytest.raises(InvalidBody, match="Location/location") as info:
        check_geojson(geometry, "Location/location")
    assert fragment in info.value.description


def test_non_finite_coordinates_are_refused():
    """JSON cannot carry them, but an MQTT publisher's Python client could."""
    for value in (float("nan"), float("inf")):
        with pytest.raises(InvalidBody, match="finite"):
            check_geojson({"type": "Point", "coordinates": [value, 1]}, "x")


def test_locations_and_features_of_interest_are_checked_on_every_write(client: TestClient):
    bad = {"type": "Polygon", "coordinates": [RING[:3]]}
    loc = {**location(1), "location": bad}
    _bad(client.post(f"{STA}/Locations", json=loc, headers=AUTH), "Location/location/coordinates/0")
    ok = client.post(f"{STA}/Locations", json={**location(1), "location": VALID[5]}, headers=AUTH)
    assert ok.status_code == 201, ok.text
    path = ok.headers["location"][ok.headers["location"].index(STA) :]
    _bad(client.patch(path, json={"location": bad}, headers=AUTH), "linear ring")
    foi = {"name": "f", "description": "d", "encodingType": "application/geo+json"}
    response = client.post(
        f"{STA}/FeaturesOfInterest", json={**foi, "feature": {"type": "Feature"}}, headers=AUTH
    )
    _bad(response, "FeatureOfInterest/feature", "needs a geometry")
    response = client.post(
        f"{STA}/FeaturesOfInterest", json={**foi, "feature": POINT}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    assert client.get(
        f"{STA}/Locations?$filter=st_intersects(location, geography'POINT (9.95 53.51)')"
    ).json()["value"]
