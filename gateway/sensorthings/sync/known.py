"""What earlier runs of a sync source made, found by the external keys kept in
`properties` (`source` + `entityId` for Things, + `attribute` for Datastreams, `sensorKey`
for Sensors), read once per batch before upsert.py writes. A source split off another
(`formerly`) also finds what that one made for its entities; its own rows win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.write import WriteContext

CHUNK = 500


@dataclass
class Known:
    """What earlier runs made for this source, by external key."""

    things: dict[str, int] = field(default_factory=dict)
    places: dict[int, tuple[int, Any]] = field(default_factory=dict)  # thing -> (location, geo)
    streams: dict[tuple[str, str], int] = field(default_factory=dict)
    sensors: dict[str, int] = field(default_factory=dict)
    properties: dict[str, int] = field(default_factory=dict)
    stored: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # props by row


def _json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def _mine(
    ctx: WriteContext, table: str, sources: Sequence[str], ids: Sequence[str] | None = None
) -> Plan[list[tuple[int, dict[str, Any]]]]:
    """Rows of `table` these sources made; with `ids`, only those of these entities (so a
    notification of ten entities does not read a city's every Datastream)."""
    out: list[tuple[int, dict[str, Any]]] = []
    chunks = [None] if ids is None else [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    for chunk in chunks:
        sql, d = ctx.sql(), ctx.dialect
        names = ", ".join(sql.param(s) for s in sources)
        where = f"{d.json_text(d.json_get(sql, 'properties', ('source',)))} IN ({names})"
        if chunk is not None:
            entity = d.json_text(d.json_get(sql, "properties", ("entityId",)))
            where += f" AND {entity} IN ({', '.join(sql.param(i) for i in chunk)})"
        rows = yield Stmt(f"SELECT id, properties FROM {table} WHERE {where}", sql.params)
        out += [(int(r[0]), _json(r[1]) or {}) for r in rows]
    return out


def known(
    ctx: WriteContext, source: str, ids: Sequence[str], formerly: Sequence[str] = ()
) -> Plan[Known]:
    """What earlier runs made for the entities `ids` of this source, or of the sources it
    was split off (`formerly`: their Things and Datastreams of these entities)."""
    found = Known()
    wanted = sorted(set(ids))
    sources = [source, *formerly]
    # This source's own rows first: where a former source made one for the same key too,
    # the own one is kept and the other left alone.
    rank = {name: n for n, name in enumerate(sources)}

    def ordered(got: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
        return sorted(got, key=lambda r: -rank.get(str(r[1].get("source")), 0))

    for id_, props in ordered((yield from _mine(ctx, "things", sources, wanted))):
        if isinstance(props.get("entityId"), str):
            found.things[props["entityId"]] = id_
            found.stored[("things", id_)] = props
    for id_, props in ordered((yield from _mine(ctx, "datastreams", sources, wanted))):
        if isinstance(props.get("entityId"), str) and isinstance(props.get("attribute"), str):
            found.streams[(props["entityId"], props["attribute"])] = id_
            found.stored[("datastreams", id_)] = props
    for id_, props in ordered((yield from _mine(ctx, "sensors", sources))):
        if isinstance(props.get("sensorKey"), str):
            found.sensors[props["sensorKey"]] = id_
    for row in (yield Stmt("SELECT id, definition FROM observed_properties")):
        found.properties.setdefault(row[1], int(row[0]))
    things = sorted(set(found.things.values()))
    for i in range(0, len(things), CHUNK):
        sql = ctx.sql()
        marks = ", ".join(sql.param(t) for t in things[i : i + CHUNK])
        rows = yield Stmt(
            "SELECT tl.thing_id, l.id, l.location FROM thing_locations tl"
            f" JOIN locations l ON l.id = tl.location_id WHERE tl.thing_id IN ({marks})"
            " ORDER BY l.id",
            sql.params,
        )
        for thing, loc, geo in rows:
            found.places.setdefault(int(thing), (int(loc), _json(geo)))
    return found
