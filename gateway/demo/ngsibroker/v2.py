"""The NGSI-v2 entity routes (Orion's API as its manual states it): `/version`, `/v2`,
`/v2/entities` (with and without the trailing slash FiLiP sends), one entity, its
attributes and attribute values. Batch operations, types and subscriptions are in
v2ops.py and subscriptions.py."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.demo.ngsibroker import v2write
from gateway.demo.ngsibroker.store import Attribute, BrokerError, Entity, bad_request
from gateway.demo.ngsibroker.v2common import (
    Json,
    guarded,
    json_body,
    json_object,
    mode,
    names,
    no_content,
    options,
    paging,
    path_for_write,
    scope,
    store_of,
    tenant,
)
from gateway.demo.ngsibroker.v2search import order, render, render_all, search_of, select

VERSION = {
    "orion": {
        "version": "3.12.0",
        "uptime": "0 d, 0 h, 0 m, 1 s",
        "git_hash": "twinbridge-test-broker",
        "compile_time": "nodate",
        "compiled_by": "twinbridge",
        "compiled_in": "python",
        "release_date": "nodate",
        "machine": "x86_64",
        "doc": "https://fiware-orion.rtfd.io/",
        "libversions": {},
    }
}


def notify(request: Request, entity: Entity, touched: set[str]) -> None:
    """Tell the subscriptions of the request's tenant that `entity` changed."""
    service = request.headers.get("fiware-service", "").lower()
    request.app.state.ngsi_notifier.changed(service, tenant(request).subscriptions, entity, touched)


def query_entities(
    request: Request,
    selectors: list[dict[str, Any]],
    attrs: list[str] | None,
    metadata: list[str] | None,
    expression: dict[str, Any] | None = None,
) -> Response:
    """GET /v2/entities and POST /v2/op/query: select (an OR over `selectors`, each ANDed
    with `expression`), order, page, render."""
    found_options = options(request)
    limit, offset = paging(request)
    searches = [search_of(selector, expression) for selector in selectors]
    visible = tenant(request).visible(scope(request))
    chosen: dict[int, Entity] = {}
    for search in searches:
        chosen.update((e.seq, e) for e in select(visible, search))
    ordered = order(list(chosen.values()), request.query_params.get("orderBy"), searches[0])
    page = render_all(ordered[offset : offset + limit], mode(found_options), attrs, metadata)
    headers = {"Fiware-Total-Count": str(len(ordered))} if "count" in found_options else None
    return Json(page, headers=headers)


@guarded
async def version(request: Request) -> Response:
    return Json(VERSION)


@guarded
async def resources(request: Request) -> Response:
    return Json(
        {
            "entities_url": "/v2/entities",
            "types_url": "/v2/types",
            "subscriptions_url": "/v2/subscriptions",
            "registrations_url": "/v2/registrations",
        }
    )


@guarded
async def list_entities(request: Request) -> Response:
    params: dict[str, Any] = {
        k: v
        for k, v in request.query_params.items()
        if k
        in ("id", "idPattern", "type", "typePattern", "q", "mq", "georel", "geometry", "coords")
    }
    return query_entities(request, [params], names(request, "attrs"), names(request, "metadata"))


@guarded
async def create_entity(request: Request) -> Response:
    body = await json_body(request)
    found = options(request)
    entity, touched, created = v2write.create(
        tenant(request),
        path_for_write(request),
        body,
        key_values="keyValues" in found,
        upsert="upsert" in found,
    )
    notify(request, entity, touched)
    location = {"Location": f"/v2/entities/{entity.id}?type={entity.type}"}
    return Response(status_code=201 if created else 204, headers=location)


def _entity(request: Request) -> Entity:
    entity_type = request.query_params.get("type")
    return tenant(request).find(scope(request), request.path_params["entity_id"], entity_type)


@guarded
async def get_entity(request: Request) -> Response:
    doc = render(
        _entity(request),
        mode(options(request)),
        names(request, "attrs"),
        names(request, "metadata"),
    )
    return Json(doc)


@guarded
async def delete_entity(request: Request) -> Response:
    entity = _entity(request)
    tenant(request).remove(entity)
    return no_content()


@guarded
async def get_attrs(request: Request) -> Response:
    doc = render(
        _entity(request),
        mode(options(request)),
        names(request, "attrs"),
        names(request, "metadata"),
    )
    if isinstance(doc, dict):
        doc.pop("id", None)
        doc.pop("type", None)
    return Json(doc)


def _attrs_body(request: Request, body: Any) -> dict[str, Attribute]:
    return v2write.parse_attrs(json_object(body), key_values="keyValues" in options(request))


@guarded
async def post_attrs(request: Request) -> Response:
    """Append (update existing, add new); `options=append`: strict, 422 on existing."""
    entity = _entity(request)
    attrs = _attrs_body(request, await json_body(request))
    found = options(request)
    touched = v2write.append(
        entity, attrs, strict="append" in found, override_metadata="overrideMetadata" in found
    )
    notify(request, entity, touched)
    return no_content()


@guarded
async def patch_attrs(request: Request) -> Response:
    entity = _entity(request)
    attrs = _attrs_body(request, await json_body(request))
    override = "overrideMetadata" in options(request)
    touched = v2write.update(entity, attrs, override_metadata=override)
    notify(request, entity, touched)
    return no_content()


@guarded
async def put_attrs(request: Request) -> Response:
    entity = _entity(request)
    touched = v2write.replace(entity, _attrs_body(request, await json_body(request)))
    notify(request, entity, touched)
    return no_content()


def _attribute(request: Request) -> tuple[Entity, str, Attribute]:
    entity = _entity(request)
    name = request.path_params["attr_name"]
    attr = entity.attrs.get(name)
    if attr is None:
        raise BrokerError(404, "NotFound", "The entity does not have such an attribute")
    return entity, name, attr


@guarded
async def get_attribute(request: Request) -> Response:
    _, _, attr = _attribute(request)
    return Json(attr.render(names(request, "metadata")))


@guarded
async def put_attribute(request: Request) -> Response:
    entity, name, _ = _attribute(request)
    attr = Attribute.parse(name, json_object(await json_body(request)), key_values=False)
    override = "overrideMetadata" in options(request)
    v2write.update(entity, {name: attr}, override_metadata=override)
    notify(request, entity, {name})
    return no_content()


@guarded
async def delete_attribute(request: Request) -> Response:
    entity, name, _ = _attribute(request)
    v2write.delete_attrs(entity, [name])
    return no_content()


@guarded
async def get_value(request: Request) -> Response:
    """An object or array as JSON; any other value as text/plain holding its JSON text
    (`"abc"`, `21.5`), which a client accepting only application/json gets a 406 for."""
    _, _, attr = _attribute(request)
    if isinstance(attr.value, dict | list):
        return Json(attr.value)
    accept = request.headers.get("accept", "*/*")
    if not any(kind in accept for kind in ("text/plain", "*/*", "text/*")):
        raise BrokerError(406, "NotAcceptable", "accepted MIME types: text/plain")
    return Response(orjson.dumps(attr.value), media_type="text/plain")


@guarded
async def put_value(request: Request) -> Response:
    entity, name, attr = _attribute(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = (await request.body()).decode("utf-8", "replace")
    if kind == "text/plain":
        try:
            value: Any = orjson.loads(raw)
            if isinstance(value, dict | list):
                raise bad_request("a text/plain value cannot be an object or array")
        except orjson.JSONDecodeError:
            value = raw
    else:
        value = await json_body(request)
    updated = Attribute.parse(
        name, {"value": value, "type": attr.type, "metadata": attr.metadata}, key_values=False
    )
    entity.attrs[name] = updated
    entity.touch()
    notify(request, entity, {name})
    return no_content()


def _both(path: str, endpoint: Any, methods: list[str]) -> list[Route]:
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


def routes() -> list[Route]:
    one = "/v2/entities/{entity_id}"
    return [
        Route("/version", version, methods=["GET"]),
        *_both("/v2", resources, ["GET"]),
        *_both("/v2/entities", list_entities, ["GET"]),
        *_both("/v2/entities", create_entity, ["POST"]),
        *_both(one, get_entity, ["GET"]),
        *_both(one, delete_entity, ["DELETE"]),
        *_both(f"{one}/attrs", get_attrs, ["GET"]),
        *_both(f"{one}/attrs", post_attrs, ["POST"]),
        *_both(f"{one}/attrs", patch_attrs, ["PATCH"]),
        *_both(f"{one}/attrs", put_attrs, ["PUT"]),
        *_both(f"{one}/attrs/{{attr_name}}", get_attribute, ["GET"]),
        *_both(f"{one}/attrs/{{attr_name}}", put_attribute, ["PUT"]),
        *_both(f"{one}/attrs/{{attr_name}}", delete_attribute, ["DELETE"]),
        *_both(f"{one}/attrs/{{attr_name}}/value", get_value, ["GET"]),
        *_both(f"{one}/attrs/{{attr_name}}/value", put_value, ["PUT"]),
    ]


__all__ = ["notify", "query_entities", "routes", "store_of"]
