"""The barrier-report API behind the gateway as an accessibility-barriers collection: the
same answers whether filters and the bbox go to the API as its parameters or are evaluated
in the gateway (a differential over one corpus), numberMatched only where it is exact,
items by id, and an upstream failure as a 502 naming the source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import profiles
from gateway.app import create_app
from gateway.config import parse_config
from gateway.demo.restapis import aot, barriers
from tests.connectors.rest_apis import Apis, rest_apis  # noqa: F401 - fixture

PUSHDOWN = {
    "id": {"param": "id", "op": "in"},
    "district": {"param": "district", "op": "in"},
    "category": {"param": "category", "op": "in"},
    "status": {"param": "status", "op": "in"},
    "wheelchair": {"param": "wheelchair", "op": "eq"},
    "severity": [
        {"param": "severity_min", "op": "gte"},
        {"param": "severity_max", "op": "lte"},
    ],
}
MAPPING = {
    "id": "id",
    "properties": {
        "category": "category",
        "status": "status",
        "wheelchair": "wheelchair",
        "severity": "severity",
        "reported_at": {"from": "reported_at", "type": "datetime"},
        "description": "description",
        "district": "district",
        "street": {"template": "{location.address.street} {location.address.house_number}"},
        "postcode": "location.address.postcode",
        "photo_url": "photos[0].url",
        "votes": "votes",
    },
}
CORPUS = [
    "district = 'Altona'",
    "district IN ('Altona', 'Wandsbek')",
    "category = 'kerb_raised' AND status = 'open'",
    "severity >= 2",
    "severity > 1 AND severity < 3",
    "severity BETWEEN 2 AND 3 AND wheelchair = 'no'",
    "district = 'Altona' AND district = 'Wandsbek'",
    "district IN ('Altona', 'Wandsbek') AND district <> 'Altona'",
    "status IN ('open', 'in_progress') AND votes > 20",
    "wheelchair = 'no' OR severity = 3",
    "street LIKE 'Große%'",
    "reported_at > TIMESTAMP('2024-03-01T00:00:00Z') AND district = 'Harburg'",
    "street IS NOT NULL AND category = 'steps'",
    "S_INTERSECTS(geometry, BBOX(9.9, 53.5, 10.0, 53.6))",
]
# fully pushed: numberMatched is the API's total
EXACT = {CORPUS[0], CORPUS[1], CORPUS[2], CORPUS[3], CORPUS[4], CORPUS[5], CORPUS[6]}


def source(apis: Apis, **extra: Any) -> dict[str, Any]:
    return {
        "connector": "rest",
        "url": f"{apis.barriers}/reports",
        "items": "reports",
        "total": "total",
        "geometry": {"lon": "location.lon", "lat": "location.lat"},
        "page_size": 100,
        "http": {"retries": 0},
        **extra,
    }


@pytest.fixture(scope="module")
def client(rest_apis: Apis) -> Iterator[TestClient]:  # noqa: F811
    sources = {
        "pushed": source(rest_apis, pushdown=PUSHDOWN, bbox_param="bbox"),
        "residual": source(rest_apis, item_url=f"{rest_apis.barriers}/reports/{{id}}"),
        "broken": source(rest_apis, url=f"{rest_apis.hostile}/fail"),
    }
    tenants = {
        name: {
            "collections": {
                "barrieren": {
                    "profile": "accessibility-barriers",
                    "source": src,
                    "mapping": MAPPING,
                }
            }
        }
        for name, src in sources.items()
    }
    server = {"max_limit": 10000, "default_limit": 10}
    loaded = parse_config({"server": server, "tenants": tenants}, "rest.yaml", Path("."))
    with TestClient(create_app(loaded)) as c:
        yield c


def items(client: TestClient, tenant: str, **params: Any) -> dict[str, Any]:
    url = f"/{tenant}/collections/barrieren/items"
    answer = client.get(url, params={"limit": 10000, **params})
    assert answer.status_code == 200, (tenant, params, answer.text)
    return answer.json()


def ids(doc: dict[str, Any]) -> list[str]:
    return [str(f["id"]) for f in doc["features"]]


def test_items_are_profile_features_from_nested_fields(client: TestClient):
    doc = items(client, "pushed", limit=20)
    assert doc["numberMatched"] == barriers.COUNT and len(doc["features"]) == 20
    profile = profiles.get("accessibility-barriers")
    raw = {r["id"]: r for r in barriers.reports()}
    for feature in doc["features"]:
        assert profile.validate(feature) == [], feature
        source_report = raw[feature["id"]]
        address = source_report["location"]["address"]
        props = feature["properties"]
        assert props["street"] == f"{address['street']} {address['house_number']}"
        assert props["photo_url"] == (
            source_report["photos"][0]["url"] if source_report["photos"] else None
        )
        assert feature["geometry"]["coordinates"] == [
            source_report["location"]["lon"],
            source_report["location"]["lat"],
        ]


@pytest.mark.parametrize("text", CORPUS)
def test_pushed_and_residual_filters_select_the_same_reports(client: TestClient, text: str):
    pushed = items(client, "pushed", filter=text)
    residual = items(client, "residual", filter=text)
    assert ids(pushed) == ids(residual)
    if text in EXACT:  # the API ran it entirely: its total comes with the first page
        first = items(client, "pushed", filter=text, limit=1)
        assert first["numberMatched"] == len(pushed["features"])
    for doc in (pushed, residual):  # else only when the gateway read to the end
        assert doc.get("numberMatched", len(doc["features"])) == len(doc["features"])


def test_number_matched_of_a_partly_pushed_filter_is_not_the_apis_total(client: TestClient):
    text = "status IN ('open', 'in_progress') AND votes > 20"
    page = items(client, "pushed", filter=text, limit=5)
    assert len(page["features"]) == 5 and "numberMatched" not in page
    exact = items(client, "pushed", filter="status IN ('open', 'in_progress')", limit=5)
    assert exact["numberMatched"] > len(items(client, "pushed", filter=text)["features"])


def test_the_corpus_is_not_trivial(client: TestClient):
    sizes = [len(items(client, "residual", filter=text)["features"]) for text in CORPUS]
    assert sizes.count(0) == 1  # only the contradiction selects nothing
    assert all(size < barriers.COUNT for size in sizes)


@pytest.mark.parametrize("box", ["9.9,53.5,10.0,53.6", "9.95,53.54,10.05,53.58"])
def test_bbox_pushed_or_evaluated_selects_the_same_reports(client: TestClient, box: str):
    pushed = items(client, "pushed", bbox=box)
    residual = items(client, "residual", bbox=box)
    assert ids(pushed) and ids(pushed) == ids(residual)
    assert pushed["numberMatched"] == len(pushed["features"])
    assert "numberMatched" not in items(client, "residual", bbox=box, limit=1)
    assert items(client, "pushed", bbox=box, limit=1)["numberMatched"] == len(ids(pushed))


def test_paging_through_the_gateway_matches_one_read(client: TestClient):
    everything = ids(items(client, "pushed", filter="severity >= 2"))
    paged: list[str] = []
    for offset in range(0, len(everything), 25):
        paged += ids(items(client, "pushed", filter="severity >= 2", limit=25, offset=offset))
    assert paged == everything


def test_item_by_id_and_a_missing_one(client: TestClient):
    wanted = barriers.reports()[42]["id"]
    for tenant in ("pushed", "residual"):
        answer = client.get(f"/{tenant}/collections/barrieren/items/{wanted}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["properties"]["district"] == barriers.reports()[42]["district"]
        missing = client.get(f"/{tenant}/collections/barrieren/items/FC-1999-00001")
        assert missing.status_code == 404


def test_an_upstream_500_is_a_502_naming_the_source(client: TestClient):
    answer = client.get("/broken/collections/barrieren/items")
    assert answer.status_code == 502, answer.text
    assert "broken/barrieren" in answer.json()["description"]


# --- the Array of Things-style API, published as it is (no profile) ------------------------

AOT_FILTERS = [
    "node_vsn IN ('004', '011') AND sensor_path = 'metsense.bmp180.temperature'",
    "timestamp >= TIMESTAMP('2024-05-01T09:00:00Z') AND node_vsn = '007'",
    "timestamp <= TIMESTAMP('2024-05-01T06:30:00Z') AND value > 500",
    "sensor_path = 'chemsense.co.concentration' AND S_INTERSECTS(geometry, "
    "BBOX(-87.75, 41.78, -87.65, 41.88))",
]


@pytest.fixture(scope="module")
def aot_client(rest_apis: Apis) -> Iterator[TestClient]:  # noqa: F811
    def observations(**extra: Any) -> dict[str, Any]:
        return {
            "connector": "rest",
            "url": f"{rest_apis.aot}/api/v1/observations",
            "items": "data",
            "total": "meta.total",
            "geometry": {"geojson": "location"},
            "paging": {"style": "next_link", "next_path": "meta.links.next", "limit_param": "size"},
            "page_size": 200,
            **extra,
        }

    pushdown = {
        "node_vsn": {"param": "node", "op": "in"},
        "sensor_path": {"param": "sensor", "op": "eq"},
        "timestamp": [{"param": "since", "op": "gte"}, {"param": "until", "op": "lte"}],
    }
    nodes = {
        "connector": "rest",
        "url": f"{rest_apis.aot}/api/v1/nodes",
        "items": "data",
        "id": "vsn",
        "geometry": {"geojson": "location"},
        "paging": {"style": "link_header", "limit_param": "size"},
        "page_size": 10,
    }
    collections = {
        "nodes": {"source": nodes},
        "observations": {"source": observations(pushdown=pushdown)},
        "observations-residual": {"source": observations()},
    }
    config = {"server": {"max_limit": 10000}, "tenants": {"chicago": {"collections": collections}}}
    loaded = parse_config(config, "aot.yaml", Path("."))
    with TestClient(create_app(loaded)) as c:
        yield c


def test_nodes_come_with_their_geojson_location(aot_client: TestClient):
    answer = aot_client.get("/chicago/collections/nodes/items", params={"limit": 100})
    assert answer.status_code == 200, answer.text
    features = answer.json()["features"]
    assert [f["id"] for f in features] == [n["vsn"] for n in aot.nodes()]
    assert features[0]["geometry"] == aot.nodes()[0]["location"]
    assert features[0]["properties"]["address"] == aot.nodes()[0]["address"]
    one = aot_client.get("/chicago/collections/nodes/items/013")
    assert one.status_code == 200 and one.json()["properties"]["vsn"] == "013"


@pytest.mark.parametrize("text", AOT_FILTERS)
def test_observations_filtered_upstream_or_here_are_the_same(aot_client: TestClient, text: str):
    def read(collection: str, **params: Any) -> dict[str, Any]:
        url = f"/chicago/collections/{collection}/items"
        answer = aot_client.get(url, params={"limit": 10000, "filter": text, **params})
        assert answer.status_code == 200, answer.text
        return answer.json()

    pushed, residual = read("observations"), read("observations-residual")
    assert ids(pushed) == ids(residual) and ids(pushed)
    if "S_INTERSECTS" not in text and "value" not in text:  # run entirely by the API
        assert read("observations", limit=1)["numberMatched"] == len(ids(pushed))
