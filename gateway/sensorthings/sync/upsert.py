"""Entities of a synchronised source into the embedded store, in one transaction.

Everything the sync creates carries its external key in `properties` (`source`, plus
`entityId` for Things, `entityId` + `attribute` for Datastreams, `sensorKey` for Sensors),
so a later run, a notification or a restart finds it again (known.py; a source split off
another also finds what that one made, `formerly`): Things, Locations, Sensors,
ObservedProperties and Datastreams are made once, a moved entity gets a new Location, and
an Observation is added only for a (Datastream, phenomenonTime) the store does not hold yet,
so an unchanged value polled twice, or notified and polled, is stored once.

With a profile (profiled.py), a reading of one of its observed properties gets the
profile's ObservedProperty, unit and observationType, and its Datastream declares the
profile; Things and Datastreams an earlier run made without that declaration (the profile
was configured later, or has a new version) are brought up to it, as a PATCH would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.sensorthings.model import BY_NAME
from gateway.sensorthings.store.bulk import insert_observations
from gateway.sensorthings.store.modify import update
from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.values import dumps
from gateway.sensorthings.store.write import (
    WriteContext,
    feature_for,
    historical_location,
    insert,
)
from gateway.sensorthings.sync.known import CHUNK, Known, known
from gateway.sensorthings.sync.ngsimap import SUBJECTS, EntityData, Reading, definition
from gateway.sensorthings.sync.profiled import ProfileBinding
from gateway.sensorthings.sync.units import unit_of_measurement
from profiles import ObservedPropertySpec

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
SDM_REPO = "https://github.com/smart-data-models"


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


def _location(entity: EntityData) -> dict[str, Any]:
    return {
        "name": entity.name,
        "description": f"Location of {entity.type} {entity.id}",
        "encodingType": "application/geo+json",
        "location": entity.location,
    }


def _thing_properties(
    source: str, entity: EntityData, profile: ProfileBinding | None
) -> dict[str, Any]:
    keys = {"source": source, "entityId": entity.id, "entityType": entity.type}
    props = {**entity.properties, **keys}  # a rest source's own first, never over the keys
    return {**props, **profile.thing_properties(entity)} if profile else props


def _thing(
    ctx: WriteContext,
    source: str,
    entity: EntityData,
    found: Known,
    profile: ProfileBinding | None,
) -> Plan[int]:
    body: dict[str, Any] = {
        "name": entity.name,
        "description": entity.description,
        "properties": _thing_properties(source, entity, profile),
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
    """A moved entity: its Thing gets a new Location (the old one stays with the
    HistoricalLocations and the FeatureOfInterest of the values observed there) and a
    HistoricalLocation, as a client's PATCH of the Thing's Locations would give it."""
    place = found.places.get(thing)
    if entity.location is None or (place is not None and place[1] == entity.location):
        return False
    loc = yield from insert(ctx, BY_NAME["Location"], _location(entity), None)
    sql = ctx.sql()
    yield Stmt(f"DELETE FROM thing_locations WHERE thing_id = {sql.param(thing)}", sql.params)
    sql = ctx.sql()
    yield Stmt(
        "INSERT INTO thing_locations (thing_id, location_id)"
        f" VALUES ({sql.param(thing)}, {sql.param(loc)})",
        sql.params,
    )
    yield from historical_location(ctx, thing)
    found.places[thing] = (loc, entity.location)
    return True


def _sensor(ctx: WriteContext, source: str, entity: EntityData, found: Known) -> Plan[int]:
    key = f"device:{entity.device}" if entity.device else f"type:{entity.type}"
    if key not in found.sensors:
        body: dict[str, Any]
        if entity.device:
            body = {
                "name": entity.device,
                "description": f"Device {entity.device} (NGSI refDevice)",
                "encodingType": "text/plain",
                "metadata": entity.device,
            }
        elif entity.type not in SUBJECTS:  # not a Smart Data Model (a rest source's stations)
            body = {
                "name": f"{entity.type} ({source})",
                "description": f"The instruments behind the {entity.type} stations of {source}",
                "encodingType": "text/plain",
                "metadata": f"{entity.type} stations of the sync source {source}",
            }
        else:
            subject = SUBJECTS[entity.type]
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
    ctx: WriteContext,
    entity: EntityData,
    attribute: str,
    found: Known,
    spec: ObservedPropertySpec | None,
) -> Plan[int]:
    if spec is not None:
        uri, body = spec.definition, spec.observed_property()
    else:
        uri = definition(entity.type, attribute)
        body = {
            "name": attribute,
            "definition": uri,
            "description": f"{attribute} as Smart Data Models define it for {entity.type}",
        }
    if uri not in found.properties:
        found.properties[uri] = yield from insert(ctx, BY_NAME["ObservedProperty"], body)
    return found.properties[uri]


def _datastream(
    ctx: WriteContext,
    source: str,
    entity: EntityData,
    reading: Reading,
    units: dict[str, str],
    found: Known,
    profile: ProfileBinding | None = None,
) -> Plan[int]:
    key = (entity.id, reading.attribute)
    unit = unit_of_measurement(reading.unit_code, units.get(reading.attribute))
    spec = profile.observed(entity.type, reading.attribute, unit) if profile else None
    if key in found.streams:
        yield from _adopt(ctx, "datastreams", found.streams[key], source, found)
        yield from _bring_up(ctx, found, found.streams[key], entity, spec, profile)
        return found.streams[key]
    sensor = yield from _sensor(ctx, source, entity, found)
    prop = yield from _observed_property(ctx, entity, reading.attribute, found, spec)
    props = {"source": source, "entityId": entity.id, "attribute": reading.attribute}
    body = {
        "name": f"{entity.name} {reading.attribute}",
        "description": f"{reading.attribute} of {entity.type} {entity.id}",
        "unitOfMeasurement": dict(spec.unit) if spec else unit,
        "observationType": spec.observation_type if spec else MEASUREMENT,
        "properties": {**props, **profile.declared} if spec and profile else props,
        "Thing": {"@iot.id": found.things[entity.id]},
        "Sensor": {"@iot.id": sensor},
        "ObservedProperty": {"@iot.id": prop},
    }
    found.streams[key] = yield from insert(ctx, BY_NAME["Datastream"], body)
    return found.streams[key]


def _bring_up(
    ctx: WriteContext,
    found: Known,
    stream: int,
    entity: EntityData,
    spec: ObservedPropertySpec | None,
    profile: ProfileBinding | None,
) -> Plan[None]:
    """A Datastream made before its profile was configured (or at an older version):
    give it the profile's ObservedProperty, unit, observationType and declaration."""
    stored = found.stored.get(("datastreams", stream))
    if spec is None or profile is None or stored is None or profile.declares(stored):
        return
    prop = yield from _observed_property(ctx, entity, str(stored.get("attribute")), found, spec)
    props = {**stored, **profile.declared}
    body = {
        "unitOfMeasurement": dict(spec.unit),
        "observationType": spec.observation_type,
        "properties": props,
        "ObservedProperty": {"@iot.id": prop},
    }
    yield from update(ctx, BY_NAME["Datastream"], stream, body)
    found.stored[("datastreams", stream)] = props


def _adopt(ctx: WriteContext, table: str, row: int, source: str, found: Known) -> Plan[None]:
    """A Thing or Datastream a former source made (`formerly`) becomes this source's, with
    its @iot.id and history: its `source` key is rewritten once."""
    stored = found.stored.get((table, row))
    if stored is None or stored.get("source") == source:
        return
    props = {**stored, "source": source}
    etype = BY_NAME["Thing" if table == "things" else "Datastream"]
    yield from update(ctx, etype, row, {"properties": props})
    found.stored[(table, row)] = props


def _bring_up_thing(
    ctx: WriteContext,
    entity: EntityData,
    thing: int,
    found: Known,
    profile: ProfileBinding | None,
) -> Plan[None]:
    """A Thing made before its profile was configured: add the profile's properties."""
    stored = found.stored.get(("things", thing))
    if profile is None or stored is None:
        return
    wanted = profile.thing_properties(entity)
    if all(stored.get(k) == v for k, v in wanted.items()):
        return
    props = {**stored, **wanted}
    yield from update(ctx, BY_NAME["Thing"], thing, {"properties": props})
    found.stored[("things", thing)] = props


def _held(ctx: WriteContext, wanted: dict[int, set[int]]) -> Plan[set[tuple[int, int]]]:
    """Which (Datastream, phenomenonTime start) pairs of `wanted` the store already has:
    one query per CHUNK Datastreams over the batch's time span."""
    held: set[tuple[int, int]] = set()
    streams = sorted(wanted)
    times = [t for ts in wanted.values() for t in ts]
    for i in range(0, len(streams), CHUNK):
        sql = ctx.sql()
        marks = ", ".join(sql.param(ds) for ds in streams[i : i + CHUNK])
        rows = yield Stmt(
            "SELECT datastream_id, phenomenon_time_start FROM observations"
            f" WHERE datastream_id IN ({marks})"
            f" AND phenomenon_time_start BETWEEN {sql.param(min(times))}"
            f" AND {sql.param(max(times))}",
            sql.params,
        )
        held.update((int(r[0]), int(r[1])) for r in rows if int(r[1]) in wanted[int(r[0])])
    return held


def _features(ctx: WriteContext, streams: Sequence[int]) -> Plan[None]:
    """The FeaturesOfInterest already made from the Datastreams' Things' Locations, looked
    up at once (write.feature_for would ask once per Datastream; it makes the missing)."""
    ordered = sorted(set(streams))
    for i in range(0, len(ordered), CHUNK):
        sql = ctx.sql()
        marks = ", ".join(sql.param(ds) for ds in ordered[i : i + CHUNK])
        rows = yield Stmt(
            "SELECT d.id, f.id FROM datastreams d"
            " JOIN thing_locations tl ON tl.thing_id = d.thing_id"
            " JOIN features_of_interest f ON f.generated_from_location_id = tl.location_id"
            f" WHERE d.id IN ({marks}) ORDER BY tl.location_id, f.id",
            sql.params,
        )
        for ds, foi in rows:
            ctx.foi_by_datastream.setdefault(int(ds), int(foi))


def upsert_plan(
    ctx: WriteContext,
    source: str,
    entities: Sequence[EntityData],
    units: dict[str, str],
    announce: bool = True,
    profile: ProfileBinding | None = None,
    formerly: Sequence[str] = (),
) -> Plan[SyncResult]:
    """Make or find each entity's Thing and Datastreams, then add the new Observations."""
    result = SyncResult()
    if ctx.dialect.name == "postgres":  # one sync writer at a time per store
        yield Stmt("SELECT pg_advisory_xact_lock(7654322)")
    found = yield from known(ctx, source, [e.id for e in entities if e.id], formerly)
    pending: list[tuple[int, Reading]] = []
    for entity in entities:
        result.skipped += entity.skipped
        if not entity.id:
            continue
        thing = found.things.get(entity.id)
        if thing is None:
            thing = yield from _thing(ctx, source, entity, found, profile)
            result.things += 1
        else:
            yield from _adopt(ctx, "things", thing, source, found)
            yield from _bring_up_thing(ctx, entity, thing, found, profile)
            if (yield from _relocate(ctx, thing, entity, found)):
                result.moved += 1
        if thing not in found.places:  # no place, so no FeatureOfInterest for its values
            result.skipped += len(entity.readings)
            continue
        for reading in entity.readings:
            before = len(found.streams)
            ds = yield from _datastream(ctx, source, entity, reading, units, found, profile)
            result.datastreams += len(found.streams) - before
            pending.append((ds, reading))
    wanted: dict[int, set[int]] = {}
    for ds, reading in pending:
        wanted.setdefault(ds, set()).add(reading.start)
    held: set[tuple[int, int]] = set()
    if wanted:
        held = yield from _held(ctx, wanted)
    yield from _features(ctx, list(wanted))
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
