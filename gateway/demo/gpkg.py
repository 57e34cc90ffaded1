"""A minimal GeoPackage 1.3 writer for feature tables, with the standard library's sqlite3.

It writes what a GeoPackage reader checks: the application id and user version, the
mandatory `gpkg_spatial_ref_sys` rows, `gpkg_contents` with the extent,
`gpkg_geometry_columns`, GeoPackage binary geometries, and the R-tree spatial index with its
`gpkg_extensions` row and the spec's maintenance triggers. Nothing in the file depends on the
clock, so the same rows give the same bytes.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0
FLAGS_LE_ENVELOPE_XY = 0b0000_0011  # little-endian header, envelope code 1 (minx maxx miny maxy)

WKT_EPSG_4326 = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AUTHORITY["EPSG","4326"]]'
)
WKT_EPSG_25832 = (
    'PROJCS["ETRS89 / UTM zone 32N",GEOGCS["ETRS89",DATUM["European_Terrestrial_Reference_'
    'System_1989",SPHEROID["GRS 1980",6378137,298.257222101,AUTHORITY["EPSG","7019"]],'
    'AUTHORITY["EPSG","6258"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4258"]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
    'PARAMETER["central_meridian",9],PARAMETER["scale_factor",0.9996],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],'
    'UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],'
    'AUTHORITY["EPSG","25832"]]'
)

WKT_EPSG_25833 = (
    WKT_EPSG_25832.replace("zone 32N", "zone 33N")
    .replace('PARAMETER["central_meridian",9]', 'PARAMETER["central_meridian",15]')
    .replace('AUTHORITY["EPSG","25832"]', 'AUTHORITY["EPSG","25833"]')
)

_SRS_ROWS = (
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian SRS"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic SRS"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, WKT_EPSG_4326, "longitude/latitude on WGS 84"),
    ("ETRS89 / UTM zone 32N", 25832, "EPSG", 25832, WKT_EPSG_25832, "ETRS89 / UTM zone 32N"),
)
# Systems a table may use besides those above; its row is added only when it does, so the
# files of tables in the systems above stay as they were.
_EXTRA_SRS_ROWS = {
    25833: ("ETRS89 / UTM zone 33N", 25833, "EPSG", 25833, WKT_EPSG_25833, "ETRS89 / UTM zone 33N"),
}

_CORE_TABLES = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
  definition TEXT NOT NULL, scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
"""

# The R-tree maintenance triggers of GeoPackage 1.3 (Annex F.3). They call ST_* functions
# that GeoPackage-aware readers (GDAL, QGIS) register; plain sqlite3 only reads the file.
_RTREE_TRIGGERS = """
CREATE TRIGGER rtree_{t}_{c}_insert AFTER INSERT ON {t}
WHEN (new.{c} NOT NULL AND NOT ST_IsEmpty(NEW.{c}))
BEGIN
  INSERT OR REPLACE INTO rtree_{t}_{c} VALUES (NEW.{i},
    ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));
END;
CREATE TRIGGER rtree_{t}_{c}_update1 AFTER UPDATE OF {c} ON {t}
WHEN OLD.{i} = NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c}))
BEGIN
  INSERT OR REPLACE INTO rtree_{t}_{c} VALUES (NEW.{i},
    ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));
END;
CREATE TRIGGER rtree_{t}_{c}_update2 AFTER UPDATE OF {c} ON {t}
WHEN OLD.{i} = NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
BEGIN
  DELETE FROM rtree_{t}_{c} WHERE id = OLD.{i};
END;
CREATE TRIGGER rtree_{t}_{c}_update3 AFTER UPDATE ON {t}
WHEN OLD.{i} != NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c}))
BEGIN
  DELETE FROM rtree_{t}_{c} WHERE id = OLD.{i};
  INSERT OR REPLACE INTO rtree_{t}_{c} VALUES (NEW.{i},
    ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c}));
END;
CREATE TRIGGER rtree_{t}_{c}_update4 AFTER UPDATE ON {t}
WHEN OLD.{i} != NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c}))
BEGIN
  DELETE FROM rtree_{t}_{c} WHERE id IN (OLD.{i}, NEW.{i});
END;
CREATE TRIGGER rtree_{t}_{c}_delete AFTER DELETE ON {t}
WHEN old.{c} NOT NULL
BEGIN
  DELETE FROM rtree_{t}_{c} WHERE id = OLD.{i};
END;
"""


@dataclass(frozen=True)
class PointTable:
    name: str
    identifier: str
    description: str
    columns: Sequence[tuple[str, str]]  # (name, SQL type), after fid and geom
    srs_id: int = 25832
    geometry_column: str = "geom"
    last_change: str = "2024-06-30T00:00:00.000Z"  # fixed: the file must not depend on the clock
    geometry_type: str = "POINT"  # any GeoPackage geometry type name, with write_features


def point_blobs(xs: Sequence[float], ys: Sequence[float], srs_id: int) -> list[bytes]:
    """GeoPackage binary points: 'GP', version 0, flags, srs_id, envelope, little-endian WKB."""
    wkbs = shapely.to_wkb(shapely.points(np.column_stack([xs, ys])), byte_order=1)
    head = b"GP" + bytes((0, FLAGS_LE_ENVELOPE_XY)) + struct.pack("<i", srs_id)
    return [
        head + struct.pack("<4d", x, x, y, y) + bytes(w)
        for x, y, w in zip(xs, ys, wkbs, strict=True)
    ]


def geometry_blobs(geometries: Sequence[shapely.Geometry], srs_id: int) -> list[bytes]:
    """GeoPackage binary geometries, each with its envelope (minx maxx miny maxy)."""
    wkbs = shapely.to_wkb(np.asarray(geometries, dtype=object), byte_order=1)
    head = b"GP" + bytes((0, FLAGS_LE_ENVELOPE_XY)) + struct.pack("<i", srs_id)
    bounds = shapely.bounds(np.asarray(geometries, dtype=object))
    return [
        head + struct.pack("<4d", b[0], b[2], b[1], b[3]) + bytes(w)
        for b, w in zip(bounds, wkbs, strict=True)
    ]


def write_points(path: Path, table: PointTable, rows: Sequence[tuple[float, float, tuple]]) -> None:
    """Write a new GeoPackage at `path` holding one point table; rows are (x, y, values)."""
    xs = [r[0] for r in rows]
    ys = [r[1] for r in rows]
    blobs = point_blobs(xs, ys, table.srs_id)
    envelopes = [(x, x, y, y) for x, y in zip(xs, ys, strict=True)]
    _write(path, table, blobs, envelopes, [r[2] for r in rows])


def write_features(
    path: Path, table: PointTable, rows: Sequence[tuple[shapely.Geometry, tuple]]
) -> None:
    """Write a new GeoPackage at `path` holding one table of `table.geometry_type`; rows are
    (geometry, values)."""
    geometries = [r[0] for r in rows]
    blobs = geometry_blobs(geometries, table.srs_id)
    envelopes = [(b[0], b[2], b[1], b[3]) for b in shapely.bounds(geometries).tolist()]
    _write(path, table, blobs, envelopes, [r[1] for r in rows])


Envelope = tuple[float, float, float, float]  # minx, maxx, miny, maxy


def _write(
    path: Path,
    table: PointTable,
    blobs: Sequence[bytes],
    envelopes: Sequence[Envelope],
    values: Sequence[tuple],
) -> None:
    path.unlink(missing_ok=True)
    t, c = table.name, table.geometry_column
    con = sqlite3.connect(path)
    try:
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {USER_VERSION}")
        con.executescript(_CORE_TABLES)
        srs_rows = list(_SRS_ROWS)
        if table.srs_id in _EXTRA_SRS_ROWS:
            srs_rows.append(_EXTRA_SRS_ROWS[table.srs_id])
        con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", srs_rows)
        extent: tuple[float | None, ...] = (None,) * 4
        if envelopes:
            extent = (
                min(e[0] for e in envelopes),
                min(e[2] for e in envelopes),
                max(e[1] for e in envelopes),
                max(e[3] for e in envelopes),
            )
        con.execute(
            "INSERT INTO gpkg_contents VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?, ?)",
            (t, table.identifier, table.description, table.last_change, *extent, table.srs_id),
        )
        con.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
            (t, c, table.geometry_type, table.srs_id),
        )
        columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in table.columns)
        fid = "fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"
        con.execute(f'CREATE TABLE "{t}" ({fid}, "{c}" {table.geometry_type}, {columns})')
        marks = ", ".join("?" * (len(table.columns) + 2))
        con.executemany(
            f'INSERT INTO "{t}" VALUES ({marks})',
            ((i, blob, *row) for i, (blob, row) in enumerate(zip(blobs, values, strict=True), 1)),
        )
        _add_rtree(con, t, c, envelopes)
        con.commit()
    finally:
        con.close()


def _add_rtree(con: sqlite3.Connection, t: str, c: str, envelopes: Sequence[Envelope]) -> None:
    con.execute(f"CREATE VIRTUAL TABLE rtree_{t}_{c} USING rtree(id, minx, maxx, miny, maxy)")
    con.executemany(
        f"INSERT INTO rtree_{t}_{c} VALUES (?, ?, ?, ?, ?)",
        ((i, *e) for i, e in enumerate(envelopes, 1)),
    )
    con.execute(
        "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', ?, 'write-only')",
        (t, c, "http://www.geopackage.org/spec120/#extension_rtree"),
    )
    con.executescript(_RTREE_TRIGGERS.format(t=t, c=c, i="fid"))
