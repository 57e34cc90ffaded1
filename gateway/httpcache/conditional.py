"""The innermost HTTP caching layer: answers If-None-Match / If-Modified-Since with 304
before any route runs, and puts ETag, Last-Modified, Cache-Control and Vary on answers.

It sits inside the compression layer, which gives a compressed answer's ETag a suffix
(`-gzip` …) and strips it from If-None-Match; the comparison here accepts both anyway.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.httpcache.conditions import Validator, none_match, not_modified_since
from gateway.httpcache.resolve import Validators


def not_modified(header: Headers, v: Validator) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    inm = header.get("if-none-match")
    if inm is not None:
        return v.etag is not None and none_match(inm, v.etag)
    ims = header.get("if-modified-since")
    if ims is None or v.last_modified is None:
        return False
    return not_modified_since(ims, v.last_modified)


async def send_304(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class ConditionalRequests:
    def __init__(self, app: ASGIApp, validators: Validators) -> None:
        self.app = app
        self.validators = validators

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        v = await self.validators.resolve(scope)
        if v is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if v.etag is not None and headers.get("if-none-match", "").strip() == "*":
            await self._star(scope, receive, send, v)
            return
        if not_modified(headers, v):
            await send_304(send, v.headers())
            return
        await self.app(scope, receive, _decorating(send, v))

    async def _star(self, scope: Scope, receive: Receive, send: Send, v: Validator) -> None:
        """`If-None-Match: *` asks whether any answer exists: only the route knows (the
        item may be missing), so it runs and a 200 becomes a 304."""
        swallowed = False

        async def star_send(message: Message) -> None:
            nonlocal swallowed
            if message["type"] == "http.response.start" and message["status"] == 200:
                swallowed = True
                await send_304(send, v.headers())
            elif not swallowed:
                await send(message)

        await self.app(scope, receive, star_send)


def _decorating(send: Send, v: Validator) -> Send:
    async def decorated(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            present = {k.lower() for k, _ in message.get("headers", [])}
            if b"cache-control" not in present:  # else the route decided (e.g. no-store)
                partial = b"warning" in present  # a federated member failed: no version
                own = b"etag" in present  # the route's own (an item's: Part 4 If-Match)
                added = v.headers(validators=not partial and not own)
                if partial:
                    added[0] = (b"cache-control", b"no-store")
                message["headers"] = [*message.get("headers", []), *added]
        await send(message)

    return decorated
