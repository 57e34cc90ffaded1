"""GeoJSON (RFC 7946) validation and the little geometry the checks need."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _position(p: Any, where: str, problems: list[str]) -> bool:
    if not isinstance(p, list) or len(p) < 2 or not all(_number(v) for v in p):
        problems.append(f"{where}: a position must be an array of 2 or 3 numbers, got {p!r:.80}")
        return False
    return True


def _positions(ps: Any, where: str, problems: list[str], minimum: int) -> bool:
    if not isinstance(ps, list) or len(ps) < minimum:
        problems.append(f"{where}: expected an array of at least {minimum} positions")
        return False
    return all(_position(p, f"{where}[{i}]", problems) for i, p in enumerate(ps))


def _ring_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False)) / 2


def _polygon(rings: Any, where: str, problems: list[str]) -> None:
    if not isinstance(rings, list):
        problems.append(f"{where}: polygon coordinates must be an array of linear rings")
        return
    for i, ring in enumerate(rings):
        w = f"{where}[{i}]"
        if not _positions(ring, w, problems, 4):
            continue
        if ring[0] != ring[-1]:
            problems.append(f"{w}: a linear ring must be closed (first position = last)")
        elif (_ring_area(ring) > 0) != (i == 0) and _ring_area(ring) != 0:
            side = "counterclockwise" if i == 0 else "clockwise"
            problems.append(f"{w}: ring is not {side} (RFC 7946 right-hand rule)")


def validate_geometry(g: Any, where: str = "geometry") -> list[str]:
    """Problems with a GeoJSON geometry object (null is allowed and not a problem)."""
    problems: list[str] = []
    if g is None:
        return problems
    if not isinstance(g, dict) or g.get("type") not in GEOMETRY_TYPES:
        return [f"{where}: not a GeoJSON geometry (type {getattr(g, 'get', dict)('type')!r})"]
    kind, coords = g["type"], g.get("coordinates")
    if kind == "GeometryCollection":
        members = g.get("geometries")
        if not isinstance(members, list):
            return [f"{where}: a GeometryCollection needs a geometries array"]
        for i, member in enumerate(members):
            problems += validate_geometry(member, f"{where}.geometries[{i}]")
        return problems
    if kind == "Point":
        _position(coords, f"{where}.coordinates", problems)
    elif kind in ("MultiPoint", "LineString"):
        _positions(coords, f"{where}.coordinates", problems, 2 if kind == "LineString" else 0)
    elif kind == "MultiLineString":
        for i, line in enumerate(coords if isinstance(coords, list) else [None]):
            _positions(line, f"{where}.coordinates[{i}]", problems, 2)
    elif kind == "Polygon":
        _polygon(coords, f"{where}.coordinates", problems)
    else:
        for i, poly in enumerate(coords if isinstance(coords, list) else [None]):
            _polygon(poly, f"{where}.coordinates[{i}]", problems)
    return problems


def validate_feature(f: Any, where: str = "feature") -> list[str]:
    if not isinstance(f, dict) or f.get("type") != "Feature":
        return [f'{where}: not a GeoJSON Feature (type must be "Feature")']
    problems = []
    if "geometry" not in f:
        problems.append(f"{where}: a Feature must have a geometry member (null allowed)")
    problems += validate_geometry(f.get("geometry"), f"{where}.geometry")
    if "properties" not in f or not (f["properties"] is None or isinstance(f["properties"], dict)):
        problems.append(f"{where}: properties must be an object or null")
    if "id" in f and not (isinstance(f["id"], str) or _number(f["id"])):
        problems.append(f"{where}: id must be a string or a number, got {f['id']!r}")
    if "bbox" in f:
        problems += _bbox(f["bbox"], where)
    return problems


def _bbox(value: Any, where: str) -> list[str]:
    ok = isinstance(value, list) and len(value) in (4, 6) and all(_number(v) for v in value)
    return [] if ok else [f"{where}.bbox: must be 4 or 6 numbers"]


def validate_feature_collection(doc: Any) -> list[str]:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return ['not a GeoJSON FeatureCollection (type must be "FeatureCollection")']
    features = doc.get("features")
    if not isinstance(features, list):
        return ["a FeatureCollection must have a features array"]
    problems = _bbox(doc["bbox"], "collection") if "bbox" in doc else []
    for i, f in enumerate(features):
        problems += validate_feature(f, f"features[{i}]")
    return problems


def positions(g: Any) -> Iterator[list[float]]:
    """Every position of a geometry (nothing for null or malformed parts)."""
    if not isinstance(g, dict):
        return
    if g.get("type") == "GeometryCollection":
        for member in g.get("geometries") or []:
            yield from positions(member)
        return
    stack = [g.get("coordinates")]
    while stack:
        item = stack.pop()
        if isinstance(item, list) and item and all(_number(v) for v in item):
            yield item
        elif isinstance(item, list):
            stack.extend(item)


def outside_crs84(g: Any) -> list[float] | None:
    """The first position outside lon -180..180 / lat -90..90, or None."""
    for p in positions(g):
        if not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
            return p
    return None


def as_shape(g: Any) -> BaseGeometry | None:
    if not isinstance(g, dict):
        return None
    try:
        return shape(g)
    except Exception:  # malformed geometry: validity is reported elsewhere
        return None


def bbox_shape(bbox: list[float]) -> BaseGeometry:
    """A CRS84 box; minx > maxx crosses the antimeridian and becomes two boxes."""
    minx, miny, maxx, maxy = (bbox[0], bbox[1], bbox[-2], bbox[-1]) if len(bbox) == 6 else bbox
    if minx <= maxx:
        return box(minx, miny, maxx, maxy)
    return box(minx, miny, 180, maxy).union(box(-180, miny, maxx, maxy))


def bounds(features: list[dict[str, Any]]) -> tuple[float, float, float, float] | None:
    xs, ys = [], []
    for f in features:
        for p in positions(f.get("geometry")):
            xs.append(p[0])
            ys.append(p[1])
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None
