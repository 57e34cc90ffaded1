"""The NGSI-LD test broker served over loopback HTTP for a test module (uvicorn in a thread
on a free port), so that clients talk to it exactly as to Orion-LD or Stellio."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette

from gateway.demo.ngsibroker.ld import create_ld_app
from gateway.demo.ngsibroker.ldstore import LdStore
from tests.conftest import free_port


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
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the NGSI-LD test broker did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


@contextmanager
def ld_broker() -> Iterator[Broker]:
    store = LdStore()
    app = create_ld_app(store)
    seen: list[tuple[str, str, dict[str, str]]] = []

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            seen.append((scope["path"], scope["query_string"].decode(), headers))
        await app(scope, receive, send)

    with serve_app(recorded) as url:
        yield Broker(url, store, app, seen)
