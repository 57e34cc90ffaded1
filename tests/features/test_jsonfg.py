"""JSON-FG (OGC 21-045) on items and item: every answer validates against the official JSON
Schemas (tests/features/jsonfg_schemas, copied from the standard's repository), `geometry`
is the GeoJSON answer's CRS84 geometry, `place` the same geometry in the requested or the
storage CRS, `time` comes from the temporal property, and a streamed page says the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from referencing import Registry, Resource
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from gateway.features.jsonfg import time_of

SCHEMAS = Path(__file__).parent / "jsonfg_schemas"
JSONFG = "application/vnd.ogc.fg+json"
CORE = "http://www.opengis.net/spec/json-fg-1/1.0/conf/core"
TYPES = "http://www.opengis.net/spec/json-fg-1/1.0/conf/types-schemas"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
PLANS = "/hamburg/collections/bebauungsplaene"


def _validator() -> jsonschema.Draft202012Validator:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    registry: Registry = Registry().with_resources(resources)
    root = registry.contents("https://schemas.opengis.net/json-fg/jsonfg-root-object.json")
    return jsonschema.Draft202012Validator(root, registry=registry)


ROOT_OBJECT = _validator()


def assert_jsonfg(doc: dict[str, Any]) -> None:
    errors = sorted(ROOT_OBJECT.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_the_official_schemas_refuse_a_document_without_conforms_to(demo_client: TestClient):
    doc = demo_client.get(f"{PLANS}/items?limit=2&f=jsonfg").json()
    assert_jsonfg(doc)
    del doc["conformsTo"]
    assert not ROOT_OBJECT.is_valid(doc)


def test_a_tenant_page_keeps_geometry_in_crs84_and_gives_place_in_the_storage_crs(
    demo_client: TestClient,
):
    response = demo_client.get(f"{PLANS}/items?limit=5&f=jsonfg")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSONFG
    assert response.headers["content-crs"] == f"<{EPSG}25832>"
    assert 'rel="profile"' in response.headers["link"]
    doc = response.json()
    assert_jsonfg(doc)
    assert {CORE, TYPES} <= set(doc["conformsTo"])
    assert doc["coordRefSys"] == f"{EPSG}25832"
    assert doc["featureType"] == "land-use-plans"
    assert doc["geometryDimension"] == 2
    assert doc["featureSchema"].endswith(f"{PLANS}/schema")
    plain = demo_client.get(f"{PLANS}/items?limit=5").json()["features"]
    native = demo_client.get(f"{PLANS}/items?limit=5&crs={EPSG}25832").json()["features"]
    for fg, geo, utm in zip(doc["features"], plain, native, strict=True):
        assert fg["id"] == geo["id"]
        assert fg["geometry"] == geo["geometry"]
        assert fg["place"] == utm["geometry"]
        in_force = geo["properties"]["inkrafttretensDatum"]  # none while in preparation
        assert fg["time"] == ({"date": in_force} if in_force else None)
        assert fg["properties"] == geo["properties"]


def test_accept_header_and_crs_put_place_in_that_crs_and_next_links_stay_jsonfg(
    demo_client: TestClient,
):
    url = f"/collections/street-trees/items?limit=3&crs={EPSG}25833"
    first = demo_client.get(url, headers={"Accept": JSONFG})
    assert first.headers["content-type"] == JSONFG
    doc = first.json()
    assert_jsonfg(doc)
    assert doc["coordRefSys"] == f"{EPSG}25833"
    assert all(f["place"]["type"] == "Point" for f in doc["features"])
    assert all(f["place"]["coordinates"][0] > 180 for f in doc["features"])  # metres
    following = [x for x in doc["links"] if x["rel"] == "next"]
    assert following and following[0]["type"] == JSONFG
    second = demo_client.get(following[0]["href"])
    assert second.headers["content-type"] == JSONFG
    assert_jsonfg(second.json())
    assert second.json()["coordRefSys"] == f"{EPSG}25833"


def test_a_federated_page_without_crs_has_no_place_since_its_members_differ(
    demo_client: TestClient,
):
    doc = demo_client.get("/collections/street-trees/items?limit=4&f=jsonfg").json()
    assert_jsonfg(doc)
    assert "coordRefSys" not in doc
    assert all(f["place"] is None and f["geometry"] for f in doc["features"])
    assert doc["featureType"] == "street-trees"


def test_a_single_item_is_a_jsonfg_root_object(demo_client: TestClient):
    fid = demo_client.get(f"{PLANS}/items?limit=1").json()["features"][0]["id"]
    response = demo_client.get(f"{PLANS}/items/{fid}?f=jsonfg&crs={EPSG}25832")
    assert response.headers["content-type"] == JSONFG
    feature = response.json()
    assert_jsonfg(feature)
    assert feature["type"] == "Feature"
    assert feature["featureType"] == "land-use-plans"
    assert feature["coordRefSys"] == f"{EPSG}25832"
    assert feature["place"]["type"] in ("Polygon", "MultiPolygon")
    assert {"self", "alternate", "collection"} <= {x["rel"] for x in feature["links"]}


def test_a_streamed_page_is_the_same_jsonfg_and_says_so_before_its_features(
    demo_client: TestClient,
):
    url = f"/leipzig/collections/baumkataster/items?limit=1500&f=jsonfg&crs={EPSG}25833"
    with demo_client.stream("GET", url) as response:
        body = b"".join(response.iter_bytes())
    assert body.index(b'"conformsTo"') < body.index(b'"features"')
    doc = orjson.loads(body)
    assert_jsonfg(doc)
    assert doc["numberReturned"] == len(doc["features"]) == 1500
    assert doc["coordRefSys"] == f"{EPSG}25833"
    small = demo_client.get(url.replace("limit=1500", "limit=5")).json()
    assert doc["features"][:5] == small["features"]


def test_skip_geometry_and_exclude_properties_apply_to_jsonfg(demo_client: TestClient):
    url = f"{PLANS}/items?limit=2&f=jsonfg&exclude-properties=name,geometry"
    doc = demo_client.get(url).json()
    assert_jsonfg(doc)
    for feature in doc["features"]:
        assert feature["geometry"] is None and feature["place"] is None
        assert "name" not in feature["properties"] and "nummer" in feature["properties"]
        assert feature["time"] is not None  # from the full feature, whatever is shown


def test_jsonfg_is_declared_in_conformance_collections_and_openapi(demo_client: TestClient):
    assert {CORE, TYPES} <= set(demo_client.get("/conformance").json()["conformsTo"])
    links = demo_client.get(PLANS).json()["links"]
    assert any(x["rel"] == "items" and x["type"] == JSONFG for x in links)
    api = demo_client.get("/hamburg/api").json()
    items = api["paths"]["/collections/bebauungsplaene/items"]["get"]
    assert JSONFG in items["responses"]["200"]["content"]
    one = api["paths"]["/collections/bebauungsplaene/items/{featureId}"]["get"]
    assert JSONFG in one["responses"]["200"]["content"]
    f = api["components"]["parameters"]["f-features"]
    assert "jsonfg" in f["schema"]["enum"]


def test_pages_other_than_items_do_not_offer_jsonfg(demo_client: TestClient):
    assert demo_client.get("/collections?f=jsonfg").status_code == 400
    response = demo_client.get("/collections", headers={"Accept": JSONFG})
    assert response.headers["content-type"].startswith("application/json")


BUILDINGS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "b1",
            "properties": {"name": "Rathaus", "height_m": 112.0, "built": "1897-10-26"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [566000, 5933500, 6.5],
                        [566060, 5933500, 6.5],
                        [566060, 5933560, 6.5],
                        [566000, 5933560, 6.5],
                        [566000, 5933500, 6.5],
                    ]  # fmt: skip
                ],
            },
        }
    ],
}


def test_heights_in_the_source_stay_in_geometry_and_place(tmp_path: Path):
    path = tmp_path / "buildings.geojson"
    path.write_text(json.dumps(BUILDINGS), encoding="utf-8")
    source = {"connector": "geojson", "path": str(path), "crs": "EPSG:25832"}
    collection = {"source": source, "temporal_property": "built"}
    config = {"tenants": {"city": {"collections": {"buildings": collection}}}}
    app = create_app(parse_config(config, "test", tmp_path))
    with TestClient(app) as client:
        doc = client.get("/city/collections/buildings/items?f=jsonfg").json()
    assert_jsonfg(doc)
    feature = doc["features"][0]
    assert doc["featureType"] == "buildings"
    assert feature["time"] == {"date": "1897-10-26"}
    assert all(len(p) == 3 and p[2] == 6.5 for p in feature["geometry"]["coordinates"][0])
    assert feature["place"]["coordinates"][0][0] == pytest.approx([566000, 5933500, 6.5])
    assert feature["properties"]["height_m"] == 112.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", {"date": "2024-05-01"}),
        ("2024-05-01T12:30:00+02:00", {"timestamp": "2024-05-01T10:30:00Z"}),
        ("2024-05-01T12:30:00.250Z", {"timestamp": "2024-05-01T12:30:00.250000Z"}),
        ("2024-05-01T12:30:00", {"timestamp": "2024-05-01T12:30:00Z"}),
        ("yesterday", None),
        (17, None),
        (None, None),
    ],
)
def test_time_from_a_temporal_property_value(value: Any, expected: dict | None):
    assert time_of(value) == expected
