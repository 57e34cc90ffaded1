"""The SQL side of the PostGIS connector: what the catalog says about the table, how each
column is selected and typed, bound parameters, and the keyset condition.

Names used in SQL come from pg_catalog, never from a request, and are quoted; values from
a request are always bound parameters (`Params`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import asyncpg

from connectors.base import FieldInfo, FieldType, SourceVersion
from connectors.crs import transform_bbox
from connectors.postgis import geometry as wkb

_GEOMETRY_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
_UNPUBLISHED = {"geometry", "geography", "bytea", "raster", "box2d", "box3d"}

# (field type, select expression) per base type name; {c} is the quoted column.
_SIMPLE: dict[str, tuple[FieldType, str]] = {
    "int2": ("integer", "{c}"),
    "int4": ("integer", "{c}"),
    "int8": ("integer", "{c}"),
    "float8": ("number", "{c}"),
    "float4": ("number", "{c}::text::float8"),  # 12.3, not 12.300000190734863
    "numeric": ("number", "{c}::float8"),
    "bool": ("boolean", "{c}"),
    "date": ("date", "{c}::text"),  # DateStyle ISO is set per connection
    "timestamp": ("datetime", "to_json({c}) #>> '{{}}'"),
    "timestamptz": ("datetime", "to_json({c}) #>> '{{}}'"),  # TimeZone UTC per connection
    "json": ("json", "{c}"),
    "jsonb": ("json", "{c}"),
    "text": ("string", "{c}"),
    "varchar": ("string", "{c}"),
    "bpchar": ("string", "{c}"),
    "name": ("string", "{c}"),
}


def quote(name: str) -> str:
    if not name or "\x00" in name:
        raise ValueError(f"unsupported SQL name {name!r}")
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # format_type(), e.g. "numeric(4,1)"; safe to splice (from the catalog)
    type: FieldType | None  # None: not published (geometry, bytea, ...)
    expression: str  # how the column is selected
    not_null: bool
    title: str | None = None
    text: bool = False  # sorted by code point (COLLATE "C"), as the gateway sorts strings
    native: bool = True  # filters compare the column itself (indexable), not `expression`
    deterministic: bool = True  # its collation: equal only when the bytes are equal

    @property
    def filter_expression(self) -> str:
        """What a filter compares: the value as records carry it (real -> its printed
        float, uuid -> text), or the column itself where that compares the same. Filters
        test string equality in the column's collation (so an index serves it), which must
        then be deterministic: under a nondeterministic one ('a' = 'A' when it ignores
        case) the column is compared by code point, as the gateway compares."""
        found = quote(self.name) if self.native else self.expression
        if self.type == "string" and not self.deterministic:
            return f'({found} COLLATE "C")'
        return found

    @property
    def quoted(self) -> str:
        return quote(self.name)

    @property
    def sort_key(self) -> str:
        return f'{quote(self.name)} COLLATE "C"' if self.text else quote(self.name)

    @property
    def info(self) -> FieldInfo:
        assert self.type is not None
        return FieldInfo(self.name, self.type, self.title)


@dataclass(frozen=True)
class Projection:
    select: str  # SELECT <columns>, <geometry as WKB> FROM <table>
    names: tuple[str, ...]  # the record fields, the first len(names) columns
    id_index: int  # the id's column
    crs: str = "EPSG:4326"  # of the geometry column


@dataclass(frozen=True)
class Table:
    target: str  # "schema"."table"
    schema_table: tuple[str, str]
    all: dict[str, Column]
    id_field: str
    geometry: str
    srid: int
    crs: str  # "EPSG:<code>" or WKT
    geometry_type: str | None

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        """The published columns, in table order."""
        return tuple(c for c in self.all.values() if c.type is not None)

    @cached_property
    def select(self) -> str:
        return self.projection(None).select

    @cached_property
    def _projections(self) -> dict[tuple[str, ...] | None, Projection]:
        return {}

    def projection(self, fields: tuple[str, ...] | None) -> Projection:
        """The SELECT of the given fields (all published columns for None), the id column
        appended when it is not one of them, then the geometry as stored (WKB)."""
        found = self._projections.get(fields)
        if found is None:
            chosen = self.columns if fields is None else tuple(self.column(f) for f in fields)
            names = tuple(c.name for c in chosen)
            extra = () if self.id_field in names else (self.column(self.id_field),)
            selected = ", ".join(c.expression for c in (*chosen, *extra))
            geometry = wkb.select(quote(self.geometry))
            found = Projection(
                select=f"SELECT {selected}, {geometry} FROM {self.target}",
                names=names,
                id_index=len(names) if extra else names.index(self.id_field),
                crs=self.crs,
            )
            if len(self._projections) < 64:
                self._projections[fields] = found
        return found

    def column(self, name: str) -> Column:
        found = self.all.get(name)
        if found is None:
            known = ", ".join(self.all)
            raise ValueError(f"table {self.target} has no column '{name}' (columns: {known})")
        return found


def _column(row: asyncpg.Record) -> Column:
    name, typname, sql_type, not_null, category, title, deterministic = row
    kind, template = _SIMPLE.get(typname, ("string", "{c}::text"))
    if typname in _UNPUBLISHED:
        kind = None
    elif category == "A":
        kind, template = "json", "to_json({c})"
    text = typname in ("text", "varchar", "bpchar")
    # real and non-text strings (uuid, time, inet...) are filtered as records show them
    native = text or typname == "name" if kind == "string" else typname != "float4"
    expression = template.format(c=quote(name))
    return Column(
        name, sql_type, kind, expression, not_null, title, text, native, deterministic is not False
    )


async def read_table(conn: asyncpg.Connection, config: Any) -> Table:
    """Everything the connector needs to know about the configured table, from the catalog."""
    schema, name = config.db_schema, config.table
    relation = await conn.fetchval(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','v','m','p','f')",
        schema,
        name,
    )
    if relation is None:
        tables = await conn.fetch(
            "SELECT DISTINCT f_table_schema || '.' || f_table_name FROM geometry_columns"
            " ORDER BY 1 LIMIT 20"
        )
        listed = ", ".join(r[0] for r in tables) or "none"
        raise ValueError(f"no table or view {schema}.{name} (tables with geometry: {listed})")
    rows = await conn.fetch(
        "SELECT a.attname, bt.typname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " bt.typcategory::text, col_description(a.attrelid, a.attnum), co.collisdeterministic"
        " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
        " LEFT JOIN pg_collation co ON co.oid = a.attcollation"
        " WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        relation,
    )
    columns = {row[0]: _column(row) for row in rows}
    geom_types = {row[0]: row[1] for row in rows}
    geometry, srid, geometry_type = await _geometry(conn, config, geom_types)
    id_field = config.id_field or await conn.fetchval(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indrelid = $1 AND i.indisprimary AND i.indnatts = 1",
        relation,
    )
    where = f"{schema}.{name}"
    if id_field is None:
        raise ValueError(f"{where} has no single-column primary key: set id_field")
    if id_field not in columns or columns[id_field].type in (None, "json"):
        raise ValueError(f"{where} has no column '{id_field}' usable as id_field")
    return Table(
        target=f"{quote(schema)}.{quote(name)}",
        schema_table=(schema, name),
        all=columns,
        id_field=id_field,
        geometry=geometry,
        srid=srid,
        crs=await _crs(conn, srid),
        geometry_type=geometry_type,
    )


async def _geometry(
    conn: asyncpg.Connection, config: Any, types: dict[str, str]
) -> tuple[str, int, str | None]:
    """(column, SRID, GeoJSON type) of the geometry column the config names or implies."""
    where = f"{config.db_schema}.{config.table}"
    candidates = [n for n, t in types.items() if t == "geometry"]
    if config.geometry_field is not None:
        if types.get(config.geometry_field) == "geography":
            raise ValueError(
                f"{where}.{config.geometry_field} is a geography: publish a view with ::geometry"
            )
        if config.geometry_field not in candidates:
            raise ValueError(f"{where} has no geometry column '{config.geometry_field}'")
        candidates = [config.geometry_field]
    if len(candidates) != 1:
        listed = ", ".join(candidates) or "none"
        raise ValueError(f"{where}: set geometry_field (geometry columns: {listed})")
    column = candidates[0]
    found = await conn.fetchrow(
        "SELECT srid, type FROM geometry_columns"
        " WHERE f_table_schema = $1 AND f_table_name = $2 AND f_geometry_column = $3",
        config.db_schema,
        config.table,
        column,
    )
    srid = config.srid or (found["srid"] if found else 0)
    if not srid:
        raise ValueError(f"{where}.{column} declares no SRID: set srid")
    kind = str(found["type"]).upper().rstrip("M") if found else "GEOMETRY"
    return column, int(srid), _GEOMETRY_TYPES.get(kind, "Geometry")


async def _crs(conn: asyncpg.Connection, srid: int) -> str:
    found = await conn.fetchrow(
        "SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = $1", srid
    )
    if found is None:
        raise ValueError(f"SRID {srid} is not in spatial_ref_sys")
    if str(found["auth_name"]).upper() == "EPSG":
        return f"EPSG:{found['auth_srid']}"
    return str(found["srtext"])


async def extent(
    conn: asyncpg.Connection, table: Table
) -> tuple[float, float, float, float] | None:
    """CRS84 extent: ST_EstimatedExtent (from statistics), else ST_Extent on a table that
    is not big (it reads every row), else unknown."""
    corners = "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ({}) s(b)"
    geom = table.column(table.geometry)
    try:
        estimate = "SELECT ST_EstimatedExtent($1, $2, $3)"
        box = await conn.fetchrow(corners.format(estimate), *table.schema_table, geom.name)
    except asyncpg.PostgresError:  # a view, or no statistics yet
        box = None
    if box is None or box[0] is None:
        sql = "SELECT reltuples FROM pg_class WHERE oid = $1::regclass"
        rows = await conn.fetchval(sql, table.target)
        if rows is not None and rows > 1_000_000:
            return None
        full = f"SELECT ST_Extent({geom.quoted}) FROM {table.target}"
        try:
            box = await conn.fetchrow(corners.format(full))
        except asyncpg.QueryCanceledError:  # a slow view: the extent stays unknown
            return None
    if box is None or box[0] is None:
        return None
    minx, miny, maxx, maxy = (float(v) for v in box)
    return transform_bbox((minx, miny, maxx, maxy), table.crs, "OGC:CRS84")


__all__ = ["Column", "Projection", "Table", "extent", "quote", "read_table"]


def row_version(row: Sequence[Any] | None) -> SourceVersion:
    """The version_query's row as a validator: every value in the tag, the latest
    timestamp as the modification time (naive ones are UTC, the sessions' zone)."""
    values = list(row) if row is not None else []
    moments = [v if v.tzinfo else v.replace(tzinfo=UTC) for v in values if isinstance(v, datetime)]
    return SourceVersion("|".join(repr(v) for v in values), max(moments, default=None))
