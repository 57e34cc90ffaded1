"""ASGI wrappers that break exactly one thing about a correct server (the demo gateway, the
fake Features server, the fake SensorThings server), so a test can show that the suite
flags exactly the requirement that thing violates.

    wrong = rewrite_json(demo, on_path(r"/items$"), lambda doc, scope: {**doc, "numberMatched": 1})
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = dict[str, Any]
Match = Callable[[Scope], bool]
ASGIApp = Callable[..., Any]


def on_path(pattern: str, method: str | None = None) -> Match:
    regex = re.compile(pattern)
    return lambda s: bool(regex.search(s["path"])) and (method is None or s["method"] == method)


def params_of(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def with_param(pattern: str, name: str) -> Match:
    base = on_path(pattern)
    return lambda s: base(s) and name in params_of(s)


def without_param(pattern: str, name: str) -> Match:
    base = on_path(pattern)
    return lambda s: base(s) and name not in params_of(s)


def _buffered(
    app: ASGIApp, match: Match, change: Callable[[Scope, dict, bytes], tuple[dict, bytes]]
):
    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not match(scope):
            await app(scope, receive, send)
            return
        # The change is made on the body as the app writes it, not on a compressed one.
        plain = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        scope = {**scope, "headers": plain}
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                new_start, body = change(scope, dict(start), b"".join(chunks))
                headers = [
                    (k, v)
                    for k, v in new_start.get("headers", [])
                    if k.lower() != b"content-length"
                ]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**new_start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return wrapped


def rewrite_json(app: ASGIApp, match: Match, mutate: Callable[[Any, Scope], Any]) -> ASGIApp:
    """Change the JSON body of matching responses (other bodies pass unchanged)."""

    def change(scope: Scope, start: dict, body: bytes) -> tuple[dict, bytes]:
        try:
            doc = json.loads(body)
        except ValueError:
            return start, body
        return start, json.dumps(mutate(doc, scope)).encode()

    return _buffered(app, match, change)


def rewrite_body(app: ASGIApp, match: Match, mutate: Callable[[bytes], bytes]) -> ASGIApp:
    return _buffered(app, match, lambda scope, start, body: (start, mutate(body)))


def set_status(app: ASGIApp, match: Match, status: int) -> ASGIApp:
    return _buffered(app, match, lambda scope, start, body: ({**start, "status": status}, body))


def fail_successes(app: ASGIApp, match: Match, status: int = 500) -> ASGIApp:
    """Turn matching 200 answers into `status`; errors (a 400 for a bad value) stay."""

    def change(scope: Scope, start: dict, body: bytes) -> tuple[dict, bytes]:
        return ({**start, "status": status} if start.get("status") == 200 else start), body

    return _buffered(app, match, change)


def set_header(app: ASGIApp, match: Match, name: str, value: str | None) -> ASGIApp:
    """Replace (or with None remove) one response header."""
    key = name.lower().encode()

    def change(scope: Scope, start: dict, body: bytes) -> tuple[dict, bytes]:
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != key]
        if value is not None:
            headers.append((key, value.encode()))
        return {**start, "headers": headers}, body

    return _buffered(app, match, change)


def rewrite_query(
    app: ASGIApp, match: Match, mutate: Callable[[dict[str, str]], dict[str, str]]
) -> ASGIApp:
    """Change the query parameters of matching requests before the app sees them."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and match(scope):
            query = urlencode(mutate(params_of(scope))).encode()
            scope = {**scope, "query_string": query}
        await app(scope, receive, send)

    return wrapped


def links(doc: Any) -> list[dict[str, Any]]:
    return doc.get("links", []) if isinstance(doc, dict) else []


def drop_links(rel: str) -> Callable[[Any, Scope], Any]:
    def mutate(doc: Any, scope: Scope) -> Any:
        doc["links"] = [x for x in links(doc) if x.get("rel") != rel]
        return doc

    return mutate


def edit_links(rel: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Any, Scope], Any]:
    def mutate(doc: Any, scope: Scope) -> Any:
        for x in links(doc):
            if x.get("rel") == rel:
                change(x)
        return doc

    return mutate


def rewrite_request_json(
    app: ASGIApp, match: Match, mutate: Callable[[Any, Scope], Any]
) -> ASGIApp:
    """Change the JSON body of matching requests before the app reads it."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not match(scope):
            await app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        changed = json.dumps(mutate(json.loads(body or b"null"), scope)).encode()
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": changed, "more_body": False}

        await app(scope, replay, send)

    return wrapped


def answer(app: ASGIApp, match: Match, status: int, body: bytes = b"") -> ASGIApp:
    """Answer matching requests directly, without the app (e.g. a DELETE that does nothing)."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not match(scope):
            await app(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped


def swap_status(app: ASGIApp, match: Match, old: int, new: int) -> ASGIApp:
    """Turn matching `old` answers into `new` (a 201 into a 200, a 404 into a 204…)."""

    def change(scope: Scope, start: dict, body: bytes) -> tuple[dict, bytes]:
        return ({**start, "status": new} if start.get("status") == old else start), body

    return _buffered(app, match, change)


def drop_request_header(app: ASGIApp, match: Match, name: str) -> ASGIApp:
    """Remove one header from matching requests before the app sees them (e.g. If-Match)."""
    key = name.lower().encode()

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and match(scope):
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != key]}
        await app(scope, receive, send)

    return wrapped


def pretend_delete(app: ASGIApp, match: Match) -> ASGIApp:
    """DELETE answered 204 when the item exists, without deleting it (404 stays 404)."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not match(scope):
            await app(scope, receive, send)
            return
        seen: dict[str, int] = {}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]

        await app({**scope, "method": "GET"}, receive, capture)
        status = 204 if seen.get("status") == 200 else seen.get("status", 500)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return wrapped
