"""How the write routes sit beside the read routes: they take every method but GET and
HEAD, and a POST on items that turns out to be a search is handed on with its body."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

READ = ("GET", "HEAD")
SEARCH = ("GET", "HEAD", "POST")  # POST on items: a CQL2-JSON search (Part 3) or a create
WRITE = ("PUT", "PATCH", "DELETE")


class WriteRoute(Route):
    """A route for every method but GET and HEAD, which stay with the read routes (and
    their caching): so a method neither serves is answered here, with the Allow header of
    the collection at hand (Starlette's would name the first route's methods only)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] in READ:
            return Match.NONE, {}
        match, child = super().matches(scope)
        return (Match.FULL if match is Match.PARTIAL else match), child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)  # the handler answers any method itself


def replayed(request: Request, body: bytes) -> Request:
    """The request again, its body already read: for the search route."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


__all__ = ["READ", "SEARCH", "WRITE", "WriteRoute", "replayed"]
