"""PATCH, PUT and DELETE plans.

PATCH changes only the given properties; relations may be re-pointed by reference
(`{"Thing": {"@iot.id": 2}}`, a Thing's `Locations` as references, which records a
HistoricalLocation); new entities inline in a PATCH are a 400. PUT replaces every property
(missing optional ones become null). DELETE cascades through the foreign keys.
"""

from __future__ import annotations

from typing import Any

from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.model import EntityType, target
from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.values import is_reference, property_values, reference_id
from gateway.sensorthings.store.write import (
    OBSERVATION,
    THING,
    WriteContext,
    _is_json,
    historical_location,
    require,
)


def update(
    ctx: WriteContext, etype: EntityType, id_: int, body: Any, replace_all: bool = False
) -> Plan[None]:
    if not isinstance(body, dict):
        raise InvalidBody(f"{etype.name}: expected a JSON object")
    yield from require(ctx, etype, id_)
    values = property_values(etype, body, replace_all, ctx.limits)
    for rel in etype.rels:
        if rel.name not in body:
            continue
        value = body[rel.name]
        if rel.fk_here:
            if not is_reference(value):
                raise InvalidBody(
                    f'{etype.name}/{rel.name}: only a reference {{"@iot.id": …}} can be set'
                )
            ref = reference_id(value, target(rel))
            yield from require(ctx, target(rel), ref)
            values[rel.fk or ""] = ref
        elif etype is THING and rel.name == "Locations":
            yield from _relocate(ctx, id_, value)
        else:
            raise InvalidBody(f"{etype.name}/{rel.name} cannot be changed by an update")
    old_streams: list[tuple[str, int]] = []
    if etype is OBSERVATION:
        old_streams = yield from _streams_of(ctx, id_)
    if values:
        sql = ctx.sql()
        sets = ", ".join(
            f"{c} = {sql.json_param(v) if v is not None and _is_json(etype, c) else sql.param(v)}"
            for c, v in values.items()
        )
        yield Stmt(f"UPDATE {etype.table} SET {sets} WHERE id = {sql.param(id_)}", sql.params)
    if etype is OBSERVATION:
        new_streams = yield from _streams_of(ctx, id_)
        for table, stream in {*old_streams, *new_streams}:
            yield recompute_times(ctx, table, stream)
    ctx.changed.append((etype, id_))


def _relocate(ctx: WriteContext, thing: int, locations: Any) -> Plan[None]:
    if not isinstance(locations, list) or not all(is_reference(v) for v in locations):
        raise InvalidBody('Thing/Locations: only references {"@iot.id": …} can be set in an update')
    ids = [reference_id(v, target(THING.rel["Locations"])) for v in locations]
    for location in ids:
        yield from require(ctx, target(THING.rel["Locations"]), location)
    sql = ctx.sql()
    yield Stmt(f"DELETE FROM thing_locations WHERE thing_id = {sql.param(thing)}", sql.params)
    for location in ids:
        sql = ctx.sql()
        yield Stmt(
            "INSERT INTO thing_locations (thing_id, location_id)"
            f" VALUES ({sql.param(thing)}, {sql.param(location)}) ON CONFLICT DO NOTHING",
            sql.params,
        )
    if ids:
        yield from historical_location(ctx, thing)


def _streams_of(ctx: WriteContext, observation: int) -> Plan[list[tuple[str, int]]]:
    sql = ctx.sql()
    rows = yield Stmt(
        "SELECT datastream_id, multi_datastream_id FROM observations"
        f" WHERE id = {sql.param(observation)}",
        sql.params,
    )
    out = []
    for ds, mds in rows:
        if ds is not None:
            out.append(("datastreams", int(ds)))
        if mds is not None:
            out.append(("multi_datastreams", int(mds)))
    return out


def recompute_times(ctx: WriteContext, table: str, stream: int) -> Stmt:
    """A (Multi)Datastream's time ranges from its Observations, after some went away."""
    fk = "datastream_id" if table == "datastreams" else "multi_datastream_id"
    sql = ctx.sql()
    p = sql.param(stream)
    parts = {
        "phenomenon_time_start": "MIN(phenomenon_time_start)",
        "phenomenon_time_end": "MAX(phenomenon_time_end)",
        "result_time_start": "MIN(result_time)",
        "result_time_end": "MAX(result_time)",
    }
    sets = ", ".join(
        f"{col} = (SELECT {agg} FROM observations WHERE {fk} = {p})" for col, agg in parts.items()
    )
    return Stmt(f"UPDATE {table} SET {sets} WHERE id = {p}", sql.params)


def delete(ctx: WriteContext, etype: EntityType, id_: int) -> Plan[None]:
    yield from require(ctx, etype, id_)
    streams: list[tuple[str, int]] = []
    if etype is OBSERVATION:
        streams = yield from _streams_of(ctx, id_)
    sql = ctx.sql()
    yield Stmt(f"DELETE FROM {etype.table} WHERE id = {sql.param(id_)}", sql.params)
    for table, stream in streams:
        yield recompute_times(ctx, table, stream)
