"""The ASGI application: catalog, facades, error handling, request logging."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import metrics
from gateway.access import Access
from gateway.access.oidc import Tokens
from gateway.access.openapi import api_security
from gateway.access.reading import ClosedReading
from gateway.assets import static_mount
from gateway.catalog import Catalog
from gateway.config import LoadedConfig
from gateway.context import REQUEST_ID, new_request_id
from gateway.datacatalog.service import CatalogService
from gateway.errors import GatewayError, Unauthorized, log_answer
from gateway.features.cursor import Cursors, derived_key
from gateway.features.encoders import html_response, json_response, negotiate
from gateway.features.links import base_url
from gateway.features.routes import Features
from gateway.features.views import build_views
from gateway.features.write import Writes
from gateway.httpcache.conditional import ConditionalRequests
from gateway.httpcache.middleware import ResponseCache
from gateway.httpcache.resolve import Validators
from gateway.ratelimit.wiring import add_rate_limits
from gateway.sensorthings.facade import StaFacade
from gateway.sensorthings.routes import sta_error
from gateway.shared.state import SharedState
from gateway.shared.wiring import build_shared, response_store
from gateway.usage.middleware import UsageCounter
from gateway.usage.service import Usage
from gateway.usage.wiring import build_usage
from gateway.web.compression import Compression
from gateway.web.cors import Cors

log = logging.getLogger("twinbridge.access")
errors_log = logging.getLogger("twinbridge.errors")


def error_response(
    request: Request,
    status: int,
    code: str,
    description: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    doc = {"code": code, "description": description, "requestId": REQUEST_ID.get()}
    if request.method != "HEAD" and negotiate(request, None) == "html":
        settings = getattr(request.app.state, "server_settings", None)
        static = f"{base_url(request, settings)}/static" if settings else "/static"
        doc = {**doc, "status": status}
        response = html_response("error", doc, f"{status} {code}", [], status, static=static)
    else:
        response = json_response(doc, status=status)
    response.headers.update(headers or {})
    return response


async def on_gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    log_answer(errors_log, request.url.path, exc)
    return error_response(request, exc.status, exc.code, exc.description, exc.headers())


def refusal(request: Request, exc: GatewayError) -> Response:
    """A 401/403 of closed reading, in the shape of the facade the path belongs to."""
    if get_route_path(request.scope).split("/", 3)[2:3] == ["sta"]:  # /{tenant}/sta/...
        return sta_error(exc.status, exc.description, **exc.headers())
    return error_response(request, exc.status, exc.code, exc.description, exc.headers())


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
    return error_response(request, exc.status_code, code, str(exc.detail), exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    errors_log.exception("request_id=%s unexpected error on %s", REQUEST_ID.get(), request.url.path)
    return error_response(request, 500, "ServerError", "an unexpected error occurred")


class RequestLog:
    """One structured line per request, with a request id echoed as X-Request-Id, and the
    time to the response's start as Server-Timing (what the gateway spent, whatever the
    network added). A streamed answer cut off after its start (its source failed) is
    logged and counted with status e.g. `200-aborted`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        offered = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        request_id = new_request_id(offered.decode("latin-1"))
        REQUEST_ID.set(request_id)
        status, complete = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            elif message["type"] == "http.response.start":
                status = message["status"]
                took = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"server-timing", f"app;dur={took:.1f}".encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get(metrics.ROUTE_KEY, "unmatched")
            outcome = status if complete or status == 500 else f"{status}-aborted"
            internal = scope.get(metrics.INTERNAL_KEY, False)
            if not internal:
                metrics.observe_request(route, scope["method"], outcome, seconds)
            if log.isEnabledFor(logging.DEBUG if internal else logging.INFO):
                query = scope.get("query_string", b"").decode("latin-1")
                log.log(
                    logging.DEBUG if internal else logging.INFO,
                    "request_id=%s method=%s path=%s query=%s status=%s ms=%.1f",
                    request_id,
                    scope["method"],
                    scope["path"],
                    query or "-",
                    outcome,
                    seconds * 1000,
                )


def _cursor_key(loaded: LoadedConfig) -> bytes:
    secret = loaded.config.server.cursor_secret
    if secret is not None:
        return secret.get_secret_value().encode()
    return derived_key(loaded.config.model_dump_json())


def create_app(loaded: LoadedConfig) -> Starlette:
    catalog = Catalog(loaded)
    closed = frozenset(t for t, cfg in loaded.config.tenants.items() if not cfg.access.public_read)
    root, tenants = build_views(catalog, closed)
    for tid, view in tenants.items():  # the federated root takes no credential
        view.security = api_security(loaded.config.tenants[tid].access, loaded.config.server.access)
    features = Features(loaded.config.server, root, tenants, Cursors(_cursor_key(loaded)))

    sensorthings = StaFacade(loaded)
    data_catalog = CatalogService(catalog, loaded, sensorthings)
    pages = [*features.item_routes(), *features.routes()]
    usage = build_usage(
        loaded,
        features,
        {
            "features": pages,
            "sensorthings": sensorthings.api.routes(),  # not the sync webhook
            "catalog": data_catalog.routes(),
        },
        data_catalog.api.datasets,
    )
    data_catalog.api.usage = usage if usage.enabled else None
    sta_figures = data_catalog.refresher.sensorthings
    if sta_figures is not None:  # which Datastream declares which profile, as they learn it
        sta_figures.on_datastreams = usage.attribution.learn
    shared = build_shared(loaded.config.server.shared_state, catalog, sensorthings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await tokens.open()
        await shared.start()
        await catalog.open()
        await sensorthings.open()
        data_catalog.start(app)  # figures for /catalog, in the background
        usage.start()
        yield
        await usage.stop()
        await data_catalog.stop()
        await sensorthings.close()
        await catalog.close()
        await shared.stop()

    app = Starlette(lifespan=lifespan)
    app.state.catalog = catalog
    app.state.server_settings = loaded.config.server
    app.state.sensorthings = sensorthings
    app.state.data_catalog = data_catalog
    app.state.usage = usage
    tokens = Tokens(loaded.config.server.access.oidc, loaded.base_dir)
    app.state.access = {
        tid: Access(tid, t.access, tokens) for tid, t in loaded.config.tenants.items()
    }
    sensorthings.policies = app.state.access  # MQTT creates through the broker
    app.state.shared_state = shared

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def favicon(request: Request) -> Response:
        """Browsers ask for it beside every JSON document they show: no icon, and no 404
        in their console."""
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    async def ready(request: Request) -> Response:
        """Readiness of this instance: a city's outage must not make a load balancer drop
        every instance, so failed sources and open circuits only make it 'degraded'."""
        failed = [
            {"source": s.name, "error": s.open_error} for s in catalog.sources() if s.open_error
        ]
        circuits = [s.name for s in catalog.sources() if s.breaker.open]
        circuits += sensorthings.open_circuits()
        shared_state = shared.status()  # Redis down: each worker on its own, still serving
        down = shared_state is not None and shared_state["status"] != "ok"
        doc: dict[str, Any] = {
            "status": "degraded" if failed or circuits or down else "ready",
            "failed": failed,
            "open_circuits": circuits,
        }
        if shared_state is not None:
            doc["shared_state"] = shared_state
        return json_response(doc)

    metrics_token = loaded.config.server.metrics_token
    writes = Writes(features)

    async def metrics_endpoint(request: Request) -> Response:
        if metrics_token is not None:
            sent = request.headers.get("authorization", "")
            expected = f"Bearer {metrics_token.get_secret_value()}"
            if not hmac.compare_digest(sent.encode(), expected.encode()):
                raise Unauthorized("/metrics needs the metrics token (Authorization: Bearer …)")
        return await metrics.endpoint(request)

    app.router.routes.extend(
        metrics.label_routes(
            [
                *writes.routes(),  # before the reads: POST items may be a create
                *features.item_routes(),
                Route("/health", health, methods=["GET", "HEAD"]),
                Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
                Route("/ready", ready, methods=["GET", "HEAD"]),
                Route("/metrics", metrics_endpoint, methods=["GET"]),
                *data_catalog.routes(),
                *sensorthings.routes(),  # before the features' /{tenant}/... patterns
                static_mount(),
                *features.routes(),
            ]
        )
    )
    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    _stack_middleware(app, loaded, writes, sensorthings, shared, usage, tokens, closed)
    return app


def _stack_middleware(
    app: Starlette,
    loaded: LoadedConfig,
    writes: Writes,
    sensorthings: StaFacade,
    shared: SharedState,
    usage: Usage,
    tokens: Tokens,
    closed: frozenset[str],
) -> None:
    """Innermost first: validators (304s), compression, the response cache (it keeps the
    compressed bytes), closed reading, usage counting, rate limits, CORS, the log."""
    server = loaded.config.server
    validators = Validators(loaded, writes.features, app.router.routes, sensorthings)
    app.add_middleware(ConditionalRequests, validators=validators)
    app.state.validators = validators
    app.add_middleware(Compression, settings=server.compression)
    kept = server.http_cache.response_cache
    if kept.max_bytes > 0:
        store = response_store(shared, kept.max_bytes, kept.max_entry_bytes)
        app.add_middleware(
            ResponseCache, validators=validators, store=store, max_entry_bytes=kept.max_entry_bytes
        )
        app.state.response_store = store
    # outside the cache: a closed tenant's answer is never served without a read scope
    if closed or tokens.by_name:  # else nothing to do: no cost for public gateways
        app.add_middleware(ClosedReading, policies=app.state.access, tokens=tokens, render=refusal)
    if usage.enabled:  # outside the cache and compression: hits count, bytes as sent
        app.add_middleware(UsageCounter, usage=usage)
    add_rate_limits(app, loaded.config, shared)  # outside the cache: hits count too
    app.add_middleware(
        Cors,
        settings=server.cors,
        server=server,
        route_methods=writes.route_methods,  # what a write origin's preflight is told
        render=refusal,
    )
    app.add_middleware(RequestLog)
