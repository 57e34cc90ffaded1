"""GeoPackage feature tables, queried with SQL instead of loaded: files can be large.

A bbox query asks the table's R-tree for candidates (a coarse envelope in the table's CRS)
and then tests each candidate exactly in CRS84, so paging and counting happen in Python
after that test. Without a bbox, paging and counting are plain SQL.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import struct
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import shapely
from pydantic import Field

from connectors import sqlfilter
from connectors.base import (
    CRS84,
    Capabilities,
    ConnectorConfig,
    Description,
    FeatureConnector,
    FieldInfo,
    FieldType,
    QueryResult,
    Record,
    SourceQuery,
    SourceVersion,
    file_version,
)
from connectors.crs import (
    bbox_from_crs84,
    bbox_geometry,
    crs_uri,
    split_bbox,
    to_geojson,
    transform_bbox,
    transform_geometries,
)
from connectors.gpkgwrite import GeoPackageWriter, GeoPackageWrites

T = TypeVar("T")
_CHUNK = 1000  # candidate rows decoded and tested per batch
_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}
_GEOMETRY_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
_INTEGER_ID = re.compile(r"[+-]?\d+")


def decode_geometry(blob: bytes | None) -> tuple[int, bytes] | None:
    """(srs_id, WKB) of a GeoPackage geometry blob; None for NULL and empty geometries.

    Header: "GP", version, flags (bit 0 byte order, bits 1-3 envelope kind, bit 4 empty,
    bit 5 extended), srs_id int32, then 0/4/6/6/8 envelope doubles, then standard WKB.
    """
    if blob is None:
        return None
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    if flags & 0b10_0000:
        raise ValueError("extended GeoPackage geometries are not supported")
    doubles = _ENVELOPE_DOUBLES.get((flags >> 1) & 0b111)
    if doubles is None:
        raise ValueError("invalid envelope indicator in a GeoPackage geometry")
    (srs_id,) = struct.unpack("<i" if flags & 1 else ">i", blob[4:8])
    if flags & 0b1_0000:
        return None
    return srs_id, bytes(blob[8 + 8 * doubles :])


def field_type(declared: str) -> FieldType | None:
    """The FieldInfo type of a SQLite declared type; None for columns that are not JSON."""
    t = declared.strip().upper()
    if t in ("BOOLEAN", "BOOL"):
        return "boolean"
    if "INT" in t:
        return "integer"
    if t.startswith(("REAL", "FLOAT", "DOUBLE", "NUMERIC", "DECIMAL")):
        return "number"
    if t == "DATE":
        return "date"
    if t in ("DATETIME", "TIMESTAMP"):
        return "datetime"
    if "BLOB" in t or t == "GEOMETRY" or t in _GEOMETRY_TYPES:
        return None
    return "string"


def _quote(name: str) -> str:
    """Quote a table or column name (names come from the file's own metadata)."""
    if not name or '"' in name or any(ord(c) < 32 for c in name):
        raise ValueError(f"unsupported table or column name {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class _Table:
    """What the file says about the configured table, read once on open."""

    name: str
    geometry: str
    crs: str  # anything parse_crs reads
    geometry_type: str | None
    fields: tuple[FieldInfo, ...]
    id_field: str
    order_by: str  # quoted; the INTEGER PRIMARY KEY (rowid) when there is one
    rtree: str | None  # quoted

    @property
    def select(self) -> str:
        columns = ", ".join(_quote(f.name) for f in self.fields)
        return f"SELECT {columns}, {_quote(self.geometry)} FROM {_quote(self.name)}"


class GeoPackageConnector(GeoPackageWrites, FeatureConnector):
    class Config(ConnectorConfig):
        path: str = Field(description="GeoPackage file, relative to the configuration file.")
        table: str = Field(description="Feature table to publish.")
        id_field: str | None = Field(
            None, description="Column holding the feature id. Default: the INTEGER PRIMARY KEY."
        )
        in_memory: bool = Field(
            True,
            description="Load the table once and answer from memory (reloaded when the file "
            "changes). Set false for large tables: SQL per request, with the R-tree for bbox.",
        )
        writable: bool = Field(
            False,
            description="Accept creates, replaces, updates and deletes (OGC API – Features "
            "Part 4): the gateway then opens the file read-write, in WAL mode.",
        )

    config: Config

    def __init__(self, config: ConnectorConfig, *, base_dir: Path, name: str) -> None:
        super().__init__(config, base_dir=base_dir, name=name)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._table: _Table | None = None
        self._writer = GeoPackageWriter(self.path, self.config.table, self.config.id_field)

    def path(self) -> Path:
        raw = Path(self.config.path)
        return raw if raw.is_absolute() else (self.base_dir / raw)

    def capabilities(self) -> Capabilities:
        types = {f.name: f.type for f in self._table.fields} if self._table else {}
        return Capabilities(
            bbox=True,
            paging=True,
            count=True,
            filter_test=sqlfilter.pushable("sqlite", types=types) if types else None,
            sort=True,
        )

    def in_memory(self) -> bool:
        return self.config.in_memory

    def version(self) -> SourceVersion:
        """The file and its write-ahead log: in WAL mode a commit changes only the log
        until a checkpoint. (`PRAGMA data_version` would be exact too, but only for one
        connection, and a reload opens a new one.)"""
        path = self.path()
        return file_version(path, path.with_name(path.name + "-wal"))

    async def source_version(self) -> SourceVersion | None:
        return self.version()

    def load(self) -> tuple[Description, list[Record]]:
        # A changed file needs a fresh connection: the cached table layout may be stale.
        self._close()

        def everything(conn: sqlite3.Connection, table: _Table) -> tuple[Description, list[Record]]:
            return self._describe(conn, table), self._page(conn, table, SourceQuery())[0]

        return self._run(everything)

    async def open(self) -> None:
        await asyncio.to_thread(self._run, lambda conn, table: None)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)
        await asyncio.to_thread(self._writer.close)

    async def describe(self) -> Description:
        return await asyncio.to_thread(self._run, self._describe)

    async def query(self, q: SourceQuery) -> QueryResult:
        if self._table is None:
            await self.open()  # capabilities and columns are known once the file is open
        run = self._page if q.bbox is None else self._filtered
        records, matched = await asyncio.to_thread(self._run, lambda c, t: run(c, t, q))
        return QueryResult(_aiter(records), number_matched=matched)

    async def get(self, record_id: str) -> Record | None:
        return await asyncio.to_thread(self._run, lambda c, t: self._get(c, t, record_id))

    # --- blocking part: runs in a worker thread, one statement at a time ---

    def _run(self, fn: Callable[[sqlite3.Connection, _Table], T]) -> T:
        """Run `fn` on the shared read-only connection; every error names the file."""
        path = self.path()
        with self._lock:
            try:
                return fn(*self._connection(path))
            except sqlite3.DatabaseError as e:
                raise ValueError(f"{path}: not a readable GeoPackage ({e})") from None
            except shapely.errors.ShapelyError as e:
                raise ValueError(
                    f"{path}: invalid geometry in '{self.config.table}' ({e})"
                ) from None
            except ValueError as e:
                raise ValueError(f"{path}: {e}") from None

    def _connection(self, path: Path) -> tuple[sqlite3.Connection, _Table]:
        """Open on first use (lock held); a failed open leaves nothing half-open."""
        if self._conn is not None and self._table is not None:
            return self._conn, self._table
        if not path.is_file():
            raise ValueError("GeoPackage file not found")
        uri = f"{path.resolve().as_uri()}?mode=ro"
        self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            self._table = _read_table(self._conn, self.config)
        except BaseException:
            self._close_locked()
            raise
        return self._conn, self._table

    def _close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._table = None, None

    def _describe(self, conn: sqlite3.Connection, table: _Table) -> Description:
        return Description(
            fields=table.fields,
            geometry_type=table.geometry_type,
            storage_crs=crs_uri(table.crs),
            bbox=_extent(conn, table),
            id_field=table.id_field,
        )

    def _page(
        self, conn: sqlite3.Connection, table: _Table, q: SourceQuery
    ) -> tuple[list[Record], int | None]:
        where, params = _where(table, q.filter, 1)
        n = len(params)
        order = _order(table, q)
        sql = f"{table.select} WHERE {where} ORDER BY {order} LIMIT ?{n + 1} OFFSET ?{n + 2}"
        limit = -1 if q.limit is None else q.limit
        rows = conn.execute(sql, (*params, limit, q.offset)).fetchall()
        records = _records(table, rows, _geometries(table, rows))
        if not q.want_count:
            return records, None
        count_sql = f"SELECT count(*) FROM {_quote(table.name)} WHERE {where}"
        (count,) = conn.execute(count_sql, params).fetchone()
        return records, count

    def _filtered(
        self, conn: sqlite3.Connection, table: _Table, q: SourceQuery
    ) -> tuple[list[Record], int | None]:
        """Candidates from the R-tree (or all rows), tested exactly in CRS84, then paged."""
        assert q.bbox is not None
        area = bbox_geometry(q.bbox)
        shapely.prepare(area)
        end = None if q.limit is None else q.offset + q.limit
        cursor = _candidates(conn, table, q)
        page_rows: list[Sequence[Any]] = []
        page_geoms: list[shapely.Geometry] = []
        total = 0
        while rows := cursor.fetchmany(_CHUNK):
            geoms = _geometries(table, rows)
            for row, geom, hit in zip(rows, geoms, shapely.intersects(geoms, area), strict=True):
                if hit:
                    if total >= q.offset and (end is None or total < end):
                        page_rows.append(row)
                        page_geoms.append(geom)
                    total += 1
            if end is not None and total >= end and not q.want_count:
                cursor.close()
                return _records(table, page_rows, page_geoms), None
        return _records(table, page_rows, page_geoms), total

    def _get(self, conn: sqlite3.Connection, table: _Table, record_id: str) -> Record | None:
        value: str | int = record_id
        kind = next(f.type for f in table.fields if f.name == table.id_field)
        if kind == "integer":
            if not _INTEGER_ID.fullmatch(record_id):
                return None
            value = int(record_id)
        sql = f"{table.select} WHERE {_quote(table.id_field)} = ? LIMIT 1"
        rows = conn.execute(sql, (value,)).fetchall()
        return _records(table, rows, _geometries(table, rows))[0] if rows else None


def _read_table(conn: sqlite3.Connection, config: GeoPackageConnector.Config) -> _Table:
    found = conn.execute(
        "SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns"
        " WHERE table_name = ?",
        (config.table,),
    ).fetchone()
    if found is None:
        names = [r[0] for r in conn.execute("SELECT table_name FROM gpkg_geometry_columns")]
        raise ValueError(
            f"no feature table '{config.table}' (feature tables: {', '.join(names) or 'none'})"
        )
    geometry, type_name, srs_id = found
    info = conn.execute(f"PRAGMA table_info({_quote(config.table)})").fetchall()
    pk = next((r[1] for r in info if r[5] and "INT" in str(r[2]).upper()), None)
    fields = tuple(
        FieldInfo(r[1], kind)
        for r in info
        if r[1] != geometry and (kind := field_type(str(r[2]))) is not None
    )
    id_field = config.id_field or pk
    if id_field is None:
        raise ValueError(f"table '{config.table}' has no INTEGER PRIMARY KEY: set id_field")
    if id_field not in {f.name for f in fields}:
        raise ValueError(f"table '{config.table}' has no column '{id_field}' for id_field")
    rtree = f"rtree_{config.table}_{geometry}"
    has_rtree = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (rtree,)
    ).fetchone()
    return _Table(
        name=config.table,
        geometry=geometry,
        crs=_srs(conn, srs_id),
        geometry_type=_GEOMETRY_TYPES.get(str(type_name).upper(), "Geometry"),
        fields=fields,
        id_field=id_field,
        order_by=_quote(pk) if pk else "rowid",
        rtree=_quote(rtree) if has_rtree else None,
    )


def _srs(conn: sqlite3.Connection, srs_id: int) -> str:
    """The CRS of a gpkg_spatial_ref_sys entry: its EPSG code, else its WKT definition."""
    if srs_id == 0:
        return CRS84  # the GeoPackage's "undefined geographic" system
    row = conn.execute(
        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys"
        " WHERE srs_id = ?",
        (srs_id,),
    ).fetchone()
    if row is None or srs_id < 0:
        raise ValueError(f"srs_id {srs_id} is not a defined coordinate reference system")
    organization, code, definition = row
    if str(organization).upper() == "EPSG":
        return f"EPSG:{code}"
    crs_uri(definition)  # raises when the definition names no EPSG code
    return str(definition)


def _candidates(conn: sqlite3.Connection, table: _Table, q: SourceQuery) -> sqlite3.Cursor:
    """Rows whose R-tree envelope may meet the bbox (every row when that cannot be told),
    that pass the pushed filter, in the requested order."""
    assert q.bbox is not None
    envelopes = [bbox_from_crs84(box, table.crs) for box in split_bbox(q.bbox)]
    params: list[Any] = []
    if table.rtree is None or any(env is None for env in envelopes):
        spatial = f"{_quote(table.geometry)} IS NOT NULL"
    else:
        tests = []
        for env in envelopes:
            assert env is not None
            n = len(params)
            tests.append(
                f"(minx <= ?{n + 1} AND maxx >= ?{n + 2} AND miny <= ?{n + 3} AND maxy >= ?{n + 4})"
            )
            params += [env[2], env[0], env[3], env[1]]
        spatial = f"{table.order_by} IN (SELECT id FROM {table.rtree} WHERE {' OR '.join(tests)})"
    where, more = _where(table, q.filter, len(params) + 1)
    sql = f"{table.select} WHERE {spatial} AND {where} ORDER BY {_order(table, q)}"
    return conn.execute(sql, [*params, *more])


def _where(table: _Table, expr: Any, first_param: int) -> tuple[str, list[Any]]:
    """The pushed filter (source names) as SQL with numbered parameters; `1` without one."""
    if expr is None:
        return "1", []
    types = {f.name: f.type for f in table.fields}
    return sqlfilter.compile_sql(expr, "sqlite", _quote, None, types=types, first_param=first_param)


def _order(table: _Table, q: SourceQuery) -> str:
    """The requested sort (nulls last, code-point order for text, as the gateway sorts),
    then the primary key so that pages never overlap."""
    keys = [
        f"{_quote(name)} IS NULL, {_quote(name)} {'ASC' if ascending else 'DESC'}"
        for name, ascending in q.sortby
    ]
    return ", ".join([*keys, table.order_by])


def _extent(conn: sqlite3.Connection, table: _Table) -> tuple[float, float, float, float] | None:
    """CRS84 extent from gpkg_contents, else from the R-tree, else unknown."""
    row = conn.execute(
        "SELECT min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents WHERE table_name = ?",
        (table.name,),
    ).fetchone()
    crs = table.crs
    if row is not None and row[4] is not None:
        crs = _srs(conn, row[4])
    if (row is None or None in row[:4]) and table.rtree is not None:
        sql = f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {table.rtree}"
        row, crs = conn.execute(sql).fetchone(), table.crs
    if row is None or None in row[:4]:
        return None
    minx, miny, maxx, maxy = (float(v) for v in row[:4])
    return transform_bbox((minx, miny, maxx, maxy), crs, CRS84)


def _geometries(table: _Table, rows: Sequence[Sequence[Any]]) -> np.ndarray:
    """The rows' geometries (last column) as shapely objects in CRS84, unrounded."""
    decoded = [decode_geometry(row[-1]) for row in rows]
    wkb = np.array([d[1] if d else None for d in decoded], dtype=object)
    return transform_geometries(shapely.from_wkb(wkb), table.crs)


def _records(table: _Table, rows: Sequence[Sequence[Any]], geoms: Sequence[Any]) -> list[Record]:
    records = []
    for row, geometry in zip(rows, to_geojson(np.array(geoms, dtype=object)), strict=True):
        props = {f.name: _value(f, v) for f, v in zip(table.fields, row, strict=False)}
        records.append({"id": props[table.id_field], "properties": props, "geometry": geometry})
    return records


def _value(field: FieldInfo, value: Any) -> Any:
    if field.type == "boolean" and value is not None:
        return bool(value)
    return value


async def _aiter(items: list[Record]) -> AsyncIterator[Record]:
    for item in items:
        yield item


__all__ = ["GeoPackageConnector", "decode_geometry", "field_type"]
