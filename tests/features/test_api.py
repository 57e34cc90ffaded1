"""OGC API – Features Part 1 over the three-city demo, in process."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from gateway.features.conformance import CORE, GEOJSON, HTML, OAS30

TENANTS = {"hamburg": "strassenbaeume", "leipzig": "baumkataster", "muenchen": "baeume"}
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
ROOTS = ["", *(f"/{t}" for t in TENANTS)]


def collection_path(root: str) -> str:
    return f"{root}/collections/{TENANTS[root[1:]] if root else 'street-trees'}"


def rels(doc: dict) -> dict[str, dict]:
    return {(link["rel"], link["type"]): link for link in doc["links"]}


@pytest.mark.parametrize("root", ROOTS)
def test_landing_page_links_are_absolute_and_typed(demo_client: TestClient, root: str):
    doc = demo_client.get(f"{root}/").json()
    links = rels(doc)
    assert links[("service-desc", OPENAPI)]["href"] == f"http://testserver{root}/api"
    assert ("conformance", "application/json") in links and ("data", "application/json") in links
    assert all(link["href"].startswith("http://testserver/") for link in doc["links"])


def test_json_without_accept_header_and_html_for_browsers(demo_client: TestClient):
    assert demo_client.get("/", headers={"Accept": ""}).headers["content-type"] == (
        "application/json"
    )
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert (
        demo_client.get("/", headers={"Accept": browser})
        .headers["content-type"]
        .startswith("text/html")
    )
    assert demo_client.get("/?f=html").text.lstrip().lower().startswith("<!doctype html>")


@pytest.mark.parametrize("root", ROOTS)
def test_conformance_declares_part1_classes(demo_client: TestClient, root: str):
    conforms = demo_client.get(f"{root}/conformance").json()["conformsTo"]
    assert {CORE, GEOJSON, HTML, OAS30} <= set(conforms)


@pytest.mark.parametrize("root", ROOTS)
def test_collection_matches_its_entry_in_collections(demo_client: TestClient, root: str):
    listed = demo_client.get(f"{root}/collections").json()["collections"]
    one = demo_client.get(collection_path(root)).json()
    (entry,) = [c for c in listed if c["id"] == one["id"]]
    for key in ("id", "title", "description", "extent", "itemType"):
        assert one[key] == entry[key]
    minx, miny, maxx, maxy = one["extent"]["spatial"]["bbox"][0]
    assert 5 < minx < maxx < 15 and 47 < miny < maxy < 55  # Germany, in CRS84
    start, end = one["extent"]["temporal"]["interval"][0]
    assert start < end


def test_federated_collection_unites_all_tenants(demo_client: TestClient):
    total = 0
    for tenant, cid in TENANTS.items():
        total += demo_client.get(f"/{tenant}/collections/{cid}/items?limit=1").json()[
            "numberMatched"
        ]
    doc = demo_client.get("/collections/street-trees/items?limit=10000").json()
    assert doc["numberMatched"] == total == doc["numberReturned"]
    assert {f["properties"]["tenant"] for f in doc["features"]} == set(TENANTS)
    ids = [f["id"] for f in doc["features"]]
    assert len(set(ids)) == len(ids)


def walk(client: TestClient, url: str) -> list[dict]:
    features, pages = [], 0
    while url:
        doc = client.get(url).json()
        features += doc["features"]
        nxt = [link for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0]["href"] if nxt else None
        pages += 1
        assert pages < 20000
    return features


@pytest.mark.parametrize("limit", [7, 10000])
def test_federated_next_links_walk_every_feature_exactly_once(demo_client: TestClient, limit):
    everything = demo_client.get("/collections/street-trees/items?limit=10000").json()
    walked = walk(demo_client, f"/collections/street-trees/items?limit={limit}")
    assert [f["id"] for f in walked] == [f["id"] for f in everything["features"]]


def test_paging_by_one_across_members_on_a_filtered_set(demo_client: TestClient):
    url = "/collections/street-trees/items?datetime=2024-03-01/2024-03-10"
    everything = demo_client.get(f"{url}&limit=10000").json()
    assert {f["properties"]["tenant"] for f in everything["features"]} == set(TENANTS)
    walked = walk(demo_client, f"{url}&limit=1")
    assert [f["id"] for f in walked] == [f["id"] for f in everything["features"]]
    assert everything["numberMatched"] == len(walked)


def test_prev_links_step_back(demo_client: TestClient):
    doc = demo_client.get("/collections/street-trees/items?limit=5&offset=12").json()
    prev = next(link for link in doc["links"] if link["rel"] == "prev")
    assert parse_qs(urlsplit(prev["href"]).query)["offset"] == ["7"]
    first = demo_client.get("/collections/street-trees/items?limit=5&offset=3").json()
    prev = next(link for link in first["links"] if link["rel"] == "prev")
    assert "offset" not in parse_qs(urlsplit(prev["href"]).query)
    start = demo_client.get("/collections/street-trees/items?limit=5").json()
    assert not [link for link in start["links"] if link["rel"] == "prev"]


def test_items_response_shape(demo_client: TestClient):
    response = demo_client.get("/hamburg/collections/strassenbaeume/items?limit=3")
    assert response.headers["content-type"] == "application/geo+json"
    doc = response.json()
    assert doc["type"] == "FeatureCollection" and doc["numberReturned"] == 3
    assert doc["timeStamp"].endswith("Z")
    assert {"self", "alternate", "next", "collection"} <= {link["rel"] for link in doc["links"]}
    feature = doc["features"][0]
    assert feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    assert 9.7 < lon < 10.4 and 53.3 < lat < 53.8  # Hamburg, output in CRS84


@pytest.mark.parametrize("tenant", TENANTS)
def test_bbox_returns_exactly_the_features_inside(demo_client: TestClient, tenant: str):
    base = f"/{tenant}/collections/{TENANTS[tenant]}/items"
    everything = demo_client.get(f"{base}?limit=10000").json()["features"]
    minx, miny, maxx, maxy = demo_client.get(f"/{tenant}/collections/{TENANTS[tenant]}").json()[
        "extent"
    ]["spatial"]["bbox"][0]
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    inside = {
        f["id"]
        for f in everything
        if box[0] <= f["geometry"]["coordinates"][0] <= box[2]
        and box[1] <= f["geometry"]["coordinates"][1] <= box[3]
    }
    doc = demo_client.get(f"{base}?limit=10000&bbox={','.join(map(str, box))}").json()
    assert 0 < len(inside) < len(everything)
    assert {f["id"] for f in doc["features"]} == inside
    assert doc["numberMatched"] == len(inside)


def test_antimeridian_and_polar_boxes_match_nothing_in_germany(demo_client: TestClient):
    for box in ("177,65,-177,70", "-180,85,180,90", "-1.5,50,1.5,53"):
        doc = demo_client.get(f"/collections/street-trees/items?bbox={box}").json()
        assert doc["numberMatched"] == 0 and doc["features"] == []


def test_datetime_filters_on_the_last_update(demo_client: TestClient):
    doc = demo_client.get(
        "/collections/street-trees/items?limit=10000&datetime=2024-01-02T/2024-01-31T"
    ).json()
    dates = [f["properties"]["last_update"] for f in doc["features"]]
    assert dates and all("2024-01-02" <= d[:10] <= "2024-01-31" for d in dates)
    open_end = demo_client.get("/collections/street-trees/items?datetime=2024-06-01/..").json()
    everything = demo_client.get("/collections/street-trees/items").json()
    assert 0 < open_end["numberMatched"] < everything["numberMatched"]


@pytest.mark.parametrize("root", ROOTS)
def test_single_item_round_trip(demo_client: TestClient, root: str):
    first = demo_client.get(f"{collection_path(root)}/items?limit=1").json()["features"][0]
    response = demo_client.get(f"{collection_path(root)}/items/{first['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["id"] == first["id"] and feature["properties"] == first["properties"]
    assert {"self", "alternate", "collection"} <= {link["rel"] for link in feature["links"]}


@pytest.mark.parametrize(
    "path",
    [
        "/nowhere/",
        "/collections/nowhere",
        "/collections/street-trees/items/hamburg.strassenbaeume.999999999",
        "/collections/street-trees/items/not-namespaced",
        "/hamburg/collections/strassenbaeume/items/999999999",
        "/hamburg/collections/baeume",
    ],
)
def test_unknown_resources_are_404_with_exception_body(demo_client: TestClient, path: str):
    response = demo_client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


@pytest.mark.parametrize("root", ROOTS)
def test_openapi_document_is_valid_and_shaped_for_cite_and_gdal(demo_client: TestClient, root):
    response = demo_client.get(f"{root}/api")
    assert response.headers["content-type"] == OPENAPI
    doc = response.json()
    validate(doc)
    items = doc["paths"][f"{collection_path(root)[len(root) :]}/items"]["get"]["parameters"]
    refs = [p.get("$ref") for p in items]
    assert "#/components/parameters/limit" in refs
    limit = doc["components"]["parameters"]["limit"]
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}
    bbox = doc["components"]["parameters"]["bbox"]
    assert (
        bbox["style"],
        bbox["explode"],
        bbox["schema"]["minItems"],
        bbox["schema"]["maxItems"],
    ) == ("form", False, 4, 6)
    assert doc["servers"][0]["url"] == f"http://testserver{root}"
    html = demo_client.get(f"{root}/api.html")
    assert html.status_code == 200 and "limit" in html.text
