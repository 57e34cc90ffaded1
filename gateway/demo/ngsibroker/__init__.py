"""A protocol-faithful NGSI test broker: Orion's NGSI-v2 API as its manual states it
(entities, attributes, batch operations, types, subscriptions with notifications), in
memory. The demo starts it in-process; tests start it on a loopback port. `create_app`
is composable: the NGSI-LD routes join the same app (and the same store) with `ld=True`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from gateway.demo.ngsibroker.ldhttp import problem
from gateway.demo.ngsibroker.ldstore import LdError, LdStore
from gateway.demo.ngsibroker.store import Store
from gateway.demo.ngsibroker.subscriptions import Notifier


def create_app(
    *,
    v2: bool = True,
    ld: bool = False,
    store: Store | None = None,
    ld_store: LdStore | None = None,
    extra: list[BaseRoute] = (),
) -> Starlette:
    """The broker as an ASGI app; `extra` routes share its store, which is
    `app.state.ngsi_store`. NGSI-LD keeps its own entities (expanded names, tenants,
    history) in `app.state.ld_store`."""
    routes: list[BaseRoute] = []
    if v2:
        from gateway.demo.ngsibroker import subscriptions, v2, v2ops

        routes += [*v2.routes(), *v2ops.routes(), *subscriptions.routes()]
    if ld:
        from gateway.demo.ngsibroker import ld as ld_routes

        routes += ld_routes.routes()
    routes += list(extra)
    notifier = Notifier()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await notifier.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.state.ngsi_store = store if store is not None else Store()
    app.state.ngsi_notifier = notifier
    app.state.ld_store = ld_store if ld_store is not None else LdStore()
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/ngsi-ld/"):
        return problem(LdError(404, "ResourceNotFound", "no such resource"))
    return JSONResponse(
        {"error": "BadRequest", "description": f"service '{request.url.path[:100]}' not found"},
        status_code=400,
    )


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"error": "MethodNotAlowed", "description": "method not allowed"}, status_code=405
    )


__all__ = ["LdStore", "Store", "create_app"]
