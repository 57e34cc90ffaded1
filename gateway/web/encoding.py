"""Content codings: which one a request accepts (`Accept-Encoding` with q-values), the
streaming compressors, and the ETag suffix that keeps strong validators per coding."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Protocol

import brotli
import zstandard

from gateway.web.config import CompressionSettings

_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")
_ALIASES = {"x-gzip": "gzip"}
_SUFFIXED = re.compile(rb'^(W/)?"([^"]*)-(gzip|br|zstd)"$')


def _weights(header: str) -> dict[str, float]:
    """Coding -> q. A malformed q-value counts as 0: an unreadable wish is not a yes."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.partition(";")
        name = _ALIASES.get(name.strip().lower(), name.strip().lower())
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE.match(value) else 0.0
        weights.setdefault(name, q)
    return weights


def negotiate(header: str | None, offered: Sequence[str]) -> str | None:
    """The coding to answer with, or None for the body as it is. Of the offered codings
    (the server's preference first) the highest q wins, ties going to the server's order;
    `*` weighs every coding not named. Identity is chosen only when the client weighs it
    explicitly above every offered coding (RFC 9110 §12.5.3)."""
    if not header:
        return None
    weights = _weights(header)
    star = weights.get("*", 0.0)
    best, best_q = None, 0.0
    for coding in offered:
        q = weights.get(coding, star)
        if q > best_q:
            best, best_q = coding, q
    identity = weights.get("identity")
    if best is not None and identity is not None and identity > best_q:
        return None
    return best


def compressible(content_type: bytes | None) -> bool:
    """Text formats: JSON (GeoJSON, JSON-FG, OpenAPI, JSON Schema), XML (GML), HTML, CSS,
    JavaScript, SVG. Images, archives and the like are compressed already."""
    if not content_type:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return (
        media.startswith(b"text/")
        or media.endswith((b"/json", b"+json", b"/xml", b"+xml"))
        or media in (b"application/javascript", b"application/ecmascript")
    )


def suffix_etag(etag: bytes, coding: str) -> bytes:
    """`"x"` -> `"x-gzip"`: a strong validator names the bytes sent, and these differ per
    coding. A weak one (`W/"x"`) stays: it promises equivalence only."""
    if etag.startswith(b'"') and etag.endswith(b'"') and len(etag) >= 2:
        return etag[:-1] + b"-" + coding.encode() + b'"'
    return etag


def strip_etags(value: bytes) -> tuple[bytes, set[bytes]]:
    """An If-None-Match / If-Match value with the coding suffixes taken off each tag, as the
    app knows its tags; and the bare strong tags that had one."""
    tags, stripped = [], set()
    for tag in value.split(b","):
        tag = tag.strip()
        found = _SUFFIXED.match(tag)
        if found:
            bare = b'"' + found.group(2) + b'"'
            stripped.add(bare)
            tag = (found.group(1) or b"") + bare
        tags.append(tag)
    return b", ".join(tags), stripped


class Compressor(Protocol):
    def chunk(self, data: bytes) -> bytes:
        """`data` compressed and flushed: a client can decode all of it at once."""
        ...

    def finish(self, data: bytes) -> bytes:
        """The rest of the stream, with `data` as its last input."""
        ...


class _Gzip:
    def __init__(self, level: int) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)

    def chunk(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_FINISH)


class _Brotli:
    def __init__(self, quality: int) -> None:
        # A 1 MiB window: the ratio of a 4 MiB one on GeoJSON, a quarter of the memory per
        # concurrent stream.
        self._c = brotli.Compressor(mode=brotli.MODE_TEXT, quality=quality, lgwin=20)

    def chunk(self, data: bytes) -> bytes:
        return self._c.process(data) + self._c.flush()

    def finish(self, data: bytes) -> bytes:
        return self._c.process(data) + self._c.finish()


class _Zstd:
    def __init__(self, level: int) -> None:
        self._c = zstandard.ZstdCompressor(level=level).compressobj()

    def chunk(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def finish(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


def compressor(coding: str, settings: CompressionSettings) -> Compressor:
    if coding == "gzip":
        return _Gzip(settings.gzip_level)
    if coding == "br":
        return _Brotli(settings.br_quality)
    return _Zstd(settings.zstd_level)
