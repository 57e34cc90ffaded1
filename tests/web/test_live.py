"""A real `twinbridge serve` of the demo: preflights on both facades, each coding decoding
to the same JSON, and a streamed page compressed as it streams (decoded piece by piece)."""

from __future__ import annotations

import gzip
import zlib

import brotli
import httpx
import orjson
import pytest
import zstandard

pytestmark = pytest.mark.integration
ORIGIN = "http://localhost:5173"
PAGE = "/hamburg/collections/strassenbaeume/items?limit=3000"  # streamed: above 1,000


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/collections/street-trees/items", "GET"),
        ("/hamburg/collections/strassenbaeume/items", "POST"),
        ("/hamburg/collections/strassenbaeume/schema", "GET"),
        ("/sta/v1.1/Things", "GET"),
        ("/leipzig/sta/v1.1/Datastreams", "GET"),
    ],
)
def test_a_served_gateway_answers_preflights_on_both_facades(
    live_demo: str, path: str, method: str
) -> None:
    sent = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type",
    }
    r = httpx.options(f"{live_demo}{path}", headers=sent)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert method in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "content-type"


def _decode(coding: str, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return brotli.decompress(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


@pytest.mark.parametrize("path", ["/collections/street-trees/items?limit=500", "/sta/v1.1/Things"])
def test_each_coding_decodes_to_the_same_json(live_demo: str, path: str) -> None:
    plain = httpx.get(f"{live_demo}{path}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    expected = orjson.loads(plain.content)
    for coding in ("gzip", "br", "zstd"):
        with httpx.stream("GET", f"{live_demo}{path}", headers={"Accept-Encoding": coding}) as r:
            raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == coding
        assert "accept-encoding" in r.headers["vary"].lower()
        assert len(raw) * 3 < len(plain.content)
        doc = orjson.loads(_decode(coding, raw))
        if "timeStamp" in doc:
            doc["timeStamp"] = expected["timeStamp"]
        assert doc == expected


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_streamed_page_is_decoded_as_it_arrives(live_demo: str, coding: str) -> None:
    decoder = {
        "gzip": zlib.decompressobj(31),
        "br": brotli.Decompressor(),
        "zstd": zstandard.ZstdDecompressor().decompressobj(),
    }[coding]
    pieces, text = 0, b""
    with httpx.stream(
        "GET", f"{live_demo}{PAGE}", headers={"Accept-Encoding": coding}, timeout=60
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-encoding"] == coding
        assert "content-length" not in r.headers
        assert r.headers["x-request-id"] and r.headers["server-timing"].startswith("app;dur=")
        for raw in r.iter_raw():
            got = decoder.process(raw) if coding == "br" else decoder.decompress(raw)
            if got:
                pieces += 1
                text += got
                assert text.startswith(b'{"type":"FeatureCollection","features":[')
    assert pieces > 3  # it came in pieces, each usable as it arrived
    doc = orjson.loads(text)
    assert doc["numberReturned"] == len(doc["features"]) == 3000
