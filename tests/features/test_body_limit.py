"""The CQL2-JSON body of `POST …/items` is read with a limit (`server.max_body_bytes`,
default 1 MiB) counted while it streams in: 413 with an OGC exception body beyond it,
whatever Content-Length says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.server import demo_config

LIMIT = 2048
ITEMS = "/collections/street-trees/items"
FILTER = {"op": "=", "args": [{"property": "genus"}, "Tilia"]}


def padded(size: int) -> bytes:
    raw = orjson.dumps(FILTER)
    return raw + b" " * (size - len(raw))


@pytest.fixture(scope="module")
def small(demo_dir: Path) -> Iterator[TestClient]:
    loaded = demo_config()
    loaded.config.server.max_body_bytes = LIMIT
    with TestClient(create_app(loaded)) as client:
        yield client


def _too_large(response) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {
        "code": "PayloadTooLarge",
        "description": f"the request body is larger than {LIMIT} bytes",
        "requestId": response.headers["x-request-id"],
    }
    assert response.headers["connection"] == "close"


def test_a_filter_body_at_the_limit_works_and_one_byte_more_is_a_413(small: TestClient):
    headers = {"Content-Type": "application/json"}
    response = small.post(f"{ITEMS}?limit=5", content=padded(LIMIT), headers=headers)
    assert response.status_code == 200, response.text
    assert {f["properties"]["genus"] for f in response.json()["features"]} == {"Tilia"}
    _too_large(small.post(ITEMS, content=padded(LIMIT + 1), headers=headers))


def test_a_chunked_filter_body_is_counted_as_it_streams_in(small: TestClient):
    def pieces(data: bytes) -> Iterator[bytes]:
        yield from (data[i : i + 500] for i in range(0, len(data), 500))

    headers = {"Content-Type": "application/json"}
    ok = small.post(f"{ITEMS}?limit=5", content=pieces(padded(LIMIT)), headers=headers)
    assert ok.status_code == 200, ok.text
    _too_large(small.post(ITEMS, content=pieces(padded(20 * LIMIT)), headers=headers))


def test_the_default_limit_is_one_mebibyte(demo_client: TestClient):
    headers = {"Content-Type": "application/json"}
    response = demo_client.post(ITEMS, content=padded(1024 * 1024 + 1), headers=headers)
    assert response.status_code == 413
    assert "1048576 bytes" in response.json()["description"]


def test_a_body_that_breaks_off_is_a_400_not_an_unexpected_error(
    small: TestClient, caplog: pytest.LogCaptureFixture
):
    """The client left (or the server refused a malformed chunk) while the body streamed in:
    nothing to log as a failure of ours."""
    messages = iter(
        [
            {"type": "http.request", "body": b'{"op":', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict] = []
    scope = {
        "type": "http", "method": "POST", "path": ITEMS, "raw_path": ITEMS.encode(),
        "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
        "headers": [(b"host", b"t"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1), "server": ("t", 80),
    }  # fmt: skip

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    small.portal.call(small.app, scope, receive, send)  # type: ignore[union-attr,arg-type]
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
