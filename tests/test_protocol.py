"""The request head at the edge: `twinbridge serve` answers over-long URLs (414), oversized
header fields (431) and malformed requests (400) in the error shape of the facade the path
belongs to, below and above what uvicorn and httptools can parse themselves; the same
limits hold in process for other ASGI servers. Real servers, raw sockets."""

from __future__ import annotations

import json
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.config import parse_config
from gateway.limits import LimitsMiddleware, RequestLimits
from tests.conftest import start_gateway

pytestmark = pytest.mark.integration
PATHS = {"/collections": "ogc", "/sta/v1.1/Things": "sta", "/hamburg/sta/v1.1/Things": "sta"}


def exchange(url: str, raw: bytes, chunk: int = 0, pause: float = 0.0) -> bytes:
    """Send `raw` (in chunks `pause` seconds apart, if asked, stopping once the server
    answers) and read the answer until the server closes; a reset after the answer is not
    an error here."""
    address = (urlsplit(url).hostname, urlsplit(url).port)
    chunk = chunk or len(raw)
    out = b""
    with socket.create_connection(address, timeout=10) as s:
        try:
            for i in range(0, len(raw), chunk):
                s.sendall(raw[i : i + chunk])
                if pause and select.select([s], [], [], pause)[0]:
                    break  # the server answered before the head ended
        except OSError:
            pass  # the server answered and closed while we were still sending
        try:
            while data := s.recv(65536):
                out += data
        except OSError:
            pass
    return out


def parse(answer: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


def get(path: str, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"GET {path} HTTP/1.1\r\nHost: gw\r\n{extra}Connection: close\r\n\r\n".encode()


def assert_error(answer: bytes, status: int, facade: str) -> dict:
    code, headers, body = parse(answer)
    assert code == status, answer[:300]
    assert headers["content-type"] == "application/json"
    if facade == "sta":
        assert body["type"] == "error" and body["code"] == status and body["message"]
    else:
        assert set(body) == {"code", "description", "requestId"} and body["description"]
    return body


@pytest.mark.parametrize(("path", "facade"), PATHS.items())
@pytest.mark.parametrize("size", [32769, 65535, 65536, 200_000, 1_000_000])
def test_long_urls_get_414_in_the_facade_shape_even_past_the_parser_limit(
    live_demo: str, path: str, facade: str, size: int
):
    target = path + "?x=" + "a" * (size - len(path) - 3)
    body = assert_error(exchange(live_demo, get(target)), 414, facade)
    assert "32768 bytes" in json.dumps(body)


def test_a_url_within_the_limit_reaches_the_facade(live_demo: str):
    target = "/collections/street-trees/items?x=" + "a" * 32000
    body = assert_error(exchange(live_demo, get(target)), 400, "ogc")
    assert body["code"] == "UnknownParameter"


@pytest.mark.parametrize(("path", "facade"), PATHS.items())
def test_oversized_header_fields_get_431(live_demo: str, path: str, facade: str):
    assert_error(exchange(live_demo, get(path, "X-Big: " + "b" * 40000)), 431, facade)
    many = [f"X-{i}: v" for i in range(4000)]
    assert_error(exchange(live_demo, get(path, *many)), 431, facade)


def test_a_header_that_never_ends_is_refused_while_it_arrives(live_demo: str):
    raw = b"GET /sta/v1.1 HTTP/1.1\r\nHost: gw\r\nX-Drip: " + b"d" * 200_000
    started = time.monotonic()
    answer = exchange(live_demo, raw, chunk=4096, pause=0.005)
    assert_error(answer, 431, "sta")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("raw", "facade"),
    [
        (b"GET /sta/v1.1/Things HT\x00TP/1.1\r\n\r\n", "sta"),
        (b"GET /collections HTTP/1.1\r\nBad Header\r\n\r\n", "ogc"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "ogc"),  # TLS on the plain port
        # bytes no URL may hold: the parser stops before it reports the URL
        (b"GET /hamburg/sta/v1.1/Things('\xe4') HTTP/1.1\r\nHost: gw\r\n\r\n", "sta"),
        (b"GET /sta/v1.1/Things?$filter=name%20eq%20'\x00' HTTP/1.1\r\n\r\n", "sta"),
    ],
)
def test_malformed_requests_get_400_in_the_facade_shape(live_demo: str, raw: bytes, facade: str):
    assert_error(exchange(live_demo, raw), 400, facade)


@pytest.mark.parametrize(("path", "facade"), [("/collections/street-trees/items", "ogc"),
                                              ("/hamburg/sta/v1.1/Things", "sta")])  # fmt: skip
def test_a_malformed_chunk_in_a_body_is_answered_400_at_once(
    live_demo: str, path: str, facade: str
):
    """The parser fails inside the body the app is reading: the answer used to wait for the
    current request's response, which waited for the rest of the body, for ever."""
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"
    ).encode()
    started = time.monotonic()
    assert_error(exchange(live_demo, raw), 400, facade)
    assert time.monotonic() - started < 2


def test_a_malformed_request_line_after_a_pipelined_request_keeps_its_facade(live_demo: str):
    first = b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n"
    answer = exchange(live_demo, first + b"GET /sta/v1.1/Things\x01 HTTP/1.1\r\n\r\n")
    assert re.findall(rb"HTTP/1.1 (\d{3}) ", answer) == [b"200", b"400"]
    assert json.loads(answer.rsplit(b"\r\n\r\n", 1)[1])["type"] == "error"


def test_pipelined_requests_are_measured_one_by_one_and_answered_in_order(live_demo: str):
    ok = "GET /health HTTP/1.1\r\nHost: gw\r\nX-Pad: {}\r\n\r\n".format("p" * 20000).encode()
    answer = exchange(live_demo, ok + ok + get("/collections?x=" + "a" * 40000))
    assert re.findall(rb"HTTP/1.1 (\d{3}) ", answer) == [b"200", b"200", b"414"]


def test_uvicorn_does_not_rewrite_the_peer_before_the_gateway_checks_it(live_demo: str):
    # Loopback is trusted by default; uvicorn's own proxy handling would have replaced the
    # peer by X-Forwarded-For's address (untrusted) and the gateway would have ignored the rest.
    headers = ("X-Forwarded-For: 203.0.113.9", "X-Forwarded-Host: twin.example.org")
    _, _, doc = parse(exchange(live_demo, get("/hamburg/", *headers)))
    assert {link["href"].split("/")[2] for link in doc["links"]} == {"twin.example.org"}


@pytest.fixture(scope="module")
def small_limits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("limits") / "gateway.yaml"
    config.write_text("server:\n  max_url_length: 2048\n  max_header_bytes: 4096\n")
    proc, url = start_gateway({}, "--config", str(config))
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_limits_are_configurable(small_limits: str):
    assert_error(exchange(small_limits, get("/collections?x=" + "a" * 1900)), 400, "ogc")
    assert_error(exchange(small_limits, get("/collections?x=" + "a" * 2100)), 414, "ogc")
    assert_error(exchange(small_limits, get("/sta/v1.1", "X-Big: " + "b" * 5000)), 431, "sta")


def test_the_middleware_applies_the_limits_under_any_asgi_server(tmp_path: Path):
    app = create_app(parse_config({}, "t.yaml", tmp_path))
    app.add_middleware(LimitsMiddleware, limits=RequestLimits(1024, 2048))
    with TestClient(app) as client:
        assert client.get("/collections?x=" + "a" * 900).status_code == 400
        long = client.get("/collections?x=" + "a" * 1100)
        assert long.status_code == 414 and long.json()["code"] == "URITooLong"
        big = client.get("/t/sta/v1.1/Things", headers={"X-Big": "b" * 3000})
        assert big.status_code == 431 and big.json()["type"] == "error"
