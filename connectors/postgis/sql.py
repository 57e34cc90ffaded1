"""The SQL of a query: the conditions (bbox, filter, keyset position), the order, the
parameters they bind, and the records made of the rows.

Names in SQL come from the table's catalog entry (`Table`), quoted; values from a request are
always bound parameters (`Params`).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from connectors.base import Record, SourceQuery
from connectors.crs import bbox_from_crs84, split_bbox
from connectors.postgis import geometry as wkb
from connectors.postgis.table import Column, Projection, Table

_DEFERRED_OFFSET = 1000  # from this offset on, page over the ids first (see statement)


class Params(list[Any]):
    """Bound parameters, numbered as they are added."""

    def add(self, value: Any) -> str:
        self.append(value)
        return f"${len(self)}"

    def add_all(self, values: Any) -> str:
        return ", ".join(self.add(v) for v in values)

    def typed(self, value: Any, column: Column) -> str:
        """A value as the column's type: bound as text (records carry dates and times as
        ISO strings) and cast by PostgreSQL; 120.0 for an integer column is 120."""
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float) and column.type == "integer" and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        return f"{self.add(text)}::text::{column.sql_type}"


def statement(table: Table, q: SourceQuery, params: Params) -> tuple[str, list[str], Params]:
    """The SELECT of a page, its match conditions and their parameters (for counting).

    A deep offset pages over the ids alone and joins the rows to the page: PostgreSQL then
    skips narrow index entries instead of building every skipped row (ST_AsGeoJSON
    included). Measured for offset 90,000 of 100,000 trees: 16 ms instead of 88 ms."""
    where = conditions(table, q, params)
    counted = Params(params)
    order, keyset = ordering(table, q, params)
    clauses = [*where, *keyset]
    filtered = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    paging = "" if q.limit is None else f" LIMIT {params.add(q.limit)}"
    paging += f" OFFSET {params.add(q.offset)}" if q.offset else ""
    select = table.projection(q.fields).select
    if q.limit is None or q.offset < _DEFERRED_OFFSET:
        return f"{select}{filtered} ORDER BY {order}{paging}", where, counted
    key = table.column(table.id_field).quoted
    ids = f"SELECT {key} AS twinbridge_key FROM {table.target}{filtered} ORDER BY {order}"
    join = f" JOIN ({ids}{paging}) page ON {key} = page.twinbridge_key"
    return f"{select}{join} ORDER BY {order}", where, counted


def conditions(table: Table, q: SourceQuery, params: Params) -> list[str]:
    """The conditions that select matches (bbox, filter); paging conditions come later."""
    found = []
    if q.bbox is not None:
        found.append(_bbox(table, q.bbox, params))
    expr = getattr(q, "filter", None)
    if expr is not None:
        found.append(_filter(table, expr, params))
    return found


def _bbox(table: Table, bbox: tuple[float, float, float, float], params: Params) -> str:
    geom, srid = table.column(table.geometry).quoted, table.srid
    parts = []
    for box in split_bbox(bbox):
        wgs84 = f"ST_MakeEnvelope({params.add_all(box)}, 4326)"
        if srid == 4326:  # ST_Intersects brings its own `&&` index condition and estimate
            parts.append(f"ST_Intersects({geom}, {wgs84})")
            continue
        exact = f"ST_Intersects(ST_Transform({geom}, 4326), {wgs84})"
        envelope = bbox_from_crs84(box, table.crs)
        if envelope is None:  # the projection cannot bound this box: no index, exact only
            parts.append(exact)
        else:
            native = f"ST_MakeEnvelope({params.add_all(envelope)}, {srid})"
            parts.append(f"({geom} && {native} AND {exact})")
    return parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"


def _filter(table: Table, expr: Any, params: Params) -> str:
    """A CQL2 filter (AST in source names) as SQL, compiled by connectors/sqlfilter.py.

    The planner only sends what capabilities().filter_ops names; a part the compiler still
    refuses (say, a text column compared with a number) is a planning error, reported as
    such rather than answered wrongly."""
    from connectors import sqlfilter

    columns = {c.name: c for c in table.columns}
    try:
        sql, values = sqlfilter.compile_sql(
            expr,
            "postgis",
            lambda name: _filter_column(table, name),
            table.column(table.geometry).quoted,
            types={name: c.type for name, c in columns.items() if c.type},
            srid=table.srid,
            first_param=len(params) + 1,
        )
    except sqlfilter.Unsupported as e:
        raise ValueError(f"filter not expressible in SQL for {table.target}: {e}") from None
    params.extend(values)
    return sql


def _filter_column(table: Table, name: str) -> str:
    column = table.column(name)  # unknown names fail here, listing the table's columns
    return column.filter_expression


def filter_ops() -> frozenset[str]:
    try:
        from connectors.sqlfilter import OPERATORS
    except ImportError:  # the filter core is optional for this connector
        return frozenset()
    return OPERATORS["postgis"]


def ordering(table: Table, q: SourceQuery, params: Params) -> tuple[str, list[str]]:
    """ORDER BY the requested keys then the id (a total order), as the gateway sorts: nulls
    last in both directions, strings by code point; with `after`, the condition "strictly
    after that position" (see where_after)."""
    keys: list[tuple[Column, bool]] = []
    for name, ascending in getattr(q, "sortby", ()) or ():
        keys.append((table.column(name), ascending))
        if name == table.id_field:
            break
    else:
        keys.append((table.column(table.id_field), True))
    order = ", ".join(f"{c.sort_key} {'ASC' if asc else 'DESC'} NULLS LAST" for c, asc in keys)
    after = getattr(q, "after", None)
    if after is None:
        return order, []
    if q.offset:
        raise ValueError("a keyset position ('after') cannot be combined with an offset")
    # `after` holds the sort key values then the id; a sort that reaches the id stops there.
    return order, [where_after(keys, tuple(after)[: len(keys)], params)]


def records(projection: Projection, rows: list[asyncpg.Record]) -> list[Record]:
    names, id_index = projection.names, projection.id_index
    geometries = wkb.geojson([row[-1] for row in rows], projection.crs)
    return [
        {
            "id": row[id_index],
            "properties": dict(zip(names, row, strict=False)),
            "geometry": geometry,
        }
        for row, geometry in zip(rows, geometries, strict=True)
    ]


def where_after(keys: list[tuple[Column, bool]], values: tuple[Any, ...], params: Params) -> str:
    """Rows strictly after `values` in ORDER BY `keys` (nulls last in both directions).

    One row comparison when an index can serve it as is (one direction, no nulls possible);
    else the lexicographic expansion (k1 after) OR (k1 equal AND k2 after) OR ..., which
    handles nulls: nothing comes after a null but the next key's ties."""
    if len(values) != len(keys):
        raise ValueError(f"keyset position has {len(values)} values for {len(keys)} sort keys")
    if any(c.type == "json" for c, _ in keys):
        raise ValueError("json columns cannot be sort keys")
    directions = {ascending for _, ascending in keys}
    if len(directions) == 1 and None not in values and all(c.not_null for c, _ in keys):
        columns = ", ".join(c.sort_key for c, _ in keys)
        bound = ", ".join(params.typed(v, c) for (c, _), v in zip(keys, values, strict=True))
        return f"({columns}) {'>' if directions.pop() else '<'} ({bound})"
    disjuncts: list[str] = []
    equal: list[str] = []
    for (column, ascending), value in zip(keys, values, strict=True):
        c = column.sort_key
        if value is None:
            equal.append(f"{column.quoted} IS NULL")
            continue
        bound = params.typed(value, column)
        later = f"{c} {'>' if ascending else '<'} {bound}"
        if not column.not_null:
            later = f"({later} OR {column.quoted} IS NULL)"
        disjuncts.append(" AND ".join([*equal, later]))
        equal.append(f"{c} = {bound}")
    return f"({' OR '.join(f'({d})' for d in disjuncts)})" if disjuncts else "FALSE"


__all__ = [
    "Params",
    "conditions",
    "filter_ops",
    "ordering",
    "records",
    "statement",
    "where_after",
]
