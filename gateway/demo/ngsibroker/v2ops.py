"""Batch operations (`POST /v2/op/update`, `POST /v2/op/query`) and entity types
(`/v2/types`), as Orion's manual states them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.demo.ngsibroker import v2write
from gateway.demo.ngsibroker.store import BrokerError, Entity, Tenant, bad_request
from gateway.demo.ngsibroker.v2 import notify, query_entities
from gateway.demo.ngsibroker.v2common import (
    Json,
    guarded,
    json_body,
    json_object,
    no_content,
    options,
    paging,
    path_for_write,
    scope,
    tenant,
)

ACTIONS = ("append", "appendStrict", "update", "delete", "replace")


def _existing(request: Request, t: Tenant, body: dict[str, Any]) -> Entity:
    entity_id, _ = v2write.entity_head({"type": "Thing", **body})
    return t.find(scope(request), entity_id, body.get("type"))


def _apply(request: Request, action: str, body: Any, key_values: bool) -> None:
    t = tenant(request)
    if action in ("append", "appendStrict"):
        entity_id, entity_type = v2write.entity_head(body)
        found = t.entities.get((path_for_write(request), entity_id, entity_type))
        if found is None:
            entity, touched, _ = v2write.create(
                t, path_for_write(request), body, key_values=key_values, upsert=False
            )
        else:
            attrs = v2write.parse_attrs(body, key_values=key_values)
            entity, touched = found, v2write.append(found, attrs, strict=action == "appendStrict")
        notify(request, entity, touched)
        return
    entity = _existing(request, t, body)
    if action == "delete":
        attrs = [n for n in body if n not in ("id", "type")]
        if attrs:
            v2write.delete_attrs(entity, attrs)
        else:
            t.remove(entity)
        return
    attrs = v2write.parse_attrs(body, key_values=key_values)
    if action == "update":
        touched = v2write.update(entity, attrs)
    else:
        touched = v2write.replace(entity, attrs)
    notify(request, entity, touched)


@guarded
async def batch_update(request: Request) -> Response:
    """Applies each entity in turn; the first failure answers (earlier ones stay done,
    as in Orion)."""
    doc = json_object(await json_body(request))
    action, entities = doc.get("actionType"), doc.get("entities")
    if action not in ACTIONS:
        raise bad_request(f"invalid update action type: {str(action)[:40]}")
    if not isinstance(entities, list):
        raise bad_request("entities must be a JSON array")
    key_values = "keyValues" in options(request)
    for body in entities:
        if not isinstance(body, dict):
            raise bad_request("an entity must be a JSON object")
        _apply(request, action, body, key_values)
    return no_content()


@guarded
async def batch_query(request: Request) -> Response:
    """POST /v2/op/query: `entities` (OR of id/idPattern with type/typePattern), `attrs`,
    `expression`, `metadata`; paging and options as GET /v2/entities."""
    doc = json_object(await json_body(request))
    wanted = doc.get("entities") or [{"idPattern": ".*"}]
    if not isinstance(wanted, list):
        raise bad_request("entities must be a JSON array")
    expression = doc.get("expression") or None
    if expression is not None:
        json_object(expression)
    keys = ("id", "idPattern", "type", "typePattern")
    selectors = [{k: v for k, v in json_object(item).items() if k in keys} for item in wanted]
    attrs, metadata = doc.get("attrs") or None, doc.get("metadata") or None
    return query_entities(request, selectors, attrs, metadata, expression)


def _types(request: Request) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entity in tenant(request).visible(scope(request)):
        item = found.setdefault(entity.type, {"attrs": {}, "count": 0})
        item["count"] += 1
        for name, attr in entity.attrs.items():
            kinds = item["attrs"].setdefault(name, {"types": []})["types"]
            if attr.type not in kinds:
                kinds.append(attr.type)
    return found


@guarded
async def list_types(request: Request) -> Response:
    limit, offset = paging(request)
    found = options(request)
    types = _types(request)
    headers = {"Fiware-Total-Count": str(len(types))} if "count" in found else None
    names = sorted(types)[offset : offset + limit]
    if "values" in found:
        return Json(names, headers=headers)
    return Json([{"type": n, **types[n]} for n in names], headers=headers)


@guarded
async def get_type(request: Request) -> Response:
    found = _types(request).get(request.path_params["type_name"])
    if found is None:
        raise BrokerError(404, "NotFound", "Entity type not found")
    return Json(found)


def routes() -> list[Route]:
    return [
        Route("/v2/op/update", batch_update, methods=["POST"]),
        Route("/v2/op/query", batch_query, methods=["POST"]),
        Route("/v2/types", list_types, methods=["GET"]),
        Route("/v2/types/", list_types, methods=["GET"]),
        Route("/v2/types/{type_name}", get_type, methods=["GET"]),
    ]


__all__ = ["routes"]
