"""The compression middleware on a small app: what is compressed and how, streamed bodies
chunk by chunk, and strong ETags per coding (also for tags the app sets itself)."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import brotli
import orjson
import pytest
import zstandard
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.web.compression import Compression
from gateway.web.config import CompressionSettings
from tests.web.asgi import call, header

BIG = orjson.dumps([{"id": i, "name": f"tree {i}", "species": "Tilia cordata"} for i in range(400)])
CHUNKS = [b'{"type":"FeatureCollection","features":[', BIG[1:-1], b",", BIG[1:-1], b"]}"]
SEEN: list[str | None] = []  # the If-None-Match values the app saw


async def big(request: Request) -> Response:
    sent = request.headers.get("if-none-match")
    SEEN.append(sent)
    if sent is not None and '"v1"' in [tag.strip() for tag in sent.split(",")]:
        return Response(status_code=304, headers={"ETag": '"v1"'})
    return Response(BIG, media_type="application/geo+json", headers={"ETag": '"v1"'})


async def stream(request: Request) -> StreamingResponse:
    async def pieces() -> AsyncIterator[bytes]:
        for chunk in CHUNKS:
            yield chunk
            await asyncio.sleep(0)

    return StreamingResponse(pieces(), media_type="application/geo+json")


def app(**settings: object) -> Compression:
    routes = [
        Route("/big", big, methods=["GET", "HEAD"]),
        Route("/stream", stream),
        Route("/small", lambda r: Response(b'{"a":1}', media_type="application/json")),
        Route("/png", lambda r: Response(b"\x89PNG" + bytes(5000), media_type="image/png")),
        Route(
            "/encoded",
            lambda r: Response(
                gzip.compress(BIG),
                media_type="application/json",
                headers={"Content-Encoding": "gzip"},
            ),
        ),
        Route("/empty", lambda r: Response(status_code=204, media_type="application/json")),
        Route(
            "/range",
            lambda r: Response(
                BIG[:2000],
                206,
                media_type="application/json",
                headers={"Content-Range": f"bytes 0-1999/{len(BIG)}"},
            ),
        ),
    ]
    return Compression(Starlette(routes=routes), CompressionSettings(**settings))


def decode(coding: str, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return brotli.decompress(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_whole_body_is_compressed_with_its_length_and_a_suffixed_etag(coding: str) -> None:
    start, bodies = call(app(), "GET", "/big", {"Accept-Encoding": coding})
    body = b"".join(m["body"] for m in bodies)
    assert header(start, "content-encoding") == coding
    assert header(start, "content-length") == str(len(body))
    assert header(start, "etag") == f'"v1-{coding}"'
    assert header(start, "vary") == "Accept-Encoding"
    assert decode(coding, body) == BIG
    assert len(body) * 5 < len(BIG)


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_stream_is_compressed_chunk_by_chunk_without_a_length(coding: str) -> None:
    start, bodies = call(app(), "GET", "/stream", {"Accept-Encoding": coding})
    assert header(start, "content-encoding") == coding
    assert header(start, "content-length") is None
    data = [m["body"] for m in bodies if m["body"]]
    assert len(data) >= len(CHUNKS)  # one compressed piece per chunk, none held back
    received, sent = b"", b""
    decoder = {
        "gzip": zlib.decompressobj(31),
        "br": brotli.Decompressor(),
        "zstd": zstandard.ZstdDecompressor().decompressobj(),
    }[coding]
    for chunk, piece in zip(CHUNKS, data, strict=False):
        sent += chunk
        received += decoder.decompress(piece) if coding != "br" else decoder.process(piece)
        assert received == sent  # the client can use each piece as it arrives
    assert decode(coding, b"".join(data)) == b"".join(CHUNKS)
    assert bodies[-1]["more_body"] is False


def test_without_accept_encoding_the_body_is_as_it_was_but_varies() -> None:
    start, bodies = call(app(), "GET", "/big")
    assert header(start, "content-encoding") is None
    assert header(start, "etag") == '"v1"'
    assert header(start, "vary") == "Accept-Encoding"
    assert b"".join(m["body"] for m in bodies) == BIG


@pytest.mark.parametrize(
    ("path", "method", "vary"),
    [
        ("/small", "GET", "Accept-Encoding"),  # below min_size
        ("/big", "HEAD", "Accept-Encoding"),
        ("/png", "GET", None),  # not compressible
        ("/empty", "GET", "Accept-Encoding"),
        ("/range", "GET", "Accept-Encoding"),  # a range of the bytes as they are
    ],
)
def test_what_is_left_alone(path: str, method: str, vary: str | None) -> None:
    start, _ = call(app(), method, path, {"Accept-Encoding": "gzip, br, zstd"})
    assert header(start, "content-encoding") is None
    assert header(start, "etag") in (None, '"v1"')
    assert header(start, "vary") == vary


def test_an_encoded_answer_is_not_encoded_twice() -> None:
    start, bodies = call(app(), "GET", "/encoded", {"Accept-Encoding": "zstd, br, gzip"})
    assert header(start, "content-encoding") == "gzip"
    assert gzip.decompress(b"".join(m["body"] for m in bodies)) == BIG


def test_min_size_and_codings_come_from_the_settings() -> None:
    start, _ = call(app(min_size=0), "GET", "/small", {"Accept-Encoding": "br, gzip"})
    assert header(start, "content-encoding") == "br"
    start, _ = call(app(encodings=["gzip"]), "GET", "/big", {"Accept-Encoding": "br, zstd"})
    assert header(start, "content-encoding") is None
    start, _ = call(app(enabled=False), "GET", "/big", {"Accept-Encoding": "gzip"})
    assert header(start, "content-encoding") is None and header(start, "vary") is None


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_the_app_sees_its_own_etag_and_the_304_names_the_suffixed_one(coding: str) -> None:
    SEEN.clear()
    sent = {"Accept-Encoding": coding, "If-None-Match": f'"v0-{coding}", "v1-{coding}"'}
    start, bodies = call(app(), "GET", "/big", sent)
    assert SEEN == ['"v0", "v1"']  # the app never sees a coding suffix
    assert start["status"] == 304
    assert header(start, "etag") == f'"v1-{coding}"'
    assert header(start, "vary") == "Accept-Encoding"
    assert b"".join(m["body"] for m in bodies) == b""


def test_an_unsuffixed_tag_matches_an_uncompressed_answer() -> None:
    start, _ = call(app(), "GET", "/big", {"If-None-Match": '"v1"'})
    assert start["status"] == 304 and header(start, "etag") == '"v1"'
    start, _ = call(app(), "GET", "/big", {"If-None-Match": '"v1-gzip"'})
    assert start["status"] == 304  # a client that now accepts no coding: still not modified
