"""The write operations (Part 4) in the OpenAPI document: POST on items, PUT, PATCH and
DELETE on an item, for exactly the collections that take writes."""

from __future__ import annotations

from typing import Any

from gateway.access.openapi import ApiSecurity
from gateway.features.views import ApiView

REF = "#/components"
_FEATURE = {"$ref": f"{REF}/schemas/featureGeoJSON"}
_EXCEPTION = {"application/json": {"schema": {"$ref": f"{REF}/schemas/exception"}}}
_STATUSES = {
    "400": "The body is not a valid feature for the collection (schema, mapping).",
    "401": "A credential is needed (WWW-Authenticate says which).",
    "403": "The credential lacks the write scope.",
    "404": "No such collection or item.",
    "409": "The source refused the write as conflicting with stored data.",
    "412": "If-Match names no current version of the item.",
    "413": "The body is larger than the server takes.",
    "415": "The body's media type is not taken.",
    "502": "The source failed.",
    "504": "The source did not answer in time.",
}
_CONTENT_CRS = {
    "name": "Content-Crs",
    "in": "header",
    "required": False,
    "description": "The CRS of the body's coordinates (one the collection offers); CRS84 "
    "when left out.",
    "schema": {"type": "string"},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The item's ETag as last read: the write is refused (412) when the item "
    "has changed since.",
    "schema": {"type": "string"},
}
Requirement = list[dict[str, list[str]]]


def _responses(ok: str, description: str, errors: str, etag: bool) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if etag:
        headers["ETag"] = {"schema": {"type": "string"}, "description": "The item's new ETag."}
    if ok == "201":
        headers["Location"] = {"schema": {"type": "string"}, "description": "The new item."}
    out: dict[str, Any] = {ok: {"description": description, "headers": headers}}
    for status in errors.split():
        out[status] = {"description": _STATUSES[status], "content": _EXCEPTION}
    return out


def _body(*media: str) -> dict[str, Any]:
    return {"required": True, "content": {m: {"schema": _FEATURE} for m in media}}


def operations(cid: str, title: str, security: Requirement) -> dict[str, dict[str, Any]]:
    """{path: {method: operation}} of one writable collection; `security`: the tenant's
    requirement (empty: it accepts no credential, so every write is a 401)."""
    one = [{"$ref": f"{REF}/parameters/featureId"}]
    common = "400 401 403 404 413 415 502 504"
    out = {
        f"/collections/{cid}/items": {
            "post": {
                "operationId": f"createFeature_{cid}",
                "summary": f"Add an item to '{title}'",
                "parameters": [_CONTENT_CRS],
                "requestBody": _body("application/geo+json", "application/json"),
                "responses": _responses("201", "Created.", f"{common} 409", True),
            }
        },
        f"/collections/{cid}/items/{{featureId}}": {
            "put": {
                "operationId": f"replaceFeature_{cid}",
                "summary": f"Replace an item of '{title}'",
                "parameters": [*one, _CONTENT_CRS, _IF_MATCH],
                "requestBody": _body("application/geo+json", "application/json"),
                "responses": _responses("204", "Replaced.", f"{common} 409 412", True),
            },
            "patch": {
                "operationId": f"updateFeature_{cid}",
                "summary": f"Change parts of an item of '{title}' (JSON Merge Patch)",
                "parameters": [*one, _CONTENT_CRS, _IF_MATCH],
                "requestBody": _body("application/merge-patch+json", "application/geo+json"),
                "responses": _responses("204", "Updated.", f"{common} 409 412", True),
            },
            "delete": {
                "operationId": f"deleteFeature_{cid}",
                "summary": f"Remove an item of '{title}'",
                "parameters": [*one, _IF_MATCH],
                "responses": _responses("204", "Deleted.", "401 403 404 412 502 504", False),
            },
        },
    }
    if security:
        for methods in out.values():
            for operation in methods.values():
                operation["security"] = security
    return out


def _joined(search: dict[str, Any], create: dict[str, Any], public_read: bool) -> dict[str, Any]:
    """POST on items is both the CQL2-JSON search and the create (one operation per method
    and path): its body is a filter or a Feature, its answer 200 or 201. Where reading is
    public an anonymous search is allowed, so the requirement is optional (`{}` first)."""
    content = dict(search.get("requestBody", {}).get("content", {}))
    filters = content.get("application/json", {}).get("schema", {})
    content["application/json"] = {"schema": {"oneOf": [filters, _FEATURE]}}
    content["application/geo+json"] = {"schema": _FEATURE}
    create_id = create["operationId"]
    joined = {
        **search,
        "operationId": f"{search['operationId']}_or_{create_id}",
        "summary": f"{search['summary']}; or, with a GeoJSON Feature, {create['summary']}",
        "parameters": [*search.get("parameters", []), _CONTENT_CRS],
        "requestBody": {"content": content},
        "responses": {**search["responses"], **create["responses"]},
    }
    if "security" in create:
        joined["security"] = [{}, *create["security"]] if public_read else create["security"]
    return joined


def add_operations(doc: dict[str, Any], view: ApiView) -> None:
    """Add the write operations of the view's writable collections to an OpenAPI document
    (the security schemes they name: gateway.features.apisecurity)."""
    security: ApiSecurity | None = view.security
    requirement = security.requirement if security else []
    public_read = security.public_read if security else True
    for cid in view.writable():
        for path, methods in operations(cid, view.collections[cid].title, requirement).items():
            found = doc["paths"].setdefault(path, {})
            for method, operation in methods.items():
                kept = found.get(method)
                found[method] = operation if kept is None else _joined(kept, operation, public_read)


__all__ = ["add_operations", "operations"]
