"""CORS for the Features writes (Part 4): a write origin's preflight is answered with the
write methods of that very route and the request headers a write sends; the answers expose
`ETag` and `Location`; any other origin is refused (preflight and write alike), the create
too, which only its body tells from a search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from tests.features.test_write_geopackage import gpkg_source, make_file
from tests.features.write_fixtures import MAPPING, WRITE, access, tree

APP = "https://barriers.example.org"  # the city's barrier-report app: may write
MAP = "https://map.example.org"  # a map viewer: may read
ITEMS = "/gp/collections/baeume/items"
WRITE_HEADERS = "authorization, x-api-key, if-match, content-type"


def gateway(folder: Path) -> Any:
    source = gpkg_source(make_file(folder))
    collection = {"profile": "street-trees", "source": source, "mapping": MAPPING}
    read_only = {**collection, "source": {**source, "writable": False}}
    config = {
        "server": {"cors": {"allow_origins": [MAP], "write_origins": [APP]}},
        "tenants": {
            "gp": {"access": access(), "collections": {"baeume": collection}},
            "ro": {"access": access(), "collections": {"baeume": read_only}},
        },
    }
    return create_app(parse_config(config, "cors.yaml", folder))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(gateway(tmp_path_factory.mktemp("cors-writes"))) as c:
        yield c


def preflight(client: TestClient, path: str, method: str, origin: str = APP) -> Any:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": WRITE_HEADERS,
    }
    return client.options(path, headers=headers)


def created(client: TestClient, origin: str = APP) -> Any:
    headers = {**WRITE, "Origin": origin}
    return client.post(ITEMS, content=orjson.dumps(tree()), headers=headers)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_write_origin_may_change_an_item_of_a_writable_collection(
    client: TestClient, method: str
) -> None:
    r = preflight(client, f"{ITEMS}/m-1", method)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == APP
    methods = r.headers["access-control-allow-methods"].split(", ")
    assert methods == ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    assert r.headers["access-control-allow-headers"] == WRITE_HEADERS
    assert "Origin" in r.headers["vary"]


def test_a_preflight_on_items_of_a_write_origin_allows_post_not_put(client: TestClient) -> None:
    r = preflight(client, ITEMS, "POST")
    assert r.headers["access-control-allow-methods"].split(", ") == ["GET", "HEAD", "POST"]
    assert "access-control-allow-origin" not in preflight(client, ITEMS, "PUT").headers


def test_a_read_only_collection_gets_no_write_methods(client: TestClient) -> None:
    r = preflight(client, "/ro/collections/baeume/items/m-1", "PUT")
    assert not [k for k in r.headers if k.startswith("access-control-allow")]
    federated = preflight(client, "/collections/street-trees/items/gp.m-1", "DELETE")
    assert "access-control-allow-origin" not in federated.headers


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_reading_origin_gets_no_write_preflight_and_its_write_is_refused(
    client: TestClient, method: str
) -> None:
    r = preflight(client, f"{ITEMS}/m-1", method, MAP)
    assert not [k for k in r.headers if k.startswith("access-control-allow")]
    sent = client.request(
        method, f"{ITEMS}/m-1", content=orjson.dumps(tree()), headers={**WRITE, "Origin": MAP}
    )
    assert sent.status_code == 403
    assert sent.json()["code"] == "Forbidden"  # the Features error shape
    assert "origin" in sent.json()["description"]
    assert sent.headers["access-control-allow-origin"] == MAP  # its page may read why
    assert client.get(f"{ITEMS}/m-1").status_code == 200  # nothing was written


def test_a_create_from_a_reading_origin_is_refused_but_its_search_is_not(
    client: TestClient,
) -> None:
    refused = created(client, MAP)
    assert refused.status_code == 403, refused.text
    assert refused.headers["access-control-allow-origin"] == MAP
    search = client.post(
        ITEMS,
        content=orjson.dumps({"op": "=", "args": [{"property": "genus"}, "Quercus"]}),
        headers={"Content-Type": "application/query-cql-json", "Origin": MAP},
    )
    assert search.status_code == 200, search.text
    assert [f["id"] for f in search.json()["features"]] == ["m-1"]


def test_a_write_answer_exposes_etag_and_location_to_the_write_origin(client: TestClient) -> None:
    answer = created(client)
    assert answer.status_code == 201, answer.text
    assert answer.headers["access-control-allow-origin"] == APP
    exposed = answer.headers["access-control-expose-headers"].split(", ")
    assert "ETag" in exposed and "Location" in exposed
    item = answer.headers["location"]
    etag = answer.headers["etag"]
    patched = client.patch(
        item,
        content=b'{"properties": {"height_m": 13}}',
        headers={
            **WRITE,
            "Origin": APP,
            "Content-Type": "application/merge-patch+json",
            "If-Match": etag,
        },
    )
    assert patched.status_code == 204, patched.text
    assert patched.headers["etag"] not in ("", etag)
    assert "ETag" in patched.headers["access-control-expose-headers"]


def test_the_gateways_own_origin_and_no_origin_may_write(client: TestClient) -> None:
    assert created(client, "http://testserver").status_code == 201
    assert client.post(ITEMS, content=orjson.dumps(tree()), headers=WRITE).status_code == 201


def test_cors_middleware_counts_no_credential_for_a_refused_write(client: TestClient) -> None:
    """An origin that may not write is refused before the credential is looked at: a page
    cannot learn whether a key it guesses is valid."""
    bad_key = {**WRITE, "X-API-Key": "not-a-key", "Origin": MAP}
    sent = client.delete(f"{ITEMS}/m-1", headers=bad_key)
    assert sent.status_code == 403
    assert "www-authenticate" not in sent.headers


def test_behind_a_root_path_writes_are_told_apart_as_the_router_sees_them(
    tmp_path: Path,
) -> None:
    """Behind `--root-path /gw` the router matches the path without it; so must CORS."""
    with TestClient(gateway(tmp_path), root_path="/gw") as client:
        item = f"/gw{ITEMS}/m-1"
        asked = preflight(client, item, "PUT")
        assert "PUT" in asked.headers["access-control-allow-methods"].split(", ")
        sent = client.delete(item, headers={**WRITE, "Origin": MAP})
        assert sent.status_code == 403, sent.text
        create = client.post(
            f"/gw{ITEMS}", content=orjson.dumps(tree()), headers={**WRITE, "Origin": MAP}
        )
        assert create.status_code == 403
        assert client.get(item).status_code == 200
