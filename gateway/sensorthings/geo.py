"""Geometry helpers: WKT literals to GeoJSON, and the spatial functions SQLite runs in
Python (shapely), registered on every connection as tb_<name>."""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from typing import Any

import orjson
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

PREDICATES = (
    "intersects",
    "equals",
    "disjoint",
    "touches",
    "within",
    "overlaps",
    "crosses",
    "contains",
)


def wkt_to_geojson(text: str) -> str:
    return orjson.dumps(mapping(shapely.from_wkt(text))).decode()


@lru_cache(maxsize=4096)
def _geometry(text: str) -> BaseGeometry | None:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict):
        return None
    try:
        return shape(doc)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.ShapelyError):
        return None


def _binary(name: str) -> Any:
    def predicate(a: str | None, b: str | None) -> int | None:
        ga, gb = _geometry(a) if a else None, _geometry(b) if b else None
        if ga is None or gb is None:
            return None
        return int(getattr(ga, name)(gb))

    return predicate


def _distance(a: str | None, b: str | None) -> float | None:
    ga, gb = _geometry(a) if a else None, _geometry(b) if b else None
    return None if ga is None or gb is None else float(ga.distance(gb))


def _length(a: str | None) -> float | None:
    g = _geometry(a) if a else None
    return None if g is None else float(g.length)


def _relate(a: str | None, b: str | None, pattern: str | None) -> int | None:
    ga, gb = _geometry(a) if a else None, _geometry(b) if b else None
    if ga is None or gb is None or not pattern:
        return None
    try:
        return int(ga.relate_pattern(gb, pattern))
    except shapely.errors.ShapelyError:
        return None


def register(conn: sqlite3.Connection) -> None:
    for name in PREDICATES:
        conn.create_function(f"tb_{name}", 2, _binary(name), deterministic=True)
    conn.create_function("tb_distance", 2, _distance, deterministic=True)
    conn.create_function("tb_length", 1, _length, deterministic=True)
    conn.create_function("tb_relate", 3, _relate, deterministic=True)
