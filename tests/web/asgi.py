"""Calling an ASGI app directly and keeping every message it sends, for middleware tests
that need to see the chunks as they were sent (a test client joins them)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message


def call(
    app: ASGIApp, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[Message, list[Message]]:
    """The response's start message and its body messages."""
    return asyncio.run(_call(app, method, path, headers))


async def _call(
    app: ASGIApp, method: str, path: str, headers: dict[str, str] | None
) -> tuple[Message, list[Message]]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    sent: list[Message] = []
    done = False

    async def receive() -> Message:
        nonlocal done
        if done:  # the client stays until the answer is complete
            await asyncio.Event().wait()
        done = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0], [m for m in sent[1:] if m["type"] == "http.response.body"]


def header(start: Message, name: str) -> str | None:
    for key, value in start["headers"]:
        if key.decode().lower() == name:
            return value.decode("latin-1")
    return None
