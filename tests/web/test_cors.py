"""CORS: preflights on every route of both facades, the headers of actual answers, plain
OPTIONS with Allow, and writes only from the gateway's own origin or `write_origins`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.web.config import CorsSettings
from tests.sensorthings.conftest import AUTH, STA, sta_config

MAP = "https://map.example.org"
FEATURES_ROUTES = [
    "/",
    "/conformance",
    "/collections",
    "/collections/street-trees",
    "/collections/street-trees/items",
    "/collections/street-trees/items/x",
    "/collections/street-trees/schema",
    "/collections/street-trees/queryables",
    "/api",
    "/hamburg/",
    "/hamburg/collections/strassenbaeume/items",
    "/hamburg/collections/strassenbaeume/items/1",
    "/hamburg/collections/strassenbaeume/queryables",
]
STA_ROUTES = ["/sta/v1.1", "/sta/v1.1/Things", "/hamburg/sta/v1.1/Datastreams(1)/Observations"]


def preflight(client: TestClient, path: str, method: str = "GET", **headers: str) -> Any:
    sent = {"Origin": MAP, "Access-Control-Request-Method": method, **headers}
    return client.options(path, headers=sent)


@pytest.mark.parametrize("path", FEATURES_ROUTES + STA_ROUTES)
def test_every_route_of_both_facades_answers_a_preflight(
    demo_client: TestClient, path: str
) -> None:
    r = preflight(
        demo_client, path, "GET", **{"Access-Control-Request-Headers": "accept, x-request-id"}
    )
    assert r.status_code == 204, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "GET" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "accept, x-request-id"
    assert r.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in r.headers
    assert r.content == b""


def test_a_query_by_post_is_a_read(demo_client: TestClient) -> None:
    r = preflight(demo_client, "/collections/street-trees/items", "POST")
    assert r.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_write_preflight_from_another_origin_gets_no_allow_headers(
    demo_client: TestClient, method: str
) -> None:
    r = preflight(demo_client, "/hamburg/sta/v1.1/Things", method)
    assert r.status_code == 204
    assert not [k for k in r.headers if k.startswith("access-control-allow")]


def test_a_request_header_not_allowed_fails_the_preflight(demo_client: TestClient) -> None:
    r = preflight(demo_client, "/collections", **{"Access-Control-Request-Headers": "x-evil"})
    assert "access-control-allow-origin" not in r.headers


def test_an_answer_names_what_another_origin_may_read(demo_client: TestClient) -> None:
    r = demo_client.get("/collections/street-trees/items?limit=1", headers={"Origin": MAP})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    exposed = r.headers["access-control-expose-headers"].split(", ")
    for name in ("Link", "ETag", "Warning", "Content-Crs", "X-Request-Id", "OGC-NumberMatched"):
        assert name in exposed
    sta = demo_client.get("/sta/v1.1/Things?$top=1", headers={"Origin": MAP})
    assert sta.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in demo_client.get("/collections").headers


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/collections", {"GET", "HEAD", "OPTIONS"}),
        ("/hamburg/collections/strassenbaeume/items", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/sta/v1.1/Things", {"GET", "HEAD", "OPTIONS"}),  # the demo is read-only
    ],
)
def test_a_plain_options_gets_204_with_allow(
    demo_client: TestClient, path: str, allow: set[str]
) -> None:
    r = demo_client.options(path)
    assert r.status_code == 204
    assert set(r.headers["allow"].split(", ")) == allow
    assert r.content == b""
    assert r.headers["x-request-id"]


def test_options_on_an_unknown_resource_stays_a_404(demo_client: TestClient) -> None:
    assert demo_client.options("/nobody/sta/v1.1/Things").status_code == 404


def app_with(tmp_path: Path, cors: dict[str, Any]) -> TestClient:
    loaded, _ = sta_config(tmp_path / uuid.uuid4().hex[:8], server={"cors": cors})
    return TestClient(create_app(loaded))


THING = {"name": "t", "description": "d"}


def test_writes_only_from_the_own_origin_or_write_origins(tmp_path: Path) -> None:
    with app_with(tmp_path, {"write_origins": [MAP]}) as client:
        evil = client.post(
            f"{STA}/Things", json=THING, headers={**AUTH, "Origin": "https://evil.example"}
        )
        assert evil.status_code == 403
        assert evil.json()["type"] == "error" and evil.json()["code"] == 403
        assert evil.headers["access-control-allow-origin"] == "*"  # its page may read why
        for method in ("patch", "put", "delete"):
            r = client.request(method, f"{STA}/Things(1)", json=THING, headers={"Origin": "null"})
            assert r.status_code == 403
        assert client.get(f"{STA}/Things", headers={"Origin": "https://evil.example"}).json() == {
            "value": []
        }
        own = client.post(
            f"{STA}/Things", json=THING, headers={**AUTH, "Origin": "http://testserver"}
        )
        assert own.status_code == 201, own.text
        assert (
            client.post(f"{STA}/Things", json=THING, headers=AUTH).status_code == 201
        )  # no Origin
        allowed = client.post(f"{STA}/Things", json=THING, headers={**AUTH, "Origin": MAP})
        assert allowed.status_code == 201
        assert allowed.headers["access-control-allow-origin"] == "*"
        r = preflight(
            client, f"{STA}/Things", "PATCH", **{"Access-Control-Request-Headers": "x-api-key"}
        )
        assert r.headers["access-control-allow-origin"] == MAP
        assert "PATCH" in r.headers["access-control-allow-methods"]
        assert "Origin" in r.headers["vary"]


def test_listed_origins_are_echoed_with_vary_and_credentials(tmp_path: Path) -> None:
    listed = ["https://map.example.org:443", "http://localhost:8080"]  # a default port too
    cors = {"allow_origins": listed, "allow_credentials": True, "allow_methods": ["get"]}
    with app_with(tmp_path, cors) as client:
        r = client.get(f"{STA}/Things", headers={"Origin": MAP})
        assert r.headers["access-control-allow-origin"] == MAP
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in r.headers["vary"]
        other = client.get(f"{STA}/Things", headers={"Origin": "https://other.example"})
        assert "access-control-allow-origin" not in other.headers
        assert "Origin" in other.headers["vary"]
        asked = preflight(client, STA, Origin="http://LOCALHOST:8080")
        assert asked.headers["access-control-allow-origin"] == "http://LOCALHOST:8080"
        assert asked.headers["access-control-allow-methods"] == "GET"


@pytest.mark.parametrize(
    "cors",
    [
        {"allow_credentials": True},  # '*' origins by default
        {"allow_origins": [MAP], "allow_credentials": True, "allow_headers": ["*"]},
        {"allow_origins": ["https://map.example.org/path"]},
        {"allow_origins": ["ftp://x"]},
        {"write_origins": ["https://*.example.org"]},
        {"allow_methods": ["GET\r\nX: y"]},
    ],
)
def test_unsafe_or_malformed_cors_settings_are_refused(cors: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CorsSettings(**cors)


def test_cors_off_still_answers_options(tmp_path: Path) -> None:
    with app_with(tmp_path, {"enabled": False}) as client:
        r = preflight(client, f"{STA}/Things")
        assert r.status_code == 204 and "access-control-allow-origin" not in r.headers
        assert "access-control-allow-origin" not in client.get(STA, headers={"Origin": MAP}).headers


def test_behind_a_root_path_a_sensorthings_write_from_another_origin_is_refused(
    tmp_path: Path,
) -> None:
    """Behind `--root-path /gw` the router matches the path without it; so must CORS."""
    loaded, _ = sta_config(tmp_path, server={"cors": {"write_origins": [MAP]}})
    with TestClient(create_app(loaded), root_path="/gw") as client:
        evil = client.post(
            f"/gw{STA}/Things", json=THING, headers={**AUTH, "Origin": "https://evil.example"}
        )
        assert evil.status_code == 403 and evil.json()["type"] == "error"
        assert client.get(f"/gw{STA}/Things").json() == {"value": []}
        allowed = client.post(f"/gw{STA}/Things", json=THING, headers={**AUTH, "Origin": MAP})
        assert allowed.status_code == 201, allowed.text
