"""JSON Schema documents of a collection (OGC API – Features Part 3 queryables, Part 8
sortables, Part 5 schema), all flat in the Part 5 style: one entry per property, the
geometry as a property with `x-ogc-role: primary-geometry`."""

from __future__ import annotations

from typing import Any

from gateway.features.views import Collection
from gateway.mapping.invert import why_not_invertible

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_JSON = "application/schema+json"
GEOMETRY = "geometry"


def _geometry(c: Collection) -> dict[str, Any]:
    """The profile schema's geometry format where there is one (it may name two types, as
    geometry-polygon-or-multipolygon), else the one geometry type the collection has."""
    profile = getattr(c, "profile", None)
    fmt = profile.schema["properties"].get("geometry", {}).get("format") if profile else None
    kind = getattr(c, "geometry_type", None)
    fmt = fmt or (f"geometry-{kind.lower()}" if kind else "geometry-any")
    return {"title": "Geometry", "format": fmt, "x-ogc-role": "primary-geometry"}


def _document(c: Collection, url: str, title: str, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "$id": url,
        "type": "object",
        "title": f"{c.title}: {title}",
        "properties": props,
        "additionalProperties": False,
    }


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without validation noise a client does not need to query."""
    return {k: v for k, v in schema.items() if k not in ("minLength", "x-ogc-propertySeq")}


def queryables(c: Collection, url: str) -> dict[str, Any]:
    fields = c.fields()
    names = c.queryables()
    props = {GEOMETRY: _geometry(c), **{n: _plain(fields[n]) for n in names if n in fields}}
    return _document(c, url, "queryables", props)


def sortables(c: Collection, url: str) -> dict[str, Any]:
    fields = c.fields()
    props = {n: _plain(fields[n]) for n in c.sortables() if n in fields}
    return _document(c, url, "sortables", props)


def _read_only(c: Collection) -> set[str]:
    """The properties a write cannot set (Part 5 `readOnly`): in a collection that takes
    writes, those whose mapping rule does not run backwards (a template, a constant…)."""
    writable, mapper = getattr(c, "writable", None), getattr(c, "mapper", None)
    if mapper is None or mapper.identity or not callable(writable) or not writable():
        return set()
    return {name for name, rule in mapper.sources.items() if why_not_invertible(rule)}


def schema(c: Collection, url: str) -> dict[str, Any]:
    fields = dict(c.fields())  # a copy: the collection keeps its own
    for name in _read_only(c) & set(fields):
        fields[name] = {**fields[name], "readOnly": True}
    props = {
        "id": {"title": "Feature id", "x-ogc-role": "id"},
        GEOMETRY: _geometry(c),
        **fields,
    }
    doc = _document(c, url, "schema", props)
    doc.pop("additionalProperties")
    return doc
