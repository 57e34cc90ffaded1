"""The REST test APIs served over loopback HTTP: uvicorn in a thread on a free port, once
per test session, plus a small hostile API for the error paths."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.demo.restapis import aot, barriers
from tests.conftest import free_port


def serve(app: Any) -> Iterator[str]:
    """`app` on 127.0.0.1 until the generator is closed; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class Apis:
    aot: str
    barriers: str
    hostile: str


async def _fail(request: Request) -> Response:
    return JSONResponse({"error": "internal", "message": "database connection lost"}, 500)


async def _shape(request: Request) -> Response:
    return JSONResponse({"result": {"rows": []}})


async def _not_array(request: Request) -> Response:
    return JSONResponse({"reports": {"id": 1}})


async def _html(request: Request) -> Response:
    return Response("<html>maintenance</html>", media_type="text/html")


async def _foreign(request: Request) -> Response:
    doc = {
        "data": [{"id": 1, "name": "a"}],
        "meta": {"links": {"next": "http://evil.example/steal?page=2"}},
    }
    return JSONResponse(doc, headers={"Link": '<http://evil.example/x>; rel="next"'})


async def _odd(request: Request) -> Response:
    """Items of unexpected types: not objects, no id, coordinates as text or garbage."""
    items = [
        {"id": 1, "lon": "9.99", "lat": "53.55", "name": "text coordinates"},
        {"id": 2, "lon": "east", "lat": None, "name": "no coordinates"},
        "not an object",
        {"name": "no id", "lon": 10, "lat": 53},
        {"id": {"nested": True}, "name": "an object as id"},
        {"id": 3, "lon": True, "lat": 53.5, "name": ["a", "list"]},
    ]
    return JSONResponse({"items": items, "total": "many"})


async def _private(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer s3cret":
        return JSONResponse({"error": "unauthorized"}, 401)
    return JSONResponse([{"id": "a", "lon": 10.0, "lat": 53.5}])


def hostile_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/fail", _fail),
            Route("/shape", _shape),
            Route("/not-array", _not_array),
            Route("/html", _html),
            Route("/foreign", _foreign),
            Route("/odd", _odd),
            Route("/private/reports", _private),
        ]
    )


@pytest.fixture(scope="session")
def rest_apis() -> Iterator[Apis]:
    servers = [serve(aot.create_app()), serve(barriers.create_app()), serve(hostile_app())]
    try:
        yield Apis(*(next(s) for s in servers))
    finally:
        for s in servers:
            s.close()


__all__ = ["Apis", "rest_apis", "serve"]
