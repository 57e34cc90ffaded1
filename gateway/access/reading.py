"""Closed reading (`public_read: false`) on every read route of a tenant, before the
response cache can answer, and fresh provider keys for tokens, before any route runs.

Public tenants cost one dict lookup per request (none at all without a closed tenant);
writes are decided by the routes themselves (`authorize(..., "write")`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette._utils import get_route_path  # the router's own reading of the path
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.access.credentials import bearer_token
from gateway.access.oidc import Tokens, looks_like_jwt
from gateway.access.policy import Access, Principal
from gateway.errors import GatewayError

Render = Callable[[Request, GatewayError], Response]
SENSORTHINGS = "sensorthings"  # the collection name scopes give the SensorThings API


def target(path: str) -> tuple[str, str | None, bool]:
    """(tenant, collection or None, is an items path) of a path below `/{tenant}/`."""
    parts = path.split("/", 5)
    tenant = parts[1] if len(parts) > 1 else ""
    section = parts[2] if len(parts) > 2 else ""
    if section == "sta":
        return tenant, SENSORTHINGS, False
    if section == "collections" and len(parts) > 3 and parts[3]:
        return tenant, parts[3], len(parts) == 5 and parts[4] == "items"
    return tenant, None, False


class ClosedReading:
    def __init__(
        self, app: ASGIApp, policies: Mapping[str, Access], tokens: Tokens, render: Render
    ) -> None:
        self.app = app
        self.closed = {tid: a for tid, a in policies.items() if not a.public_read}
        self.tokens = tokens if tokens.by_name else None
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.tokens is not None:
            await self._prepare(scope)
        access = None
        if self.closed:
            path = get_route_path(scope)  # what the router matches (without a root_path)
            access = self.closed.get(path.split("/", 2)[1] if path else "")
        if access is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            principal = self.decide(access, request)
        except GatewayError as e:
            await self.render(request, e)(scope, receive, send)
            return
        if principal is not None:
            request.state.principal = principal
        await self.app(scope, receive, _private(send))

    async def _prepare(self, scope: Scope) -> None:
        assert self.tokens is not None
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = bearer_token({"authorization": value.decode("latin-1")})
                if token is not None and looks_like_jwt(token):
                    await self.tokens.prepare(token)
                return

    @staticmethod
    def decide(access: Access, request: Request) -> Principal | None:
        """Reads need a read scope; a POST to items may be a search (CQL2-JSON) or a
        create, so it needs read or write here and the route decides which."""
        _, collection, items = target(get_route_path(request.scope))
        method = request.method
        if method in ("GET", "HEAD"):
            if collection is None:
                return access.decide_tenant_read(request.headers)
            return access.decide(request.headers, collection, "read")
        if method == "POST" and items:
            try:
                return access.decide(request.headers, collection, "read")
            except GatewayError:
                return access.decide(request.headers, collection, "write")
        return None


def _private(send: Send) -> Send:
    """Answers of a closed tenant are for the one client: no shared cache may keep them."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
            kept = [v for k, v in message.get("headers", []) if k == b"cache-control"]
            value = kept[0] if kept else b""
            if b"no-store" not in value and b"private" not in value:
                value = b"private, " + value if value else b"private"
            message["headers"] = [*headers, (b"cache-control", value.replace(b"public, ", b""))]
        await send(message)

    return sending
