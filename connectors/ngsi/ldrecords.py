"""NGSI-LD entities as the gateway's flat records, and the names NGSI-LD `q` knows them by.

A normalized attribute `{"type": "Property", "value": 22, "unitCode": "GQ", "observedAt": …}`
becomes the fields `NO2.value`, `NO2.unitCode`, `NO2.observedAt` (connectors.paths syntax);
a Relationship's `object` is `refDevice.object`; a sub-property's value `NO2.quality.value`.
GeoJSON values are kept whole (`location.value`), never flattened into coordinates. Values
of any type pass: a broker answer never crashes a page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from connectors import paths
from connectors.base import Record

GEO_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
SKIP = frozenset({"id", "@context"})
META = frozenset({"observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt"})
# Attribute and member names repeat from entity to entity: escape each once (a regex
# substitution per name was a third of the time a record took).
_escape = lru_cache(maxsize=4096)(paths.escape)


def is_geometry(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") in GEO_TYPES
        and isinstance(value.get("coordinates"), list)
    )


def record(entity: dict[str, Any], representation: str, geoproperty: str) -> Record:
    properties: dict[str, Any] = {}
    for name, attr in entity.items():
        if name in SKIP:
            continue
        key = _escape(name)
        if name == "type":
            properties[key] = attr
        elif representation == "keyValues":
            _value_into(properties, key, attr)
        else:
            _attribute_into(properties, key, _instance(attr))
    return {
        "id": entity.get("id"),
        "properties": properties,
        "geometry": _geometry(entity.get(geoproperty)),
    }


def _instance(attr: Any) -> Any:
    """The default instance of a multi-attribute (the one without datasetId, else the first)."""
    if isinstance(attr, list) and attr and all(isinstance(a, dict) for a in attr):
        return next((a for a in attr if "datasetId" not in a), attr[0])
    return attr


def _attribute_into(out: dict[str, Any], key: str, attr: Any) -> None:
    if not isinstance(attr, dict):
        out[key] = attr
        return
    for member, item in attr.items():
        if member == "type":
            continue
        path = f"{key}.{_escape(member)}"
        if member in ("value", "object") or member in META:
            _value_into(out, path, item)
        else:
            _attribute_into(out, path, _instance(item))


def _value_into(out: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, dict) and value and not is_geometry(value):
        for path, leaf in paths.flatten(value).items():
            out[f"{key}.{path}"] = leaf
    else:
        out[key] = value


def _geometry(attr: Any) -> dict[str, Any] | None:
    attr = _instance(attr)
    value = attr.get("value") if isinstance(attr, dict) and "value" in attr else attr
    return value if is_geometry(value) else None


def q_path(field: str, representation: str) -> str | None:
    """The NGSI-LD q attribute path of a record field, or None where q cannot name it
    (`a.value` -> `a`, `a.observedAt` -> `a.observedAt`, `a.value.b.c` -> `a[b.c]`,
    `a.s.value` -> `a.s` (sub-property); keyValues: `a.b` -> `a[b]`)."""
    try:
        parts = paths.parse(field)
    except paths.PathError:
        return None
    if any(isinstance(p, int) or not _plain(p) for p in parts) or parts[0] == "type":
        return None
    names: list[str] = [str(p) for p in parts]
    if representation == "keyValues":
        return _compound(names[:1], names[1:])
    attr, rest = names[:1], names[1:]
    while rest:
        head = rest.pop(0)
        if head in ("value", "object"):
            return _compound(attr, rest)
        if head in META and not rest:
            return ".".join([*attr, head])
        attr.append(head)  # a sub-property
    return None


def _compound(attr: list[str], inner: list[str]) -> str:
    return ".".join(attr) + (f"[{'.'.join(inner)}]" if inner else "")


def _plain(name: object) -> bool:
    return isinstance(name, str) and name.replace("_", "a").isalnum() and name.isascii()


def bbox_query(bbox: tuple[float, float, float, float], georel: str) -> dict[str, Any]:
    """A bbox as an NGSI-LD geo-query (lon,lat; two boxes across the antimeridian)."""
    west, south, east, north = (float(v) for v in bbox)

    def ring(w: float, e: float) -> list[list[list[float]]]:
        return [[[w, south], [e, south], [e, north], [w, north], [w, south]]]

    if west <= east:
        return {"georel": georel, "geometry": "Polygon", "coordinates": ring(west, east)}
    boxes = [ring(west, 180.0), ring(-180.0, east)]
    return {"georel": georel, "geometry": "MultiPolygon", "coordinates": boxes}


def has_type(entity: dict[str, Any], wanted: str) -> bool:
    kind = entity.get("type")
    return wanted in kind if isinstance(kind, list) else kind == wanted


__all__ = ["bbox_query", "has_type", "is_geometry", "q_path", "record"]
