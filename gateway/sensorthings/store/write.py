"""Write plans: create (deep insert), PATCH/PUT, DELETE; each runs in one transaction, so a
deep insert with one invalid part leaves nothing behind.

Rules of the standard kept here: a Thing that gets Locations gets a HistoricalLocation;
an Observation without phenomenonTime gets the current time; an Observation without a
FeatureOfInterest gets one made from its Thing's Location (made once per Location, then
reused); a Datastream's phenomenonTime/resultTime follow its Observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.errors import NotFound
from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.model import BY_NAME, EntityType, Rel, inverse, target
from gateway.sensorthings.store.dialect import Dialect, Sql
from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.values import (
    WriteLimits,
    dumps,
    is_reference,
    property_values,
    reference_id,
)
from gateway.sensorthings.timefmt import micros

OBSERVATION = BY_NAME["Observation"]
THING = BY_NAME["Thing"]
LOCATION = BY_NAME["Location"]


@dataclass
class WriteContext:
    dialect: Dialect
    now: int = field(default_factory=lambda: micros(datetime.now(UTC)))
    created: list[tuple[EntityType, int]] = field(default_factory=list)
    changed: list[tuple[EntityType, int]] = field(default_factory=list)
    foi_by_datastream: dict[int, int] = field(default_factory=dict)
    limits: WriteLimits = field(default_factory=WriteLimits)
    depth: int = 0  # entities being inserted, one inside the other

    def sql(self) -> Sql:
        return Sql(self.dialect)


def require(ctx: WriteContext, etype: EntityType, id_: int) -> Plan[None]:
    sql = ctx.sql()
    rows = yield Stmt(f"SELECT id FROM {etype.table} WHERE id = {sql.param(id_)}", sql.params)
    if not rows:
        raise NotFound(f"no {etype.name} with id {id_}")


def insert_row(ctx: WriteContext, etype: EntityType, values: dict[str, Any]) -> Plan[int]:
    sql = ctx.sql()
    cols = list(values)
    marks = [
        sql.json_param(v) if _is_json(etype, c) and v is not None else sql.param(v)
        for c, v in values.items()
    ]
    text = f"INSERT INTO {etype.table} ({', '.join(cols)}) VALUES ({', '.join(marks)}) RETURNING id"
    if not cols:
        text = f"INSERT INTO {etype.table} DEFAULT VALUES RETURNING id"
    rows = yield Stmt(text, sql.params)
    return int(rows[0][0])


def _is_json(etype: EntityType, column: str) -> bool:
    return any(p.kind in ("json", "geo", "result") and column in p.columns[:1] for p in etype.props)


def link(ctx: WriteContext, rel: Rel, source: int, target_id: int, rank: int = 0) -> Plan[None]:
    assert rel.link is not None
    sql = ctx.sql()
    cols = [rel.link.source_col, rel.link.target_col]
    params = [sql.param(source), sql.param(target_id)]
    if rel.link.table == "multi_datastream_observed_properties":
        cols.append("rank")
        params.append(sql.param(rank))
    text = (
        f"INSERT INTO {rel.link.table} ({', '.join(cols)}) VALUES ({', '.join(params)})"
        " ON CONFLICT DO NOTHING"
    )
    yield Stmt(text, sql.params)


def insert(
    ctx: WriteContext, etype: EntityType, body: Any, parent: tuple[Rel, int] | None = None
) -> Plan[int]:
    """Create `body` (or link the entity it references) and everything inline in it."""
    if not isinstance(body, dict):
        raise InvalidBody(f"{etype.name}: expected a JSON object")
    if ctx.depth >= ctx.limits.entity_depth:
        raise InvalidBody(
            f"{etype.name}: entities nested more than {ctx.limits.entity_depth} levels deep"
            " (limit: server.sensorthings.max_expand_depth)"
        )
    ctx.depth += 1
    try:
        return (yield from _insert(ctx, etype, body, parent))
    finally:
        ctx.depth -= 1


def _insert(
    ctx: WriteContext, etype: EntityType, body: dict[str, Any], parent: tuple[Rel, int] | None
) -> Plan[int]:
    if is_reference(body):
        id_ = reference_id(body, etype)
        yield from require(ctx, etype, id_)
        if parent is not None and parent[0].fk_here:
            yield from _set_fk(ctx, etype, id_, parent[0], parent[1])
        elif parent is not None:
            yield from link(ctx, parent[0], id_, parent[1])
        return id_
    values = property_values(etype, body, True, ctx.limits)
    for rel in etype.rels:
        if rel.fk_here:
            yield from _to_one(ctx, etype, rel, body, parent, values)
    if etype is OBSERVATION:
        yield from _observation_defaults(ctx, body, values)
    _check_many_required(etype, body)
    id_ = yield from insert_row(ctx, etype, values)
    ctx.created.append((etype, id_))
    if parent is not None and parent[0].link is not None:
        yield from link(ctx, parent[0], id_, parent[1])
    # Linked entities first: a Thing's Locations must exist before its Observations need
    # a FeatureOfInterest made from them.
    for rel in sorted(etype.rels, key=lambda r: r.link is None):
        if rel.many and rel.name in body:
            yield from _to_many(ctx, etype, rel, id_, body[rel.name])
    yield from _after_insert(ctx, etype, id_, body, values, parent)
    return id_


def _to_one(
    ctx: WriteContext,
    etype: EntityType,
    rel: Rel,
    body: dict,
    parent: tuple[Rel, int] | None,
    values: dict,
) -> Plan[None]:
    assert rel.fk is not None
    if parent is not None and parent[0] is rel:
        if rel.name in body and not (
            is_reference(body[rel.name]) and reference_id(body[rel.name], target(rel)) == parent[1]
        ):
            raise InvalidBody(f"{etype.name}: {rel.name} is given twice (path and body)")
        values[rel.fk] = parent[1]
    elif body.get(rel.name) is not None:
        values[rel.fk] = yield from insert(ctx, target(rel), body[rel.name])
    elif rel.required:
        raise InvalidBody(f"{etype.name} needs a {rel.name}")
    else:
        values[rel.fk] = None


def _check_many_required(etype: EntityType, body: dict) -> None:
    if etype.name == "MultiDatastream":
        props = body.get("ObservedProperties")
        if not isinstance(props, list) or not props:
            raise InvalidBody("MultiDatastream needs ObservedProperties")
        for key in ("unitOfMeasurements", "multiObservationDataTypes"):
            if not isinstance(body.get(key), list) or len(body[key]) != len(props):
                raise InvalidBody(
                    f"MultiDatastream: {key} must list one entry per ObservedProperty"
                )


def _to_many(ctx: WriteContext, etype: EntityType, rel: Rel, id_: int, items: Any) -> Plan[None]:
    if not isinstance(items, list):
        raise InvalidBody(f"{etype.name}/{rel.name}: expected a JSON array")
    back = inverse(etype, rel)
    assert back is not None
    for rank, item in enumerate(items):
        if rel.link is not None:
            child = yield from insert(ctx, target(rel), item)
            yield from link(ctx, rel, id_, child, rank)
        else:
            yield from insert(ctx, target(rel), item, (back, id_))


def _set_fk(ctx: WriteContext, etype: EntityType, id_: int, rel: Rel, value: int) -> Plan[None]:
    sql = ctx.sql()
    yield Stmt(
        f"UPDATE {etype.table} SET {rel.fk} = {sql.param(value)} WHERE id = {sql.param(id_)}",
        sql.params,
    )
    ctx.changed.append((etype, id_))


def _observation_defaults(ctx: WriteContext, body: dict, values: dict) -> Plan[None]:
    if values.get("phenomenon_time_start") is None:
        values["phenomenon_time_start"] = values["phenomenon_time_end"] = ctx.now
    ds, mds = values.get("datastream_id"), values.get("multi_datastream_id")
    if (ds is None) == (mds is None):
        raise InvalidBody("an Observation needs exactly one of Datastream or MultiDatastream")
    if values.get("feature_of_interest_id") is None:
        values["feature_of_interest_id"] = yield from feature_for(ctx, ds, mds)


def feature_for(ctx: WriteContext, ds: int | None, mds: int | None) -> Plan[int]:
    """The FeatureOfInterest made from the (Multi)Datastream's Thing's first Location."""
    key = ds if ds is not None else -(mds or 0)
    if key in ctx.foi_by_datastream:
        return ctx.foi_by_datastream[key]
    sql = ctx.sql()
    table, stream = ("datastreams", ds) if ds is not None else ("multi_datastreams", mds)
    rows = yield Stmt(
        "SELECT l.id, l.name, l.description, l.encoding_type, l.location FROM thing_locations tl"
        " JOIN locations l ON l.id = tl.location_id"
        f" WHERE tl.thing_id = (SELECT thing_id FROM {table} WHERE id = {sql.param(stream)})"
        " ORDER BY l.id LIMIT 1",
        sql.params,
    )
    if not rows:
        raise InvalidBody("the Observation has no FeatureOfInterest and its Thing has no Location")
    loc_id, name, description, encoding, location = rows[0]
    sql = ctx.sql()
    found = yield Stmt(
        "SELECT id FROM features_of_interest"
        f" WHERE generated_from_location_id = {sql.param(loc_id)} ORDER BY id LIMIT 1",
        sql.params,
    )
    if found:
        foi = int(found[0][0])
    else:
        values = {
            "name": name,
            "description": description,
            "encoding_type": encoding,
            "feature": location if isinstance(location, str) else dumps(location),
            "generated_from_location_id": loc_id,
        }
        foi = yield from insert_row(ctx, BY_NAME["FeatureOfInterest"], values)
        ctx.created.append((BY_NAME["FeatureOfInterest"], foi))
    ctx.foi_by_datastream[key] = foi
    return foi


def stream_times(
    ctx: WriteContext, table: str, stream: int, start: int, end: int, result: int | None
) -> Stmt:
    """Widen a (Multi)Datastream's phenomenonTime (and resultTime) to cover new values."""
    sql, d = ctx.sql(), ctx.dialect
    s, e = sql.param(start), sql.param(end)
    sets = [
        f"phenomenon_time_start = {d.least(f'COALESCE(phenomenon_time_start, {s})', s)}",
        f"phenomenon_time_end = {d.greatest(f'COALESCE(phenomenon_time_end, {e})', e)}",
    ]
    if result is not None:
        r = sql.param(result)
        sets += [
            f"result_time_start = {d.least(f'COALESCE(result_time_start, {r})', r)}",
            f"result_time_end = {d.greatest(f'COALESCE(result_time_end, {r})', r)}",
        ]
    return Stmt(f"UPDATE {table} SET {', '.join(sets)} WHERE id = {sql.param(stream)}", sql.params)


def _after_insert(
    ctx: WriteContext,
    etype: EntityType,
    id_: int,
    body: dict,
    values: dict,
    parent: tuple[Rel, int] | None,
) -> Plan[None]:
    if etype is OBSERVATION:
        ds, mds = values.get("datastream_id"), values.get("multi_datastream_id")
        table, stream = ("datastreams", ds) if ds is not None else ("multi_datastreams", mds)
        yield stream_times(
            ctx,
            table,
            stream,
            values["phenomenon_time_start"],
            values["phenomenon_time_end"],
            values.get("result_time"),
        )
    elif etype is THING and body.get("Locations"):
        yield from historical_location(ctx, id_)
    elif etype is LOCATION and parent is not None and parent[0].name == "Things":
        yield from historical_location(ctx, parent[1])


def historical_location(ctx: WriteContext, thing: int) -> Plan[None]:
    """A HistoricalLocation now, pointing at the Thing's current Locations."""
    hl_type = BY_NAME["HistoricalLocation"]
    hl = yield from insert_row(ctx, hl_type, {"time": ctx.now, "thing_id": thing})
    ctx.created.append((hl_type, hl))
    sql = ctx.sql()
    yield Stmt(
        "INSERT INTO location_historical_locations (location_id, historical_location_id)"
        f" SELECT location_id, {sql.param(hl)} FROM thing_locations"
        f" WHERE thing_id = {sql.param(thing)}",
        sql.params,
    )
