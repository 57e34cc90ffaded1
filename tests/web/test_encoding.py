"""Accept-Encoding negotiation, what is compressible, and the ETag suffix per coding."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard

from gateway.web.config import CompressionSettings
from gateway.web.encoding import (
    compressible,
    compressor,
    negotiate,
    strip_etags,
    suffix_etag,
)

OFFERED = ["zstd", "br", "gzip"]


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, None),
        ("", None),
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("gzip, deflate, br", "br"),  # equal weights: the server's preference
        ("gzip, deflate, br, zstd", "zstd"),  # Chromium's
        ("GZIP;Q=1, br;q=0.5", "gzip"),
        ("gzip;q=0.2, br;q=0.9, zstd;q=0.5", "br"),
        ("*", "zstd"),
        ("*;q=0.5, gzip", "gzip"),
        ("*, zstd;q=0", "br"),
        ("br;q=0, zstd;q=0, gzip;q=0", None),
        ("*;q=0", None),
        ("identity", None),
        ("identity;q=0, gzip", "gzip"),
        ("gzip;q=0.5, identity", None),  # identity weighed higher, explicitly
        ("gzip;q=0.5", "gzip"),  # identity not weighed: no preference against gzip
        ("deflate, compress", None),
        ("gzip;q=abc", None),  # an unreadable weight is no yes
        ("gzip;q=1.5", None),
        ("gzip;q=nan, br", "br"),
        (" , ;;, gzip ;  q = 0.8 ", "gzip"),
    ],
)
def test_negotiation_weighs_q_values_and_breaks_ties_by_server_preference(
    header: str | None, chosen: str | None
) -> None:
    assert negotiate(header, OFFERED) == chosen


def test_negotiation_offers_only_the_configured_codings() -> None:
    assert negotiate("zstd, br", ["gzip"]) is None
    assert negotiate("zstd, br, gzip", ["gzip", "br"]) == "gzip"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (b"application/geo+json", True),
        (b"application/json; charset=utf-8", True),
        (b"application/vnd.oai.openapi+json;version=3.0", True),
        (b"application/schema+json", True),
        (b"application/gml+xml; version=3.2", True),
        (b"text/html; charset=utf-8", True),
        (b"application/javascript", True),
        (b"image/svg+xml", True),
        (b"image/png", False),
        (b"application/zip", False),
        (b"application/octet-stream", False),
        (None, False),
    ],
)
def test_compressible_types(content_type: bytes | None, expected: bool) -> None:
    assert compressible(content_type) is expected


def test_a_strong_etag_gets_the_coding_and_a_weak_one_stays() -> None:
    assert suffix_etag(b'"abc"', "gzip") == b'"abc-gzip"'
    assert suffix_etag(b'"abc"', "zstd") == b'"abc-zstd"'
    assert suffix_etag(b'W/"abc"', "br") == b'W/"abc"'


def test_conditional_tags_lose_their_suffix_and_are_remembered() -> None:
    value, stripped = strip_etags(b'"a-gzip", W/"b-br", "c", "d-zstd"')
    assert value == b'"a", W/"b", "c", "d"'
    assert stripped == {b'"a"', b'"b"', b'"d"'}
    assert strip_etags(b"*") == (b"*", set())
    assert strip_etags(b'"x-deflate"') == (b'"x-deflate"', set())


DECODERS = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_each_flushed_chunk_decodes_on_its_own(coding: str) -> None:
    """What a client receives so far decodes to everything sent so far: no chunk is held
    back in the compressor."""
    settings = CompressionSettings()
    c = compressor(coding, settings)
    pieces = [b'{"type":"FeatureCollection","features":[', b'{"id":1}' * 500, b',{"id":2}']
    received = b""
    for i, piece in enumerate(pieces):
        received += c.chunk(piece)
        assert _partial(coding, received) == b"".join(pieces[: i + 1])
    received += c.finish(b"]}")
    assert DECODERS[coding](received) == b"".join(pieces) + b"]}"


def _partial(coding: str, data: bytes) -> bytes:
    if coding == "gzip":
        return zlib.decompressobj(31).decompress(data)
    if coding == "br":
        return brotli.Decompressor().process(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)
