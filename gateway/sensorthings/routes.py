"""SensorThings routes: thin. Parse the path and the options, check the API key for writes,
call the tenant's (or the federated) service, encode the answer.

Every error on these paths, including unknown paths and methods, is answered here in the
STA error shape `{"type": "error", "code": …, "message": …}`; the OGC-shaped handlers of
`gateway.app` never see them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from gateway.access.audit import audit
from gateway.access.openapi import ApiSecurity
from gateway.bodies import read_body
from gateway.config import ServerSettings
from gateway.context import REQUEST_ID
from gateway.errors import GatewayError, NotFound, log_answer, partial_warning
from gateway.features.encoders import StreamedJSON
from gateway.features.links import OPENAPI, base_url
from gateway.sensorthings import openapi
from gateway.sensorthings.auth import authorize_write
from gateway.sensorthings.encode import Links, entity_set_pieces
from gateway.sensorthings.errors import (
    ON_ACTION,
    ON_COLLECTION,
    ON_ENTITY,
    ON_ROOT,
    Forbidden,
    InvalidBody,
    InvalidParameter,
    MethodNotAllowed,
    error_body,
)
from gateway.sensorthings.odata.options import QueryOptions, parse_options
from gateway.sensorthings.paths import ResourcePath, parse_path
from gateway.sensorthings.root import (
    MQTT_CREATE,
    MQTT_RECEIVE,
    conformance,
    mqtt_settings,
    root_document,
)
from gateway.sensorthings.service import parse_body
from gateway.sensorthings.store.read import RawValue
from gateway.sensorthings.store.stream import EntitySetStream
from gateway.sensorthings.ws.endpoint import ws_endpoint
from gateway.usage.served import counted_chunks, served

log = logging.getLogger("twinbridge.sensorthings")
VERSION = "v1.1"
JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]
FAILED = "@twinbridge.failedSources"
_ACTIONS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}


class AnyPath(Convertor[str]):
    """Starlette's `path` convertor stops at a newline (a percent-decoded %0A in an id), and
    the request would fall through to the Features routes and their error shape."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anypath", AnyPath())


class Service(Protocol):
    """What the routes need from a SensorThings service: the embedded store
    (`service.EmbeddedService`), an upstream (`proxy.UpstreamService`) and the federated
    view (`federated.FederatedService`) all offer it; the read-only ones refuse writes by
    `writable = False` before any write method is called."""

    writable: bool
    multi_datastream: bool
    api_key_env: str | None

    async def get(self, path: ResourcePath, options: QueryOptions, links: Links) -> Any: ...

    async def create(self, path: ResourcePath, body: Any, links: Links) -> Any: ...

    async def update(
        self, path: ResourcePath, body: Any, links: Links, replace_all: bool
    ) -> Any: ...

    async def delete(self, path: ResourcePath) -> None: ...

    async def create_observations(self, body: Any, links: Links) -> list[str]: ...


def sta_json(doc: Any, status: int = 200, media_type: str = JSON, **headers: str) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=media_type, headers=headers)


def sta_error(status: int, message: str, **headers: str) -> Response:
    body = {**error_body(status, message), "requestId": REQUEST_ID.get()}
    return sta_json(body, status, **headers)


def allowed(service: Service, path: ResourcePath) -> tuple[str, ...]:
    """The methods a resource takes, for the Allow header of a 405."""
    if path.is_root:
        return ON_ROOT
    if path.action is not None:
        return ON_ACTION
    if not service.writable:
        return ON_ROOT
    return ON_COLLECTION if path.is_collection else ON_ENTITY


class AnyMethod:
    """An endpoint as a plain ASGI app, which Starlette routes for every method: a method
    not served is then answered by `dispatch` (405 with Allow, in the STA error shape),
    not by the router in the OGC shape."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler  # what HTTP caching recognises the route by
        self.app = request_response(handler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class SensorThings:
    def __init__(
        self, server: ServerSettings, services: dict[str, Service], federated: Service | None = None
    ) -> None:
        self.server = server
        self.settings = server.sensorthings
        self.limits = self.settings.odata_limits()
        self.services = services
        self.federated = federated
        self.security: dict[str, ApiSecurity | None] = {}  # tenant -> its API's, set by the facade
        self.mqtt: Any | None = None  # the bridge, when a broker is configured
        self.websockets: Any | None = None  # ws.endpoint.MqttWebSockets, once started

    def routes(self) -> list[Route]:
        return [
            Route("/sta/{version}", AnyMethod(self.federated_root)),
            Route("/sta/{version}/{path:anypath}", AnyMethod(self.federated_root)),
            Route("/{tenant}/sta/{version}", AnyMethod(self.tenant_root)),
            Route("/{tenant}/sta/{version}/{path:anypath}", AnyMethod(self.tenant_root)),
        ]

    async def tenant_root(self, request: Request) -> Response:
        return await self._guarded(request, self._tenant)

    async def federated_root(self, request: Request) -> Response:
        return await self._guarded(request, self._federated)

    async def _guarded(self, request: Request, handler: Any) -> Response:
        try:
            version = request.path_params["version"]
            if version != VERSION:
                raise NotFound(f"unknown SensorThings version '{version}' (this is {VERSION})")
            return await handler(request)
        except GatewayError as e:
            log_answer(log, request.url.path, e)
            return sta_error(e.status, e.description, **e.headers())
        except Exception:
            log.exception(
                "request_id=%s unexpected error on %s", REQUEST_ID.get(), request.url.path
            )
            return sta_error(500, "an unexpected error occurred")

    async def _tenant(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        service = self.services.get(tenant)
        if service is None:
            raise NotFound(f"no SensorThings service for tenant '{tenant}'")
        links = Links(f"{base_url(request, self.server)}/{tenant}/sta/{VERSION}")
        return await self.dispatch(
            request, service, links, self._root_doc(request, service, links, tenant)
        )

    async def _federated(self, request: Request) -> Response:
        if self.federated is None:
            raise NotFound("no tenant offers SensorThings")
        links = Links(f"{base_url(request, self.server)}/sta/{VERSION}")
        return await self.dispatch(
            request, self.federated, links, self._root_doc(request, self.federated, links, None)
        )

    def _root_doc(
        self, request: Request, service: Service, links: Links, tenant: str | None
    ) -> dict[str, Any]:
        broker = (
            self.mqtt.endpoint_for(tenant) if self.mqtt is not None and tenant is not None else None
        )
        sockets = self.websockets
        on_socket = sockets.offers(tenant) if sockets is not None else (False, False)
        endpoint = ws_endpoint(base_url(request, self.server), tenant)
        mqtt = mqtt_settings(endpoint, on_socket, broker)
        classes = conformance(
            service.writable, service.multi_datastream, MQTT_CREATE in mqtt, MQTT_RECEIVE in mqtt
        )
        return root_document(links.root, classes, mqtt)

    async def dispatch(
        self, request: Request, service: Service, links: Links, root_doc: dict[str, Any]
    ) -> Response:
        method = request.method
        if request.path_params.get("path", "").rstrip("/") == "api" and method in ("GET", "HEAD"):
            return self._api(service, links, self.security.get(request.path_params.get("tenant")))
        path = parse_path(request.path_params.get("path", ""))
        if method not in METHODS:
            raise MethodNotAllowed(f"{method} is not served here", allowed(service, path))
        if method in ("GET", "HEAD"):
            if path.is_root:
                return sta_json(root_doc)
            if path.action is not None:
                raise MethodNotAllowed(f"{path.action} only accepts POST", ON_ACTION)
            options = parse_options(request.query_params.multi_items(), self.limits)
            if options.result_format and path.type.name != "Observation":
                raise InvalidParameter("$resultFormat", "dataArray is for Observations only")
            read = getattr(service, "stream", service.get)  # the embedded store streams
            return self._answer(await read(path, options, links), request.scope)
        if not service.writable:
            raise Forbidden("this SensorThings service is read-only")
        return await self._write(request, service, path, links)

    async def _write(
        self, request: Request, service: Service, path: ResourcePath, links: Links
    ) -> Response:
        """A write by an authorized principal, with its audit line whatever the outcome."""
        tenant = request.path_params["tenant"]
        principal = authorize_write(request, tenant, service.api_key_env)
        action = _ACTIONS.get(request.method, request.method.lower())
        source = f"{tenant}/sta"
        try:
            response = await self._change(request, service, path, links)
        except GatewayError as e:
            audit(principal, action, request.url.path, source, f"{e.status} {e.code}")
            raise
        except Exception:
            audit(principal, action, request.url.path, source, "500 failed")
            raise
        audit(principal, action, request.url.path, source, str(response.status_code))
        return response

    async def _change(
        self, request: Request, service: Service, path: ResourcePath, links: Links
    ) -> Response:
        method = request.method
        if method == "DELETE":
            await service.delete(path)
            return Response(status_code=200)
        body = await self._body(request)
        if method == "POST":
            return await self._post(service, path, body, links)
        if path.is_root or path.action is not None:
            raise MethodNotAllowed(
                f"{method} needs an entity", ON_ACTION if path.action else ON_ROOT
            )
        is_patch = request.headers.get("content-type", "").startswith(JSON_PATCH)
        if is_patch != isinstance(body, list):
            raise InvalidBody(
                "JSON Patch needs a JSON array with Content-Type application/json-patch+json"
            )
        doc = await service.update(path, body, links, replace_all=method == "PUT")
        return sta_json(doc)

    async def _post(
        self, service: Service, path: ResourcePath, body: Any, links: Links
    ) -> Response:
        if path.action == "CreateObservations":
            return sta_json(await service.create_observations(body, links), 201)
        if path.is_root:
            raise MethodNotAllowed("POST needs a collection, e.g. /Things", ON_ROOT)
        created = await service.create(path, body, links)
        return sta_json(created.doc, 201, Location=links.entity(created.etype, created.id))

    async def _body(self, request: Request) -> Any:
        return parse_body(await read_body(request, self.settings.max_body_bytes))

    @staticmethod
    def _api(service: Service, links: Links, security: ApiSecurity | None) -> Response:
        title = getattr(service, "title", None) or "SensorThings API"
        doc = openapi.document(
            links.root, title, service.writable, service.multi_datastream, security
        )
        return sta_json(doc, media_type=OPENAPI)

    @staticmethod
    def _answer(result: Any, scope: Scope) -> Response:
        """The answer of a read; the entities it holds are counted for the usage KPIs."""
        if isinstance(result, EntitySetStream):
            chunks = counted_chunks(scope, result.chunks())
            pieces = entity_set_pieces(result.count, chunks, result.tail)
            return StreamedJSON(pieces, media_type=JSON)
        if isinstance(result, RawValue):
            if result.text is None:
                return Response(status_code=204)
            served(scope, 1)
            return Response(result.text, media_type="text/plain; charset=utf-8")
        values = result.get("value") if isinstance(result, dict) else None
        served(scope, len(values) if isinstance(values, list) else 1)
        failed = result.get(FAILED) if isinstance(result, dict) else None
        if failed:
            return sta_json(result, Warning=partial_warning(failed))
        return sta_json(result)
