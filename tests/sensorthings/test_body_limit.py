"""Request bodies of the SensorThings facade are read with a limit (`server.sensorthings.
max_body_bytes`, default 1 MiB) counted while they stream in: 413 in the STA error shape
once a body passes it, whatever Content-Length says, also for chunked bodies; the gateway
never holds more than the limit of one body."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from tests.conftest import start_gateway
from tests.sensorthings.conftest import AUTH, KEY, STA, sta_config_file

LIMIT = 4096


def padded(doc: dict, size: int) -> bytes:
    """`doc` as JSON, padded with whitespace to exactly `size` bytes."""
    raw = orjson.dumps(doc)
    return raw + b" " * (size - len(raw))


THING = {"name": "a thing", "description": "sent in one piece or in chunks"}


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
def small(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(server={"sensorthings": {"max_body_bytes": LIMIT}})


def _too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {
        "type": "error",
        "code": 413,
        "message": f"the request body is larger than {LIMIT} bytes",
        "requestId": response.headers["x-request-id"],
    }
    assert response.headers["connection"] == "close"


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_a_413(small: TestClient):
    headers = {**AUTH, "Content-Type": "application/json"}
    response = small.post(f"{STA}/Things", content=padded(THING, LIMIT), headers=headers)
    assert response.status_code == 201, response.text
    _too_large(small.post(f"{STA}/Things", content=padded(THING, LIMIT + 1), headers=headers))


def test_chunked_bodies_are_counted_as_they_stream_in(small: TestClient):
    headers = {**AUTH, "Content-Type": "application/json"}
    ok = small.post(f"{STA}/Things", content=chunks(padded(THING, LIMIT)), headers=headers)
    assert ok.status_code == 201, ok.text
    body = chunks(padded(THING, 10 * LIMIT))
    _too_large(small.post(f"{STA}/Things", content=body, headers=headers))


def test_updates_and_create_observations_have_the_same_limit(small: TestClient):
    headers = {**AUTH, "Content-Type": "application/json"}
    created = small.post(f"{STA}/Things", json=THING, headers=AUTH).json()["@iot.selfLink"]
    path = created[created.index(STA) :]
    _too_large(small.patch(path, content=padded(THING, LIMIT + 1), headers=headers))
    _too_large(small.put(path, content=padded(THING, LIMIT + 1), headers=headers))
    _too_large(
        small.post(f"{STA}/CreateObservations", content=b"[" + b" " * LIMIT + b"]", headers=AUTH)
    )


def test_the_default_limit_is_one_mebibyte(client: TestClient):
    """A Thing of 50 MB was accepted and then served back on every GET /Things."""
    headers = {**AUTH, "Content-Type": "application/json"}
    big = padded(THING, 1024 * 1024 + 1)
    response = client.post(f"{STA}/Things", content=big, headers=headers)
    assert response.status_code == 413
    assert "1048576 bytes" in response.json()["message"]
    assert client.get(f"{STA}/Things").json()["value"] == []


def test_the_limit_applies_only_after_the_api_key(small: TestClient):
    """Anonymous clients cannot make the gateway read a body at all."""
    response = small.post(f"{STA}/Things", content=padded(THING, LIMIT + 1))
    assert response.status_code == 401


# --- a real server: what reaches the socket ---------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("live-limit")
    config, env = sta_config_file(folder, server={"sensorthings": {"max_body_bytes": LIMIT}})
    proc, url = start_gateway(env, "--config", str(config))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _request_head(url: str, headers: dict[str, str]) -> tuple[socket.socket, bytes]:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    lines = [f"POST {STA}/Things HTTP/1.1", f"Host: {host}", f"X-API-Key: {KEY}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return sock, ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.integration
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(live: str):
    sock, head = _request_head(live, {"Content-Length": str(50_000_000)})
    with sock:
        started = time.monotonic()
        sock.sendall(head)
        answer = sock.recv(65536)
    assert _status(answer) == 413
    assert b"connection: close" in answer.lower()
    assert time.monotonic() - started < 1


@pytest.mark.integration
def test_a_chunked_upload_is_cut_off_and_the_connection_closed(live: str):
    sock, head = _request_head(live, {"Transfer-Encoding": "chunked"})
    piece = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
    sent, answer = 0, b""
    with sock:
        sock.sendall(head)
        while sent < 50_000_000:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                answer = sock.recv(65536)
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        answer = answer or sock.recv(65536)
    assert _status(answer) == 413
    # The answer came while the upload was still going: the server did not wait for (or
    # keep) the 50 MB; what was sent sits in the loopback socket buffers at most.
    assert sent < 16_000_000, sent


@pytest.mark.integration
def test_the_server_keeps_answering_after_refusing_bodies(live: str):
    for _ in range(3):
        test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(live)
    response = httpx.post(f"{live}{STA}/Things", json=THING, headers=AUTH, timeout=5)
    assert response.status_code == 201, response.text
