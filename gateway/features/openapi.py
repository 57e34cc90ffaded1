"""The OpenAPI 3.0 document of one API view, generated from the catalog.

Shaped for the clients that read it: OGC's test suite takes every test point from `paths`
and checks `limit`, `bbox` and `datetime` definitions field by field; GDAL only follows a
`$ref` whose name contains "limit" to learn the page size, and enables CQL pushdown only
from the `filter-lang` enum. Paths are concrete per collection for the same reasons, and so
are the parameters whose values depend on the collection (CRS lists, sortables, property
names, queryables).

The document describes what the server accepts (schemathesis checks both directions in the
test suite): enums where the server accepts a closed set, the `datetime` grammar as the
very pattern the parser uses. What JSON Schema cannot state is said in the descriptions:
the CQL2 grammar of `filter`, that an interval must not end before it starts, that a CRS84
bbox lies within -180..180/-90..90 with its lower latitude first, and that a `limit` above
the maximum is clamped to it, not refused (OGC API – Features, /req/core/fc-limit-response).
"""

from __future__ import annotations

from typing import Any

from gateway.access import openapi as access_openapi
from gateway.config import ServerSettings
from gateway.features import jsonfg, writeapi
from gateway.features.crs import collection_crs
from gateway.features.filtering import LANGUAGES
from gateway.features.jsonfg import JSONFG
from gateway.features.links import GEOJSON, HTML, JSON, OPENAPI
from gateway.features.params import DATETIME_PATTERN, ITEM_FORMATS, MAX_OFFSET
from gateway.features.views import ApiView, Collection

REF = "#/components"
SCHEMA_JSON = "application/schema+json"
NO_NUL = "^[^\\u0000]*$"  # ECMA-262 and Python read \u0000 alike
CQL2_MEDIA = (JSON, "application/query-cql-json")
CQL2_JSON = {
    "description": "A CQL2-JSON expression (see the queryables); an empty body is no filter.",
    "oneOf": [{"type": "object"}, {"type": "boolean"}],
}


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
            {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            "The number of matching items to skip. Rather follow the `next` links: they may "
            "carry an opaque `cursor` instead, which is faster on large collections.",
        ),
        "bbox": _query_param(
            "bbox",
            {
                "type": "array",
                "minItems": 4,
                "maxItems": 6,
                "oneOf": [{"maxItems": 4}, {"minItems": 6}],
                "items": {"type": "number"},
            },
            "Only items whose geometry intersects the box minx,miny,maxx,maxy (or with the "
            "heights, minx,miny,minz,maxx,maxy,maxz). In CRS84 (without `bbox-crs`) the "
            "longitudes lie within -180..180 and the latitudes within -90..90, the lower "
            "latitude first; minx > maxx crosses the antimeridian. In other CRSs the lower "
            "corner comes first.",
        ),
        "datetime": _query_param(
            "datetime",
            {"type": "string", "pattern": DATETIME_PATTERN},
            "An RFC 3339 date or date-time (without an offset: UTC; a date means the whole "
            "day), or an interval `start/end` that does not end before it starts, with `..` "
            "or nothing for an open end and an ISO 8601 duration for one end.",
        ),
        "f": _query_param(
            "f", {"type": "string", "enum": ["json", "html"]}, "The representation to return."
        ),
        "f-features": _query_param(
            "f",
            {"type": "string", "enum": list(ITEM_FORMATS)},
            "The representation to return: GeoJSON, JSON-FG (OGC 21-045: `place` in `crs`, "
            "else in the storage CRS, beside the CRS84 `geometry`) or HTML. The media types "
            f"in Accept do the same: application/geo+json, {JSONFG}, text/html.",
        ),
        "skipGeometry": _query_param(
            "skipGeometry", {"type": "boolean", "default": False}, "Leave out the geometry."
        ),
        "filter": _query_param(
            "filter",
            {"type": "string"},
            "A CQL2 filter over the queryables (see /queryables) in the language of `filter-lang`.",
        ),
        "filter-lang": _query_param(
            "filter-lang",
            {"type": "string", "enum": list(LANGUAGES), "default": "cql2-text"},
            "The language of `filter`; `cql-text` is accepted as an alias of `cql2-text`.",
        ),
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": True,
            "description": "The id of a feature.",
            "schema": {"type": "string"},
        },
    }


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": f"{REF}/schemas/exception"}
    return {
        "description": description,
        "content": {JSON: {"schema": schema}, HTML: {"schema": {"type": "string"}}},
    }


ERRORS = {
    "400": ("InvalidParameter", "A query parameter is unknown or has an invalid value."),
    "404": ("NotFound", "The resource does not exist."),
    "500": ("ServerError", "An unexpected error."),
    "502": ("UpstreamFailed", "A source behind the gateway failed."),
    "503": ("Unavailable", "A source behind the gateway is busy; retry after a while."),
    "504": ("UpstreamTimeout", "A source behind the gateway did not answer in time."),
}


def _responses() -> dict[str, Any]:
    return {name: _error(description) for name, description in ERRORS.values()}


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
        **jsonfg.openapi_schemas(links),
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


def _operation(
    op_id: str, summary: str, params: list[Any], ok: dict[str, Any], errors: str
) -> dict[str, Any]:
    """`errors`: the statuses besides 200 and 500, e.g. "400 404 502 503 504"."""
    responses: dict[str, Any] = {"200": ok}
    for status in [*errors.split(), "500"]:
        responses[status] = {"$ref": f"{REF}/responses/{ERRORS[status][0]}"}
    parameters = [{"$ref": f"{REF}/parameters/{p}"} if isinstance(p, str) else p for p in params]
    return {
        "operationId": op_id,
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }


def _path(op_id: str, summary: str, params: list[Any], ok: dict[str, Any], errors: str) -> dict:
    """GET, and HEAD with the same parameters and statuses (the headers of the GET)."""
    get = _operation(op_id, summary, params, ok, errors)
    head_ok = {"description": ok["description"]}
    head = _operation(f"head_{op_id}", f"{summary} (headers only)", params, head_ok, errors)
    head["responses"] = {
        status: {"description": ERRORS[status][1]} if status != "200" else head_ok
        for status in head["responses"]
    }
    return {"get": get, "head": head}


def _ok(
    description: str, schema: str, json_type: str = JSON, jsonfg: str | None = None
) -> dict[str, Any]:
    content = {json_type: {"schema": {"$ref": f"{REF}/schemas/{schema}"}}}
    if jsonfg:
        content[JSONFG] = {"schema": {"$ref": f"{REF}/schemas/{jsonfg}"}}
    content[HTML] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _enum_param(name: str, values: list[str], description: str) -> dict[str, Any]:
    return _query_param(name, {"type": "string", "enum": values}, description)


def _names_param(name: str, values: list[str], description: str, **extra: Any) -> dict:
    items = {"type": "array", "items": {"type": "string", "enum": values}, "minItems": 1}
    return _query_param(name, {**items, **extra}, description)


def _collection_params(c: Collection) -> dict[str, dict[str, Any]]:
    """The parameters whose values depend on the collection."""
    offered = collection_crs(c.storage_crs)
    keys = [f"{sign}{name}" for name in c.sortables() for sign in ("", "+", "-")]
    return {
        "crs": _enum_param("crs", offered, "The CRS of the returned geometries."),
        "bbox-crs": _enum_param("bbox-crs", offered, "The CRS of `bbox` (default CRS84)."),
        "filter-crs": _enum_param(
            "filter-crs", offered, "The CRS of geometries in `filter` (default CRS84)."
        ),
        "sortby": _names_param(
            "sortby",
            keys,
            "Sort keys, each sortable once: `+name` ascending (default), `-name` descending.",
            uniqueItems=True,
        ),
        "properties": _names_param(
            "properties",
            list(c.fields()),
            "Only these properties are returned (not together with `exclude-properties`).",
        ),
        "exclude-properties": _names_param(
            "exclude-properties",
            [*c.fields(), "geometry"],
            "These properties are left out, the geometry too when `geometry` is named (OGC API "
            "– Features Part 6 draft); not together with `properties`.",
        ),
    }


def _queryable_parameters(fields: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    """Queryables as query parameters (Part 3); GDAL also learns its pushable fields here."""
    out = []
    for name in names:
        schema = {k: v for k, v in fields.get(name, {}).items() if k in ("type", "format")}
        if isinstance(schema.get("type"), list):
            schema["type"] = next((t for t in schema["type"] if t != "null"), "string")
        if schema.get("type", "string") == "string":
            schema["pattern"] = NO_NUL  # no source keeps one: refused (gateway.features.filtering)
        out.append(
            _query_param(
                name, schema or {"type": "string"}, f"Only items whose {name} equals this."
            )
        )
    return out


def _items_parameters(c: Collection) -> list[Any]:
    own = _collection_params(c)
    return [
        "limit",
        "offset",
        "bbox",
        own["bbox-crs"],
        "datetime",
        own["crs"],
        own["sortby"],
        own["properties"],
        own["exclude-properties"],
        "skipGeometry",
        "filter",
        "filter-lang",
        own["filter-crs"],
        "f-features",
        *_queryable_parameters(c.fields(), c.queryables()),
    ]


def _schema_path(op_id: str, summary: str) -> dict[str, Any]:
    ok = {
        "description": summary,
        "content": {SCHEMA_JSON: {"schema": {}}, HTML: {"schema": {"type": "string"}}},
    }
    return _path(op_id, summary, ["f"], ok, "400 404")


def _collection_paths(cid: str, c: Collection) -> dict[str, Any]:
    base = f"/collections/{cid}"
    title = c.title
    parameters = _items_parameters(c)
    page = _ok("A page of items.", "featureCollectionGeoJSON", GEOJSON, "featureCollectionJSONFG")
    items = _path(
        f"getFeatures_{cid}", f"Items of '{title}'", parameters, page, "400 404 502 503 504"
    )
    items["post"] = {
        **items["get"],
        "operationId": f"searchFeatures_{cid}",
        "summary": f"Items of '{title}' matching a CQL2-JSON filter in the body",
        "parameters": [
            p for p in items["get"]["parameters"] if p != {"$ref": f"{REF}/parameters/filter"}
        ],
        "requestBody": {"content": {media: {"schema": CQL2_JSON} for media in CQL2_MEDIA}},
    }
    own = _collection_params(c)
    one = [
        "featureId",
        own["crs"],
        own["properties"],
        own["exclude-properties"],
        "skipGeometry",
        "f-features",
    ]
    return {
        f"{base}/queryables": _schema_path(f"getQueryables_{cid}", f"Queryables of '{title}'"),
        f"{base}/sortables": _schema_path(f"getSortables_{cid}", f"Sortables of '{title}'"),
        f"{base}/schema": _schema_path(f"getSchema_{cid}", f"Schema of '{title}'"),
        base: _path(
            f"describeCollection_{cid}",
            f"Describe '{title}'",
            ["f"],
            _ok("The collection.", "document"),
            "400 404",
        ),
        f"{base}/items": items,
        f"{base}/items/{{featureId}}": _path(
            f"getFeature_{cid}",
            f"One item of '{title}'",
            one,
            _ok("The item.", "featureGeoJSON", GEOJSON, "featureJSONFG"),
            "400 404 502 503 504",
        ),
    }


def _api_path() -> dict[str, Any]:
    ok = {
        "description": "This document: OpenAPI 3.0 (or as HTML).",
        "content": {OPENAPI: {"schema": {}}, HTML: {"schema": {"type": "string"}}},
    }
    return _path("getApi", "This API definition", ["f"], ok, "400")


def document(view: ApiView, root: str, settings: ServerSettings) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/": _path(
            "getLandingPage", "Landing page", ["f"], _ok("The landing page.", "document"), "400"
        ),
        "/conformance": _path(
            "getConformance",
            "Conformance classes",
            ["f"],
            _ok("The conformance classes.", "document"),
            "400",
        ),
        "/collections": _path(
            "getCollections", "The collections", ["f"], _ok("The collections.", "document"), "400"
        ),
        "/api": _api_path(),
    }
    for cid, collection in view.collections.items():
        paths.update(_collection_paths(cid, collection))
    doc = {
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
    writeapi.add_operations(doc, view)
    access_openapi.secure(doc, view.security)
    return doc
