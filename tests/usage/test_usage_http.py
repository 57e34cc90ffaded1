"""Usage KPIs as clients cause them: which requests count to which tenant, profile and API,
how many features and bytes they were served, and which client applications asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import profiles
from gateway.app import create_app
from gateway.datacatalog.cells import SENSORTHINGS, Dataset
from gateway.datacatalog.conformance import internal
from tests.sensorthings.conftest import KEY, sta_config
from tests.test_federation import config, write_trees
from tests.test_metrics import sample

PLAIN = {"Accept-Encoding": "identity"}  # bodies as sent are the bodies read


@pytest.fixture
def client(tmp_path: Path) -> Any:
    write_trees(tmp_path / "a.geojson", 30)
    write_trees(tmp_path / "b.geojson", 20)
    usage = {"state_path": "usage.sqlite", "flush_seconds": 3600}
    app = create_app(config(tmp_path, {"a": "a.geojson", "b": "b.geojson"}, usage=usage))
    with TestClient(app) as c:
        yield c


def rows(client: TestClient) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Today's figures by (tenant, profile, api), after this worker's flush."""
    usage = client.app.state.usage  # type: ignore[attr-defined]
    client.portal.call(usage.flush)  # type: ignore[union-attr]
    return {(r["tenant"], r["profile"], r["api"]): r for r in usage.rows}


def test_items_count_requests_features_and_bytes_per_tenant_and_profile(client: TestClient):
    sent = 0
    for limit in (5, 7):
        r = client.get(f"/a/collections/trees/items?limit={limit}", headers=PLAIN)
        assert r.status_code == 200 and len(r.json()["features"]) == limit
        sent += len(r.content)
    one = client.get("/b/collections/trees/items/3", headers=PLAIN)
    html = client.get("/b/collections/trees/items?limit=4&f=html", headers=PLAIN)
    found = rows(client)
    a = found[("a", "street-trees", "features")]
    assert (a["requests"], a["features"], a["bytes"]) == (2, 12, sent)
    b = found[("b", "street-trees", "features")]
    assert (b["requests"], b["features"]) == (2, 5)
    assert b["bytes"] == len(one.content) + len(html.content)


def test_a_streamed_page_counts_what_its_encoder_wrote(client: TestClient):
    r = client.get("/collections/street-trees/items?limit=5000", headers=PLAIN)
    assert r.status_code == 200 and len(r.json()["features"]) == 50
    federated = rows(client)[("*", "street-trees", "features")]
    assert (federated["requests"], federated["features"]) == (1, 50)
    assert federated["bytes"] == len(r.content)


def test_bytes_are_counted_as_sent_when_compressed(client: TestClient):
    r = client.get("/a/collections/trees/items?limit=30", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    assert rows(client)[("a", "street-trees", "features")]["bytes"] == r.num_bytes_downloaded


def test_an_answer_from_the_response_cache_counts_its_features_again(client: TestClient):
    first = client.get("/a/collections/trees/items?limit=3", headers=PLAIN)
    again = client.get("/a/collections/trees/items?limit=3", headers=PLAIN)
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    a = rows(client)[("a", "street-trees", "features")]
    assert (a["requests"], a["features"], a["bytes"]) == (2, 6, 2 * len(first.content))


def test_a_head_request_counts_no_features_and_no_bytes(client: TestClient):
    assert client.head("/a/collections/trees/items?limit=5").status_code == 200
    assert client.head("/a/collections/trees/items?limit=2000").status_code == 200  # streamed
    a = rows(client)[("a", "street-trees", "features")]
    assert (a["requests"], a["features"], a["bytes"]) == (2, 0, 0)


def test_pages_count_to_their_api_and_errors_probes_and_metrics_not_at_all(client: TestClient):
    client.get("/a/collections")
    client.get("/catalog")
    client.get("/collections/street-trees/queryables")
    for path in ("/health", "/ready", "/metrics", "/a/collections/nope/items", "/x/collections"):
        client.get(path)
    client.get("/a/collections/trees/items?limit=x")  # 400
    found = rows(client)
    assert found[("a", "none", "features")]["requests"] == 1
    assert found[("*", "none", "catalog")]["requests"] == 1
    assert found[("*", "street-trees", "features")]["requests"] == 1
    assert set(found) == {("a", "none", "features"), ("*", "none", "catalog")} | {
        ("*", "street-trees", "features")
    }


def test_client_applications_are_told_apart_by_a_valid_x_client(client: TestClient):
    names = ["qgis", "masterportal", "qgis", "city-app/2.1", "QGIS"]
    refused = ["a b", "x" * 65, "anna@example.org", "-dash", "ümlaut"]
    for name in names + refused:
        r = client.get(
            "/a/collections/trees/items?limit=1", headers={"X-Client": name.encode("utf-8")}
        )
        assert r.status_code == 200  # a usage header is never a reason to refuse
    client.get("/a/collections/trees/items?limit=1")  # none: unidentified
    a = rows(client)[("a", "street-trees", "features")]
    assert a["clients"] == 4  # qgis, masterportal, city-app/2.1, QGIS
    assert a["unidentified"] == len(refused) + 1
    assert a["requests"] == len(names) + len(refused) + 1


def test_an_api_key_identifies_a_client_by_a_keyed_hash_never_stored(tmp_path: Path):
    key = "s3cret-key-value-0123456789"
    write_trees(tmp_path / "a.geojson", 3)
    usage = {"state_path": "usage.sqlite", "flush_seconds": 3600}
    with TestClient(create_app(config(tmp_path, {"a": "a.geojson"}, usage=usage))) as c:
        c.get("/a/collections/trees/items", headers={"X-API-Key": key, "X-Client": "qgis"})
        c.get("/a/collections/trees/items", headers={"Authorization": f"Bearer {key}"})
        c.get("/a/collections/trees/items", headers={"X-Client": "qgis"})
        a = rows(c)[("a", "street-trees", "features")]
    assert (a["clients"], a["unidentified"]) == (2, 0)  # the key (twice), qgis
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("usage.sqlite*"))
    assert key.encode() not in stored and b"qgis" not in stored
    assert b"127.0.0.1" not in stored and b"testclient" not in stored


def test_the_gateways_own_requests_are_not_counted(client: TestClient):
    async def ask() -> int:
        transport = httpx.ASGITransport(app=internal(client.app))
        async with httpx.AsyncClient(transport=transport, base_url="http://in") as inner:
            r = await inner.get("/a/collections/trees/items?limit=2")
            return r.status_code

    assert client.portal.call(ask) == 200  # type: ignore[union-attr]
    assert rows(client) == {}


THING: dict[str, Any] = {
    "name": "station",
    "description": "a station",
    "Locations": [
        {
            "name": "here",
            "description": "here",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [12.37, 51.34]},
        }
    ],
    "Datastreams": [
        {
            "name": "t",
            "description": "t",
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
            "OM_Measurement",
            "unitOfMeasurement": {"name": "degree Celsius", "symbol": "Cel", "definition": "u"},
            "ObservedProperty": {"name": "t", "definition": "urn:t", "description": "t"},
            "Sensor": {"name": "s", "description": "s", "encodingType": "text/html"}
            | {"metadata": "s"},
            "Observations": [
                {"phenomenonTime": f"2026-01-0{d}T00:00:00Z", "result": d} for d in (1, 2, 3)
            ],
        }
    ],
}


def test_sensorthings_entities_are_counted_per_tenant(tmp_path: Path):
    loaded, _ = sta_config(tmp_path, server={"usage": {"flush_seconds": 3600}})
    thing = THING
    with TestClient(create_app(loaded)) as c:
        created = c.post("/t/sta/v1.1/Things", json=thing, headers={"X-API-Key": KEY})
        assert created.status_code == 201, created.text
        observations = c.get("/t/sta/v1.1/Observations", headers=PLAIN)
        assert len(observations.json()["value"]) == 3
        one = c.get("/t/sta/v1.1/Things", headers=PLAIN)
        found = rows(c)[("t", "none", "sensorthings")]
    assert found["requests"] == 3  # the write too
    assert found["features"] == 3 + 1
    assert found["bytes"] >= len(observations.content) + len(one.content)


def test_metrics_export_the_counters_and_todays_distinct_clients(client: TestClient):
    labels = {"tenant": "a", "profile": "street-trees", "api": "features"}
    before = client.get("/metrics").text
    r = client.get("/a/collections/trees/items?limit=4", headers={**PLAIN, "X-Client": "app"})
    rows(client)  # the gauge comes from the shared state, after a flush
    after = client.get("/metrics").text

    def grown(name: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grown("twinbridge_usage_requests_total") == 1
    assert grown("twinbridge_usage_features_total") == 4
    assert grown("twinbridge_usage_bytes_total") == len(r.content)
    assert sample(after, "twinbridge_usage_clients_today", **labels) == 1


def test_the_catalog_shows_usage_as_json_and_as_a_table(client: TestClient):
    client.get("/a/collections/trees/items?limit=2", headers={"X-Client": "app"})
    rows(client)
    doc = client.get("/catalog").json()
    assert doc["usage"]["days"] == 7
    row = next(r for r in doc["usage"]["rows"] if r["tenant"] == "a")
    assert (row["profile"], row["api"], row["features"], row["clients"]) == (
        "street-trees",
        "features",
        2,
        1,
    )
    [total] = [t for t in doc["usage"]["totals"] if t["tenant"] == "a"]
    assert (total["requests"], total["features"], total["clients"]) == (1, 2, 1)
    page = client.get("/catalog?f=html").text
    assert "Usage per day, tenant, profile and API" in page
    assert "<td>a</td><td>street-trees</td><td>features</td><td>1</td><td>2</td>" in page
    assert "<td>a</td><td>street-trees</td><td>features</td>" in page
    assert "usage" not in client.get("/catalog?f=jsonld").text.lower()


def test_a_sensorthings_path_through_a_datastream_counts_to_its_profile(tmp_path: Path):
    loaded, _ = sta_config(tmp_path, server={"usage": {"flush_seconds": 3600}})
    stream = THING["Datastreams"][0]
    thing = {**THING, "Datastreams": [{**stream, "properties": {"profile": "air-quality"}}]}
    with TestClient(create_app(loaded)) as c:
        assert c.post("/t/sta/v1.1/Things", json=thing, headers={"X-API-Key": KEY}).is_success
        sid = c.get("/t/sta/v1.1/Datastreams").json()["value"][0]["@iot.id"]
        before = c.get(f"/t/sta/v1.1/Datastreams({sid})/Observations")  # not learnt yet
        figures = c.app.state.data_catalog.refresher.sensorthings  # type: ignore[attr-defined]
        dataset = Dataset(profiles.get("air-quality"), "t", SENSORTHINGS, None, "Air", "")
        c.portal.call(figures, dataset)  # type: ignore[union-attr]  (the catalog's round)
        after = c.get(f"/t/sta/v1.1/Datastreams({sid})/Observations")  # a cache hit, too
        federated = c.get(f"/sta/v1.1/Datastreams('t:{sid}')/Observations")
        assert before.is_success and after.is_success and federated.is_success, federated.text
        found = rows(c)
    assert found[("t", "air-quality", "sensorthings")]["features"] == 3
    assert found[("*", "air-quality", "sensorthings")]["features"] == 3
    assert found[("t", "none", "sensorthings")]["requests"] == 3  # the write, 2 reads before


def test_usage_switched_off_counts_nothing_and_the_catalog_says_nothing(tmp_path: Path):
    write_trees(tmp_path / "a.geojson", 3)
    app = create_app(config(tmp_path, {"a": "a.geojson"}, usage={"enabled": False}))
    with TestClient(app) as c:
        assert c.get("/a/collections/trees/items").status_code == 200
        assert "usage" not in c.get("/catalog").json()
        assert "Usage per day" not in c.get("/catalog?f=html").text
    assert not app.state.usage.tally  # type: ignore[attr-defined]
