"""GML geometries (3.2, 3.1 and 2) read into GeoJSON in CRS84, many at a time.

A geometry element is first read into a `Shape`: its GeoJSON type and nested coordinate
arrays in x/y order of its own CRS (the axis order of the srsName undone). `to_geojson`
then moves the coordinates of a whole batch of shapes to CRS84 in one pyproj call per CRS
(a call per feature would cost ~50 µs each) and builds the GeoJSON dicts, unrounded.

Axis order by srsName: `urn:ogc:def:crs:EPSG::4326`, `http://www.opengis.net/def/crs/
EPSG/0/4326` and the short `EPSG:4326` follow the EPSG definition (latitude first for
geographic CRSs: MapServer 8 writes `srsName="EPSG:4326"` in WFS 1.1 answers with latitude
first); only the GML 2 form `…/gml/srs/epsg.xml#4326` is x/y; CRS84 is lon/lat.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from lxml import etree

from connectors.base import CRS84
from connectors.crs import parse_crs, transformer
from connectors.errors import SourceError
from connectors.remote.xml import local_name as local
from connectors.remote.xml import namespace

GML32 = "http://www.opengis.net/gml/3.2"
GML = "http://www.opengis.net/gml"  # GML 2 and 3.1
GML_NAMESPACES = frozenset({GML32, GML})
_EPSG = re.compile(r"EPSG(?:/\d+/|::?|\.xml#|:[\d.]*:)(\d+)$", re.IGNORECASE)
_CRS84 = re.compile(r"CRS:?84$", re.IGNORECASE)
GEOMETRY_TAGS = frozenset(
    {"Point", "LineString", "LinearRing", "Polygon", "Curve", "Surface", "MultiPoint"}
    | {"MultiLineString", "MultiCurve", "MultiPolygon", "MultiSurface", "MultiGeometry"}
    | {"Envelope", "Box"}
)

Coords = Any  # np.ndarray (n, 2), or nested lists of them


@dataclass
class Shape:
    """A geometry read but not yet moved to CRS84: GeoJSON type, x/y arrays, its CRS."""

    type: str
    coords: Coords
    crs: str


@lru_cache(maxsize=64)
def srs_axes(name: str) -> tuple[str, bool]:
    """(CRS to transform from, swap axes) for an srsName; ValueError when unknown."""
    text = name.strip()
    if _CRS84.search(text):
        return CRS84, False
    found = _EPSG.search(text)
    if not found:
        raise ValueError(f"unknown srsName '{name}'")
    crs = f"EPSG:{found.group(1)}"
    legacy = ".xml#" in text.lower()
    axes = parse_crs(crs).axis_info
    north_first = bool(axes) and axes[0].direction.lower() in ("north", "south")
    return crs, north_first and not legacy


def is_geometry(elem: etree._Element) -> bool:
    return namespace(elem.tag) in GML_NAMESPACES and local(elem.tag) in GEOMETRY_TAGS


class GeometryReader:
    """Reads one GML geometry element into a Shape (default CRS: `crs`)."""

    def __init__(self, crs: str | None = None) -> None:
        self.default = crs

    def read(self, elem: etree._Element) -> Shape:
        name = elem.get("srsName") or self.default or CRS84
        try:
            crs, swap = srs_axes(name)
        except ValueError as e:
            raise SourceError(str(e)) from None
        dim = _dimension(elem)
        try:
            kind, coords = self._geometry(elem, dim)
        except (ValueError, IndexError) as e:
            raise SourceError(f"unreadable GML {local(elem.tag)}: {e}") from None
        if swap:
            coords = _swap(coords)
        return Shape(kind, coords, crs)

    def _geometry(self, elem: etree._Element, dim: int) -> tuple[str, Coords]:
        tag = local(elem.tag)
        dim = _dimension(elem, dim)
        if tag == "Point":
            return "Point", _points(elem, dim)[:1]
        if tag in ("LineString", "Curve"):
            return "LineString", _line(elem, dim)
        if tag in ("Polygon", "Surface"):
            return "Polygon", _polygon(elem, dim)
        if tag in ("Envelope", "Box"):
            return "Polygon", _envelope(elem, dim)
        parts = [self._geometry(m, dim) for m in _members(elem)]
        if tag == "MultiPoint":
            return "MultiPoint", np.vstack([c for _, c in parts]) if parts else np.empty((0, 2))
        if tag in ("MultiLineString", "MultiCurve"):
            return "MultiLineString", [c for _, c in parts]
        if tag in ("MultiPolygon", "MultiSurface"):
            return "MultiPolygon", [c for _, c in parts]
        if tag == "MultiGeometry":
            return "GeometryCollection", parts
        raise ValueError(f"unsupported geometry {tag}")


def _dimension(elem: etree._Element, default: int = 2) -> int:
    value = elem.get("srsDimension")
    return int(value) if value and value.isdigit() and int(value) >= 2 else default


def _gml(elem: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in elem if local(c.tag) == name and namespace(c.tag) in GML_NAMESPACES]


def _members(elem: etree._Element) -> Iterator[etree._Element]:
    """The geometries inside a multi-geometry's member elements (…Member and …Members)."""
    for child in elem:
        if local(child.tag).endswith(("Member", "Members")):
            yield from (g for g in child if is_geometry(g))


def _numbers(text: str | None, dim: int) -> np.ndarray:
    values = np.array((text or "").split(), dtype=float)
    if values.size % dim:
        raise ValueError(f"{values.size} numbers are no {dim}D coordinates")
    return values.reshape(-1, dim)[:, :2]


def _coordinates(elem: etree._Element) -> np.ndarray:
    """gml:coordinates (GML 2 / 3.1): `cs` between ordinates, `ts` between tuples."""
    cs, ts, decimal = elem.get("cs", ","), elem.get("ts", " "), elem.get("decimal", ".")
    text = (elem.text or "").strip()
    rows = [t.split(cs) for t in (text.split(ts) if ts.strip() else text.split()) if t]
    if decimal != ".":
        rows = [[v.replace(decimal, ".") for v in row] for row in rows]
    return np.array([[float(row[0]), float(row[1])] for row in rows], dtype=float)


def _points(elem: etree._Element, dim: int) -> np.ndarray:
    """The coordinates directly below a Point, LineString or LinearRing, in any encoding."""
    for child in elem:
        tag = local(child.tag)
        if tag == "posList":
            return _numbers(child.text, _dimension(child, dim))
        if tag == "coordinates":
            return _coordinates(child)
    rows = []
    for child in elem:
        tag = local(child.tag)
        if tag == "pos":
            rows.append(_numbers(child.text, _dimension(child, dim)))
        elif tag == "coord":
            x, y = (float(c.text or "") for c in child[:2])
            rows.append(np.array([[x, y]]))
        elif tag in ("pointProperty", "pointRep"):
            rows.extend(_points(p, dim) for p in child if local(p.tag) == "Point")
    if not rows:
        raise ValueError(f"no coordinates in {local(elem.tag)}")
    return np.vstack(rows)


def _line(elem: etree._Element, dim: int) -> np.ndarray:
    if local(elem.tag) == "LineString":
        return _points(elem, dim)
    segments = [s for part in _gml(elem, "segments") for s in part]
    for segment in segments:
        if local(segment.tag) != "LineStringSegment":  # arcs are no straight lines
            raise ValueError(f"a {local(segment.tag)} curve segment (only straight ones)")
    lines = [_points(s, _dimension(s, dim)) for s in segments]
    if not lines:
        raise ValueError("a Curve without segments")
    joined = [lines[0]] + [line[1:] for line in lines[1:]]  # segments share their ends
    return np.vstack(joined)


def _rings(elem: etree._Element, dim: int) -> list[np.ndarray]:
    rings = []
    for name in ("exterior", "outerBoundaryIs", "interior", "innerBoundaryIs"):
        for boundary in _gml(elem, name):
            for ring in boundary:
                rings.append(_ring(ring, dim))
    if not rings:
        raise ValueError("a polygon without rings")
    return rings


def _ring(elem: etree._Element, dim: int) -> np.ndarray:
    if local(elem.tag) == "Ring":  # gml:Ring of curveMembers
        parts = [_line(c, dim) for m in elem for c in m if local(c.tag) in ("LineString", "Curve")]
        return np.vstack([parts[0]] + [p[1:] for p in parts[1:]])
    return _points(elem, _dimension(elem, dim))


def _polygon(elem: etree._Element, dim: int) -> list[np.ndarray]:
    if local(elem.tag) == "Polygon":
        return _rings(elem, dim)
    patches = [p for part in _gml(elem, "patches") for p in part]
    if len(patches) != 1:
        raise ValueError(f"a Surface of {len(patches)} patches")
    return _rings(patches[0], dim)


def _envelope(elem: etree._Element, dim: int) -> list[np.ndarray]:
    corners = [c for c in elem if local(c.tag) in ("lowerCorner", "upperCorner")]
    if corners:
        (x0, y0), (x1, y1) = (_numbers(c.text, dim)[0] for c in corners)
    else:
        (x0, y0), (x1, y1) = _points(elem, dim)[:2]
    return [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])]


def _swap(coords: Coords) -> Coords:
    if isinstance(coords, np.ndarray):
        return coords[:, ::-1]
    if isinstance(coords, tuple):  # (type, coords) inside a collection
        return coords[0], _swap(coords[1])
    return [_swap(c) for c in coords]


def _leaves(coords: Coords) -> Iterator[np.ndarray]:
    if isinstance(coords, np.ndarray):
        yield coords
    elif isinstance(coords, tuple):
        yield from _leaves(coords[1])
    else:
        for c in coords:
            yield from _leaves(c)


def _rebuild(kind: str, coords: Coords, moved: Iterator[list[list[float]]]) -> dict[str, Any]:
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [_rebuild(k, c, moved) for k, c in coords]}
    return {"type": kind, "coordinates": _nest(kind, coords, moved)}


def _nest(kind: str, coords: Coords, moved: Iterator[list[list[float]]]) -> Any:
    if isinstance(coords, np.ndarray):
        found = next(moved)
        return found[0] if kind == "Point" else found
    return [_nest(kind, c, moved) for c in coords]


def to_geojson(shapes: Sequence[Shape | None]) -> list[dict[str, Any] | None]:
    """GeoJSON geometries in CRS84 of a batch of shapes (one transform per CRS)."""
    by_crs: dict[str, list[np.ndarray]] = {}
    for shape in shapes:
        if shape is not None:
            by_crs.setdefault(shape.crs, []).extend(_leaves(shape.coords))
    moved: dict[str, Iterator[list[list[float]]]] = {}
    for crs, leaves in by_crs.items():
        stacked = np.vstack(leaves) if leaves else np.empty((0, 2))
        if crs != CRS84:
            x, y = transformer(crs).transform(stacked[:, 0], stacked[:, 1])
            stacked = np.column_stack([x, y])
        if not np.all(np.isfinite(stacked)):
            raise SourceError(f"coordinates outside the area of {crs}")
        rows = stacked.tolist()
        bounds = np.cumsum([0] + [len(leaf) for leaf in leaves]).tolist()
        moved[crs] = iter([rows[a:b] for a, b in zip(bounds, bounds[1:], strict=False)])
    return [None if s is None else _rebuild(s.type, s.coords, moved[s.crs]) for s in shapes]


__all__ = ["GML", "GML32", "GeometryReader", "Shape", "is_geometry", "srs_axes", "to_geojson"]
