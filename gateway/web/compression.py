"""Compression of answers as they stream (`server.compression`).

Each body chunk is compressed and flushed as it passes, so a page of 10,000 features is
never held whole, compressed or not, and a client decodes it as it arrives. Left alone:
bodies below `min_size` when known whole at the start, answers already encoded, 204, 206
(a range of the bytes as they are), 304, HEAD, and types that do not compress (images,
archives). `Vary: Accept-Encoding` goes on every compressible answer, compressed or not, so
shared caches keep the variants apart.

A strong ETag names bytes, and the compressed bytes differ per coding: `"x"` leaves as
`"x-gzip"` (or `-br`, `-zstd`), and the suffix is taken off the tags of `If-None-Match` and
`If-Match` before the app sees them, so whatever validators the app sets keep working; a
304 for a tag that came suffixed names it with the suffix again. The app's own tags should
therefore not end in `-gzip`, `-br` or `-zstd`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.web import headers as h
from gateway.web.config import CompressionSettings
from gateway.web.encoding import (
    Compressor,
    compressible,
    compressor,
    negotiate,
    strip_etags,
    suffix_etag,
)

VARY = "Accept-Encoding"
_CONDITIONAL = (b"if-none-match", b"if-match")


class Compression:
    def __init__(self, app: ASGIApp, settings: CompressionSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.enabled:
            await self.app(scope, receive, send)
            return
        raw = scope["headers"]
        accepted = h.get(raw, b"accept-encoding")
        coding = negotiate(
            accepted.decode("latin-1") if accepted else None, self.settings.encodings
        )
        stripped: set[bytes] = set()
        if any(k in _CONDITIONAL for k, _ in raw):
            rewritten = []
            for key, value in raw:
                if key in _CONDITIONAL:
                    value, bare = strip_etags(value)
                    stripped |= bare
                rewritten.append((key, value))
            scope = {**scope, "headers": rewritten}
        answer = _Answer(send, self.settings, coding, scope["method"] == "HEAD", stripped)
        await self.app(scope, receive, answer.send)


class _Answer:
    """One response on its way out: the start is held until the first body chunk shows
    whether the body is small and whole."""

    def __init__(
        self,
        send: Send,
        settings: CompressionSettings,
        coding: str | None,
        head: bool,
        stripped: set[bytes],
    ) -> None:
        self._send = send
        self.settings = settings
        self.coding = coding
        self.head = head
        self.stripped = stripped
        self.start: Message | None = None  # held until the first body chunk
        self.compressor: Compressor | None = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self._on_start(message)
        elif kind == "http.response.body" and self.start is not None:
            await self._on_first_body(message)
        elif kind == "http.response.body" and self.compressor is not None:
            await self._on_more_body(message)
        else:
            await self._send(message)

    async def _on_start(self, message: Message) -> None:
        raw = message.get("headers", [])
        status = message["status"]
        if status == 304:
            await self._send({**message, "headers": self._not_modified(list(raw))})
            return
        if not compressible(h.get(raw, b"content-type")):
            await self._send(message)
            return
        raw = h.add_vary(list(raw), VARY)
        as_is = status in (204, 206) or self.head or self.coding is None
        if as_is or h.get(raw, b"content-encoding") or h.get(raw, b"content-range"):
            await self._send({**message, "headers": raw})
            return
        self.start = {**message, "headers": raw}

    def _not_modified(self, raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        raw = h.add_vary(raw, VARY)
        etag = h.get(raw, b"etag")
        if etag is not None and etag in self.stripped and self.coding is not None:
            raw = h.replace(raw, b"etag", suffix_etag(etag, self.coding))
        return raw

    async def _on_first_body(self, message: Message) -> None:
        start, self.start = self.start, None
        assert start is not None and self.coding is not None
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        if not more and len(body) < self.settings.min_size:
            await self._send(start)
            await self._send(message)
            return
        raw = h.without(start["headers"], b"content-length")
        raw.append((b"content-encoding", self.coding.encode()))
        etag = h.get(raw, b"etag")
        if etag is not None:
            raw = h.replace(raw, b"etag", suffix_etag(etag, self.coding))
        self.compressor = compressor(self.coding, self.settings)
        if not more:  # whole: its length is known
            body = self.compressor.finish(body)
            raw.append((b"content-length", str(len(body)).encode()))
            self.compressor = None
            await self._send({**start, "headers": raw})
            await self._send({**message, "body": body})
            return
        await self._send({**start, "headers": raw})
        await self._on_more_body(message)

    async def _on_more_body(self, message: Message) -> None:
        assert self.compressor is not None
        body: bytes = message.get("body", b"")
        if message.get("more_body", False):
            if body:
                await self._send({**message, "body": self.compressor.chunk(body)})
            return
        await self._send({**message, "body": self.compressor.finish(body)})
        self.compressor = None
