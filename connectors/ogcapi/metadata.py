"""What an upstream OGC API – Features collection declares, read from its documents.

`/conformance`, the collection document, `/queryables`, `/sortables` and `/schema` are read
once per cache period (connectors/remote/metacache.py) and boiled down to `Upstream`, from
which the connector's capabilities follow. Only what the upstream declares is used: a
class it does not list, a property it does not name as queryable or sortable is never
asked for (the operator can vouch for undeclared classes with `assume`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import FieldInfo, FieldType

FEATURES = "http://www.opengis.net/spec/ogcapi-features-"
CORE = f"{FEATURES}1/1.0/conf/core"
FILTER = f"{FEATURES}3/1.0/conf/filter"
FEATURES_FILTER = f"{FEATURES}3/1.0/conf/features-filter"
SORTING = f"{FEATURES}8/1.0/conf/sorting"
PROPERTIES = f"{FEATURES}6/1.0/conf/properties"
CQL2_PREFIX = "http://www.opengis.net/spec/cql2/1.0/conf/"
CQL2_TEXT = "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text"
CQL2_JSON = "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json"
CRS84 = (
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/OGC/0/CRS84",
)
SHORT = {
    "filter": FILTER,
    "features-filter": FEATURES_FILTER,
    "sorting": SORTING,
    "properties": PROPERTIES,
}
_TYPES: dict[str, FieldType] = {
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "string": "string",
    "object": "json",
    "array": "json",
}


@dataclass(frozen=True)
class Upstream:
    """The parts of an upstream's documents the connector acts on."""

    classes: frozenset[str]
    fields: tuple[FieldInfo, ...]
    queryables: Mapping[str, FieldType] | None  # None: the upstream names none
    sortables: frozenset[str]
    geometry: str = "geometry"
    bbox: tuple[float, float, float, float] | None = None
    items_url: str | None = None
    crs: tuple[str, ...] = ()  # the collection's `crs` list (empty: not given, CRS84 only)

    def declares(self, cls: str) -> bool:
        return cls in self.classes


def classes(conformance: Any, assume: list[str]) -> frozenset[str]:
    declared = conformance.get("conformsTo") if isinstance(conformance, dict) else None
    found = {c.rstrip("/") for c in declared or () if isinstance(c, str)}
    for name in assume:
        found.add(SHORT.get(name, name if "://" in name else f"{CQL2_PREFIX}{name}"))
    if FILTER in found or FEATURES_FILTER in found:
        # Part 3's filter class means CQL2, whose Basic CQL2 every implementation has and
        # whose text encoding is the default of `filter-lang`
        found.add(f"{CQL2_PREFIX}basic-cql2")
    return frozenset(found)


def schema_fields(doc: Any) -> tuple[dict[str, FieldType], str | None]:
    """(name -> FieldType, the geometry property's name) of a JSON Schema of properties
    (queryables, sortables, schema); geometries are not fields."""
    props = doc.get("properties") if isinstance(doc, dict) else None
    fields: dict[str, FieldType] = {}
    geometry = None
    for name, schema in (props or {}).items():
        if not isinstance(name, str) or not isinstance(schema, dict):
            continue
        if _is_geometry(schema):
            geometry = geometry or name
            continue
        fields[name] = _field_type(schema)
    return fields, geometry


def _is_geometry(schema: Mapping[str, Any]) -> bool:
    fmt = str(schema.get("format", ""))
    ref = str(schema.get("$ref", ""))
    role = schema.get("x-ogc-role")
    return fmt.startswith("geometry") or "geojson" in ref.lower() or role == "primary-geometry"


def _field_type(schema: Mapping[str, Any]) -> FieldType:
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string" and schema.get("format") == "date":
        return "date"
    if kind == "string" and schema.get("format") == "date-time":
        return "datetime"
    return _TYPES.get(str(kind), "string")


def extent(collection: Any) -> tuple[float, float, float, float] | None:
    """The collection's first spatial extent box when it is in CRS84."""
    try:
        spatial = collection["extent"]["spatial"]
        box = spatial["bbox"][0]
        crs = spatial.get("crs", CRS84[0])
    except (KeyError, IndexError, TypeError):
        return None
    if crs not in CRS84 or not isinstance(box, list) or len(box) not in (4, 6):
        return None
    if not all(isinstance(v, int | float) for v in box):
        return None
    if len(box) == 6:
        box = [box[0], box[1], box[3], box[4]]
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def items_link(collection: Any) -> str | None:
    """The collection's `items` link for GeoJSON, if it gives one."""
    links = collection.get("links") if isinstance(collection, dict) else None
    for link in links or ():
        if not isinstance(link, dict) or link.get("rel") != "items":
            continue
        if link.get("type") in (None, "application/geo+json", "application/json"):
            href = link.get("href")
            return href if isinstance(href, str) else None
    return None


def upstream(
    conformance: Any,
    collection: Any,
    queryables: Any,
    sortables: Any,
    schema: Any,
    assume: list[str],
) -> Upstream:
    q_fields, q_geometry = schema_fields(queryables) if queryables is not None else ({}, None)
    s_fields, s_geometry = schema_fields(schema) if schema is not None else ({}, None)
    sort_fields, _ = schema_fields(sortables) if sortables is not None else ({}, None)
    described = {**q_fields, **s_fields}
    return Upstream(
        classes=classes(conformance, assume),
        fields=tuple(FieldInfo(n, t) for n, t in described.items()),
        queryables=q_fields if queryables is not None else None,
        sortables=frozenset(sort_fields),
        geometry=q_geometry or s_geometry or "geometry",
        bbox=extent(collection),
        items_url=items_link(collection),
        crs=crs_list(collection),
    )


def crs_list(collection: Any) -> tuple[str, ...]:
    found = collection.get("crs") if isinstance(collection, dict) else None
    return tuple(c for c in found or () if isinstance(c, str))


__all__ = [
    "CQL2_JSON",
    "CQL2_TEXT",
    "FEATURES_FILTER",
    "FILTER",
    "PROPERTIES",
    "SORTING",
    "Upstream",
    "classes",
    "extent",
    "items_link",
    "schema_fields",
    "upstream",
]
