"""Readers for the three demo files, written independently of the connectors, so the demo
tests check the files' formats rather than the code that also reads them in production."""

from __future__ import annotations

import csv
import json
import sqlite3
import struct
from pathlib import Path

import shapely

from gateway.demo.generate import FILES


def hamburg_records(folder: Path) -> list[dict]:
    data = json.loads((folder / FILES["hamburg"]).read_text(encoding="utf-8"))
    return [{**f["properties"], "_xy": f["geometry"]["coordinates"]} for f in data["features"]]


def leipzig_records(folder: Path) -> list[dict]:
    with (folder / FILES["leipzig"]).open(encoding="latin-1", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    for row in rows:
        row["_xy"] = [float(row["X"].replace(",", ".")), float(row["Y"].replace(",", "."))]
    return rows


def muenchen_records(folder: Path) -> list[dict]:
    con = sqlite3.connect(folder / FILES["muenchen"])
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute("SELECT * FROM baeume ORDER BY fid")]
    finally:
        con.close()
    for row in rows:
        row["_xy"] = list(decode_gpkg_point(row.pop("geom"))[2].coords[0])
    return rows


READERS = {"hamburg": hamburg_records, "leipzig": leipzig_records, "muenchen": muenchen_records}


def decode_gpkg_point(blob: bytes) -> tuple[int, tuple[float, ...], shapely.Geometry]:
    """GeoPackage binary: 'GP', version, flags, srs_id, envelope (code 1: 4 doubles), WKB."""
    assert blob[:2] == b"GP" and blob[2] == 0
    flags = blob[3]
    assert flags & 0b1 == 1, "header must be little-endian"
    assert (flags >> 1) & 0b111 == 1, "envelope code must be 1 (minx, maxx, miny, maxy)"
    assert flags & 0b1_0000 == 0, "not empty"
    (srs_id,) = struct.unpack("<i", blob[4:8])
    envelope = struct.unpack("<4d", blob[8:40])
    assert blob[40] == 1, "WKB must be little-endian"
    return srs_id, envelope, shapely.from_wkb(blob[40:])
