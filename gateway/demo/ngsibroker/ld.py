"""NGSI-LD routes of the test broker (ETSI GS CIM 009 1.6+, as Orion-LD and Stellio serve
them): entities (with 1.6.1's Replace Entity, PUT), attributes, batch operations and types.
Temporal routes are in ldtemporal.py, subscriptions and notifications in ldsubs.py.

Paging (6.3.10, 6.3.13): `limit` defaults to 20 and may be at most MAX_LIMIT (1000, like
Orion-LD; beyond it 403 TooManyResults, table 6.3.2-1), `offset` skips, `count=true` adds
`NGSILD-Results-Count`; `limit=0` only with `count=true`. Routes answer with and without a
trailing slash (FiLiP calls `/entities/`).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.demo.ngsibroker import ldformat, ldsubs, ldtemporal
from gateway.demo.ngsibroker.ldhttp import (
    Handler,
    answer,
    entities_answer,
    guarded,
    json_body,
    names,
    paging,
    plain,
    problem_doc,
    read_context,
    store,
    tenant,
)
from gateway.demo.ngsibroker.ldselect import selection
from gateway.demo.ngsibroker.ldstore import LdError, LdStore, attributes

API = "/ngsi-ld/v1"


async def query_entities(request: Request) -> Response:
    ctx = read_context(request)
    params = request.query_params
    representation, sys_attrs = ldformat.options(params.get("options"), params.get("format"))
    limit, offset, count = paging(request)
    chosen = selection(params, ctx)
    found, total = chosen.page(tenant(request).entities.values(), offset, limit, count)
    attrs = names(request, ctx)
    page = [
        ldformat.entity(e, ctx, representation, attrs=attrs, sys_attrs=sys_attrs) for e in found
    ]
    headers = {"NGSILD-Results-Count": str(total)} if count else None
    return entities_answer(request, page, ctx, headers)


async def create_entity(request: Request) -> Response:
    body = await json_body(request)
    ctx = read_context(request, body)
    owner = tenant(request, create=True)
    entity = store(request).create(owner, body, ctx)
    await ldsubs.changed(request, owner, entity, None)
    return Response(status_code=201, headers={"Location": f"{API}/entities/{entity['id']}"})


async def read_entity(request: Request) -> Response:
    ctx = read_context(request)
    params = request.query_params
    representation, sys_attrs = ldformat.options(params.get("options"), params.get("format"))
    entity = store(request).get(tenant(request), request.path_params["entity_id"])
    out = ldformat.entity(
        entity, ctx, representation, attrs=names(request, ctx), sys_attrs=sys_attrs
    )
    return entities_answer(request, out, ctx)


async def replace_entity(request: Request) -> Response:
    body = await json_body(request)
    ctx = read_context(request, body)
    owner = tenant(request)
    entity = store(request).replace(owner, request.path_params["entity_id"], body, ctx)
    await ldsubs.changed(request, owner, entity, None)
    return Response(status_code=204)


async def delete_entity(request: Request) -> Response:
    store(request).delete(tenant(request), request.path_params["entity_id"])
    return Response(status_code=204)


async def update_attrs(request: Request) -> Response:
    """POST appends (overwriting unless options=noOverwrite); PATCH updates existing ones
    only: an attribute the entity lacks is reported in a 207 body (6.6.3.1, 6.6.3.2)."""
    body = await json_body(request)
    ctx = read_context(request, body)
    owner = tenant(request)
    entity_id = request.path_params["entity_id"]
    before = {name for name, _ in attributes(store(request).get(owner, entity_id))}
    if request.method == "POST" and "noOverwrite" in request.query_params.get("options", ""):
        body = {k: v for k, v in body.items() if ctx.expand(k) not in before}
    overwrite = request.method == "POST"
    entity, skipped = store(request).update(owner, entity_id, body, ctx, overwrite=overwrite)
    watched = {ctx.expand(k) for k in body} - {ctx.expand(s) for s in skipped}
    await ldsubs.changed(request, owner, entity, watched)
    if skipped:
        report = {
            "updated": [k for k in body if k not in skipped and k != "@context"],
            "notUpdated": [
                {"attributeName": s, "reason": "the entity has no such attribute"} for s in skipped
            ],
        }
        return plain(report, 207)
    return Response(status_code=204)


async def patch_attr(request: Request) -> Response:
    body = await json_body(request)
    ctx = read_context(request, body)
    owner = tenant(request)
    entity_id, attr = request.path_params["entity_id"], request.path_params["attr"]
    entity = store(request).get(owner, entity_id)
    stored = entity.get(ctx.expand(attr))
    if stored is None:
        raise LdError(404, "ResourceNotFound", f"{entity_id} has no attribute {attr[:80]}")
    merged = (
        {**(stored if isinstance(stored, dict) else {}), **body} if isinstance(body, dict) else body
    )
    merged.pop("createdAt", None)
    merged.pop("modifiedAt", None)
    entity, _ = store(request).update(owner, entity_id, {attr: merged}, ctx)
    await ldsubs.changed(request, owner, entity, {ctx.expand(attr)})
    return Response(status_code=204)


async def delete_attr(request: Request) -> Response:
    ctx = read_context(request)
    entity = store(request).get(tenant(request), request.path_params["entity_id"])
    name = ctx.expand(request.path_params["attr"])
    if name not in dict(attributes(entity)):
        raise LdError(404, "ResourceNotFound", "no such attribute")
    del entity[name]
    return Response(status_code=204)


async def batch(request: Request) -> Response:
    """entityOperations/create|upsert|update|delete: 201 (create, all new), 204, or 207 with
    `success` and `errors` (6.14-6.17)."""
    action = request.path_params["action"]
    if action not in ("create", "upsert", "update", "delete"):
        raise LdError(404, "ResourceNotFound", f"no batch operation {action[:40]}")
    body = await json_body(request)
    if not isinstance(body, list):
        raise LdError(400, "BadRequestData", "a batch body is a JSON array")
    owner = tenant(request, create=action in ("create", "upsert"))
    success: list[str] = []
    errors: list[dict[str, Any]] = []
    created = 0
    for item in body:
        entity_id = (
            item if action == "delete" else (item.get("id") if isinstance(item, dict) else None)
        )
        try:
            created += await _batch_one(request, owner, action, item)
            success.append(str(entity_id))
        except LdError as e:
            errors.append({"entityId": entity_id, "error": problem_doc(e)})
    if errors:
        return plain({"success": success, "errors": errors}, 207)
    if action == "create" or (action == "upsert" and created == len(body) and body):
        return plain(success, 201)
    return Response(status_code=204)


async def _batch_one(request: Request, owner: Any, action: str, item: Any) -> int:
    broker = store(request)
    if action == "delete":
        if not isinstance(item, str):
            raise LdError(400, "BadRequestData", "a batch delete lists entity ids")
        broker.delete(owner, item)
        return 0
    ctx = read_context(request, item)
    if action == "create":
        entity = broker.create(owner, item, ctx)
        await ldsubs.changed(request, owner, entity, None)
        return 1
    if action == "upsert":
        replace = "update" not in request.query_params.get("options", "")
        new = broker.upsert(owner, item, ctx, replace=replace)
        await ldsubs.changed(request, owner, broker.get(owner, item["id"]), None)
        return int(new)
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise LdError(400, "BadRequestData", "an entity needs an id")
    entity, _ = broker.update(owner, item["id"], item, ctx)
    await ldsubs.changed(request, owner, entity, None)
    return 0


async def list_types(request: Request) -> Response:
    ctx = read_context(request)
    found = store(request).types(tenant(request))
    if request.query_params.get("details") == "true":
        body: Any = [
            {
                "id": kind,
                "type": "EntityType",
                "typeName": ctx.compact(kind),
                "attributeNames": sorted(ctx.compact(a) for a in attrs),
            }
            for kind, attrs in found.items()
        ]
    else:
        body = {
            "id": "urn:ngsi-ld:EntityTypeList:broker",
            "type": "EntityTypeList",
            "typeList": sorted(ctx.compact(k) for k in found),
        }
    return answer(request, body, ctx)


def _both(path: str, handler: Handler, methods: list[str]) -> list[Route]:
    wrapped = guarded(handler)
    return [
        Route(API + path, wrapped, methods=methods),
        Route(API + path + "/", wrapped, methods=methods),
    ]


def create_ld_app(broker: LdStore | None = None) -> Starlette:
    """A broker with the NGSI-LD API only (its store: `broker`, or a new one)."""
    from gateway.demo.ngsibroker import create_app  # the package imports this module

    return create_app(v2=False, ld=True, ld_store=broker)


def routes() -> list[BaseRoute]:
    """The NGSI-LD routes; the app keeps an LdStore in `app.state.ld_store` (see
    gateway.demo.ngsibroker.create_app(ld=True))."""
    found: list[BaseRoute] = []
    found += _both("/entities", query_entities, ["GET"])
    found += _both("/entities", create_entity, ["POST"])
    found += _both("/entities/{entity_id}", read_entity, ["GET"])
    found += _both("/entities/{entity_id}", delete_entity, ["DELETE"])
    found += _both("/entities/{entity_id}", replace_entity, ["PUT"])
    found += _both("/entities/{entity_id}/attrs", update_attrs, ["POST", "PATCH"])
    found += _both("/entities/{entity_id}/attrs/{attr}", patch_attr, ["PATCH"])
    found += _both("/entities/{entity_id}/attrs/{attr}", delete_attr, ["DELETE"])
    found += _both("/entityOperations/{action}", batch, ["POST"])
    found += _both("/types", list_types, ["GET"])
    for path, handler, methods in ldsubs.ROUTES + ldtemporal.ROUTES:
        found += _both(path, handler, methods)
    return found


__all__ = ["create_ld_app", "routes"]
