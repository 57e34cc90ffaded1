"""The NGSI-LD test broker served over loopback HTTP for a test module (the product's broker
app with its LD routes, uvicorn in a thread on a free port), so that clients talk to it
exactly as to Orion-LD or Stellio; it records the requests it receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette

from gateway.demo.ngsibroker import create_app
from gateway.demo.ngsibroker.ldstore import LdStore
from gateway.demo.ngsibroker.serve import serving


@dataclass(frozen=True)
class Broker:
    url: str  # the broker's root, e.g. http://127.0.0.1:40123
    store: LdStore
    app: Starlette
    requests: list[tuple[str, str, dict[str, str]]]  # (path, query, headers) as received

    def queries(self) -> list[dict[str, str]]:
        """The parameters of each request received so far (last value of each name)."""
        return [dict(parse_qsl(query)) for _, query, _ in self.requests]


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Any ASGI app on a loopback port for the block; yields its root URL."""
    with serving(app) as url:
        yield url


@contextmanager
def ld_broker() -> Iterator[Broker]:
    store = LdStore()
    app = create_app(v2=True, ld=True, ld_store=store)
    seen: list[tuple[str, str, dict[str, str]]] = []

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            seen.append((scope["path"], scope["query_string"].decode(), headers))
        await app(scope, receive, send)

    with serving(recorded) as url:  # type: ignore[arg-type]
        yield Broker(url, store, app, seen)
