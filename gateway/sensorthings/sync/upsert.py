"""Entities of a synchronised source into the embedded store, in one transaction.

Everything the sync creates carries its external key in `properties` (`source`, plus
`entityId` for Things, `entityId` + `attribute` for Datastreams, `sensorKey` for Sensors),
so a later run, a notification or a restart finds it again: Things, Locations, Sensors,
ObservedProperties and Datastreams are made once, a moved entity's Location is updated, and
an Observation is added only for a (Datastream, phenomenonTime) the store does not hold yet,
so an unchanged value polled twice, or notified and polled, is stored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.sensorthings.model import BY_NAME
from gateway.sensorthings.store.bulk import insert_observations
from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.values import dumps
from gateway.sensorthings.store.write import WriteContext, feature_for, insert
from gateway.sensorthings.sync.ngsimap import SUBJECTS, EntityData, Reading, definition
from gateway.sensorthings.sync.units import unit_of_measurement

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
SDM_REPO = "https://github.com/smart-data-models"
CHUNK = 500


@dataclass
class SyncResult:
    things: int = 0
    datastreams: int = 0
    observations: int = 0
    moved: int = 0
    skipped: int = 0
    observation_ids: list[int] = field(default_factory=list)

    def add(self, other: SyncResult) -> None:
        for name in ("things", "datastreams", "observations", "moved", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Known:
    """What earlier runs made for this source, by external key."""

    things: dict[str, int] = field(default_factory=dict)
    places: dict[int, tuple[int, Any]] = field(default_factory=dict)  # thing -> (location, geo)
    streams: dict[tuple[str, str], int] = field(default_factory=dict)
    sensors: dict[str, int] = field(default_factory=dict)
    properties: dict[str, int] = field(default_factory=dict)


def _json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def _mine(ctx: WriteContext, table: str, source: str, extra: str = "") -> Plan[list]:
    sql, d = ctx.sql(), ctx.dialect
    where = f"{d.json_text(d.json_get(sql, 'properties', ('source',)))} = {sql.param(source)}"
    rows = yield Stmt(f"SELECT id, properties{extra} FROM {table} WHERE {where}", sql.params)
    return [(int(r[0]), _json(r[1]) or {}, *r[2:]) for r in rows]


def known(ctx: WriteContext, source: str) -> Plan[Known]:
    found = Known()
    for id_, props in (yield from _mine(ctx, "things", source)):
        if isinstance(props.get("entityId"), str):
            found.things[props["entityId"]] = id_
    for id_, props in (yield from _mine(ctx, "datastreams", source)):
        if isinstance(props.get("entityId"), str) and isinstance(props.get("attribute"), str):
            found.streams[(props["entityId"], props["attribute"])] = id_
    for id_, props in (yield from _mine(ctx, "sensors", source)):
        if isinstance(props.get("sensorKey"), str):
            found.sensors[props["sensorKey"]] = id_
    for row in (yield Stmt("SELECT id, definition FROM observed_properties")):
        found.properties.setdefault(row[1], int(row[0]))
    if found.things:
        rows = yield Stmt(
            "SELECT tl.thing_id, l.id, l.location FROM thing_locations tl"
            " JOIN locations l ON l.id = tl.location_id ORDER BY l.id"
        )
        mine = set(found.things.values())
        for thing, loc, geo in rows:
            if int(thing) in mine:
                found.places.setdefault(int(thing), (int(loc), _json(geo)))
    return found


def _location(entity: EntityData) -> dict[str, Any]:
    return {
        "name": entity.name,
        "description": f"Location of {entity.type} {entity.id}",
        "encodingType": "application/geo+json",
        "location": entity.location,
    }


def _thing(ctx: WriteContext, source: str, entity: EntityData, found: Known) -> Plan[int]:
    body: dict[str, Any] = {
        "name": entity.name,
        "description": entity.description,
        "properties": {"source": source, "entityId": entity.id, "entityType": entity.type},
    }
    if entity.location is not None:
        body["Locations"] = [_location(entity)]
    thing = yield from insert(ctx, BY_NAME["Thing"], body)
    found.things[entity.id] = thing
    if entity.location is not None:
        loc = next(i for etype, i in reversed(ctx.created) if etype.name == "Location")
        found.places[thing] = (loc, entity.location)
    return thing


def _relocate(ctx: WriteContext, thing: int, entity: EntityData, found: Known) -> Plan[bool]:
    """A moved entity: its Location follows (in place; the FeatureOfInterest made from it
    keeps the place where earlier values were observed)."""
    place = found.places.get(thing)
    if entity.location is None or (place is not None and place[1] == entity.location):
        return False
    if place is None:
        loc = yield from insert(ctx, BY_NAME["Location"], _location(entity), None)
        sql = ctx.sql()
        yield Stmt(
            "INSERT INTO thing_locations (thing_id, location_id)"
            f" VALUES ({sql.param(thing)}, {sql.param(loc)})",
            sql.params,
        )
    else:
        loc = place[0]
        sql = ctx.sql()
        yield Stmt(
            f"UPDATE locations SET location = {sql.json_param(dumps(entity.location))}"
            f" WHERE id = {sql.param(loc)}",
            sql.params,
        )
        sql = ctx.sql()
        yield Stmt(
            "UPDATE features_of_interest SET generated_from_location_id = NULL"
            f" WHERE generated_from_location_id = {sql.param(loc)}",
            sql.params,
        )
        ctx.changed.append((BY_NAME["Location"], loc))
    found.places[thing] = (loc, entity.location)
    return True


def _sensor(ctx: WriteContext, source: str, entity: EntityData, found: Known) -> Plan[int]:
    key = f"device:{entity.device}" if entity.device else f"type:{entity.type}"
    if key not in found.sensors:
        if entity.device:
            body = {
                "name": entity.device,
                "description": f"Device {entity.device} (NGSI refDevice)",
                "encodingType": "text/plain",
                "metadata": entity.device,
            }
        else:
            subject = SUBJECTS.get(entity.type, "data-models")
            body = {
                "name": f"{entity.type} ({source})",
                "description": f"The instruments behind the {entity.type} entities of {source}",
                "encodingType": "text/html",
                "metadata": f"{SDM_REPO}/{subject}/tree/master/{entity.type}",
            }
        body["properties"] = {"source": source, "sensorKey": key}
        found.sensors[key] = yield from insert(ctx, BY_NAME["Sensor"], body)
    return found.sensors[key]


def _observed_property(
    ctx: WriteContext, entity: EntityData, attribute: str, found: Known
) -> Plan[int]:
    uri = definition(entity.type, attribute)
    if uri not in found.properties:
        body = {
            "name": attribute,
            "definition": uri,
            "description": f"{attribute} as Smart Data Models define it for {entity.type}",
        }
        found.properties[uri] = yield from insert(ctx, BY_NAME["ObservedProperty"], body)
    return found.properties[uri]


def _datastream(
    ctx: WriteContext,
    source: str,
    entity: EntityData,
    reading: Reading,
    units: dict[str, str],
    found: Known,
) -> Plan[int]:
    key = (entity.id, reading.attribute)
    if key in found.streams:
        return found.streams[key]
    sensor = yield from _sensor(ctx, source, entity, found)
    prop = yield from _observed_property(ctx, entity, reading.attribute, found)
    body = {
        "name": f"{entity.name} {reading.attribute}",
        "description": f"{reading.attribute} of {entity.type} {entity.id}",
        "unitOfMeasurement": unit_of_measurement(reading.unit_code, units.get(reading.attribute)),
        "observationType": MEASUREMENT,
        "properties": {"source": source, "entityId": entity.id, "attribute": reading.attribute},
        "Thing": {"@iot.id": found.things[entity.id]},
        "Sensor": {"@iot.id": sensor},
        "ObservedProperty": {"@iot.id": prop},
    }
    found.streams[key] = yield from insert(ctx, BY_NAME["Datastream"], body)
    return found.streams[key]


def _held(ctx: WriteContext, wanted: dict[int, set[int]]) -> Plan[set[tuple[int, int]]]:
    """Which (Datastream, phenomenonTime start) pairs of `wanted` the store already has."""
    held: set[tuple[int, int]] = set()
    for ds, times in wanted.items():
        ordered = sorted(times)
        for i in range(0, len(ordered), CHUNK):
            part = ordered[i : i + CHUNK]
            sql = ctx.sql()
            rows = yield Stmt(
                "SELECT phenomenon_time_start FROM observations"
                f" WHERE datastream_id = {sql.param(ds)}"
                f" AND phenomenon_time_start BETWEEN {sql.param(part[0])}"
                f" AND {sql.param(part[-1])}",
                sql.params,
            )
            held.update((ds, int(r[0])) for r in rows)
    return held


def upsert_plan(
    ctx: WriteContext,
    source: str,
    entities: Sequence[EntityData],
    units: dict[str, str],
    announce: bool = True,
) -> Plan[SyncResult]:
    """Make or find each entity's Thing and Datastreams, then add the new Observations."""
    result = SyncResult()
    if ctx.dialect.name == "postgres":  # one sync writer at a time per store
        yield Stmt("SELECT pg_advisory_xact_lock(7654322)")
    found = yield from known(ctx, source)
    pending: list[tuple[int, Reading]] = []
    for entity in entities:
        result.skipped += entity.skipped
        if not entity.id:
            continue
        thing = found.things.get(entity.id)
        if thing is None:
            thing = yield from _thing(ctx, source, entity, found)
            result.things += 1
        elif (yield from _relocate(ctx, thing, entity, found)):
            result.moved += 1
        if thing not in found.places:  # no place, so no FeatureOfInterest for its values
            result.skipped += len(entity.readings)
            continue
        for reading in entity.readings:
            before = len(found.streams)
            ds = yield from _datastream(ctx, source, entity, reading, units, found)
            result.datastreams += len(found.streams) - before
            pending.append((ds, reading))
    wanted: dict[int, set[int]] = {}
    for ds, reading in pending:
        wanted.setdefault(ds, set()).add(reading.start)
    held = yield from _held(ctx, wanted)
    rows: list[list[Any]] = []
    for ds, r in sorted(pending, key=lambda p: (p[0], p[1].start)):
        if (ds, r.start) in held:
            result.skipped += 1
            continue
        held.add((ds, r.start))
        foi = yield from feature_for(ctx, ds, None)
        text = dumps(r.value)
        row = [r.start, r.end, None, text, r.value, text, None, None, None, None, ds, None, foi]
        rows.append(row)
    result.observation_ids = yield from insert_observations(ctx, rows, record=announce)
    result.observations = len(rows)
    return result
