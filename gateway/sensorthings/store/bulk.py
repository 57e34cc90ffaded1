"""Many Observations at once: `CreateObservations` (the dataArray extension) and imports.

Ids are allocated up front (SQLite: after MAX(id), safe because a write transaction holds
the only write lock; PostgreSQL: from the identity sequence), then all rows go in with one
executemany, and each (Multi)Datastream's time range is widened once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.sensorthings.errors import InvalidBody
from gateway.sensorthings.model import BY_NAME
from gateway.sensorthings.store.plan import Plan, Stmt
from gateway.sensorthings.store.values import (
    MAX_ID,
    WriteLimits,
    encoded,
    is_reference,
    reference_id,
    result_columns,
)
from gateway.sensorthings.store.write import WriteContext, feature_for, require
from gateway.sensorthings.timefmt import parse_instant, parse_time

# The columns of an Observation row as `insert_observations` takes them (after the id).
ROW_COLUMNS = (
    "phenomenon_time_start",
    "phenomenon_time_end",
    "result_time",
    "result_json",
    "result_number",
    "result_string",
    "result_quality",
    "valid_time_start",
    "valid_time_end",
    "parameters",
    "datastream_id",
    "multi_datastream_id",
    "feature_of_interest_id",
)
JSON_COLUMNS = ("result_json", "result_quality", "parameters")
COMPONENTS = (
    "id",
    "phenomenonTime",
    "result",
    "resultTime",
    "resultQuality",
    "validTime",
    "parameters",
    "FeatureOfInterest/id",
)
OBSERVATION = BY_NAME["Observation"]
SPAN_CHUNK = 100


def allocate_ids(ctx: WriteContext, table: str, count: int) -> Plan[list[int]]:
    if count == 0:
        return []
    if ctx.dialect.name == "sqlite":
        rows = yield Stmt(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        first = int(rows[0][0]) + 1
        return list(range(first, first + count))
    sql = ctx.sql()
    rows = yield Stmt(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
        f" FROM generate_series(1, {sql.param(count)})",
        sql.params,
    )
    return [int(r[0]) for r in rows]


def _placeholders(ctx: WriteContext, columns: Sequence[str]) -> str:
    marks = []
    for i, column in enumerate(columns, start=1):
        marks.append(
            ctx.dialect.json_placeholder(i)
            if column in JSON_COLUMNS
            else f"{'?' if ctx.dialect.name == 'sqlite' else '$'}{i}"
        )
    return ", ".join(marks)


def insert_observations(
    ctx: WriteContext, rows: Sequence[Sequence[Any]], record: bool = True
) -> Plan[list[int]]:
    """Insert rows (values in ROW_COLUMNS order); returns their new ids in order."""
    ids = yield from allocate_ids(ctx, "observations", len(rows))
    if not rows:
        return ids
    columns = ("id", *ROW_COLUMNS)
    text = f"INSERT INTO observations ({', '.join(columns)}) VALUES ({_placeholders(ctx, columns)})"
    records = [(i, *row) for i, row in zip(ids, rows, strict=True)]
    yield Stmt(text, many=records, copy=("observations", columns))
    spans: dict[tuple[str, int], list[Any]] = {}
    for row in rows:
        start, end, result_time, ds, mds = row[0], row[1], row[2], row[10], row[11]
        key = ("datastreams", ds) if ds is not None else ("multi_datastreams", mds)
        span = spans.setdefault(key, [start, end, result_time, result_time])
        span[0], span[1] = min(span[0], start), max(span[1], end)
        if result_time is not None:
            span[2] = result_time if span[2] is None else min(span[2], result_time)
            span[3] = result_time if span[3] is None else max(span[3], result_time)
    for table in ("datastreams", "multi_datastreams"):
        mine = [(stream, *span) for (t, stream), span in spans.items() if t == table]
        for i in range(0, len(mine), SPAN_CHUNK):
            yield widen_times(ctx, table, mine[i : i + SPAN_CHUNK])
    if record:
        ctx.created.extend((OBSERVATION, i) for i in ids)
    return ids


def widen_times(ctx: WriteContext, table: str, spans: Sequence[Sequence[Any]]) -> Stmt:
    """Widen many (Multi)Datastreams' phenomenonTime/resultTime in one statement; each span
    is (stream, start, end, first result time, last result time)."""
    sql, d = ctx.sql(), ctx.dialect
    rows = ", ".join(
        "(" + ", ".join(f"CAST({sql.param(v)} AS BIGINT)" for v in span) + ")" for span in spans
    )

    def widen(column: str, value: str, wider: Any) -> str:
        widened = wider(f"COALESCE({table}.{column}, v.{value})", f"v.{value}")
        return f"{column} = CASE WHEN v.{value} IS NULL THEN {table}.{column} ELSE {widened} END"

    sets = ", ".join(
        [
            widen("phenomenon_time_start", "s", d.least),
            widen("phenomenon_time_end", "e", d.greatest),
            widen("result_time_start", "rs", d.least),
            widen("result_time_end", "re", d.greatest),
        ]
    )
    text = (
        f"WITH v(id, s, e, rs, re) AS (VALUES {rows})"
        f" UPDATE {table} SET {sets} FROM v WHERE {table}.id = v.id"
    )
    return Stmt(text, sql.params)


def _stream(group: dict[str, Any]) -> tuple[str, str, int]:
    for name, table in (("Datastream", "datastreams"), ("MultiDatastream", "multi_datastreams")):
        if name in group:
            if not is_reference(group[name]):
                raise InvalidBody(
                    f'CreateObservations: {name} must be a reference {{"@iot.id": …}}'
                )
            return name, table, reference_id(group[name], BY_NAME[name])
    raise InvalidBody("CreateObservations: each entry needs a Datastream or MultiDatastream")


def _row(
    components: list[str],
    values: Any,
    ds: int | None,
    mds: int | None,
    foi: int | None,
    limits: WriteLimits,
) -> list[Any]:
    if not isinstance(values, list) or len(values) != len(components):
        raise InvalidBody("a dataArray row must have one value per component")
    item = dict(zip(components, values, strict=True))
    start, end = (
        parse_time(item["phenomenonTime"], "phenomenonTime")
        if item.get("phenomenonTime")
        else (None, None)
    )
    result_time = (
        parse_instant(item["resultTime"], "resultTime") if item.get("resultTime") else None
    )
    valid = parse_time(item["validTime"], "validTime") if item.get("validTime") else (None, None)
    quality, params = item.get("resultQuality"), item.get("parameters")
    foi_id = item.get("FeatureOfInterest/id", foi)
    if foi_id is not None and (
        not isinstance(foi_id, int) or isinstance(foi_id, bool) or not 0 < foi_id <= MAX_ID
    ):
        raise InvalidBody("FeatureOfInterest/id must be a positive integer")
    return [
        start,
        end,
        result_time,
        *result_columns(item.get("result"), limits, "Observation/result"),
        None if quality is None else encoded(quality, "Observation/resultQuality", limits),
        *valid,
        None if params is None else encoded(params, "Observation/parameters", limits),
        ds,
        mds,
        foi_id,
    ]


def create_observations(ctx: WriteContext, body: Any) -> Plan[list[int | None]]:
    """One id per dataArray row, or None for a row that was not valid."""
    if not isinstance(body, list):
        raise InvalidBody("CreateObservations: expected a JSON array")
    out: list[int | None] = []
    rows: list[list[Any]] = []
    slots: list[int] = []
    for group in body:
        yield from _group_rows(ctx, group, out, rows, slots)
    rows, slots = yield from _known_features(ctx, rows, slots)
    ids = yield from insert_observations(ctx, rows)
    for slot, id_ in zip(slots, ids, strict=True):
        out[slot] = id_
    return out


def _group_rows(
    ctx: WriteContext, group: Any, out: list[int | None], rows: list[list[Any]], slots: list[int]
) -> Plan[None]:
    """Validate one dataArray entry; valid rows go to `rows`, each with its slot in `out`."""
    if not isinstance(group, dict):
        raise InvalidBody("CreateObservations: each entry must be a JSON object")
    name, _, stream = _stream(group)
    yield from require(ctx, BY_NAME[name], stream)
    components, data = group.get("components"), group.get("dataArray")
    if not isinstance(components, list) or not all(c in COMPONENTS for c in components):
        raise InvalidBody(f"CreateObservations: components must be among {', '.join(COMPONENTS)}")
    if not isinstance(data, list):
        raise InvalidBody("CreateObservations: dataArray must be an array")
    ds, mds = (stream, None) if name == "Datastream" else (None, stream)
    foi = None if "FeatureOfInterest/id" in components else (yield from feature_for(ctx, ds, mds))
    for values in data:
        try:
            row = _row(components, values, ds, mds, foi, ctx.limits)
        except InvalidBody:
            out.append(None)
            continue
        if row[0] is None:
            row[0] = row[1] = ctx.now
        slots.append(len(out))
        out.append(None)
        rows.append(row)


def _known_features(
    ctx: WriteContext, rows: list[list[Any]], slots: list[int]
) -> Plan[tuple[list, list]]:
    """Drop rows whose FeatureOfInterest/id does not exist (they become errors)."""
    wanted = sorted({r[12] for r in rows})
    if not wanted:
        return rows, slots
    sql = ctx.sql()
    marks = ", ".join(sql.param(v) for v in wanted)
    found = yield Stmt(
        f"SELECT id FROM features_of_interest WHERE id IN ({marks})",
        sql.params,
    )
    known = {int(r[0]) for r in found}
    kept = [(r, s) for r, s in zip(rows, slots, strict=True) if r[12] in known]
    return [r for r, _ in kept], [s for _, s in kept]
