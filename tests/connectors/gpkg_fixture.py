"""A tiny but valid GeoPackage written with sqlite3, for the GeoPackage connector tests."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path
from typing import Any

import shapely

UTM32 = 25832
UTM32_WKT = (
    'PROJCS["ETRS89 / UTM zone 32N",GEOGCS["ETRS89",DATUM["European_Terrestrial_Reference_'
    'System_1989",SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",9],'
    'PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","25832"]]'
)

# fid -> (easting, northing) in EPSG:25832, Hamburg; None is a feature without geometry
TREES: dict[int, tuple[float, float] | None] = {
    1: (566000.0, 5934000.0),  # Rathaus
    2: (566500.0, 5935500.0),  # Alster
    3: (561500.0, 5933500.0),  # Altona
    4: (565000.0, 5925000.0),  # Harburg
    5: (580000.0, 5926000.0),  # Bergedorf
    6: None,
}
ATTRIBUTES: dict[int, dict[str, Any]] = {
    1: {"art": "Linde", "hoehe": 12.5, "pflanzdatum": "1990-04-01", "geschuetzt": 1},
    2: {"art": "Eiche", "hoehe": 20.0, "pflanzdatum": "1975-10-15", "geschuetzt": 0},
    3: {"art": "Ahorn", "hoehe": 8.25, "pflanzdatum": None, "geschuetzt": 0},
    4: {"art": "Buche", "hoehe": 15.0, "pflanzdatum": "2001-03-20", "geschuetzt": 1},
    5: {"art": "Kastanie", "hoehe": None, "pflanzdatum": "1960-05-05", "geschuetzt": None},
    6: {"art": "Birke", "hoehe": 5.0, "pflanzdatum": "2020-11-11", "geschuetzt": 0},
}

_SCHEMA = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT
  (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE,
  max_y DOUBLE, srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
CREATE TABLE baeume (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POINT, art TEXT(40), hoehe REAL,
  pflanzdatum DATE, geprueft DATETIME, geschuetzt BOOLEAN, foto BLOB);
"""


def gpkg_blob(
    geom: shapely.Geometry | None, srs_id: int, *, envelope: bool, little: bool
) -> bytes | None:
    """A GeoPackage geometry blob: header (optionally with an XY envelope) plus WKB."""
    if geom is None:
        return None
    order = "<" if little else ">"
    flags = int(little) | ((1 if envelope else 0) << 1) | ((1 if geom.is_empty else 0) << 4)
    header = b"GP" + bytes([0, flags]) + struct.pack(f"{order}i", srs_id)
    if envelope:
        minx, miny, maxx, maxy = geom.bounds
        header += struct.pack(f"{order}4d", minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geom, byte_order=int(little))


def write_gpkg(path: Path, *, rtree: bool = True) -> Path:
    """Write the `baeume` point table (EPSG:25832), with an R-tree unless told otherwise."""
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA)
    conn.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    conn.execute("PRAGMA user_version = 10400")
    conn.executemany(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", None),
            ("ETRS89 / UTM zone 32N", UTM32, "EPSG", UTM32, UTM32_WKT, None),
        ],
    )
    points = [p for p in TREES.values() if p is not None]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x,"
        " max_y, srs_id) VALUES ('baeume', 'features', 'baeume', ?, ?, ?, ?, ?)",
        (min(xs), min(ys), max(xs), max(ys), UTM32),
    )
    conn.execute(
        "INSERT INTO gpkg_geometry_columns VALUES ('baeume', 'geom', 'POINT', ?, 0, 0)", (UTM32,)
    )
    for fid, xy in TREES.items():
        geom = None if xy is None else shapely.Point(*xy)
        # alternate header variants so decoding sees both byte orders and envelope kinds
        blob = gpkg_blob(geom, UTM32, envelope=fid % 2 == 0, little=fid % 3 != 0)
        a = ATTRIBUTES[fid]
        conn.execute(
            "INSERT INTO baeume VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fid,
                blob,
                a["art"],
                a["hoehe"],
                a["pflanzdatum"],
                "2024-06-01T10:00:00Z",
                a["geschuetzt"],
                b"\x89PNG",
            ),
        )
    if rtree:
        conn.execute(
            "CREATE VIRTUAL TABLE rtree_baeume_geom USING rtree(id, minx, maxx, miny, maxy)"
        )
        conn.executemany(
            "INSERT INTO rtree_baeume_geom VALUES (?, ?, ?, ?, ?)",
            [(fid, xy[0], xy[0], xy[1], xy[1]) for fid, xy in TREES.items() if xy is not None],
        )
    conn.commit()
    conn.close()
    return path
