"""Content negotiation and the response writers (JSON via orjson, HTML via templates).

A large page is written as a stream (`feature_collection`, `StreamedJSON`): the features in
pieces of some tens of KB as they come, then the members that depend on how the stream
ended (numberReturned, the next link). A failure after the first byte can no longer change
the status, so the transfer is aborted: the client sees a truncated body and a protocol
error, never a well-formed but silently short 200.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.context import REQUEST_ID
from gateway.errors import GatewayError
from gateway.features import html
from gateway.features.jsonfg import JSONFG_ACCEPTED
from gateway.features.links import HTML, JSON

log = logging.getLogger("twinbridge.errors")
Feature = dict[str, Any]

_OFFERED = {
    "application/json": "json",
    "application/geo+json": "json",
    "text/html": "html",
    **dict.fromkeys(JSONFG_ACCEPTED, "jsonfg"),
}


def negotiate(request: Request, f: str | None, formats: tuple[str, ...] = ("json", "html")) -> str:
    """`f` wins; else the Accept header's best match among `formats`; JSON when there is
    none (OWSLib and many scripts send no Accept, or */*)."""
    if f:
        return f
    accept = request.headers.get("accept")
    if not accept:
        return "json"
    best, best_q = "json", 0.0
    for position, part in enumerate(accept.split(",")):
        media, _, rest = part.strip().partition(";")
        q = 1.0
        for param in rest.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        fmt = _OFFERED.get(media.strip().lower())
        if fmt not in formats:
            continue
        # Equal weights: the first listed wins (browsers list text/html first).
        if fmt and q > best_q:
            best, best_q = fmt, q - position * 1e-6
    return best


def json_response(doc: Any, media_type: str = JSON, status: int = 200, **headers: str) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=media_type, headers=headers)


# The pages load only the gateway's own files: no inline script or style, no other origin.
# (img data: is the empty favicon; OpenLayers draws on a canvas.)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def html_response(
    kind: str,
    doc: dict[str, Any],
    title: str,
    crumbs: list[tuple[str, str]],
    status: int = 200,
    *,
    static: str = "/static",
    extra: dict[str, Any] | None = None,
) -> Response:
    """An HTML page; ``static`` is the absolute URL of /static, ``extra`` see html.render."""
    body = html.render(kind, doc, title=title, breadcrumbs=crumbs, static=static, extra=extra)  # type: ignore[arg-type]
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
    return Response(body, status_code=status, media_type=HTML + "; charset=utf-8", headers=headers)


async def feature_collection(
    batches: AsyncIterable[list[Feature]],
    present: Callable[[list[Feature]], list[Feature]],
    tail: Callable[[int], dict[str, Any]],
    head: dict[str, Any] | None = None,
) -> AsyncIterator[bytes]:
    """A FeatureCollection in pieces: `head`'s members (JSON-FG's conformsTo first, so a
    reader can tell the document early), each batch of features presented (CRS,
    properties, skipGeometry) and encoded on its own, then `tail(number returned)`'s."""
    members = orjson.dumps(head)[1:-1] + b"," if head else b""
    yield b'{"type":"FeatureCollection",' + members + b'"features":['
    returned = 0
    async for batch in batches:
        if not batch:
            continue
        body = orjson.dumps(present(batch))[1:-1]  # the features, comma-separated
        yield body if returned == 0 else b"," + body
        returned += len(batch)
    yield b"]," + orjson.dumps(tail(returned))[1:]


STREAMED = "twinbridge.streamed"  # set in the scope of a streamed answer


class StreamedJSON(StreamingResponse):
    """A JSON answer written while it is produced. When producing fails mid-way, the answer
    is left unfinished: without its last chunk the server closes the connection, so the
    client sees a truncated transfer (and the JSON is cut off, too). `closer` is awaited at
    the end whatever happened, also when the body was never started (the client left)."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        closer: Callable[[], Awaitable[None]] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(content, **kw)
        self.closer = closer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[STREAMED] = True  # the response cache keeps no streamed answer whole
        await super().__call__(scope, receive, send)

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        sent = 0
        try:
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
        except GatewayError as e:
            detail = getattr(e, "detail", e.description)
            log.warning(
                "request_id=%s aborted the answer after %d bytes: %s (%s)",
                REQUEST_ID.get(),
                sent,
                e.description,
                detail,
            )
            return
        except Exception:
            log.exception("request_id=%s aborted the answer after %d bytes", REQUEST_ID.get(), sent)
            return
        finally:
            # The client may be gone (cancelled send): what the body holds is freed now.
            with anyio.CancelScope(shield=True):
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
                if self.closer is not None:
                    await self.closer()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
