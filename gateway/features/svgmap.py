"""The pages' static map: features drawn on the server as inline SVG in Web Mercator, fitted
to the features, on a labelled graticule. Every page has it without script, font or tile;
the interactive map (gateway/static/map.js) replaces it where OpenLayers is installed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

Doc = dict[str, Any]
Position = tuple[float, float]
Parts = list[tuple[str, list[list[Position]]]]  # ("point" | "line" | "area", rings)

MAP_WIDTH = 640
_MAX_LAT = 85.05112878  # Web Mercator's square world
_MIN_SPAN = math.radians(0.005)  # a lone point still gets ~500 m of surroundings
_STEPS = sorted({m * 10.0**e for e in range(-5, 2) for m in (1, 2, 5)} | {30.0, 45.0, 90.0})
_SHAPES = {  # GeoJSON type: (part kind, is a Multi* of it)
    "Point": ("point", False), "MultiPoint": ("point", True),
    "LineString": ("line", False), "MultiLineString": ("line", True),
    "Polygon": ("area", False), "MultiPolygon": ("area", True),
}  # fmt: skip


@dataclass
class MapShape:
    """One feature (or extent) on a map: circles for points, paths for lines and areas."""

    title: str
    href: str | None
    circles: list[tuple[str, str]] = field(default_factory=list)
    paths: list[tuple[str, str]] = field(default_factory=list)  # (d, "line" | "area")


@dataclass
class SvgMap:
    """A map ready for the ``svg_map`` macro, in a ``0 0 width height`` viewBox."""

    width: int
    height: int
    shapes: list[MapShape]
    graticule: str
    labels: list[tuple[str, str, str, str]]  # (x, y, text, text-anchor)


@dataclass(frozen=True)
class _Frame:
    """The projected window shown: left/top edge in Mercator radians, pixels per radian."""

    left: float
    top: float
    scale: float
    height: int

    @classmethod
    def fit(cls, points: list[Position]) -> _Frame:
        """Fit the points with an 8 % margin, at an aspect ratio between 0.45 and 1."""
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        dx, dy = max(max(xs) - min(xs), _MIN_SPAN), max(max(ys) - min(ys), _MIN_SPAN)
        dx, dy = max(dx, dy) * 1.16, max(dy, dx * 0.45) * 1.16
        scale = MAP_WIDTH / dx
        left, top = (min(xs) + max(xs) - dx) / 2, (min(ys) + max(ys) + dy) / 2
        return cls(left, top, scale, round(dy * scale))

    def xy(self, point: Position) -> tuple[str, str]:
        """The point in viewBox space, rounded to 1 decimal."""
        return _num((point[0] - self.left) * self.scale), _num((self.top - point[1]) * self.scale)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _project(position: object) -> Position:
    """CRS84 lon/lat to Web Mercator on the unit sphere; a malformed position raises."""
    if not isinstance(position, list | tuple) or len(position) < 2:
        raise ValueError("position is not a coordinate array")
    lon, lat = position[0], position[1]
    for v in (lon, lat):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError("position has a non-numeric coordinate")
    lat = max(-_MAX_LAT, min(_MAX_LAT, lat))
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _geometry_parts(geometry: object, depth: int = 0) -> Parts:
    """A GeoJSON geometry as projected parts; raises ValueError/TypeError when malformed."""
    if not isinstance(geometry, dict) or depth > 8:
        raise ValueError("not a geometry")
    if geometry.get("type") == "GeometryCollection":
        members = geometry.get("geometries") or []
        return [part for g in members for part in _geometry_parts(g, depth + 1)]
    kind, multi = _SHAPES[geometry.get("type")]  # KeyError: caught as unsupported
    members = geometry.get("coordinates") if multi else [geometry.get("coordinates")]
    if kind == "point":
        return [("point", [[_project(p)]]) for p in members]
    if kind == "line":
        return [("line", [[_project(p) for p in line]]) for line in members]
    return [("area", [[_project(p) for p in ring] for ring in poly]) for poly in members]


def bbox_geometry(bbox: list[Any]) -> Doc | None:
    """A 2D or 3D bbox as a polygon (two across the antimeridian), None if malformed."""
    if len(bbox) not in (4, 6) or not all(isinstance(v, int | float) for v in bbox):
        return None
    half = len(bbox) // 2
    west, south, east, north = bbox[0], bbox[1], bbox[half], bbox[half + 1]
    spans = [(west, east)] if west <= east else [(west, 180), (-180, east)]
    rings = [[[[w, south], [e, south], [e, north], [w, north], [w, south]]] for w, e in spans]
    return {"type": "MultiPolygon", "coordinates": rings}


def drawable(geometry: object) -> bool:
    """Whether ``geometry`` is a GeoJSON geometry this map (and OpenLayers) can draw."""
    try:
        return bool(_geometry_parts(geometry))
    except (ValueError, TypeError, KeyError):
        return False


def build_map(items: Iterable[tuple[str, str | None, Any]]) -> SvgMap | None:
    """A map fitted to the drawable geometries of ``(title, href, geometry)`` items.

    Null or malformed geometries are skipped; None when nothing at all can be drawn.
    """
    drawn = []
    for title, href, geometry in items:
        try:
            parts = _geometry_parts(geometry) if geometry is not None else []
        except (ValueError, TypeError, KeyError):
            continue
        if parts:
            drawn.append((title, href, parts))
    points = [p for _, _, parts in drawn for _, rings in parts for ring in rings for p in ring]
    if not points:
        return None
    frame = _Frame.fit(points)
    shapes = [_shape(title, href, parts, frame) for title, href, parts in drawn]
    return SvgMap(MAP_WIDTH, frame.height, shapes, *_graticule(frame))


def _shape(title: str, href: str | None, parts: Parts, frame: _Frame) -> MapShape:
    shape = MapShape(title, href)
    for kind, rings in parts:
        if kind == "point":
            shape.circles.append(frame.xy(rings[0][0]))
        elif d := "".join(_path(ring, frame, kind == "area") for ring in rings if ring):
            shape.paths.append((d, kind))
    return shape


def _path(ring: list[Position], frame: _Frame, closed: bool) -> str:
    """SVG path data for a ring, dropping vertices that round onto the previous one."""
    out = [xy for xy, _ in groupby(frame.xy(point) for point in ring)]
    return "M" + "L".join(f"{x} {y}" for x, y in out) + ("Z" if closed else "")


def _graticule(frame: _Frame) -> tuple[str, list[tuple[str, str, str, str]]]:
    """Graticule path data and its edge labels, at a round step giving ≤ 6 lines a side."""
    west, east = math.degrees(frame.left), math.degrees(frame.left + MAP_WIDTH / frame.scale)
    south, north = (
        math.degrees(2 * math.atan(math.exp(frame.top - y / frame.scale))) - 90
        for y in (frame.height, 0)
    )
    step = next((s for s in _STEPS if max(east - west, north - south) / s <= 6), 90.0)
    decimals = max(0, math.ceil(-math.log10(step) - 1e-9))
    d, labels = [], []
    for lon in _ticks(west, east, step):
        x = frame.xy(_project([lon, 0]))[0]
        d.append(f"M{x} 0V{frame.height}")
        if 24 < float(x) < MAP_WIDTH - 24:
            labels.append((x, str(frame.height - 5), f"{lon + 0.0:.{decimals}f}°", "middle"))
    for lat in _ticks(max(south, -_MAX_LAT), min(north, _MAX_LAT), step):
        y = frame.xy(_project([0, lat]))[1]
        d.append(f"M0 {y}H{MAP_WIDTH}")
        if 14 < float(y) < frame.height - 18:
            labels.append(("4", y, f"{lat + 0.0:.{decimals}f}°", "start"))
    return "".join(d), labels


def _ticks(low: float, high: float, step: float) -> list[float]:
    """Multiples of ``step`` within [low, high], at most 40."""
    first = math.ceil(low / step)
    count = max(0, min(math.floor(high / step) - first + 1, 40))
    return [round((first + i) * step, 9) for i in range(count)]
