"""Records as NGSI-v2 attributes: what the `ngsi-v2` connector writes, the inverse of what
it reads (connectors/ngsi/v2records.py), so that a record written reads back the same.

Every attribute is sent normalized, `{"type", "value", "metadata"}`, whatever the
connector's representation, so that the broker keeps the NGSI type it had:
- normalized records name the shape (`temperature.value`, `temperature.type`,
  `temperature.metadata.unitCode.value`); keyValues records name values (`temperature`,
  `address.streetAddress`). Paths are nested back (connectors/ngsi/nested.py).
- an attribute's type is the record's own `x.type`, else the one type the broker reports
  for that attribute of the entity type (`GET /v2/types/{type}`) when the value fits it
  (DateTime, Number, Text, Boolean, StructuredValue, …), else Orion's default for the value.
  A null value keeps the known type (Orion 3.1+ takes null even for DateTime and geo:json).
- the geometry is the location attribute: `geo:json` with the GeoJSON geometry, or
  `geo:point` ("lat, lon") where the broker holds that attribute as geo:point and the
  geometry is a point.
Malformed input (a clash of paths, a normalized attribute without `.value`) is a ValueError
naming the field, for the connector to answer as a refused request (400).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from connectors.base import Record
from connectors.ngsi.nested import unflatten

ATTR_KEYS = frozenset({"value", "type", "metadata"})
GEO_TYPES = frozenset({"geo:json", "geo:point"})


def new_id(entity_type: str) -> str:
    """The FIWARE data models' id scheme, `urn:ngsi-ld:<Type>:<uuid>` (valid for Orion's
    id syntax and for NGSI-LD, so an entity keeps its id when a city moves brokers)."""
    return f"urn:ngsi-ld:{entity_type}:{uuid.uuid4()}"


def known_types(type_doc: Mapping[str, Any] | None) -> dict[str, str]:
    """The attributes an entity type holds with exactly one NGSI type (`/v2/types/{type}`)."""
    attrs = (type_doc or {}).get("attrs") or {}
    out: dict[str, str] = {}
    for name, info in attrs.items():
        kinds = info.get("types") if isinstance(info, dict) else None
        if isinstance(kinds, list) and len(kinds) == 1 and isinstance(kinds[0], str):
            out[name] = kinds[0]
    return out


class EntityWriter:
    def __init__(
        self,
        entity_type: str,
        *,
        normalized: bool,
        location: str,
        types: Mapping[str, str],
    ) -> None:
        self.entity_type = entity_type
        self.normalized = normalized
        self.location = location
        self.types = types

    def attributes(self, record: Record, *, geometry: bool) -> dict[str, Any]:
        """The record's attributes (and, with `geometry`, its location attribute, null when
        the record has none), keyed by attribute name."""
        props = dict(record.get("properties") or {})
        kind = props.pop("type", None)
        if kind is not None and kind != self.entity_type:
            raise ValueError(f"field 'type': this source holds {self.entity_type}, not {kind}")
        nested = unflatten(props)
        if self.location in nested:
            raise ValueError(f"field '{self.location}' is the location: send it as the geometry")
        out = {name: self._attribute(name, value) for name, value in nested.items()}
        if geometry:
            out[self.location] = self.location_attribute(record.get("geometry"))
        return out

    def entity(self, entity_id: str, record: Record) -> dict[str, Any]:
        attrs = self.attributes(record, geometry=record.get("geometry") is not None)
        return {"id": entity_id, "type": self.entity_type, **attrs}

    def location_attribute(self, geometry: Any) -> dict[str, Any]:
        kind = self.types.get(self.location)
        if geometry is None:
            return {"type": kind if kind in GEO_TYPES else "geo:json", "value": None}
        if not isinstance(geometry, dict) or "type" not in geometry:
            raise ValueError("the geometry is not a GeoJSON geometry")
        if kind == "geo:point" and geometry["type"] == "Point":
            lon, lat = geometry["coordinates"][:2]
            return {"type": "geo:point", "value": f"{lat}, {lon}"}
        return {"type": "geo:json", "value": geometry}

    def _attribute(self, name: str, given: Any) -> dict[str, Any]:
        if self.normalized:
            if not isinstance(given, dict) or "value" not in given or set(given) - ATTR_KEYS:
                raise ValueError(
                    f"field '{name}': give it as '{name}.value' (and .type, .metadata)"
                )
            attr = dict(given)
        else:
            attr = {"value": given}
        if not attr.get("type"):
            attr["type"] = self._type(name, attr["value"])
        if attr.get("metadata") is None:
            attr.pop("metadata", None)
        return attr

    def _type(self, name: str, value: Any) -> str:
        known = self.types.get(name)
        if known is not None and (value is None or _fits(value, known)):
            return known
        return default_type(value)


def default_type(value: Any) -> str:
    """Orion's type for a value sent without one."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "Text"
    if value is None:
        return "None"
    return "StructuredValue"


def _fits(value: Any, kind: str) -> bool:
    if kind == "Number":
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind in ("Text", "DateTime", "geo:point"):
        return isinstance(value, str)
    if kind == "StructuredValue":
        return isinstance(value, dict | list)
    return True  # a type of the data model's own (Property, Float …): taken as the broker says


__all__ = ["EntityWriter", "default_type", "known_types", "new_id"]
