"""Array of Things digests into the embedded store.

A digest folder holds `nodes.csv`, `sensors.csv` and `data.csv.gz`
(`timestamp,node_id,subsystem,sensor,parameter,value_raw,value_hrf`, UTC times as
`YYYY/MM/DD HH:MM:SS`, `NA` for missing values). The mapping:

    node                            -> Thing (+ Location from lat/lon)
    ontology path                   -> ObservedProperty (definition = the ontology path)
    (subsystem, sensor)             -> Sensor
    (node, subsystem, sensor, parameter) -> Datastream, unit in UCUM
    row                             -> Observation (result = value_hrf; value_raw as parameter)

Imports are incremental: entities are matched by their AoT keys (kept in `properties`),
and rows at or before a Datastream's last phenomenonTime are skipped, so a periodic import
of a growing digest adds only what is new. Everything goes in with one transaction.

With a SensorThings profile (an import's `profile`, through the NGSI sync's ProfileBinding),
a Datastream whose ontology path or `subsystem.sensor.parameter` is mapped in
`observed_properties` to one of the profile's properties, in the profile's unit, gets that
property's ObservedProperty, unit and observationType and declares the profile; every Thing
of the import gets the profile's Thing properties (stationId = the node id). Things and
Datastreams an earlier import made without the profile are brought up to it, as a PATCH would.
"""

from __future__ import annotations

import asyncio
import calendar
import csv
import gzip
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gateway.sensorthings.model import BY_NAME
from gateway.sensorthings.store.bulk import insert_observations
from gateway.sensorthings.store.modify import update
from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.values import dumps
from gateway.sensorthings.store.write import WriteContext, feature_for, insert
from gateway.sensorthings.sync.profiled import ProfileBinding
from profiles import ObservedPropertySpec

log = logging.getLogger("twinbridge.sensorthings.aot")
UCUM = {
    "C": "Cel",
    "ug/m3": "ug/m3",
    "μg/m3": "ug/m3",
    "ppm": "[ppm]",
    "ppb": "[ppb]",
    "%RH": "%",
    "hPa": "hPa",
    "lux": "lx",
    "dB": "dB",
    "Wh": "W.h",
    "kWh": "kW.h",
    "W": "W",
    "kW": "kW",
    "km/h": "km/h",
    "%": "%",
    "veh": "{vehicles}",
}
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
ONTOLOGY = "https://arrayofthings.github.io/ontology"
BATCH = 50000
# Optional nodes.csv columns -> the Thing property a profile names for them.
NODE_PROPERTIES = {"building_id": "buildingId", "lane_id": "laneId"}


@dataclass
class Digest:
    nodes: dict[str, dict[str, str]]
    sensors: dict[tuple[str, str, str], dict[str, str]]  # (subsystem, sensor, parameter)
    rows: list[tuple[int, str, tuple[str, str, str], float, str]] = field(default_factory=list)
    skipped: int = 0


@dataclass
class ImportResult:
    things: int = 0
    datastreams: int = 0
    observations: int = 0
    skipped: int = 0


def _timestamp(text: str, cache: dict[str, int]) -> int:
    """`YYYY/MM/DD HH:MM:SS` (UTC) in microseconds; parsed by hand, strptime is slow."""
    value = cache.get(text)
    if value is None:
        try:
            parts = (
                int(text[0:4]),
                int(text[5:7]),
                int(text[8:10]),
                int(text[11:13]),
                int(text[14:16]),
                int(text[17:19]),
            )
        except ValueError:
            raise ValueError(f"'{text}' is not a timestamp YYYY/MM/DD HH:MM:SS") from None
        if len(text) != 19 or text[4] != "/" or text[13] != ":":
            raise ValueError(f"'{text}' is not a timestamp YYYY/MM/DD HH:MM:SS")
        value = calendar.timegm(parts) * 1_000_000
        cache[text] = value
    return value


def read_digest(folder: Path) -> Digest:
    """Parse a digest folder (no store access; run it in a thread on a server)."""
    with (folder / "nodes.csv").open(encoding="utf-8", newline="") as f:
        nodes = {row["node_id"]: row for row in csv.DictReader(f)}
    with (folder / "sensors.csv").open(encoding="utf-8", newline="") as f:
        sensors = {(r["subsystem"], r["sensor"], r["parameter"]): r for r in csv.DictReader(f)}
    digest = Digest(nodes, sensors)
    cache: dict[str, int] = {}
    with gzip.open(folder / "data.csv.gz", "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or header[:7] != [
            "timestamp",
            "node_id",
            "subsystem",
            "sensor",
            "parameter",
            "value_raw",
            "value_hrf",
        ]:
            raise ValueError(f"{folder / 'data.csv.gz'}: not an Array of Things digest")
        for ts, node, subsystem, sensor, parameter, raw, hrf in reader:
            key = (subsystem, sensor, parameter)
            if hrf in ("NA", "") or node not in nodes or key not in sensors:
                digest.skipped += 1
                continue
            try:
                value = float(hrf)
            except ValueError:
                digest.skipped += 1
                continue
            digest.rows.append((_timestamp(ts, cache), node, key, value, raw))
    return digest


@dataclass(frozen=True)
class Station:
    """A node as the profile's Thing properties see it (its id, as an NGSI entity's)."""

    id: str


def _thing_body(node: dict[str, str], profile: ProfileBinding | None) -> dict[str, Any]:
    name = node.get("vsn") or node["node_id"]
    point = {"type": "Point", "coordinates": [float(node["lon"]), float(node["lat"])]}
    props = {k: node[k] for k in ("node_id", "project_id", "vsn", "address") if node.get(k)}
    props.update({key: node[col] for col, key in NODE_PROPERTIES.items() if node.get(col)})
    if profile is not None:
        props.update(profile.thing_properties(Station(node["node_id"])))
    return {
        "name": name,
        "description": node.get("description") or node.get("address") or name,
        "properties": props,
        "Locations": [
            {
                "name": node.get("address") or name,
                "description": f"Location of node {name}",
                "encodingType": "application/geo+json",
                "location": point,
            }
        ],
    }


def _unit(sensor: dict[str, str]) -> dict[str, str]:
    unit = sensor.get("hrf_unit") or ""
    return {
        "name": unit,
        "symbol": unit,
        "definition": f"http://unitsofmeasure.org/ucum.html#{UCUM.get(unit, unit)}",
    }


def _profiled(
    sensor: dict[str, str], profile: ProfileBinding | None
) -> ObservedPropertySpec | None:
    """The profile's property a digest sensor stands for: by its ontology path, else by
    `subsystem.sensor.parameter` (in observed_properties), when its unit is the profile's."""
    if profile is None:
        return None
    names = (
        sensor["ontology"],
        f"{sensor['subsystem']}.{sensor['sensor']}.{sensor['parameter']}",
    )
    return profile.mapped(names, _unit(sensor))


def _datastream_body(
    node: dict[str, str],
    key: tuple[str, str, str],
    sensor: dict[str, str],
    refs: dict,
    spec: ObservedPropertySpec | None,
    profile: ProfileBinding | None,
) -> dict:
    subsystem, sensor_name, parameter = key
    node_name = node.get("vsn") or node["node_id"]
    props = {
        "node_id": node["node_id"],
        "subsystem": subsystem,
        "sensor": sensor_name,
        "parameter": parameter,
    }
    if spec is not None and profile is not None:
        props.update(profile.declared)
    return {
        "name": f"{node_name} {subsystem}.{sensor_name}.{parameter}",
        "description": f"{parameter} by {sensor_name} ({subsystem}) at node {node_name}",
        "unitOfMeasurement": dict(spec.unit) if spec else _unit(sensor),
        "observationType": spec.observation_type if spec else MEASUREMENT,
        "properties": props,
        "Sensor": refs["sensor"],
        "ObservedProperty": refs["property"],
    }


def _existing(ctx: WriteContext) -> Plan[dict[str, dict]]:
    """What an earlier import made, keyed by AoT identifiers."""
    found: dict[str, dict] = {
        "things": {},
        "datastreams": {},
        "sensors": {},
        "properties": {},
        "stored": {},  # (table, id) -> its properties, for bringing it up to a profile
    }
    for row in (yield Stmt("SELECT id, properties FROM things")):
        props = _json(row[1])
        if "node_id" in props:
            found["things"][props["node_id"]] = int(row[0])
            found["stored"][("things", int(row[0]))] = props
    for row in (yield Stmt("SELECT id, properties, phenomenon_time_end FROM datastreams")):
        p = _json(row[1])
        if "node_id" in p:
            key = (p["node_id"], p.get("subsystem"), p.get("sensor"), p.get("parameter"))
            found["datastreams"][key] = (int(row[0]), row[2])
            found["stored"][("datastreams", int(row[0]))] = p
    for row in (yield Stmt("SELECT id, name FROM sensors")):
        found["sensors"][row[1]] = int(row[0])
    for row in (yield Stmt("SELECT id, definition FROM observed_properties")):
        found["properties"][row[1]] = int(row[0])
    return found


def _json(value: Any) -> dict:
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return value if isinstance(value, dict) else {}


def _entities(
    ctx: WriteContext,
    digest: Digest,
    found: dict,
    result: ImportResult,
    profile: ProfileBinding | None,
) -> Plan[dict]:
    streams: dict[tuple[str, tuple[str, str, str]], tuple[int, int | None]] = {}
    used = {(node, key) for _, node, key, _, _ in digest.rows}
    for node_id, key in sorted(used):
        node = digest.nodes[node_id]
        if node_id not in found["things"]:
            body = _thing_body(node, profile)
            thing = yield from insert(ctx, BY_NAME["Thing"], body)
            found["things"][node_id] = thing
            found["stored"][("things", thing)] = body["properties"]
            result.things += 1
        elif profile is not None:
            yield from _bring_up_thing(ctx, found["things"][node_id], node_id, found, profile)
        full = (node_id, *key)
        spec = _profiled(digest.sensors[key], profile)
        if full in found["datastreams"]:
            streams[(node_id, key)] = found["datastreams"][full]
            ds = found["datastreams"][full][0]
            yield from _bring_up(ctx, ds, digest.sensors[key], found, spec, profile)
            continue
        refs = yield from _refs(ctx, digest.sensors[key], found, spec)
        body = _datastream_body(node, key, digest.sensors[key], refs, spec, profile)
        body["Thing"] = {"@iot.id": found["things"][node_id]}
        ds = yield from insert(ctx, BY_NAME["Datastream"], body)
        found["datastreams"][full] = (ds, None)
        streams[(node_id, key)] = (ds, None)
        result.datastreams += 1
    return streams


def _bring_up_thing(
    ctx: WriteContext, thing: int, node_id: str, found: dict, profile: ProfileBinding
) -> Plan[None]:
    """A Thing an import made before its profile was configured: add the profile's
    properties."""
    stored = found["stored"].get(("things", thing), {})
    wanted = profile.thing_properties(Station(node_id))
    if all(stored.get(k) == v for k, v in wanted.items()):
        return
    props = {**stored, **wanted}
    yield from update(ctx, BY_NAME["Thing"], thing, {"properties": props})
    found["stored"][("things", thing)] = props


def _bring_up(
    ctx: WriteContext,
    ds: int,
    sensor: dict[str, str],
    found: dict,
    spec: ObservedPropertySpec | None,
    profile: ProfileBinding | None,
) -> Plan[None]:
    """A Datastream an import made before its profile was configured (or at an older
    version): give it the profile's ObservedProperty, unit, observationType and declaration."""
    stored = found["stored"].get(("datastreams", ds), {})
    if spec is None or profile is None or profile.declares(stored):
        return
    refs = yield from _refs(ctx, sensor, found, spec)
    props = {**stored, **profile.declared}
    body = {
        "unitOfMeasurement": dict(spec.unit),
        "observationType": spec.observation_type,
        "properties": props,
        "ObservedProperty": refs["property"],
    }
    yield from update(ctx, BY_NAME["Datastream"], ds, body)
    found["stored"][("datastreams", ds)] = props


def _refs(
    ctx: WriteContext, sensor: dict[str, str], found: dict, spec: ObservedPropertySpec | None
) -> Plan[dict]:
    name = f"{sensor['subsystem']}.{sensor['sensor']}"
    if name not in found["sensors"]:
        body = {
            "name": name,
            "description": f"{sensor['sensor']} in the {sensor['subsystem']} board",
            "encodingType": "application/pdf",
            "metadata": sensor.get("datasheet") or "",
        }
        found["sensors"][name] = yield from insert(ctx, BY_NAME["Sensor"], body)
    definition = spec.definition if spec else ONTOLOGY + sensor["ontology"]
    if definition not in found["properties"]:
        body = (
            spec.observed_property()
            if spec
            else {
                "name": sensor["ontology"].rsplit("/", 1)[-1],
                "definition": definition,
                "description": sensor["ontology"],
            }
        )
        found["properties"][definition] = yield from insert(ctx, BY_NAME["ObservedProperty"], body)
    return {
        "sensor": {"@iot.id": found["sensors"][name]},
        "property": {"@iot.id": found["properties"][definition]},
    }


def import_plan(
    ctx: WriteContext,
    digest: Digest,
    announce: bool = True,
    profile: ProfileBinding | None = None,
) -> Plan[ImportResult]:
    result = ImportResult(skipped=digest.skipped)
    if ctx.dialect.name == "postgres":  # one import at a time (SQLite: the write lock does it)
        yield Stmt("SELECT pg_advisory_xact_lock(7654321)")
    found = yield from _existing(ctx)
    streams = yield from _entities(ctx, digest, found, result, profile)
    fois: dict[int, int] = {}
    counts = {
        key
        for key, sensor in digest.sensors.items()
        if (spec := _profiled(sensor, profile)) and spec.result_type == "integer"
    }
    batch: list[list[Any]] = []
    for ts, node, key, value, raw in digest.rows:
        ds, last = streams[(node, key)]
        if last is not None and ts <= last:
            result.skipped += 1
            continue
        if ds not in fois:
            fois[ds] = yield from feature_for(ctx, ds, None)
        if key in counts and value.is_integer():  # an OM_CountObservation's result
            value = int(value)
        text = dumps(value)
        params = None if raw in ("NA", "") else dumps({"value_raw": raw})
        batch.append(
            [ts, ts, None, text, value, text, None, None, None, params, ds, None, fois[ds]]
        )
        if len(batch) >= BATCH:
            yield from insert_observations(ctx, batch, record=announce)
            result.observations += len(batch)
            batch = []
    yield from insert_observations(ctx, batch, record=announce)
    result.observations += len(batch)
    return result


def import_sync(
    store_path: Path, folder: Path, profile: ProfileBinding | None = None
) -> ImportResult:
    """Import into an SQLite store without a running server (CLI, demo generation)."""
    from gateway.sensorthings.store.dialect import SQLITE
    from gateway.sensorthings.store.sqlite import write_sync

    digest = read_digest(folder)
    return write_sync(
        store_path,
        lambda ctx: import_plan(ctx, digest, announce=False, profile=profile),
        WriteContext(SQLITE),
    )


def schedule_imports(loaded: Any, services: dict[str, Any]) -> list[asyncio.Task[None]]:
    """One background task per configured import (0 = once at start-up)."""
    tasks = []
    for tenant, service in services.items():
        cfg = loaded.config.tenants[tenant].sensorthings
        for item in cfg.imports:
            folder = (loaded.base_dir / item.path).resolve()
            profile = item.profile_binding()
            tasks.append(asyncio.create_task(_periodic(service, folder, item.interval, profile)))
    return tasks


async def _periodic(
    service: Any, folder: Path, interval: float, profile: ProfileBinding | None = None
) -> None:
    while True:
        try:
            digest = await asyncio.to_thread(read_digest, folder)
            result = await service.run_write(
                lambda ctx, d=digest: import_plan(ctx, d, profile=profile)
            )
            log.info("tenant %s: imported %s from %s", service.tenant, result, folder)
        except (OSError, ValueError) as e:
            log.warning("tenant %s: import from %s failed: %s", service.tenant, folder, e)
        if interval <= 0:
            return
        await asyncio.sleep(interval)
