"""Cross-origin requests (`server.cors`): preflights, the CORS headers of every answer, and
the refusal of writes from origins not allowed to write.

Every route answers `OPTIONS`: a preflight (with `Access-Control-Request-Method`) here, at
once and without the app; a plain OPTIONS with 204 and the `Allow` the app names for that
resource (it is asked with the OPTIONS method and answers 405 with `Allow`; an unknown
resource stays a 404). Reads are open to `allow_origins`; writes only to `write_origins` and
the gateway's own origin: the SensorThings writes (POST, PATCH, PUT, DELETE under `…/sta/`)
and the Features item writes (PUT, PATCH, DELETE on `…/items/{id}`). Their preflight from
another origin gets no allow headers, and the write itself (a form POST needs no preflight)
gets 403 in its facade's error shape, before the app runs it. A POST on Features items is a
search or a create, which only its body tells: the middleware marks the request
(`request.state.origin_may_write`) and the create route refuses it.

A write origin's preflight is answered with what the route takes: the Features write
methods come from `route_methods` (a read-only collection takes none, so the browser is
told at once), the SensorThings ones are all four.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette._utils import get_route_path  # the router's own reading of the path
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import ServerSettings
from gateway.errors import Forbidden, GatewayError
from gateway.features.links import base_url
from gateway.sensorthings.routes import sta_error
from gateway.web import headers as h
from gateway.web.config import ANY_ORIGIN, CorsSettings, normal_origin

WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
ITEM_WRITES = frozenset({"PATCH", "PUT", "DELETE"})
_STA_PATH = re.compile(r"^(?:/[^/]+)?/sta/")
_ITEM_PATH = re.compile(r"^(?:/[^/]+)?/collections/[^/]+/items/.")
_ITEMS_PATH = re.compile(r"^(?:/[^/]+)?/collections/[^/]+/items/?$")
REFUSED = "writes from this page's origin are not allowed here"
RouteMethods = Callable[[str], tuple[str, ...]]
Render = Callable[[Request, GatewayError], Response]


def is_sta_write(method: str, path: str) -> bool:
    return method in WRITES and _STA_PATH.match(path) is not None


def is_item_write(method: str, path: str) -> bool:
    """A Features replace, update or delete (a POST on items may be a search)."""
    return method in ITEM_WRITES and _ITEM_PATH.match(path) is not None


def is_write(method: str, path: str) -> bool:
    """A write the path alone tells: SensorThings, or a Features item's PUT/PATCH/DELETE."""
    return is_sta_write(method, path) or is_item_write(method, path)


def _no_route_methods(path: str) -> tuple[str, ...]:
    return ()


def _plain(request: Request, error: GatewayError) -> Response:
    return Response(f"{error.status} {error.description}", error.status)


class Cors:
    """`route_methods(path)`: the write methods (PUT, PATCH, DELETE) a Features item path
    takes; `render`: the Features error shape (the SensorThings one is sta_error)."""

    def __init__(
        self,
        app: ASGIApp,
        settings: CorsSettings,
        server: ServerSettings,
        route_methods: RouteMethods = _no_route_methods,
        render: Render = _plain,
    ) -> None:
        self.app = app
        self.settings = settings
        self.server = server
        self.route_methods = route_methods
        self.render = render
        self.readers = frozenset(settings.allow_origins)
        self.writers = frozenset(settings.write_origins)
        self.headers_allowed = frozenset(n.lower() for n in settings.allow_headers)
        self.exposed = ", ".join(settings.expose_headers).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], get_route_path(scope)  # what the router matches
        request_headers = Headers(scope=scope)
        origin = request_headers.get("origin")
        if method == "OPTIONS":
            if origin and "access-control-request-method" in request_headers:
                await self._preflight(scope, request_headers, origin, send)
            else:
                await self.app(scope, receive, _PlainOptions(send, self._cors(origin)).send)
            return
        cors = self._cors(origin)
        if origin and is_write(method, path) and not self._may_write(origin, scope):
            refusal = self._refusal(scope)
            refusal.raw_headers = [*refusal.raw_headers, *cors]
            await refusal(scope, receive, send)
            return
        if origin and method == "POST" and _ITEMS_PATH.match(path):  # a create, perhaps
            scope.setdefault("state", {})["origin_may_write"] = self._may_write(origin, scope)
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [*message.get("headers", []), *(c for c in cors if c[0] != b"vary")]
                if any(c[0] == b"vary" for c in cors):
                    raw = h.add_vary(raw, "Origin")
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _refusal(self, scope: Scope) -> Response:
        if _STA_PATH.match(get_route_path(scope)):
            return sta_error(403, REFUSED)
        return self.render(Request(scope), Forbidden(REFUSED))

    def _allow_origin(self, origin: str | None, writing: bool = False) -> bytes | None:
        """The Access-Control-Allow-Origin value for `origin`, or None (not allowed)."""
        if not self.settings.enabled or not origin:
            return None
        allowed = self.writers if writing else self.readers | self.writers
        if ANY_ORIGIN in allowed and not self.settings.allow_credentials and not writing:
            return b"*"
        if ANY_ORIGIN in allowed or normal_origin(origin) in allowed:
            return origin.encode("latin-1")
        return None

    def _cors(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """The headers an actual (non-preflight) answer carries for `origin`."""
        out: list[tuple[bytes, bytes]] = []
        if self.settings.enabled and ANY_ORIGIN not in self.readers:
            out.append((b"vary", b"Origin"))  # the answer differs per origin
        value = self._allow_origin(origin)
        if value is None:
            return out
        out.append((b"access-control-allow-origin", value))
        if self.exposed:
            out.append((b"access-control-expose-headers", self.exposed))
        if self.settings.allow_credentials:
            out.append((b"access-control-allow-credentials", b"true"))
        return out

    def _may_write(self, origin: str, scope: Scope) -> bool:
        if self._allow_origin(origin, writing=True) is not None:
            return True
        own = urlsplit(base_url(Request(scope), self.server))
        return normal_origin(origin) == normal_origin(f"{own.scheme}://{own.netloc}")

    def _write_methods(self, method: str, path: str) -> list[str]:
        """The write methods a write origin's preflight names for this route."""
        if is_sta_write(method, path):
            return sorted(WRITES)
        if is_item_write(method, path):
            return [m for m in self.route_methods(path) if m in ITEM_WRITES]
        return []

    async def _preflight(self, scope: Scope, headers: Headers, origin: str, send: Send) -> None:
        wanted = headers["access-control-request-method"].strip().upper()
        path = get_route_path(scope)
        writing = is_write(wanted, path)
        value = self._allow_origin(origin, writing)
        requested = [
            n.strip().lower()
            for n in headers.get("access-control-request-headers", "").split(",")
            if n.strip()
        ]
        extra = self._write_methods(wanted, path) if value is not None else []
        methods = [
            *self.settings.allow_methods,
            *(m for m in extra if m not in self.settings.allow_methods),
        ]
        ok = (
            value is not None
            and wanted in methods
            and ("*" in self.headers_allowed or all(n in self.headers_allowed for n in requested))
        )
        raw = [(b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers")]
        if ok and value is not None:
            raw += [
                (b"access-control-allow-origin", value),
                (b"access-control-allow-methods", ", ".join(methods).encode()),
                (b"access-control-max-age", str(self.settings.max_age).encode()),
            ]
            if requested:
                raw.append((b"access-control-allow-headers", ", ".join(requested).encode()))
            if self.settings.allow_credentials:
                raw.append((b"access-control-allow-credentials", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": raw})
        await send({"type": "http.response.body", "body": b""})


class _PlainOptions:
    """A plain OPTIONS: the app's 405 for it becomes 204 with `Allow` (and OPTIONS in it);
    any other answer (a 404 for an unknown resource) passes as it is."""

    def __init__(self, send: Send, cors: list[tuple[bytes, bytes]]) -> None:
        self._send = send
        self.cors = cors
        self.swallow = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = message.get("headers", [])
            allow = h.get(raw, b"allow")
            if message["status"] == 405 and allow is not None:
                self.swallow = True
                methods = [m.strip() for m in allow.decode("latin-1").split(",") if m.strip()]
                allowed = ", ".join([*methods, "OPTIONS"]).encode()
                raw = [*self.cors, (b"allow", allowed)]
                message = {"type": "http.response.start", "status": 204, "headers": raw}
            else:
                message = {**message, "headers": [*raw, *self.cors]}
        elif message["type"] == "http.response.body" and self.swallow:
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await self._send(message)
