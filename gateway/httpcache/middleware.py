"""The response cache: repeated identical GETs answered from kept bytes, without running
the route, its query or the compression.

It sits outside the compression layer and keeps answers as sent, so its key holds the
request's Accept-Encoding besides the validator's key (normalized request, configuration
and source versions: a new version is a new key, and old entries age out by LRU).
"""

from __future__ import annotations

import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import metrics
from gateway.features.encoders import STREAMED
from gateway.httpcache.conditional import not_modified, send_304
from gateway.httpcache.conditions import Validator, names
from gateway.httpcache.resolve import Validators
from gateway.httpcache.store import Entry, ResponseStore
from gateway.usage.served import SERVED_KEY, served

CREDENTIALS = (b"authorization", b"x-api-key")
_CONDITIONS = (b"if-none-match", b"if-modified-since")
_REVALIDATION = (b"etag", b"cache-control", b"vary", b"last-modified")


class ResponseCache:
    def __init__(
        self, app: ASGIApp, validators: Validators, store: ResponseStore, max_entry_bytes: int
    ) -> None:
        self.app = app
        self.validators = validators
        self.store = store
        self.max_entry_bytes = max_entry_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        coding, conditional = b"", False
        for name, value in scope["headers"]:  # one pass: this runs on every GET
            if name in CREDENTIALS:  # may answer differently per user
                await self.app(scope, receive, send)
                return
            if name == b"accept-encoding":
                coding = value
            elif name in _CONDITIONS:
                conditional = True
        v = await self.validators.resolve(scope)
        if v is None or v.cache_key is None:
            await self.app(scope, receive, send)
            return
        key = f"{v.cache_key}|{coding.replace(b' ', b'').lower().decode('latin-1')}"
        entry = await self.store.get(key)
        metrics.RESPONSE_CACHE.labels("miss" if entry is None else "hit").inc()
        if entry is None:
            await self.app(scope, receive, self._recording(scope, send, key, v.ttl))
        elif conditional and _unchanged(Headers(scope=scope), entry, v):
            await send_304(send, [(k, val) for k, val in entry.headers if k in _REVALIDATION])
        else:
            # Age (RFC 9111 §5.1): the body, its timeStamp among it, was made that long ago
            age = str(max(0, int(time.time() - entry.stored))).encode()
            hit = [*entry.headers, (b"age", age), (b"x-cache", b"hit")]
            served(scope, entry.served)
            await send({"type": "http.response.start", "status": entry.status, "headers": hit})
            await send({"type": "http.response.body", "body": entry.body})

    def _recording(self, scope: Scope, send: Send, key: str, ttl: float | None) -> Send:
        """Passes the answer on as it comes and keeps a copy of a whole, cacheable 200."""
        kept: list[bytes] = []
        size, keep = 0, False
        start: tuple[int, tuple[tuple[bytes, bytes], ...]] = (0, ())

        async def recording(message: Message) -> None:
            nonlocal size, keep, start
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                streamed = scope.get(STREAMED, False)
                keep = message["status"] == 200 and not streamed and _cacheable(raw)
                start = (message["status"], tuple(raw))
                message["headers"] = [*raw, (b"x-cache", b"miss")]
            elif message["type"] == "http.response.body" and keep:
                body = message.get("body", b"")
                size += len(body)
                keep = size <= self.max_entry_bytes
                if keep:
                    kept.append(body)
                else:  # too big: sent on, not kept
                    kept.clear()
                if keep and not message.get("more_body", False):
                    expires = None if ttl is None else time.monotonic() + ttl
                    whole, count = b"".join(kept), scope.get(SERVED_KEY, 0)
                    entry = Entry(*start, whole, expires, time.time(), count)
                    await self.store.put(key, entry)
            await send(message)

        return recording


def _unchanged(headers: Headers, entry: Entry, v: Validator) -> bool:
    """A kept answer's conditions: If-None-Match against the tag it was sent with."""
    inm = headers.get("if-none-match")
    if inm is None:
        return not_modified(headers, v)
    etag = next((val for k, val in entry.headers if k == b"etag"), None)
    return etag is not None and names(inm, etag.decode("latin-1"))


def _cacheable(headers: list[tuple[bytes, bytes]]) -> bool:
    """Not a partial answer (Warning), nothing per client, nothing marked no-store."""
    for name, value in headers:
        name = name.lower()
        if name in (b"warning", b"set-cookie"):
            return False
        if name == b"cache-control" and b"no-store" in value.lower():
            return False
    return True
