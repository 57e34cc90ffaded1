"""Masterportal's OGC API – Features requests, sent as its code builds them, to a real
`twinbridge serve` of the demo: a tenant collection and a federated root collection.

- The OAF layer (masterportalapi src/layer/oaf.js, `createUrl` and `loadSource`):
  `items?limit=400&bbox=..&bbox-crs=..&crs=..` with `Accept: application/geo+json`, then
  only `next` links whose `type` is application/geo+json.
- The filter module and its helpers (Masterportal src/shared/js/api/oaf/getOAFFeature.js,
  InterfaceOafExtern): `/schema` with `Accept: application/schema+json`; items with
  `filter` (CQL2 text as its rules write it) and `filter-crs`, `properties`,
  `exclude-properties`, `skipGeometry`, `datetime`; URIs and commas unencoded where it
  concatenates strings, axios' encoding where it passes `params`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import shapely

EPSG_25832 = "http://www.opengis.net/def/crs/EPSG/0/25832"
GEOJSON = "application/geo+json"
# An OpenLayers extent over all of Hamburg in EPSG:25832 (Leipzig and München lie outside).
HAMBURG = [548000.5123456789, 5915000.25, 600000.0, 5965000.75]
TREES = [("/hamburg", "strassenbaeume"), ("", "street-trees")]
PLANS = [("/hamburg", "bebauungsplaene"), ("", "land-use-plans")]


@pytest.fixture(scope="module")
def http(live_demo: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_demo, timeout=30) as client:
        yield client


def next_geojson_link(doc: dict[str, Any]) -> str | None:
    """oaf.js getNextLinkFromFeatureCollection: rel next AND type application/geo+json."""
    for link in doc.get("links", []):
        if link.get("rel") == "next" and link.get("type") == GEOJSON:
            return link["href"]
    return None


def create_url(base: str, collection: str, extent: list[float]) -> str:
    """oaf.js createUrl with services.json {limit: 400, bboxCrs, crs: EPSG:25832 URIs}:
    URLSearchParams.set in this order, the extent joined by commas."""
    params = {
        "limit": "400",
        "bbox": ",".join(repr(n) for n in extent),
        "bbox-crs": EPSG_25832,
        "crs": EPSG_25832,
    }
    return f"{base}/collections/{collection}/items?{urlencode(params)}"


def load_source(http: httpx.Client, url: str) -> tuple[list[dict], list[httpx.Response]]:
    """oaf.js loadSource: fetch with Accept application/geo+json, collect, follow next."""
    features: list[dict] = []
    responses = []
    next_url: str | None = url
    while next_url is not None:
        assert len(responses) < 50, "paging does not end"
        response = http.get(next_url, headers={"Accept": GEOJSON})
        assert response.status_code == 200, response.text
        responses.append(response)
        doc = response.json()
        features += doc["features"]
        next_url = next_geojson_link(doc)
    return features, responses


def positions(geometry: dict[str, Any]) -> list[list[float]]:
    found: list[list[float]] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], int | float):
            found.append(coords)
        else:
            for part in coords:
                walk(part)

    walk(geometry["coordinates"])
    return found


@pytest.mark.parametrize(("base", "cid"), TREES)
def test_the_oaf_layer_loads_every_tree_in_the_extent_in_epsg_25832(
    http: httpx.Client, base: str, cid: str
):
    features, responses = load_source(http, create_url(base, cid, HAMBURG))
    first = responses[0].json()
    assert first["numberMatched"] == len(features) > 400  # paged, and nothing lost
    assert len(responses) == -(-len(features) // 400)
    for response in responses:
        assert response.headers["content-type"] == GEOJSON
        assert response.headers["content-crs"] == f"<{EPSG_25832}>"
    minx, miny, maxx, maxy = HAMBURG
    for feature in features:
        x, y = feature["geometry"]["coordinates"]
        assert minx <= x <= maxx and miny <= y <= maxy
    assert len({f["id"] for f in features}) == len(features)
    tails = {str(f["id"]).rsplit(".", 1)[-1] for f in features}
    other = "/hamburg" if base == "" else ""
    peer, _ = load_source(http, create_url(other, dict(TREES)[other], HAMBURG))
    assert tails == {str(f["id"]).rsplit(".", 1)[-1] for f in peer}


@pytest.mark.parametrize(("base", "cid"), PLANS)
def test_the_oaf_layer_loads_land_use_plans_in_epsg_25832(http: httpx.Client, base: str, cid: str):
    features, _ = load_source(http, create_url(base, cid, HAMBURG))
    assert features
    area = shapely.box(*HAMBURG)
    for feature in features:
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.intersects(area)  # metres, not degrees
        assert all(p[0] > 1000 and p[1] > 1000 for p in positions(feature["geometry"]))


@pytest.mark.parametrize(("base", "cid"), TREES + PLANS)
def test_every_collection_offers_epsg_25832(http: httpx.Client, base: str, cid: str):
    assert EPSG_25832 in http.get(f"{base}/collections/{cid}").json()["crs"]


@pytest.mark.parametrize(("base", "cid"), TREES + PLANS)
@pytest.mark.parametrize("query", ["?f=json", ""])
def test_the_schema_answers_accept_schema_json(http: httpx.Client, base: str, cid: str, query: str):
    """getCollectionSchema (with ?f=json) and getUniqueValuesByScheme (without)."""
    response = http.get(
        f"{base}/collections/{cid}/schema{query}", headers={"accept": "application/schema+json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    assert response.json()["properties"]


def get_features(http: httpx.Client, base: str, cid: str, **options: Any) -> list[dict]:
    """getOAFFeatureGet: the URL concatenated as Masterportal does, then every geo+json
    next link (oafRecursionHelper)."""
    url = f"{base}/collections/{cid}/items?limit={options.get('limit', 400)}"
    if "filter" in options:
        url += f"&filter={quote(options['filter'], safe='')}&filter-crs={options['filterCrs']}"
    if "bbox" in options:
        url += f"&bbox={options['bbox']}&bbox-crs={options['bboxCrs']}"
    if "crs" in options:
        url += f"&crs={options['crs']}"
    if "properties" in options:
        url += f"&properties={','.join(options['properties'])}"
    if "excludeProperties" in options:
        url += f"&exclude-properties={','.join(options['excludeProperties'])}"
    if options.get("skipGeometry"):
        url += "&skipGeometry=true"
    if "datetime" in options:
        url += f"&datetime={options['datetime']}"
    features, _ = load_source(http, url)
    return features


AREA = [(560000, 5925000), (585000, 5925000), (585000, 5950000), (560000, 5950000)]


def masterportal_filter() -> str:
    """InterfaceOafExtern.getFilter: rules joined by AND, the drawn polygon last."""
    ring = ", ".join(f"{x} {y}" for x, y in [*AREA, AREA[0]])
    rules = [
        "genus IN ('Tilia','Acer')",
        "height_m BETWEEN 10 AND 25",
        "T_INTERSECTS(last_update,INTERVAL('2015-01-01','2021-12-31'))",
        "NOT district='Wandsbek'",
        f"S_INTERSECTS(geometry, POLYGON(({ring})))",
    ]
    return " AND ".join(rules)


@pytest.mark.parametrize(("base", "cid"), TREES)
def test_a_filter_in_epsg_25832_selects_what_its_rules_say(http: httpx.Client, base: str, cid: str):
    features = get_features(
        http, base, cid, filter=masterportal_filter(), filterCrs=EPSG_25832, crs=EPSG_25832
    )
    assert len(features) > 20
    # The polygon's corners move to CRS84 where the data is compared, its edges stay
    # straight there (gateway/query/geometry.py): up to ~6 m off over these 25 km edges.
    area = shapely.Polygon(AREA).buffer(10)
    for feature in features:
        props = feature["properties"]
        assert props["genus"] in ("Tilia", "Acer")
        assert 10 <= props["height_m"] <= 25
        assert "2015-01-01" <= props["last_update"] <= "2021-12-31"
        assert props["district"] != "Wandsbek"
        assert area.intersects(shapely.Point(feature["geometry"]["coordinates"]))


@pytest.mark.parametrize(("base", "cid"), TREES)
def test_the_filter_stream_with_axios_params_and_bbox_crs_without_bbox(
    http: httpx.Client, base: str, cid: str
):
    """InterfaceOafExtern.filter: axios `params` (spaces as '+', ':' and ',' kept), a
    bbox-crs even when the map extent is not searched, then any `next` link."""
    params = {
        "filter": "genus='Tilia' AND planting_year>1990",
        "filter-crs": EPSG_25832,
        "crs": EPSG_25832,
        "bbox-crs": EPSG_25832,
        "limit": "400",
    }
    query = urlencode(params, safe=":/,'").replace("%20", "+")
    response = http.get(f"{base}/collections/{cid}/items?{query}")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["features"]
    assert all(f["properties"]["genus"] == "Tilia" for f in doc["features"])
    assert all(f["properties"]["planting_year"] > 1990 for f in doc["features"])


@pytest.mark.parametrize(("base", "cid"), TREES)
def test_unique_values_with_properties_and_skip_geometry(http: httpx.Client, base: str, cid: str):
    """getUniqueValuesFromCollection: propertyNames and skipGeometry over every page."""
    bbox = ",".join(str(n) for n in HAMBURG)
    features = get_features(
        http,
        base,
        cid,
        properties=["genus", "district"],
        skipGeometry=True,
        bbox=bbox,
        bboxCrs=EPSG_25832,
    )
    assert len(features) > 400
    assert all(f["geometry"] is None for f in features)
    assert all(set(f["properties"]) == {"genus", "district"} for f in features)


@pytest.mark.parametrize(("base", "cid"), TREES)
def test_exclude_properties_leaves_out_just_those(http: httpx.Client, base: str, cid: str):
    features = get_features(
        http,
        base,
        cid,
        limit=50,
        excludeProperties=["street", "species_german"],
        datetime="2019-01-01/2019-12-31",
        crs=EPSG_25832,
    )
    assert features
    for feature in features:
        props = feature["properties"]
        assert "street" not in props and "species_german" not in props
        assert {"genus", "height_m", "last_update"} <= set(props)
        assert "2019-01-01" <= props["last_update"] <= "2019-12-31"
        assert feature["geometry"]["coordinates"][0] > 1000  # EPSG:25832 metres
    without = get_features(
        http, base, cid, limit=50, excludeProperties=["geometry"], datetime="2019-01-01"
    )
    assert without and all(f["geometry"] is None for f in without)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("exclude-properties=nosuchthing", "unknown properties: nosuchthing"),
        ("exclude-properties=genus&properties=height_m", "not both"),
        ("exclude-properties=", "at least one"),
    ],
)
@pytest.mark.parametrize(("base", "cid"), TREES)
def test_bad_exclude_properties_is_400(
    http: httpx.Client, base: str, cid: str, query: str, message: str
):
    response = http.get(f"{base}/collections/{cid}/items?{query}")
    assert response.status_code == 400
    assert message in response.json()["description"]


def test_a_single_item_takes_exclude_properties(http: httpx.Client):
    fid = http.get("/hamburg/collections/strassenbaeume/items?limit=1").json()["features"][0]["id"]
    item = http.get(f"/hamburg/collections/strassenbaeume/items/{fid}?exclude-properties=genus")
    assert item.status_code == 200
    assert "genus" not in item.json()["properties"]
    assert "height_m" in item.json()["properties"]


def test_the_openapi_document_lists_masterportals_parameters(http: httpx.Client):
    api = http.get("/hamburg/api").json()
    get = api["paths"]["/collections/strassenbaeume/items"]["get"]
    names = {p.get("name") or p["$ref"].rsplit("/", 1)[-1] for p in get["parameters"]}
    wanted = {"limit", "bbox", "bbox-crs", "crs", "filter", "filter-crs", "properties"}
    assert wanted | {"exclude-properties", "skipGeometry", "datetime"} <= names
