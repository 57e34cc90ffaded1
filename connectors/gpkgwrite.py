"""Writes to a GeoPackage feature table: sqlite in a worker thread, one statement per call,
committed before it returns.

The writer keeps its own read-write connection in WAL mode (readers keep reading while a
write commits; the reader's `version()` watches the -wal file, so an in-memory table
reloads). Geometries arrive in CRS84 and are stored as GeoPackage binary in the table's
CRS, with their envelope. The R-tree triggers of GeoPackage 1.3 call ST_IsEmpty and
ST_MinX … ST_MaxY, which plain SQLite lacks: the writer registers them over the same blob
format, as GDAL does. Column names come from the file's own metadata; values are bound.

Ids: an INTEGER PRIMARY KEY id is SQLite's rowid when none is given; a text id column gets
a random UUID then.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import struct
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import orjson
import shapely

from connectors.base import CRS84, FieldInfo, Record
from connectors.crs import is_crs84, transformer
from connectors.errors import SourceConflict, SourceRejectedValue, SourceStale

T = TypeVar("T")
_FLAGS_LE_ENVELOPE = 0b0000_0011  # little-endian, envelope minx maxx miny maxy
_FLAGS_LE_EMPTY = 0b0001_0001  # little-endian, no envelope, empty
_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


def encode_geometry(geometry: dict[str, Any] | None, crs: str, srs_id: int) -> bytes | None:
    """A CRS84 GeoJSON geometry as a GeoPackage blob in `crs`; None stays NULL."""
    if geometry is None:
        return None
    try:
        shape = shapely.from_geojson(orjson.dumps(geometry))
    except shapely.errors.ShapelyError as e:
        raise SourceRejectedValue(f"not a valid GeoJSON geometry: {e}") from None
    if not is_crs84(crs):
        to_table = transformer(CRS84, crs)

        def move(coords: np.ndarray) -> np.ndarray:
            x, y = to_table.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y, *coords.T[2:]])

        shape = shapely.transform(shape, move, include_z=None)
    srs = struct.pack("<i", srs_id)
    wkb = bytes(shapely.to_wkb(shape, byte_order=1))
    if shape.is_empty:
        return b"GP" + bytes((0, _FLAGS_LE_EMPTY)) + srs + wkb
    minx, miny, maxx, maxy = shape.bounds
    envelope = struct.pack("<4d", minx, maxx, miny, maxy)
    return b"GP" + bytes((0, _FLAGS_LE_ENVELOPE)) + srs + envelope + wkb


def _shape(blob: bytes | None) -> shapely.Geometry | None:
    """The geometry of a blob for the R-tree functions (None: NULL or empty)."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b1_0000:
        return None
    doubles = _ENVELOPE_DOUBLES.get((flags >> 1) & 0b111, 0)
    return shapely.from_wkb(bytes(blob[8 + 8 * doubles :]))


def _register(conn: sqlite3.Connection) -> None:
    """The SQL functions the GeoPackage R-tree triggers call."""

    def empty(blob: bytes | None) -> int | None:
        return None if blob is None else int(_shape(blob) is None)

    def bound(index: int) -> Callable[[bytes | None], float | None]:
        def get(blob: bytes | None) -> float | None:
            shape = _shape(blob)
            return None if shape is None else float(shape.bounds[index])

        return get

    conn.create_function("ST_IsEmpty", 1, empty, deterministic=True)
    for index, name in enumerate(("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")):
        conn.create_function(name, 1, bound(index), deterministic=True)


def _quote(name: str) -> str:
    if not name or '"' in name or any(ord(c) < 32 for c in name):
        raise ValueError(f"unsupported table or column name {name!r}")
    return f'"{name}"'


def _value(field: FieldInfo, value: Any) -> Any:
    if value is None:
        return None
    if field.type == "boolean":
        if not isinstance(value, bool):
            raise SourceRejectedValue(f"'{field.name}' takes true or false")
        return int(value)
    if field.type == "json" or isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if field.type == "integer" and not isinstance(value, int):
        raise SourceRejectedValue(f"'{field.name}' takes an integer")
    if field.type == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise SourceRejectedValue(f"'{field.name}' takes a number")
    return value


Pair = tuple[str, Any]


class Layout(NamedTuple):
    geometry: str
    crs: str
    srs_id: int
    fields: dict[str, FieldInfo]
    id_field: str
    rowid: bool  # the id is the INTEGER PRIMARY KEY


class GeoPackageWriter:
    """The read-write side of one GeoPackage table (opened on the first write)."""

    def __init__(self, path: Callable[[], Path], table: str, id_field: str | None) -> None:
        self._path = path
        self._table_name = table
        self._id_field = id_field
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._layout: Layout | None = None
        self._table: Any = None  # the reader's description of the table (geopackage._Table)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn, self._layout = None, None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, fn)

    def _locked(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connection()
            try:
                with conn:  # one transaction, committed (or rolled back) here
                    return fn(conn)
            except sqlite3.IntegrityError as e:
                if "UNIQUE" in str(e) or "FOREIGN KEY" in str(e):
                    raise SourceConflict(f"{self._path()}: {e}") from None
                raise SourceRejectedValue(f"{self._path()}: {e}") from None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path(), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            _register(conn)
            conn.isolation_level = ""  # `with conn` opens a transaction again
            self._conn = conn
        return self._conn

    def layout(self, conn: sqlite3.Connection) -> Layout:
        """What the file says about the table, read once."""
        if self._layout is None:
            from connectors.geopackage import _read_table

            class _Config:
                table = self._table_name
                id_field = self._id_field

            table = _read_table(conn, _Config)  # type: ignore[arg-type]
            (srs_id,) = conn.execute(
                "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (table.name,)
            ).fetchone()
            fields = {f.name: f for f in table.fields}
            rowid = table.order_by == _quote(table.id_field)
            self._layout = Layout(table.geometry, table.crs, srs_id, fields, table.id_field, rowid)
            self._table = table
        return self._layout

    def stored(self, conn: sqlite3.Connection, record_id: str) -> Record | None:
        """The record as the reader gives it (same columns, geometry in CRS84)."""
        from connectors.geopackage import _geometries, _records

        _, _, _, fields, id_field, _ = self.layout(conn)
        key = self._key(fields[id_field], record_id)
        if key is None:
            return None
        sql = f"{self._table.select} WHERE {_quote(id_field)} = ? LIMIT 1"
        rows = conn.execute(sql, (key,)).fetchall()
        return _records(self._table, rows, _geometries(self._table, rows))[0] if rows else None

    def _pairs(self, conn: sqlite3.Connection, record: Record, every: bool) -> list[Pair]:
        geometry, crs, srs_id, fields, id_field, _ = self.layout(conn)
        props: dict[str, Any] = record.get("properties") or {}
        unknown = [name for name in props if name not in fields]
        if unknown:
            raise SourceRejectedValue(f"table '{self._table_name}' has no column '{unknown[0]}'")
        names = [n for n in fields if n != id_field] if every else list(props)
        pairs = [(_quote(n), _value(fields[n], props.get(n))) for n in names]
        if every or "geometry" in record:
            pairs.append((_quote(geometry), encode_geometry(record.get("geometry"), crs, srs_id)))
        return pairs

    def create(self, conn: sqlite3.Connection, record: Record) -> str:
        _, _, _, fields, id_field, rowid = self.layout(conn)
        pairs = self._pairs(conn, record, every=False)
        given = record.get("id")
        if given is None and not rowid and not any(c == _quote(id_field) for c, _ in pairs):
            given = uuid.uuid4().hex
        if given is not None:
            pairs = [(c, v) for c, v in pairs if c != _quote(id_field)]
            pairs.insert(0, (_quote(id_field), _value(fields[id_field], given)))
        table = _quote(self._table_name)
        if pairs:
            columns = ", ".join(c for c, _ in pairs)
            marks = ", ".join("?" for _ in pairs)
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        else:
            sql = f"INSERT INTO {table} DEFAULT VALUES"
        cursor = conn.execute(sql, [v for _, v in pairs])
        if given is None and not any(c == _quote(id_field) for c, _ in pairs):
            return str(cursor.lastrowid)
        found = given if given is not None else dict(pairs)[_quote(id_field)]
        return str(found)

    def change(self, conn: sqlite3.Connection, record_id: str, record: Record, every: bool) -> bool:
        _, _, _, fields, id_field, _ = self.layout(conn)
        key = self._key(fields[id_field], record_id)
        if key is None:
            return False
        pairs = self._pairs(conn, record, every)
        table, where = _quote(self._table_name), f"{_quote(id_field)} = ?"
        if not pairs:
            found = conn.execute(f"SELECT 1 FROM {table} WHERE {where}", (key,)).fetchone()
            return found is not None
        sets = ", ".join(f"{c} = ?" for c, _ in pairs)
        values = [*(v for _, v in pairs), key]
        cursor = conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", values)
        return cursor.rowcount > 0

    def delete(self, conn: sqlite3.Connection, record_id: str) -> bool:
        _, _, _, fields, id_field, _ = self.layout(conn)
        key = self._key(fields[id_field], record_id)
        if key is None:
            return False
        table = _quote(self._table_name)
        cursor = conn.execute(f"DELETE FROM {table} WHERE {_quote(id_field)} = ?", (key,))
        return cursor.rowcount > 0

    @staticmethod
    def _key(field: FieldInfo, record_id: str) -> str | int | None:
        if field.type != "integer":
            return record_id
        try:
            return int(record_id)
        except ValueError:
            return None


class GeoPackageWrites:
    """The write half of the GeoPackage connector (mixed into GeoPackageConnector)."""

    _writer: GeoPackageWriter

    def writable(self) -> bool:
        """Configured so, and the file and its folder (the WAL's -wal and -shm files go
        there) writable by this process."""
        if not self.config.writable:  # type: ignore[attr-defined]
            return False
        path: Path = self.path()  # type: ignore[attr-defined]
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)

    async def create(self, record: Record) -> str:
        return await self._writer.run(lambda conn: self._writer.create(conn, record))

    async def replace(self, record_id: str, record: Record) -> bool:
        return await self._writer.run(lambda c: self._writer.change(c, record_id, record, True))

    async def update(self, record_id: str, changes: Record) -> bool:
        return await self._writer.run(lambda c: self._writer.change(c, record_id, changes, False))

    async def delete(self, record_id: str) -> bool:
        return await self._writer.run(lambda conn: self._writer.delete(conn, record_id))

    async def write_if(
        self,
        action: str,
        record_id: str,
        record: Record | None,
        expect: Callable[[Record], bool],
    ) -> bool:
        """`action` ('replace', 'update', 'delete') only if `expect(stored record)`, in one
        transaction that takes the file's write lock first (BEGIN IMMEDIATE), so no other
        writer, in this process or another, comes in between. False: no such record."""
        writer = self._writer

        def run(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            stored = writer.stored(conn, record_id)
            if stored is None:
                return False
            if not expect(stored):
                raise SourceStale(f"record {record_id} changed")
            if action == "delete":
                return writer.delete(conn, record_id)
            return writer.change(conn, record_id, record or {}, action == "replace")

        return await writer.run(run)


__all__ = ["GeoPackageWriter", "GeoPackageWrites", "encode_geometry"]
