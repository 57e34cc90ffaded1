"""Limits on the request head (URL and header fields), answered in the facade's error shape.

Two places enforce the same limits (`server.max_url_length`, `server.max_header_bytes`):
`gateway.protocol`, the HTTP protocol `twinbridge serve` runs, rejects a head while it is
still arriving; `LimitsMiddleware` does it for any other ASGI server that runs
`gateway.server:app_factory`. Both answer 414 (URL) or 431 (header fields) with the body
of the facade the path belongs to: `{"code", "description"}` for OGC API – Features,
`{"type": "error", "code", "message"}` below `/sta/` and `/{tenant}/sta/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.context import new_request_id
from gateway.sensorthings.errors import error_body

OGC_CODES = {
    400: "InvalidRequest",
    414: "URITooLong",
    429: "TooManyRequests",
    431: "RequestHeaderFieldsTooLarge",
}
# The path of an origin-form or absolute-form request target; `/sta` as first or second
# segment means the SensorThings facade.
_PATH = re.compile(rb"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?(/[^?#]*)?")
_STA = re.compile(rb"^/(?:[^/]+/)?sta(?:/|$)")


@dataclass(frozen=True)
class RequestLimits:
    max_url_length: int = 32768
    max_header_bytes: int = 32768

    def url_message(self) -> str:
        return f"the request URL is longer than {self.max_url_length} bytes, this server's limit"

    def header_message(self) -> str:
        return f"the request's header fields exceed {self.max_header_bytes} bytes"


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    """The header fields' size as sent: `name: value` and CRLF for each."""
    return sum(len(name) + len(value) + 4 for name, value in headers)


def error_document(target: bytes, status: int, message: str, request_id: str) -> bytes:
    """The error body for a request target (the raw path and query) in its facade's shape,
    with the request id the answer's X-Request-Id names (a refused head has no other)."""
    match = _PATH.match(target[:1024])
    path = (match.group(1) if match else None) or b"/"
    if _STA.match(path):
        return orjson.dumps({**error_body(status, message), "requestId": request_id})
    code = OGC_CODES.get(status, "InvalidRequest")
    return orjson.dumps({"code": code, "description": message, "requestId": request_id})


class LimitsMiddleware:
    """The limits for servers other than `twinbridge serve` (which rejects earlier)."""

    def __init__(self, app: ASGIApp, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string", b"")
            status, message = 0, ""
            if len(target) + len(query) + (1 if query else 0) > self.limits.max_url_length:
                status, message = 414, self.limits.url_message()
            elif header_bytes(scope["headers"]) > self.limits.max_header_bytes:
                status, message = 431, self.limits.header_message()
            if status:
                request_id = new_request_id(None)
                body = error_document(target, status, message, request_id)
                headers = [
                    (b"content-type", b"application/json"),
                    (b"x-request-id", request_id.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
