"""Parts 2, 3, 6 and 8 on the demo: CRS, queryables, sorting and property selection."""

from __future__ import annotations

import math

import pytest
from starlette.testclient import TestClient

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
FED = "/collections/street-trees"
ROOTS = [
    FED,
    "/hamburg/collections/strassenbaeume",
    "/leipzig/collections/baumkataster",
    "/muenchen/collections/baeume",
]


def ids(doc: dict) -> list:
    return [f["id"] for f in doc["features"]]


@pytest.mark.parametrize("base", ROOTS)
def test_sortby_orders_descending_with_nulls_last_and_pages_consistently(
    demo_client: TestClient, base: str
):
    everything = demo_client.get(f"{base}/items?limit=10000&sortby=-planting_year").json()
    years = [f["properties"]["planting_year"] for f in everything["features"]]
    known = [y for y in years if y is not None]
    assert known == sorted(known, reverse=True)
    assert years[len(known) :] == [None] * (len(years) - len(known))
    paged = []
    url = f"{base}/items?limit=333&sortby=-planting_year"
    while url:
        doc = demo_client.get(url).json()
        paged += ids(doc)
        url = next((lk["href"] for lk in doc["links"] if lk["rel"] == "next"), None)
    assert paged == ids(everything)


def test_sortby_with_two_keys_and_ascending_default(demo_client: TestClient):
    doc = demo_client.get(f"{FED}/items?limit=10000&sortby=genus,-height_m").json()
    keys = [
        (f["properties"]["genus"], -(f["properties"]["height_m"] or -math.inf))
        for f in doc["features"]
    ]
    assert keys == sorted(keys)


@pytest.mark.parametrize("bad", ["nope", "+", "genus,genus", "species_german", "-"])
def test_invalid_sortby_is_400(demo_client: TestClient, bad: str):
    response = demo_client.get(f"{FED}/items", params={"sortby": bad})
    assert response.status_code == 400 and "sortby" in response.json()["description"]


def test_property_selection_and_skip_geometry(demo_client: TestClient):
    doc = demo_client.get(
        f"{FED}/items?limit=3&properties=genus,planting_year&skipGeometry=true"
    ).json()
    for feature in doc["features"]:
        assert list(feature["properties"]) == ["genus", "planting_year"]
        assert feature["geometry"] is None
    bad = demo_client.get(f"{FED}/items?properties=genus,shoe_size")
    assert bad.status_code == 400 and "shoe_size" in bad.json()["description"]
    assert demo_client.get(f"{FED}/items?skipGeometry=maybe").status_code == 400


def test_collections_list_crs_and_storage_crs(demo_client: TestClient):
    hamburg = demo_client.get("/hamburg/collections/strassenbaeume").json()
    assert hamburg["crs"][0] == CRS84
    assert hamburg["storageCrs"] == f"{EPSG}25832"
    leipzig = demo_client.get("/leipzig/collections/baumkataster").json()
    assert leipzig["storageCrs"] == f"{EPSG}25833" and leipzig["storageCrs"] in leipzig["crs"]


@pytest.mark.parametrize("base", ROOTS)
def test_crs_transforms_output_and_names_it_in_content_crs(demo_client: TestClient, base: str):
    plain = demo_client.get(f"{base}/items?limit=5")
    assert plain.headers["content-crs"] == f"<{CRS84}>"
    lat_first = demo_client.get(f"{base}/items?limit=5&crs={EPSG}4326")
    assert lat_first.headers["content-crs"] == f"<{EPSG}4326>"
    utm = demo_client.get(f"{base}/items?limit=5&crs={EPSG}25832")
    for a, b, c in zip(
        plain.json()["features"], lat_first.json()["features"], utm.json()["features"], strict=True
    ):
        lon, lat = a["geometry"]["coordinates"]
        assert b["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-7)
        east, north = c["geometry"]["coordinates"]
        assert 250_000 < east < 900_000 and 5_200_000 < north < 6_000_000


def test_storage_crs_round_trips_to_the_source_coordinates(demo_client: TestClient, demo_dir):
    import json

    raw = json.loads((demo_dir / "hamburg.geojson").read_text())["features"][0]
    fid = raw["properties"]["baumid"]
    one = demo_client.get(f"/hamburg/collections/strassenbaeume/items/{fid}?crs={EPSG}25832").json()
    assert one["geometry"]["coordinates"] == pytest.approx(raw["geometry"]["coordinates"], abs=0.01)


def test_bbox_crs_selects_the_same_features_as_the_crs84_box(demo_client: TestClient):
    crs84 = demo_client.get(f"{FED}/items?limit=10000&bbox=9.9,53.5,10.1,53.6").json()
    # The same box in EPSG:4326 axis order (lat, lon) selects the same trees.
    latlon = demo_client.get(
        f"{FED}/items?limit=10000&bbox=53.5,9.9,53.6,10.1&bbox-crs={EPSG}4326"
    ).json()
    assert ids(latlon) == ids(crs84) and ids(crs84)
    utm = demo_client.get(
        f"{FED}/items?limit=10000&bbox=560000,5930000,570000,5940000&bbox-crs={EPSG}25832"
    ).json()
    assert utm["numberMatched"] > 0


@pytest.mark.parametrize("param", ["crs", "bbox-crs"])
def test_unsupported_crs_is_400(demo_client: TestClient, param: str):
    unsupported = "http://www.opengis.net/def/crs/0/unsupported"
    query = {param: unsupported, **({"bbox": "1,2,3,4"} if param == "bbox-crs" else {})}
    response = demo_client.get(f"{FED}/items", params=query)
    assert response.status_code == 400 and param in response.json()["description"]


@pytest.mark.parametrize("kind", ["queryables", "sortables", "schema"])
@pytest.mark.parametrize("base", ROOTS)
def test_schema_documents(demo_client: TestClient, base: str, kind: str):
    response = demo_client.get(f"{base}/{kind}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    doc = response.json()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith(f"{base}/{kind}")
    assert "planting_year" in doc["properties"]
    if kind != "sortables":
        assert doc["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    collection = demo_client.get(base).json()
    assert any(link["href"].endswith(f"{base}/{kind}") for link in collection["links"])
