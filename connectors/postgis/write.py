"""Writes to a PostGIS table: one parameterised statement per call, committed on return.

Values are bound as text and cast to each column's own type in SQL (`$1::text::numeric`),
so PostgreSQL parses them as it parses any input and refuses what does not fit (answered
400); json columns take the value itself. Geometries arrive in CRS84 and are moved to the
table's CRS here by the same pyproj transformer the reads use the other way (so a point
written and read back is the point sent), and bound as WKB with the column's SRID.

A table is writable when the connector's `writable` is set and the database user holds
INSERT, UPDATE and DELETE on it (checked once when the connector opens).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import numpy as np
import orjson
import shapely

from connectors.base import CRS84, Record
from connectors.crs import is_crs84, transformer
from connectors.errors import SourceConflict, SourceRejectedValue, SourceStale
from connectors.postgis.sql import records
from connectors.postgis.table import Column, Table, quote


async def may_write(conn: asyncpg.Connection, table: Table) -> bool:
    sql = "SELECT has_table_privilege($1::text::regclass, 'INSERT, UPDATE, DELETE')"
    return bool(await conn.fetchval(sql, table.target))


def wkb(geometry: dict[str, Any] | None, table: Table) -> bytes | None:
    """A CRS84 GeoJSON geometry as WKB in the table's CRS; None stays NULL."""
    if geometry is None:
        return None
    try:
        shape = shapely.from_geojson(orjson.dumps(geometry))
    except shapely.errors.ShapelyError as e:
        raise SourceRejectedValue(f"not a valid GeoJSON geometry: {e}") from None
    if not is_crs84(table.crs):
        to_table = transformer(CRS84, table.crs)

        def move(coords: np.ndarray) -> np.ndarray:
            x, y = to_table.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y, *coords.T[2:]])  # heights stay

        shape = shapely.transform(shape, move, include_z=None)
    return bytes(shapely.to_wkb(shape, byte_order=1))


class Statement:
    """Column assignments with bound parameters, numbered from $1."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def value(self, column: Column, value: Any) -> str:
        if column.type == "json":
            return f"{self.bind(value)}::{column.sql_type}"
        if value is not None and not isinstance(value, str):
            value = _text(value)
        return f"{self.bind(value)}::text::{column.sql_type}"

    def geometry(self, geometry: dict[str, Any] | None) -> str:
        blob = self.bind(wkb(geometry, self.table))
        return f"ST_SetSRID(ST_GeomFromWKB({blob}), {self.table.srid})"

    def assignments(self, record: Record, *, every: bool) -> list[tuple[str, str]]:
        """(quoted column, expression) for the record's properties; `every`: every published
        column but the id, null when the record leaves it out (a replace)."""
        props: dict[str, Any] = record.get("properties") or {}
        table = self.table
        for name in props:
            if table.all.get(name) is None or table.all[name].type is None:
                raise SourceRejectedValue(f"table {table.target} has no writable column '{name}'")
        names = [c.name for c in table.columns if c.name != table.id_field] if every else props
        out = [(table.all[n].quoted, self.value(table.all[n], props.get(n))) for n in names]
        if every or "geometry" in record:
            out.append((quote(table.geometry), self.geometry(record.get("geometry"))))
        return out

    def key(self, record_id: str) -> str:
        column = self.table.all[self.table.id_field]
        return f"{column.quoted} = {self.bind(record_id)}::text::{column.sql_type}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def insert(table: Table, record: Record) -> tuple[str, list[Any]]:
    s = Statement(table)
    pairs = s.assignments(record, every=False)
    given = record.get("id")
    id_column = table.all[table.id_field]
    if given is not None and id_column.quoted not in {c for c, _ in pairs}:
        pairs.insert(0, (id_column.quoted, s.value(id_column, given)))
    if pairs:
        columns = ", ".join(c for c, _ in pairs)
        values = ", ".join(v for _, v in pairs)
        body = f"({columns}) VALUES ({values})"
    else:
        body = "DEFAULT VALUES"
    sql = f"INSERT INTO {table.target} {body} RETURNING {id_column.quoted}::text"
    return sql, s.params


def update(table: Table, record_id: str, record: Record, *, every: bool) -> tuple[str, list[Any]]:
    s = Statement(table)
    pairs = s.assignments(record, every=every)
    if not pairs:  # nothing to change: still tell whether the row exists
        return f"SELECT 1 FROM {table.target} WHERE {s.key(record_id)}", s.params
    sets = ", ".join(f"{c} = {v}" for c, v in pairs)
    return f"UPDATE {table.target} SET {sets} WHERE {s.key(record_id)}", s.params


def delete(table: Table, record_id: str) -> tuple[str, list[Any]]:
    s = Statement(table)
    return f"DELETE FROM {table.target} WHERE {s.key(record_id)}", s.params


def affected(status: str) -> int:
    """The row count of a command tag ('UPDATE 1', 'DELETE 0')."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def execute(conn: asyncpg.Connection, sql: str, params: list[Any]) -> str:
    """Run one write; a violated unique or foreign key is a conflict (409), a NOT NULL or
    CHECK the client's value (400)."""
    try:
        if sql.startswith("SELECT"):
            found = await conn.fetchval(sql, *params)
            return "UPDATE 1" if found else "UPDATE 0"
        if "RETURNING" in sql:
            return str(await conn.fetchval(sql, *params))
        return str(await conn.execute(sql, *params))
    except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError) as e:
        raise SourceConflict(f"PostgreSQL: {e}") from e
    except asyncpg.IntegrityConstraintViolationError as e:
        raise SourceRejectedValue(f"PostgreSQL: {e}") from e


class PostGISWrites:
    """The write half of the PostGIS connector (mixed into PostGISConnector)."""

    _may_write: bool = False

    def writable(self) -> bool:
        return self._may_write

    async def create(self, record: Record) -> str:
        sql, params = insert(self._ready(), record)  # type: ignore[attr-defined]
        async with self._connection() as conn:  # type: ignore[attr-defined]
            return await execute(conn, sql, params)

    async def replace(self, record_id: str, record: Record) -> bool:
        return await self._change(record_id, record, every=True)

    async def update(self, record_id: str, changes: Record) -> bool:
        return await self._change(record_id, changes, every=False)

    async def delete(self, record_id: str) -> bool:
        sql, params = delete(self._ready(), record_id)  # type: ignore[attr-defined]
        return await self._affects(sql, params)

    async def write_if(
        self,
        action: str,
        record_id: str,
        record: Record | None,
        expect: Callable[[Record], bool],
    ) -> bool:
        """`action` ('replace', 'update', 'delete') only if `expect(stored record)`, in one
        transaction that locks the row first (SELECT … FOR UPDATE): a write committed by
        anyone in between is seen. False: no such record; SourceStale: `expect` said no."""
        table: Table = self._ready()  # type: ignore[attr-defined]
        if action == "delete":
            sql, params = delete(table, record_id)
        else:
            sql, params = update(table, record_id, record or {}, every=action == "replace")
        lock = Statement(table)
        select = f"{table.select} WHERE {lock.key(record_id)} FOR UPDATE"
        async with self._connection() as conn, conn.transaction():  # type: ignore[attr-defined]
            rows = await conn.fetch(select, *lock.params)
            if not rows:
                return False
            if not expect(records(table.projection(None), rows)[0]):
                raise SourceStale(f"{table.target}: record {record_id} changed")
            return affected(await execute(conn, sql, params)) > 0

    async def _change(self, record_id: str, record: Record, *, every: bool) -> bool:
        sql, params = update(self._ready(), record_id, record, every=every)  # type: ignore[attr-defined]
        return await self._affects(sql, params)

    async def _affects(self, sql: str, params: list[Any]) -> bool:
        async with self._connection() as conn:  # type: ignore[attr-defined]
            return affected(await execute(conn, sql, params)) > 0


__all__ = ["PostGISWrites", "affected", "delete", "execute", "insert", "may_write", "update", "wkb"]
