"""One request to an ASGI app in process, built the way uvicorn builds it from the bytes on
the wire: the request target is taken as sent (no dot-segment removal, no re-encoding, as
an HTTP client library would do), `path` percent-decoded as uvicorn decodes it, the peer
chosen by the caller (an untrusted one by default, for forwarded headers)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.types import ASGIApp, Message

STRANGER = ("198.51.100.7", 40000)  # TEST-NET-2: never a trusted proxy


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def scope_for(
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    client: tuple[str, int] = STRANGER,
) -> dict:
    raw_path, _, query = target.partition(b"?")
    path = raw_path.decode("latin-1")
    if "%" in path:
        path = unquote(path)  # uvicorn: UTF-8, invalid sequences become U+FFFD
    if not any(name == b"host" for name, _ in headers):
        headers = [(b"host", b"testserver"), *headers]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": ("testserver", 80),
        "state": {},
    }


async def call(
    app: ASGIApp,
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
    client: tuple[str, int] = STRANGER,
    state: dict | None = None,
) -> Answer:
    """Send one request, collect the whole answer (a streamed body too)."""
    scope = scope_for(method, target, headers, client)
    if state is not None:
        scope["state"] = dict(state)
    sent = False
    done = asyncio.Event()
    status = 0
    out_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # the client stays until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                out_headers[key] = f"{out_headers[key]}, {text}" if key in out_headers else text
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    return Answer(status, out_headers, b"".join(chunks))
