"""Records as NGSI-LD attributes: what the `ngsi-ld` connector writes, the inverse of what it
reads (connectors/ngsi/ldrecords.py), so that a record written reads back the same.

Attributes are always sent normalized, with the names of the connector's @context (sent as
the Link header):
- normalized records name the members (`NO2.value`, `NO2.unitCode`, `NO2.observedAt`,
  `refDevice.object`, `address.value.streetAddress`, a sub-property's `NO2.quality.value`):
  an `object` makes a Relationship, a GeoJSON geometry value a GeoProperty, any other value
  a Property; keyValues records name values (`NO2`, `address.streetAddress`), and an
  attribute the broker holds as a Relationship (learnt from its entities) stays one.
- the geometry is the GeoProperty `geoproperty`; it wins over a `location.value` field.
- NGSI-LD has no null values: a null attribute (or member) is left out of a create and a
  replace, and removed by an update.
Malformed input (clashing paths, a normalized attribute without `.value`/`.object`, another
entity type) is a ValueError naming the field, which the connector answers with 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Record
from connectors.ngsi.ldrecords import is_geometry
from connectors.ngsi.nested import unflatten

MEMBERS = frozenset({"value", "object", "observedAt", "unitCode", "datasetId"})
SYSTEM = frozenset({"createdAt", "modifiedAt", "instanceId"})


@dataclass
class Changes:
    """Attributes to set (normalized; a null member means: remove it) and to remove."""

    set: dict[str, Any] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


def learn_kinds(entities: list[dict[str, Any]]) -> dict[str, str]:
    """Attribute -> Property | Relationship | GeoProperty …, as normalized entities say."""
    kinds: dict[str, str] = {}
    for entity in entities:
        for name, attr in entity.items():
            first = attr[0] if isinstance(attr, list) and attr else attr
            if isinstance(first, dict) and isinstance(first.get("type"), str):
                kinds.setdefault(name, first["type"])
    return kinds


def merged(old: Any, new: dict[str, Any]) -> dict[str, Any]:
    """An attribute update over what the broker holds: members not given are kept (a
    unit, an observation time), members given as null go."""
    keep = isinstance(old, dict) and old.get("type") == new.get("type")
    out = {k: v for k, v in old.items() if k not in SYSTEM} if keep else {}
    out.update(new)
    return {k: v for k, v in out.items() if v is not None}


class LdEntityWriter:
    def __init__(
        self,
        entity_type: str,
        *,
        normalized: bool,
        geoproperty: str,
        kinds: Mapping[str, str],
    ) -> None:
        self.entity_type = entity_type
        self.normalized = normalized
        self.geoproperty = geoproperty
        self.kinds = kinds

    def changes(self, record: Record, *, geometry: bool) -> Changes:
        """The record's attributes; with `geometry`, the GeoProperty from the geometry
        (removed when it is null)."""
        props = dict(record.get("properties") or {})
        kind = props.pop("type", None)
        if kind is not None and kind != self.entity_type:
            raise ValueError(f"field 'type': this source holds {self.entity_type}, not {kind}")
        out = Changes()
        for name, given in unflatten(props).items():
            attr = self._attribute(name, given)
            if attr is None:
                out.removed.append(name)
            else:
                out.set[name] = attr
        if geometry:
            out.set.pop(self.geoproperty, None)
            if self.geoproperty in out.removed:
                out.removed.remove(self.geoproperty)
            shape = record.get("geometry")
            if shape is None:
                out.removed.append(self.geoproperty)
            elif is_geometry(shape):
                out.set[self.geoproperty] = {"type": "GeoProperty", "value": shape}
            else:
                raise ValueError("the geometry is not a GeoJSON geometry")
        return out

    def entity(self, entity_id: str, record: Record) -> dict[str, Any]:
        """The whole entity (create, replace): null members and attributes left out."""
        found = self.changes(record, geometry=True)
        attrs = {name: _without_nulls(attr) for name, attr in found.set.items()}
        return {"id": entity_id, "type": self.entity_type, **attrs}

    def _attribute(self, name: str, given: Any) -> dict[str, Any] | None:
        if not self.normalized:
            if given is None:
                return None
            if self.kinds.get(name) == "Relationship":
                return {"type": "Relationship", "object": given}
            return {"type": "GeoProperty" if is_geometry(given) else "Property", "value": given}
        if not isinstance(given, dict) or not {"value", "object"} & set(given):
            raise ValueError(f"field '{name}': give it as '{name}.value' (or '{name}.object')")
        main = "object" if "object" in given else "value"
        if given[main] is None:
            return None
        if main == "object":
            kind = "Relationship"
        else:
            kind = "GeoProperty" if is_geometry(given["value"]) else "Property"
        attr: dict[str, Any] = {"type": kind}
        for member, item in given.items():
            if member in SYSTEM or member == "type":
                continue
            if member in MEMBERS or item is None:
                attr[member] = item
            else:  # a sub-property (or sub-relationship)
                attr[member] = self._attribute(f"{name}.{member}", item)
        return attr


def _without_nulls(attr: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _without_nulls(v) if isinstance(v, dict) and "type" in v else v
        for k, v in attr.items()
        if v is not None
    }


__all__ = ["Changes", "LdEntityWriter", "learn_kinds", "merged"]
