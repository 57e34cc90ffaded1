"""GeoJSON (RFC 7946) as the store keeps it in `location` and `feature`: every such value
is read as GeoJSON by the geometry functions (PostGIS' ST_GeomFromGeoJSON, shapely in
SQLite), so one that is not valid would fail every later query that touches it. Checked
here on write instead, with a 400 that says what is wrong and where.

A geometry or a Feature with a geometry; positions of two or three finite numbers in CRS84
(longitude -180..180, latitude -90..90); the nesting each type needs; lines of two or more
positions; closed linear rings of four or more.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gateway.sensorthings.errors import InvalidBody

MAX_COLLECTION_DEPTH = 4  # GeometryCollections inside GeometryCollections (RFC: avoid)


def check_geojson(value: Any, name: str) -> None:
    if not isinstance(value, dict):
        raise InvalidBody(f"{name}: expected a GeoJSON object")
    if value.get("type") == "Feature":
        geometry = value.get("geometry")
        if geometry is None:
            raise InvalidBody(f"{name}: a Feature needs a geometry here")
        _geometry(geometry, f"{name}/geometry", 0)
        return
    _geometry(value, name, 0)


def _geometry(value: Any, name: str, depth: int) -> None:
    if not isinstance(value, dict):
        raise InvalidBody(f"{name}: expected a GeoJSON geometry object")
    kind = value.get("type")
    if kind == "GeometryCollection":
        members = value.get("geometries")
        if not isinstance(members, list) or not members:
            raise InvalidBody(f"{name}: a GeometryCollection needs a non-empty 'geometries'")
        if depth >= MAX_COLLECTION_DEPTH:
            raise InvalidBody(f"{name}: GeometryCollections nested too deeply")
        for i, member in enumerate(members):
            _geometry(member, f"{name}/geometries/{i}", depth + 1)
        return
    check = CHECKS.get(kind) if isinstance(kind, str) else None
    if check is None:
        known = ", ".join([*CHECKS, "GeometryCollection", "Feature"])
        raise InvalidBody(f"{name}: unknown GeoJSON type {kind!r} (known: {known})")
    if "coordinates" not in value:
        raise InvalidBody(f"{name}: a {kind} needs 'coordinates'")
    check(value["coordinates"], f"{name}/coordinates")


def _position(value: Any, name: str) -> None:
    if not isinstance(value, list) or not 2 <= len(value) <= 3:
        raise InvalidBody(f"{name}: a position is an array of 2 or 3 numbers")
    for number in value:
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise InvalidBody(f"{name}: coordinates must be numbers, not {number!r}")
        if not math.isfinite(number):
            raise InvalidBody(f"{name}: coordinates must be finite")
    lon, lat = value[0], value[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidBody(
            f"{name}: ({lon}, {lat}) is outside CRS84 (longitude -180..180, latitude -90..90)"
        )


def _array(value: Any, name: str, least: int, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) < least:
        raise InvalidBody(f"{name}: {what}")
    return value


def _positions(value: Any, name: str, least: int, what: str) -> None:
    for i, position in enumerate(_array(value, name, least, what)):
        _position(position, f"{name}/{i}")


def _line(value: Any, name: str) -> None:
    _positions(value, name, 2, "a LineString needs an array of 2 or more positions")


def _polygon(value: Any, name: str) -> None:
    rings = _array(value, name, 1, "a Polygon needs an array of linear rings")
    for i, ring in enumerate(rings):
        where = f"{name}/{i}"
        _positions(ring, where, 4, "a linear ring needs 4 or more positions")
        if ring[0] != ring[-1]:
            raise InvalidBody(f"{where}: a linear ring must end where it starts (closed)")


def _many(member: Callable[[Any, str], None], what: str) -> Callable[[Any, str], None]:
    def check(value: Any, name: str) -> None:
        for i, item in enumerate(_array(value, name, 1, f"expected a non-empty array of {what}")):
            member(item, f"{name}/{i}")

    return check


CHECKS: dict[str, Callable[[Any, str], None]] = {
    "Point": _position,
    "MultiPoint": _many(_position, "positions"),
    "LineString": _line,
    "MultiLineString": _many(_line, "lines"),
    "Polygon": _polygon,
    "MultiPolygon": _many(_polygon, "polygons"),
}
