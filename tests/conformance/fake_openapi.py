"""The OpenAPI 3.0 document of the fake Features server (tests/conformance/fake_features)."""

from __future__ import annotations

from typing import Any

from tests.conformance.fake_features import CRS_LIST, QUERYABLE_TYPES

GEOJSON, JSON = "application/geo+json", "application/json"


def _param(name: str, schema: dict[str, Any], where: str = "query") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "required": where == "path", "schema": schema}
    if where == "query":
        out |= {"style": "form", "explode": False}
    return out


def _ok(media: str) -> dict[str, Any]:
    return {"description": "ok", "content": {media: {"schema": {"type": "object"}}}}


def _op(media: str, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    responses = {
        "200": _ok(media),
        "400": {"description": "bad request", "content": {JSON: {"schema": {"type": "object"}}}},
        "404": {"description": "not found", "content": {JSON: {"schema": {"type": "object"}}}},
    }
    return {"get": {"parameters": params or [], "responses": responses}}


def openapi(base: str) -> dict[str, Any]:
    crs = {"type": "string", "format": "uri", "enum": CRS_LIST}
    items = [
        _param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}),
        _param("offset", {"type": "integer", "minimum": 0}),
        _param(
            "bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}
        ),
        _param("bbox-crs", {"type": "string", "format": "uri"}),
        _param("datetime", {"type": "string"}),
        _param("crs", crs),
        _param("filter", {"type": "string"}),
        _param(
            "filter-lang",
            {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
        ),
        *(_param(n, {"type": t}) for n, t in QUERYABLE_TYPES.items()),
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": "Fake Features", "version": "1.0"},
        "servers": [{"url": base}],
        "paths": {
            "/": _op(JSON),
            "/api": _op("application/vnd.oai.openapi+json;version=3.0"),
            "/conformance": _op(JSON),
            "/collections": _op(JSON),
            "/collections/{collectionId}": _op(
                JSON, [_param("collectionId", {"type": "string"}, "path")]
            ),
            "/collections/trees/items": _op(GEOJSON, items),
            "/collections/trees/items/{featureId}": _op(
                GEOJSON, [_param("featureId", {"type": "string"}, "path"), _param("crs", crs)]
            ),
            "/collections/trees/queryables": _op("application/schema+json"),
        },
    }
