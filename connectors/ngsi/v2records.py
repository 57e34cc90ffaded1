"""NGSI-v2 entities as flat records, and the fields a sample of them describes.

Normalized attributes are flattened with their NGSI shape (`temperature.value`,
`temperature.type`, `temperature.metadata.unitCode.value`; empty metadata is dropped);
keyValues attributes by name. The location attribute becomes the GeoJSON geometry:
`geo:json` (a Feature gives its geometry), `geo:point` ("lat, lon"!), or, unnamed, a
GeoJSON-looking value. Values whose type does not fit their described field are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import shape

from connectors import paths
from connectors.base import FieldInfo, FieldType, Record, infer_type
from connectors.ngsi.v2q import q_path

LOCATION_TYPES = ("geo:json", "geo:point")


def _point(text: Any) -> dict[str, Any] | None:
    """`"lat, lon"` (Orion's geo:point) as a GeoJSON point (lon, lat)."""
    if not isinstance(text, str):
        return None
    parts = text.split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def _geojson(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or "coordinates" not in value:
        return None
    if value.get("type") == "Point":  # most entities: checked without building a geometry
        xy = value["coordinates"]
        ok = isinstance(xy, list) and len(xy) in (2, 3) and all(_finite(c) for c in xy)
        return {"type": "Point", "coordinates": xy} if ok else None
    try:
        found = shape(value)
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        shapely.errors.GEOSException,
    ):
        return None
    return None if found.is_empty else {"type": value["type"], "coordinates": value["coordinates"]}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fits(value: Any, kind: FieldType) -> bool:
    """Whether a value may stand in a field of that type (null always may)."""
    if value is None or kind == "json":
        return True
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("date", "datetime"):
        return isinstance(value, str) and _instant(value)
    return isinstance(value, str)


def _instant(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class RecordReader:
    def __init__(
        self,
        representation: str,
        location_attribute: str | None,
        left_out: Callable[[str, str], None] = lambda field, problem: None,
    ) -> None:
        self.left_out = left_out  # (field, problem): the data-quality counter
        self.normalized = representation == "normalized"
        self.location_attribute = location_attribute
        self.types: dict[str, FieldType] = {}
        self.dropped = 0

    def location_name(self, entity: dict[str, Any]) -> str | None:
        if self.location_attribute is not None:
            return self.location_attribute
        if self.normalized:
            for name, attr in entity.items():
                if isinstance(attr, dict) and attr.get("type") in LOCATION_TYPES:
                    return name
        return "location" if "location" in entity else None

    def geometry(self, entity: dict[str, Any], name: str | None) -> dict[str, Any] | None:
        if name is None or name not in entity:
            return None
        value = entity[name]
        if self.normalized and isinstance(value, dict):
            if value.get("type") == "geo:point":
                return _point(value.get("value"))
            value = value.get("value")
        return _point(value) if isinstance(value, str) else _geojson(value)

    def flat(self, entity: dict[str, Any], location: str | None) -> dict[str, Any]:
        """The entity's attributes (not id, not the location) as path-named leaves."""
        attrs: dict[str, Any] = {}
        for name, attr in entity.items():
            if name in ("id", "type") or name == location:
                continue
            if self.normalized and isinstance(attr, dict) and not attr.get("metadata"):
                attr = {k: v for k, v in attr.items() if k != "metadata"}
            attrs[name] = attr
        return {"type": entity.get("type"), **paths.flatten(attrs)}

    def record(self, entity: dict[str, Any]) -> Record:
        location = self.location_name(entity)
        props = self.flat(entity, location)
        dropped = [n for n, v in props.items() if n in self.types and not fits(v, self.types[n])]
        for name in dropped:
            del props[name]
            self.left_out(name, f"not {self.types[name]}")
        self.dropped += len(dropped)
        return {
            "id": str(entity.get("id", "")),
            "properties": props,
            "geometry": self.geometry(entity, location),
        }


_NGSI_TYPES: dict[str, FieldType] = {
    "DateTime": "datetime",
    "Text": "string",
    "Boolean": "boolean",
    "Number": "number",
}


def _majority(values: list[Any]) -> FieldType:
    """The type most sampled values have (a broken sensor's "n/a" among numbers does not
    turn a number field into text); numbers are `number`, never `integer`, as a later
    entity may well hold 21.5 where the sample held only whole numbers."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    strings = [v for v in values if isinstance(v, str)]
    flags = [v for v in values if isinstance(v, bool)]
    if any(isinstance(v, dict | list) for v in values):
        return "json"
    best = max((len(numbers), 2), (len(strings), 1), (len(flags), 0))
    if best[0] == 0:
        return "string"
    return {2: "number", 1: "string", 0: "boolean"}[best[1]]  # type: ignore[return-value]


def _field_type(
    name: str, values: list[Any], flat: Iterable[dict[str, Any]], normalized: bool
) -> FieldType:
    """A normalized attribute's value is typed by its NGSI type where that says it
    (Number, Text, Boolean, DateTime), else by the sampled values."""
    if normalized and name.endswith(".value"):
        kind_name = name[: -len(".value")] + ".type"
        kinds = {f.get(kind_name) for f in flat if kind_name in f}
        if len(kinds) == 1:
            kind = kinds.pop()
            if kind in _NGSI_TYPES:
                return _NGSI_TYPES[kind]
            if kind == "Number":
                numbers = [
                    v for v in values if isinstance(v, int | float) and not isinstance(v, bool)
                ]
                return infer_type(numbers) if numbers else "number"
    return _majority(values)


def _path(name: str, normalized: bool) -> str | None:
    """The `q` path of a field: `a.value.b` -> `a.b` (normalized), `a.b` (keyValues)."""
    try:
        parts = paths.parse(name)
    except paths.PathError:
        return None
    if any(isinstance(p, int) for p in parts) or parts == ("type",):
        return None
    if normalized:
        if len(parts) < 2 or parts[1] != "value":
            return None
        parts = (parts[0], *parts[2:])
    return q_path(tuple(str(p) for p in parts))


def describe_fields(
    sample: list[dict[str, Any]], reader: RecordReader
) -> tuple[tuple[FieldInfo, ...], str | None]:
    """Fields (in order of appearance, `type` first) and the geometry type of a sample."""
    flat = []
    geometry_types: set[str] = set()
    for entity in sample:
        location = reader.location_name(entity)
        flat.append(reader.flat(entity, location))
        geometry = reader.geometry(entity, location)
        if geometry is not None:
            geometry_types.add(geometry["type"])
    values: dict[str, list[Any]] = {}
    for record in flat:
        for name, value in record.items():
            values.setdefault(name, []).append(value)
    fields = tuple(
        FieldInfo(
            name,
            "string" if name == "type" else _field_type(name, found, flat, reader.normalized),
            path=_path(name, reader.normalized),
        )
        for name, found in values.items()
    )
    geometry_type = geometry_types.pop() if len(geometry_types) == 1 else None
    return fields, geometry_type


__all__ = ["RecordReader", "describe_fields", "fits"]
