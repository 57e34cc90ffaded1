"""The ASGI application: catalog, facades, error handling, request logging."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import metrics
from gateway.catalog import Catalog
from gateway.config import LoadedConfig
from gateway.errors import GatewayError
from gateway.features.cursor import Cursors, derived_key
from gateway.features.encoders import html_response, json_response, negotiate
from gateway.features.routes import Features
from gateway.features.views import build_views
from gateway.sensorthings.facade import StaFacade

log = logging.getLogger("twinbridge.access")
errors_log = logging.getLogger("twinbridge.errors")


def error_response(request: Request, status: int, code: str, description: str) -> Response:
    doc = {"code": code, "description": description}
    if request.method != "HEAD" and negotiate(request, None) == "html":
        return html_response("error", {**doc, "status": status}, f"{status} {code}", [], status)
    return json_response(doc, status=status)


async def on_gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    if exc.status >= 500:
        errors_log.warning("%s %s: %s", exc.status, request.url.path, exc.description)
    return error_response(request, exc.status, exc.code, exc.description)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
    return error_response(request, exc.status_code, code, str(exc.detail))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    errors_log.exception("unexpected error on %s", request.url.path)
    return error_response(request, 500, "ServerError", "an unexpected error occurred")


class RequestLog:
    """One structured line per request, with a request id echoed as X-Request-Id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get(metrics.ROUTE_KEY, "unmatched")
            metrics.observe_request(route, scope["method"], status, seconds)
            if log.isEnabledFor(logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                log.info(
                    "request_id=%s method=%s path=%s query=%s status=%s ms=%.1f",
                    request_id,
                    scope["method"],
                    scope["path"],
                    query or "-",
                    status,
                    seconds * 1000,
                )


def _cursor_key(loaded: LoadedConfig) -> bytes:
    secret = loaded.config.server.cursor_secret
    if secret is not None:
        return secret.get_secret_value().encode()
    return derived_key(loaded.config.model_dump_json())


def create_app(loaded: LoadedConfig) -> FastAPI:
    catalog = Catalog(loaded)
    root, tenants = build_views(catalog)
    features = Features(loaded.config.server, root, tenants, Cursors(_cursor_key(loaded)))

    sensorthings = StaFacade(loaded)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await catalog.open()
        await sensorthings.open()
        yield
        await sensorthings.close()
        await catalog.close()

    app = FastAPI(
        title="TwinBridge", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.catalog = catalog

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def ready(request: Request) -> Response:
        failed = [
            {"source": s.name, "error": s.open_error} for s in catalog.sources() if s.open_error
        ]
        doc: dict[str, Any] = {"status": "degraded" if failed else "ready", "failed": failed}
        doc["open_circuits"] = [s.name for s in catalog.sources() if s.breaker.open]
        return json_response(doc, status=503 if failed else 200)

    app.router.routes.extend(
        metrics.label_routes(
            [
                *features.item_routes(),
                Route("/health", health, methods=["GET", "HEAD"]),
                Route("/ready", ready, methods=["GET", "HEAD"]),
                Route("/metrics", metrics.endpoint, methods=["GET"]),
                *sensorthings.routes(),  # before the features' /{tenant}/... patterns
                *features.routes(),
            ]
        )
    )
    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_middleware(RequestLog)
    return app
