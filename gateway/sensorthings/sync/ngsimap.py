"""NGSI entities (v2 normalized, LD normalized, LD temporal) as what the store needs.

The mapping onto the SensorThings model is declarative and the same for every broker:

    entity (id, type)              -> Thing (+ Location from `location`, a GeoJSON value)
    numeric attribute              -> Datastream "<entity> <attribute>", unit from
                                      `metadata.unitCode` (v2) / `unitCode` (LD) as UCUM
    attribute                      -> ObservedProperty, definition the Smart Data Models URL
    refDevice, else entity type    -> Sensor
    value at a time                -> Observation, phenomenonTime = dateObserved (v2) /
                                      observedAt (LD), else dateModified / modifiedAt

A value of an unexpected type, or without a time, is left out (listed in `left_out`, which
the scheduler counts as data quality), never an error: one broken attribute must not stop a
station's other values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.sync.config import AttributeSelection
from gateway.sensorthings.timefmt import parse_time

SDM = "https://smartdatamodels.org/"
# Entity type -> Smart Data Models subject (where its attributes are defined).
SUBJECTS = {
    "AirQualityObserved": "dataModel.Environment",
    "WaterQualityObserved": "dataModel.WaterQuality",
    "WaterObserved": "dataModel.Environment",
    "NoiseLevelObserved": "dataModel.Environment",
    "WeatherObserved": "dataModel.Weather",
    "EVChargingStation": "dataModel.Transportation",
    "TrafficFlowObserved": "dataModel.Transportation",
    "OffStreetParking": "dataModel.Parking",
    "Device": "dataModel.Device",
    "DeviceMeasurement": "dataModel.Device",
    "ACMeasurement": "dataModel.Energy",
    "ThreePhaseAcMeasurement": "dataModel.Energy",
}
# Attributes that describe the entity, not a measurement, whatever their values.
NOT_MEASURED = frozenset(
    {
        "id",
        "type",
        "@context",
        "name",
        "description",
        "alternateName",
        "location",
        "address",
        "areaServed",
        "dateObserved",
        "dateObservedFrom",
        "dateObservedTo",
        "dateCreated",
        "dateModified",
        "createdAt",
        "modifiedAt",
        "observedAt",
        "source",
        "dataProvider",
        "owner",
        "seeAlso",
        "refDevice",
        "refPointOfInterest",
    }
)
NUMERIC_TYPES = frozenset({"Number", "Integer", "Float", "Double", "Decimal"})


@dataclass(frozen=True)
class Reading:
    """One value of one attribute; times in microseconds since 1970 (UTC)."""

    attribute: str
    value: float
    start: int
    end: int
    unit_code: str | None = None


@dataclass
class EntityData:
    """What one entity contributes: its identity, place, sensor and readings."""

    id: str
    type: str
    name: str
    description: str
    location: dict[str, Any] | None = None
    device: str | None = None
    readings: list[Reading] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (attribute, problem)
    properties: dict[str, Any] = field(default_factory=dict)  # more Thing properties (rest)

    @property
    def skipped(self) -> int:
        return len(self.left_out)


def definition(entity_type: str, attribute: str) -> str:
    """The ObservedProperty definition: the attribute's URI where the key already is one
    (an LD broker without our @context), else its Smart Data Models URL."""
    if attribute.startswith(("http://", "https://", "urn:")):
        return attribute
    subject = SUBJECTS.get(entity_type)
    return f"{SDM}{subject}/{attribute}" if subject else f"{SDM}{entity_type}/{attribute}"


def short(name: str) -> str:
    """An expanded attribute or type URI as its last segment (display names)."""
    if name.startswith(("http://", "https://", "urn:")):
        return name.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1] or name
    return name


def _number(value: Any, text: bool = False) -> float | None:
    """A finite number; a numeric string only with `text` (a v2 attribute typed Number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and text:
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _time(value: Any) -> tuple[int, int] | None:
    """A DateTime value (v2 string; LD string or {"@type": "DateTime", "@value": ...}), or
    an interval `start/end`; None when it is neither."""
    if isinstance(value, dict):
        value = value.get("@value", value.get("value"))
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value, "time")
    except InvalidBody:
        return None


def _geometry(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        if value["type"] == "Feature":
            return _geometry(value.get("geometry"))
        if "coordinates" in value or value["type"] == "GeometryCollection":
            return value
    return None


def _v2_point(value: Any) -> dict[str, Any] | None:
    """geo:point is "lat, lon" (NGSI-v2's order, the reverse of GeoJSON's)."""
    if not isinstance(value, str):
        return None
    parts = value.split(",")
    lat, lon = (_number(p, True) for p in parts) if len(parts) == 2 else (None, None)
    if lat is None or lon is None:
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value.strip() else default


def _v2_value(attr: Any) -> Any:
    return attr.get("value") if isinstance(attr, dict) else attr


def _v2_meta(attr: Any, key: str) -> Any:
    meta = attr.get("metadata") if isinstance(attr, dict) else None
    item = meta.get(key) if isinstance(meta, dict) else None
    return item.get("value") if isinstance(item, dict) else None


def from_v2(entity: dict[str, Any], select: AttributeSelection) -> EntityData:
    """An NGSI-v2 entity in normalized form (`{"attr": {"type", "value", "metadata"}}`)."""
    eid, etype = str(entity.get("id", "")), str(entity.get("type", ""))
    data = EntityData(
        eid,
        etype,
        _text(_v2_value(entity.get("name")), eid),
        _text(_v2_value(entity.get("description")), f"{etype} {eid}"),
    )
    for key in ("location", *(k for k in entity if k not in ("location", "id", "type"))):
        attr = entity.get(key)
        if data.location is None and isinstance(attr, dict):
            kind = attr.get("type")
            if kind == "geo:json" or (key == "location" and kind not in ("geo:point",)):
                data.location = _geometry(attr.get("value"))
            elif kind == "geo:point":
                data.location = _v2_point(attr.get("value"))
    ref = _v2_value(entity.get("refDevice"))
    data.device = ref if isinstance(ref, str) else None
    entity_time = _time(_v2_value(entity.get("dateObserved")))
    modified = _time(_v2_value(entity.get("dateModified")))
    for key, attr in entity.items():
        if key in NOT_MEASURED or not select.wants(key) or not isinstance(attr, dict):
            continue
        declared = str(attr.get("type", ""))
        value = _number(attr.get("value"), declared in NUMERIC_TYPES)
        if value is None:  # text, objects, ...: not a measurement; a broken number: left out
            if declared in NUMERIC_TYPES and attr.get("value") is not None:
                data.left_out.append((key, "type"))
            continue
        when = (
            _time(_v2_meta(attr, "dateObserved"))
            or _time(_v2_meta(attr, "observedAt"))
            or entity_time
            or _time(_v2_meta(attr, "dateModified"))
            or modified
        )
        if when is None:
            data.left_out.append((key, "time"))
            continue
        unit = _v2_meta(attr, "unitCode")
        data.readings.append(
            Reading(key, value, when[0], when[1], unit if isinstance(unit, str) else None)
        )
    return data


def _ld_instances(attr: Any) -> list[dict[str, Any]]:
    """An LD attribute's instances: one object, or several (multi-attribute, datasetId)."""
    items = attr if isinstance(attr, list) else [attr]
    return [i for i in items if isinstance(i, dict)]


def _ld_value(attr: Any) -> Any:
    items = _ld_instances(attr)
    if not items:
        return None
    first = items[0]
    return first.get("object", first.get("value"))


def ld_base(entity: dict[str, Any]) -> EntityData:
    """Identity, place and device of an NGSI-LD entity (normalized form)."""
    eid, etype = str(entity.get("id", "")), short(str(entity.get("type", "")))
    data = EntityData(
        eid,
        etype,
        _text(_ld_value(entity.get("name")), eid),
        _text(_ld_value(entity.get("description")), f"{etype} {eid}"),
    )
    data.location = _geometry(_ld_value(entity.get("location")))
    if data.location is None:
        for attr in entity.values():
            items = _ld_instances(attr)
            if items and items[0].get("type") == "GeoProperty":
                data.location = _geometry(items[0].get("value"))
                break
    ref = _ld_value(entity.get("refDevice"))
    data.device = ref if isinstance(ref, str) else None
    return data


def _ld_readings(
    data: EntityData,
    key: str,
    instances: Iterable[dict[str, Any]],
    fallback: tuple[int, int] | None,
) -> None:
    for inst in instances:
        if inst.get("type", "Property") != "Property":
            continue
        value = _number(inst.get("value"))
        if value is None:  # text or structured: not a measurement
            continue
        when = _time(inst.get("observedAt")) or fallback or _time(inst.get("modifiedAt"))
        if when is None:
            data.left_out.append((key, "time"))
            continue
        unit = inst.get("unitCode")
        data.readings.append(
            Reading(key, value, when[0], when[1], unit if isinstance(unit, str) else None)
        )


def _ld_measured(entity: dict[str, Any], select: AttributeSelection) -> Iterable[str]:
    for key in entity:
        name = short(key)
        if name in NOT_MEASURED or not select.wants(name):
            continue
        yield key


def from_ld(entity: dict[str, Any], select: AttributeSelection) -> EntityData:
    """An NGSI-LD entity in normalized form (`{"attr": {"type": "Property", "value",
    "unitCode", "observedAt"}}`); a multi-attribute gives one reading per instance."""
    data = ld_base(entity)
    fallback = _time(_ld_value(entity.get("dateObserved"))) or _time(entity.get("modifiedAt"))
    for key in _ld_measured(entity, select):
        _ld_readings(data, short(key), _ld_instances(entity[key]), fallback)
    return data


def from_ld_temporal(entity: dict[str, Any], select: AttributeSelection) -> EntityData:
    """An entity of the LD temporal API (normalized: each attribute a list of instances
    with `value` and `observedAt`); instances without a time of their own are skipped."""
    data = ld_base(entity)
    for key in _ld_measured(entity, select):
        _ld_readings(data, short(key), _ld_instances(entity[key]), None)
    return data
