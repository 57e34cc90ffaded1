"""`public_read: false` closes every read route of a tenant (Features and SensorThings),
before the response cache; the federated roots leave a closed tenant out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from tests.access.gateway_config import READER, TREE_READER, access_config
from tests.access.tokens import Signer

FEATURES_READS = [
    "/closed/",
    "/closed/conformance",
    "/closed/collections",
    "/closed/collections/trees",
    "/closed/collections/trees/items",
    "/closed/collections/trees/items/100",
    "/closed/collections/trees/queryables",
    "/closed/collections/trees/sortables",
    "/closed/collections/trees/schema",
    "/closed/api",
]
STA_READS = ["/closed/sta/v1.1", "/closed/sta/v1.1/Things", "/closed/sta/v1.1/Things(1)"]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("k1")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, signer: Signer) -> Iterator[TestClient]:
    loaded, _ = access_config(tmp_path_factory.mktemp("closed"), signer)
    with TestClient(create_app(loaded)) as c:
        yield c


@pytest.mark.parametrize("path", FEATURES_READS)
def test_every_features_read_of_a_closed_tenant_needs_a_credential(
    client: TestClient, path: str
) -> None:
    for method in ("GET", "HEAD"):
        r = client.request(method, path)
        assert r.status_code == 401, (method, path)
        assert r.headers["www-authenticate"] == 'Bearer realm="twinbridge/closed"'
    assert client.get(path).json()["code"] == "Unauthorized"
    answer = client.get(path, headers={"X-API-Key": READER})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"].startswith("private")


@pytest.mark.parametrize("path", STA_READS)
def test_sensorthings_reads_of_a_closed_tenant_answer_in_the_sta_shape(
    client: TestClient, path: str
) -> None:
    r = client.get(path)
    assert r.status_code == 401
    assert r.json()["type"] == "error" and r.json()["code"] == 401
    assert "www-authenticate" in r.headers
    assert client.get(path, headers={"X-API-Key": READER}).status_code in (200, 404)


def test_a_collection_scope_reads_that_collection_and_the_tenant_documents(
    client: TestClient,
) -> None:
    key = {"X-API-Key": TREE_READER}
    assert client.get("/closed/collections/trees/items", headers=key).status_code == 200
    assert client.get("/closed/collections", headers=key).status_code == 200
    r = client.get("/closed/sta/v1.1/Things", headers=key)
    assert r.status_code == 403 and "read:sensorthings" in r.json()["message"]


def test_a_token_with_a_read_scope_reads(client: TestClient, signer: Signer) -> None:
    token = signer.token(scope="twinbridge:closed:read:trees")
    headers = {"Authorization": f"Bearer {token}"}
    r = client.get("/closed/collections/trees/items", headers=headers)
    assert r.status_code == 200
    assert [f["id"] for f in r.json()["features"]] == [100, 101, 102]
    expired = signer.token(scope="twinbridge:closed:read", exp=1, iat=0)
    r = client.get(
        "/closed/collections/trees/items", headers={"Authorization": f"Bearer {expired}"}
    )
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_a_search_posted_to_a_closed_collection_needs_a_credential(client: TestClient) -> None:
    body = {"op": "=", "args": [{"property": "genus"}, "Tilia"]}
    assert client.post("/closed/collections/trees/items", json=body).status_code == 401
    r = client.post("/closed/collections/trees/items", json=body, headers={"X-API-Key": READER})
    assert r.status_code == 200 and len(r.json()["features"]) == 3


def test_a_cached_answer_is_never_served_without_a_credential(client: TestClient) -> None:
    path = "/closed/collections/trees/items?limit=2"
    for _ in range(2):
        assert client.get(path, headers={"X-API-Key": READER}).status_code == 200
    assert client.get(path).status_code == 401


def test_the_public_tenant_stays_public_and_cacheable(client: TestClient) -> None:
    r = client.get("/open/collections/trees/items")
    assert r.status_code == 200
    assert "private" not in r.headers.get("cache-control", "")
    assert client.get("/open/sta/v1.1/Things").status_code == 200


def test_the_federated_roots_leave_a_closed_tenant_out(client: TestClient) -> None:
    """For every client, with or without credentials: one answer per URL."""
    for headers in ({}, {"X-API-Key": READER}):
        items = client.get("/collections/street-trees/items", headers=headers).json()
        assert {f["id"] for f in items["features"]} == {"open.trees.1", "open.trees.2"}
        landing = client.get("/", headers=headers).text
        assert "/closed" not in landing
    assert client.get("/collections/street-trees/items/closed.trees.100").status_code == 404


def test_the_data_catalog_leaves_a_closed_tenant_out(client: TestClient) -> None:
    doc = client.get("/catalog?f=json").json()
    assert [t["id"] for t in doc["tenants"]] == ["open"]
    assert doc["datasets"] and "/closed/" not in str(doc["datasets"])


def test_a_root_path_does_not_open_a_closed_tenant(
    tmp_path_factory: pytest.TempPathFactory, signer: Signer
) -> None:
    """Behind `--root-path /gw` the router matches the path without it; so must the check."""
    loaded, _ = access_config(tmp_path_factory.mktemp("root-path"), signer)
    with TestClient(create_app(loaded), root_path="/gw") as c:
        assert c.get("/gw/closed/collections/trees/items").status_code == 401
        assert c.get("/gw/closed/sta/v1.1/Things").json()["type"] == "error"  # STA shape
        assert (
            c.get("/gw/closed/collections/trees/items", headers={"X-API-Key": READER}).status_code
            == 200
        )
