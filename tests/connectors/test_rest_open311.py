"""München's Open311 GeoReport v2 barrier API over loopback: its paging, filters and error
shape, and behind the gateway with the demo's own collection block: profile-valid items,
service codes and detailed statuses mapped to the profile's codes, the same answers
whether filters go to the API or are evaluated in the gateway."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

import profiles
from gateway.app import create_app
from gateway.config import parse_config
from gateway.demo.restapis import open311
from tests.connectors.rest_apis import serve

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = "/open311/v2/requests.json"
CORPUS = [
    "status = 'in_progress'",
    "status IN ('resolved', 'rejected')",
    "category = 'obstacle'",
    "category = 'kerb_raised' OR wheelchair = 'no'",
    "wheelchair = 'yes' AND status = 'open'",
    "district = 'Maxvorstadt'",
    "severity >= 2 AND votes > 10",
    "severity IS NULL",
    "reported_at >= TIMESTAMP('2024-05-01T00:00:00Z')",
]


QUERIES: list[str] = []  # the query strings the API received, for the pushdown test


def recording(app: Any) -> Any:
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            QUERIES.append(scope["query_string"].decode())
        await app(scope, receive, send)

    return asgi


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = serve(recording(open311.create_app()))
    yield next(server)
    server.close()


def get(api: str, path: str = REQUESTS, **params: Any) -> httpx.Response:
    return httpx.get(f"{api}{path}", params=params, timeout=10)


def test_pages_cover_every_request_once_at_most_fifty_each(api: str):
    seen: list[str] = []
    for page in range(1, 5):
        body = get(api, page=page, page_size=30).json()
        assert isinstance(body, list) and len(body) <= 30
        seen += [r["service_request_id"] for r in body]
    assert seen == [r["service_request_id"] for r in open311.requests()]
    assert len(get(api, page_size=500).json()) == open311.MAX_PAGE_SIZE
    assert get(api, page=99).json() == []


def test_filters_select_as_georeport_says(api: str):
    by_code = get(api, service_code="304,305", page_size=50).json()
    assert by_code and {r["service_code"] for r in by_code} == {"304", "305"}
    closed = get(api, status="closed", page_size=50, extensions="true").json()
    assert {r["extended_attributes"]["detailed_status"] for r in closed} == {
        "PROCESSED",
        "REJECTED",
    }
    assert all(r["updated_datetime"] > r["requested_datetime"] for r in closed)
    busy = get(api, detailed_status="IN_PROCESS", page_size=50).json()
    assert busy and all(r["status"] == "open" for r in busy)
    window = get(
        api, start_date="2024-05-01T00:00:00+02:00", end_date="2024-05-31T23:59:59Z"
    ).json()
    assert window and all("2024-05" <= r["requested_datetime"] < "2024-06" for r in window)
    first = open311.requests()[0]
    exact = get(api, start_date=first["requested_datetime"], end_date=first["requested_datetime"])
    assert [r["service_request_id"] for r in exact.json()] == [first["service_request_id"]]


def test_extended_attributes_only_when_asked(api: str):
    assert "extended_attributes" not in get(api, page_size=1).json()[0]
    assert (
        "stadtbezirk" in get(api, page_size=1, extensions="true").json()[0]["extended_attributes"]
    )


def test_one_request_as_an_array_errors_as_georeport_lists(api: str):
    wanted = open311.requests()[7]
    one = get(api, f"/open311/v2/requests/{wanted['service_request_id']}.json")
    assert [r["service_request_id"] for r in one.json()] == [wanted["service_request_id"]]
    missing = get(api, "/open311/v2/requests/1.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    for bad in ({"page": "0"}, {"page_size": "many"}, {"start_date": "gestern"}):
        answer = get(api, **bad)
        assert answer.status_code == 400 and answer.json()[0]["code"] == 400, bad
    codes = {s["service_code"] for s in get(api, "/open311/v2/services.json").json()}
    assert codes == set(open311.SERVICES)


def test_the_data_mixes_codes_and_statuses():
    reqs = open311.requests()
    assert 40 <= len(reqs) <= 80 and len({r["service_request_id"] for r in reqs}) == len(reqs)
    assert set(Counter(r["service_code"] for r in reqs)) == set(open311.SERVICES)
    statuses = Counter(r["extended_attributes"]["detailed_status"] for r in reqs)
    assert set(statuses) == set(open311.DETAILED)
    assert all(47.9 < r["lat"] < 48.3 and 11.3 < r["long"] < 11.8 for r in reqs)


# --- behind the gateway, with the demo's collection block -------------------------------


def demo_collection(api: str) -> dict[str, Any]:
    """München's `barrieren` from demo.yaml, reading from `api`."""
    text = (ROOT / "gateway" / "demo" / "demo.yaml").read_text(encoding="utf-8")
    block = yaml.safe_load(text)["tenants"]["muenchen"]["collections"]["barrieren"]
    dumped = yaml.safe_dump(block, allow_unicode=True)
    return yaml.safe_load(dumped.replace("${TWINBRIDGE_DEMO_SERVICES}/maengelmelder", api))


@pytest.fixture(scope="module")
def client(api: str) -> Iterator[TestClient]:
    pushed = demo_collection(api)
    residual = copy.deepcopy(pushed)
    residual["source"].pop("pushdown")
    tenants = {
        name: {"collections": {"barrieren": coll}}
        for name, coll in (("pushed", pushed), ("residual", residual))
    }
    server = {"max_limit": 10000, "default_limit": 10}
    loaded = parse_config({"server": server, "tenants": tenants}, "open311.yaml", Path("."))
    with TestClient(create_app(loaded)) as c:
        yield c


def items(client: TestClient, tenant: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/{tenant}/collections/barrieren/items", params={"limit": 1000, **params})
    assert answer.status_code == 200, (tenant, params, answer.text)
    return answer.json()["features"]


def test_items_are_valid_profile_features_with_mapped_codes(client: TestClient):
    profile = profiles.get("accessibility-barriers")
    raw = {r["service_request_id"]: r for r in open311.requests()}
    features = items(client, "pushed")
    assert len(features) == open311.COUNT
    status = {"RECEIVED": "open", "IN_PROCESS": "in_progress", "PROCESSED": "resolved"}
    for feature in features:
        assert profile.validate(feature) == [], feature
        source, props = raw[feature["id"]], feature["properties"]
        extended = source["extended_attributes"]
        assert props["category"] == open311.SERVICES[source["service_code"]][1]
        assert props["wheelchair"] == open311.SERVICES[source["service_code"]][2]
        assert props["status"] == status.get(extended["detailed_status"], "rejected")
        assert props["district"] == extended["stadtbezirk"]
        assert props["photo_url"] == (source["media_url"] or None)
        assert (props["severity"] is None) == (extended["detailed_status"] == "RECEIVED")
        assert feature["geometry"]["coordinates"] == [source["long"], source["lat"]]


@pytest.mark.parametrize("text", CORPUS)
def test_pushed_and_residual_filters_select_the_same_reports(client: TestClient, text: str):
    pushed = [f["id"] for f in items(client, "pushed", filter=text)]
    assert pushed and len(pushed) < open311.COUNT
    assert pushed == [f["id"] for f in items(client, "residual", filter=text)]


def test_paging_through_the_gateway_matches_one_read(client: TestClient):
    everything = [f["id"] for f in items(client, "pushed")]
    paged: list[str] = []
    for offset in range(0, len(everything), 15):
        paged += [f["id"] for f in items(client, "pushed", limit=15, offset=offset)]
    assert paged == everything


def test_item_by_id_and_a_missing_one(client: TestClient):
    wanted = open311.requests()[20]
    answer = client.get(f"/pushed/collections/barrieren/items/{wanted['service_request_id']}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["properties"]["street"] == wanted["address"]
    assert client.get("/pushed/collections/barrieren/items/1").status_code == 404


def test_codes_go_to_the_api_as_its_own_parameters(client: TestClient):
    QUERIES.clear()
    got = items(client, "pushed", filter="status = 'in_progress' AND category = 'obstacle'")
    assert got and all(f["properties"]["category"] == "obstacle" for f in got)
    sent = [dict(parse_qsl(q)) for q in QUERIES]
    assert sent and all(q["detailed_status"] == "IN_PROCESS" for q in sent)
    assert all(set(q["service_code"].split(",")) == {"304", "305"} for q in sent)
    assert all(q["extensions"] == "true" for q in sent)
