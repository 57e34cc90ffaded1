"""The HTTP/1.1 protocol `twinbridge serve` runs: uvicorn's httptools protocol, with the
gateway's limits on the request head and every rejection answered in the facade's shape.

What plain uvicorn 0.55 does (measured, see tests/test_protocol.py): with httptools, a
request target over 65,535 bytes fails `httptools.parse_url` (16-bit offsets) and header
fields have no limit at all (a 1 MB header is read and served); with h11, a head is refused
only when more than 16 KiB of it is buffered while still incomplete, so the limit depends
on how the bytes arrive. Either way the answer is a plain-text 400 that neither facade
speaks. Here the URL is measured as it arrives (414 past `server.max_url_length`), the
header fields too (431 past `server.max_header_bytes`, counted while the head is still
incomplete so a slow or huge header cannot grow memory), and any other malformed request
gets a 400 with the same kind of body.
"""

from __future__ import annotations

import asyncio
import http
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.context import new_request_id
from gateway.limits import RequestLimits, error_document, header_bytes

MALFORMED = "the request is not valid HTTP/1.1"
# The request line around the URL and the head's final CRLF: never counted as header bytes.
_LINE_SLACK = 64
_RECENT = 2048  # bytes kept to find a request line the parser could not read


class Rejected(Exception):
    """Raised in a parser callback to stop parsing; httptools wraps it in an
    HttpParserCallbackError, which uvicorn answers through `send_400_response`."""


class GatewayProtocol(HttpToolsProtocol):
    limits: ClassVar[RequestLimits] = RequestLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._in_head = True
        self._head_bytes = 0
        self._rejection: tuple[int, str] | None = None
        self._deferred: bytes | None = None
        self.url = b""
        self._recent = b""
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        self._recent = (self._recent + data[-_RECENT:])[-_RECENT:]
        super().data_received(data)
        over = self._head_bytes - len(self.url) - _LINE_SLACK > self.limits.max_header_bytes
        if self._in_head and over and not self.transport.is_closing():
            self._reject(431, self.limits.header_message(), raise_=False)
            self.send_400_response(MALFORMED)

    def on_message_begin(self) -> None:
        self._in_head = True
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_url_length:
            self._reject(414, self.limits.url_message())

    def on_headers_complete(self) -> None:
        if header_bytes(self.headers) > self.limits.max_header_bytes:
            self._reject(431, self.limits.header_message())
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def _reject(self, status: int, message: str, raise_: bool = True) -> None:
        self._rejection = (status, message)
        if raise_:
            raise Rejected(message)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        done = not self.pipeline and self.cycle.response_complete
        if self._deferred is not None and done and not self.transport.is_closing():
            self.transport.write(self._deferred)
            self.transport.close()

    def _target(self) -> bytes:
        return _request_target(self._recent)

    def send_400_response(self, msg: str) -> None:
        """Every refusal of a request head ends here (uvicorn calls it on parser errors).
        Requests pipelined before the refused one are answered first."""
        status, message = self._rejection or (400, MALFORMED)
        request_id = new_request_id(None)
        body = error_document(self.url or self._target(), status, message, request_id)
        lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
        lines += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        lines += [
            b"content-type: application/json\r\n",
            b"x-request-id: " + request_id.encode() + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if not cycle.more_body:  # a request pipelined after this one's: answered in turn
                self._deferred = b"".join(lines)
                self.flow.pause_reading()
                return
            # The refused bytes are this request's own body (a malformed chunk): the app
            # reading it would wait for the rest for ever, and the client for an answer.
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()
                return
        self.transport.write(b"".join(lines))
        self.transport.close()


def _request_target(recent: bytes) -> bytes:
    """The target in the request line of the last head in `recent` (the bytes last received):
    the parser failed on it before it could report a URL (a byte no URL may hold), and the
    refusal should still have the shape of the facade the path belongs to."""
    heads = [h for h in recent.split(b"\r\n\r\n") if h.strip()]
    line = heads[-1].lstrip().split(b"\n", 1)[0] if heads else b""
    parts = line.split(b" ")
    return parts[1] if len(parts) > 1 else b""


def configure(limits: RequestLimits) -> None:
    """Set the limits every connection of this process uses (called by the app factory,
    which runs in each worker before the server accepts connections)."""
    GatewayProtocol.limits = limits
