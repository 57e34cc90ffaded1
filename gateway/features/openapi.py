"""The OpenAPI 3.0 document of one API view, generated from the catalog.

Shaped for the clients that read it: OGC's test suite takes every test point from `paths`
and checks `limit`, `bbox` and `datetime` definitions field by field; GDAL only follows a
`$ref` whose name contains "limit" to learn the page size, and enables CQL pushdown only
from the `filter-lang` enum. Paths are concrete per collection for the same reasons.
"""

from __future__ import annotations

from typing import Any

from gateway.config import ServerSettings
from gateway.features.links import GEOJSON, HTML, JSON, OPENAPI
from gateway.features.views import ApiView

REF = "#/components"


def _query_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": description,
        "schema": schema,
    }


def _parameters(settings: ServerSettings) -> dict[str, Any]:
    return {
        "limit": _query_param(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.max_limit,
                "default": settings.default_limit,
            },
            f"The number of items per page; larger values are clamped to {settings.max_limit}.",
        ),
        "offset": _query_param(
            "offset",
            {"type": "integer", "minimum": 0, "default": 0},
            "The number of matching items to skip (use the `next`/`prev` links).",
        ),
        "cursor": _query_param(
            "cursor",
            {"type": "string"},
            "Where the page starts, as a `next` link gives it (opaque; instead of offset).",
        ),
        "bbox": _query_param(
            "bbox",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "Only items whose geometry intersects the box minx,miny,maxx,maxy (CRS84); "
            "minx > maxx crosses the antimeridian.",
        ),
        "datetime": _query_param(
            "datetime",
            {"type": "string"},
            "An RFC 3339 instant or interval (`start/end`, `..` for an open end, ISO 8601 "
            "durations); dates mean the whole day.",
        ),
        "f": _query_param(
            "f", {"type": "string", "enum": ["json", "html"]}, "The representation to return."
        ),
        "crs": _query_param(
            "crs",
            {"type": "string", "format": "uri"},
            "The CRS of the returned geometries (one of the collection's `crs` list).",
        ),
        "bbox-crs": _query_param(
            "bbox-crs", {"type": "string", "format": "uri"}, "The CRS of `bbox` (default CRS84)."
        ),
        "sortby": _query_param(
            "sortby",
            {"type": "array", "items": {"type": "string"}},
            "Sort keys: `+name` ascending (default), `-name` descending; see /sortables.",
        ),
        "properties": _query_param(
            "properties",
            {"type": "array", "items": {"type": "string"}},
            "Only these properties are returned.",
        ),
        "skipGeometry": _query_param(
            "skipGeometry", {"type": "boolean", "default": False}, "Leave out the geometry."
        ),
        "filter": _query_param(
            "filter", {"type": "string"}, "A CQL2 filter over the queryables (see /queryables)."
        ),
        "filter-lang": _query_param(
            "filter-lang",
            {
                "type": "string",
                "enum": ["cql2-text", "cql2-json", "cql-text"],
                "default": "cql2-text",
            },
            "The language of `filter`; `cql-text` is accepted as an alias of `cql2-text`.",
        ),
        "filter-crs": _query_param(
            "filter-crs",
            {"type": "string", "format": "uri"},
            "The CRS of geometries in `filter` (default CRS84).",
        ),
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": True,
            "description": "The id of a feature.",
            "schema": {"type": "string"},
        },
    }


def _responses() -> dict[str, Any]:
    def error(description: str) -> dict[str, Any]:
        schema = {"$ref": f"{REF}/schemas/exception"}
        return {"description": description, "content": {JSON: {"schema": schema}}}

    return {
        "InvalidParameter": error("A query parameter is unknown or has an invalid value."),
        "NotFound": error("The resource does not exist."),
        "UpstreamFailed": error("A source behind the gateway failed or timed out."),
        "ServerError": error("An unexpected error."),
    }


def _schemas() -> dict[str, Any]:
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {k: {"type": "string"} for k in ("href", "rel", "type", "title")},
    }
    links = {"type": "array", "items": {"$ref": f"{REF}/schemas/link"}}
    return {
        "exception": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
        },
        "link": link,
        "document": {"type": "object", "properties": {"links": links}},
        "featureGeoJSON": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "geometry": {"type": "object", "nullable": True},
                "properties": {"type": "object", "nullable": True},
                "links": links,
            },
        },
        "featureCollectionGeoJSON": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"$ref": f"{REF}/schemas/featureGeoJSON"}},
                "links": links,
                "timeStamp": {"type": "string", "format": "date-time"},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
            },
        },
    }


def _get(op_id: str, summary: str, params: list[str], ok: dict[str, Any], *errors: str) -> dict:
    responses: dict[str, Any] = {"200": ok}
    for status, name in (
        ("400", "InvalidParameter"),
        ("404", "NotFound"),
        ("502", "UpstreamFailed"),
    ):
        if name in errors:
            responses[status] = {"$ref": f"{REF}/responses/{name}"}
    responses["500"] = {"$ref": f"{REF}/responses/ServerError"}
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "parameters": [{"$ref": f"{REF}/parameters/{p}"} for p in params],
            "responses": responses,
        }
    }


def _ok(description: str, schema: str, json_type: str = JSON) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            json_type: {"schema": {"$ref": f"{REF}/schemas/{schema}"}},
            HTML: {"schema": {"type": "string"}},
        },
    }


ITEMS_PARAMETERS = [
    "limit",
    "offset",
    "cursor",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "sortby",
    "properties",
    "skipGeometry",
    "filter",
    "filter-lang",
    "filter-crs",
    "f",
]


def _queryable_parameters(fields: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """Queryables as query parameters (Part 3); GDAL also learns its pushable fields here."""
    out = []
    for name in names:
        schema = {k: v for k, v in fields.get(name, {}).items() if k in ("type", "format")}
        if isinstance(schema.get("type"), list):
            schema["type"] = next((t for t in schema["type"] if t != "null"), "string")
        out.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "style": "form",
                "explode": False,
                "description": f"Only items whose {name} equals this.",
                "schema": schema or {"type": "string"},
            }
        )
    return out


def _schema_path(op_id: str, summary: str) -> dict[str, Any]:
    ok = {
        "description": summary,
        "content": {
            "application/schema+json": {"schema": {}},
            HTML: {"schema": {"type": "string"}},
        },
    }
    return _get(op_id, summary, ["f"], ok, "InvalidParameter", "NotFound")


def _collection_paths(cid: str, c: Any) -> dict[str, Any]:
    base = f"/collections/{cid}"
    title = c.title
    items = _get(
        f"getFeatures_{cid}",
        f"Items of '{title}'",
        ITEMS_PARAMETERS,
        _ok("A page of items.", "featureCollectionGeoJSON", GEOJSON),
        "InvalidParameter",
        "NotFound",
        "UpstreamFailed",
    )
    items["get"]["parameters"] += _queryable_parameters(c.fields(), c.queryables())
    items["post"] = {
        **items["get"],
        "operationId": f"searchFeatures_{cid}",
        "summary": f"Items of '{title}' matching a CQL2-JSON filter in the body",
        "parameters": [
            p for p in items["get"]["parameters"] if p.get("$ref") != f"{REF}/parameters/filter"
        ],
        "requestBody": {"content": {JSON: {"schema": {"type": "object"}}}},
    }
    return {
        f"{base}/queryables": _schema_path(f"getQueryables_{cid}", f"Queryables of '{title}'"),
        f"{base}/sortables": _schema_path(f"getSortables_{cid}", f"Sortables of '{title}'"),
        f"{base}/schema": _schema_path(f"getSchema_{cid}", f"Schema of '{title}'"),
        base: _get(
            f"describeCollection_{cid}",
            f"Describe '{title}'",
            ["f"],
            _ok("The collection.", "document"),
            "InvalidParameter",
            "NotFound",
        ),
        f"{base}/items": items,
        f"{base}/items/{{featureId}}": _get(
            f"getFeature_{cid}",
            f"One item of '{title}'",
            ["featureId", "crs", "properties", "skipGeometry", "f"],
            _ok("The item.", "featureGeoJSON", GEOJSON),
            "InvalidParameter",
            "NotFound",
            "UpstreamFailed",
        ),
    }


def document(view: ApiView, root: str, settings: ServerSettings) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/": _get(
            "getLandingPage",
            "Landing page",
            ["f"],
            _ok("The landing page.", "document"),
            "InvalidParameter",
        ),
        "/conformance": _get(
            "getConformance",
            "Conformance classes",
            ["f"],
            _ok("The conformance classes.", "document"),
            "InvalidParameter",
        ),
        "/collections": _get(
            "getCollections",
            "The collections",
            ["f"],
            _ok("The collections.", "document"),
            "InvalidParameter",
        ),
        "/api": {
            "get": {
                "operationId": "getApi",
                "summary": "This API definition",
                "responses": {
                    "200": {"description": "OpenAPI 3.0", "content": {OPENAPI: {"schema": {}}}}
                },
            }
        },
    }
    for cid, collection in view.collections.items():
        paths.update(_collection_paths(cid, collection))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": view.title,
            "description": view.description,
            "version": "1.0.0",
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "servers": [{"url": root or "/"}],
        "paths": paths,
        "components": {
            "parameters": _parameters(settings),
            "responses": _responses(),
            "schemas": _schemas(),
        },
    }
