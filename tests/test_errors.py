"""Error answers as a client and an operator see them: a request id in header and body, the
right shape per facade, 405 with Allow, and /metrics behind its token when one is set."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config


def test_every_error_names_its_request_id(demo_client: TestClient) -> None:
    for path in ("/collections/nothing", "/sta/v1.1/Nothing", "/hamburg/collections/x/items"):
        response = demo_client.get(path)
        assert response.status_code == 404
        assert response.json()["requestId"] == response.headers["x-request-id"]


def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(demo_client: TestClient) -> None:
    mine = "lb-" + uuid.uuid4().hex
    response = demo_client.get("/collections/nothing", headers={"X-Request-Id": mine})
    assert response.headers["x-request-id"] == mine == response.json()["requestId"]
    hostile = "x\r\nSet-Cookie: a=b"
    response = demo_client.get("/collections/nothing", headers={"X-Request-Id": "a b%0a" * 3})
    assert response.headers["x-request-id"] not in (hostile, "a b%0a" * 3)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/collections", "GET, HEAD"),
        ("DELETE", "/hamburg/collections/strassenbaeume/items", "GET, HEAD, POST"),
        ("POST", "/conformance", "GET, HEAD"),
    ],
)
def test_features_405_names_what_is_allowed(
    demo_client: TestClient, method: str, path: str, allow: str
) -> None:
    response = demo_client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == set(allow.split(", "))
    assert response.json()["code"] == "MethodNotAllowed"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PROPFIND", "/sta/v1.1/Things", "GET, HEAD"),  # the demo is read-only
        ("TRACE", "/hamburg/sta/v1.1/Things(1)", "GET, HEAD"),
        ("GET", "/hamburg/sta/v1.1/CreateObservations", "POST"),
    ],
)
def test_sensorthings_405_names_what_is_allowed_in_its_own_shape(
    demo_client: TestClient, method: str, path: str, allow: str
) -> None:
    response = demo_client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["type"] == "error" and response.json()["code"] == 405


def test_metrics_behind_a_token(tmp_path: Path) -> None:
    env = f"TB_METRICS_{uuid.uuid4().hex[:8]}"
    os.environ[env] = "t0ken-" + uuid.uuid4().hex
    try:
        loaded = parse_config({"server": {"metrics_token": f"${{{env}}}"}}, "t.yaml", tmp_path)
        with TestClient(create_app(loaded)) as client:
            assert client.get("/metrics").status_code == 401
            wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401 and os.environ[env] not in wrong.text
            right = {"Authorization": f"Bearer {os.environ[env]}"}
            assert "twinbridge_requests_total" in client.get("/metrics", headers=right).text
    finally:
        del os.environ[env]


def test_an_answer_cut_off_after_its_start_is_counted_as_aborted() -> None:
    import asyncio

    from gateway import metrics
    from gateway.app import RequestLog

    async def streams_then_fails(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"features": [', "more_body": True})

    async def run() -> None:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/x",
            "headers": [],
            metrics.ROUTE_KEY: "/cut",
        }
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        await RequestLog(streams_then_fails)(scope, None, send)  # type: ignore[arg-type]

    asyncio.run(run())
    assert metrics.REQUESTS.labels("/cut", "GET", "200-aborted")._value.get() == 1
