"""Geometry literals of a CQL2 filter: read exactly, moved from `filter-crs` to CRS84.

The cql2 package reads WKT in cql2-text with a float parser that is not correctly rounded:
`POINT(9 53.550004320999996)` comes back as 53.550004321, the neighbouring double, which
made S_TOUCHES and S_EQUALS false against the very coordinates a source stores. So each
WKT literal of the text is also read by GEOS (`wkt_literals`), and the package's geometry
is replaced by GEOS's where the two agree up to such rounding (the same geometry, in the
same order). cql2-json and BBOX numbers are exact already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely

from connectors.base import CRS84
from connectors.crs import EPSG_URI, parse_crs, transformer
from gateway.errors import InvalidParameter

_EPSG = re.compile(rf"(?:{re.escape(EPSG_URI)}|EPSG:)(\d{{1,6}})", re.IGNORECASE)
_CRS84_NAMES = {CRS84, CRS84.replace("http:", "https:"), "OGC:CRS84", "CRS84"}
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_WKT = re.compile(
    r"\b(?:MULTI)?(?:POINT|LINESTRING|POLYGON)\b|\bGEOMETRYCOLLECTION\b", re.IGNORECASE
)
_WKT_BODY = re.compile(r"\s*(?:[ZM]{1,2}\s*)?(\(|EMPTY\b)", re.IGNORECASE)


def _fail(message: str) -> InvalidParameter:
    return InvalidParameter("filter", message)


def wkt_literals(text: str) -> list[shapely.Geometry | None]:
    """Every WKT geometry literal of a cql2-text filter, in order, as GEOS reads it (None
    where GEOS cannot: the package's reading stands then)."""
    bare = _QUOTED.sub(lambda m: " " * len(m.group()), text)  # keep offsets, drop strings
    found: list[shapely.Geometry | None] = []
    position = 0
    while (keyword := _WKT.search(bare, position)) is not None:
        body = _WKT_BODY.match(bare, keyword.end())
        if body is None:  # a name such as `point_count`, not a literal
            position = keyword.end()
            continue
        end = body.end() if body.group(1).upper() == "EMPTY" else _closing(bare, body.start(1))
        try:
            found.append(shapely.from_wkt(text[keyword.start() : end]))
        except shapely.errors.ShapelyError:
            found.append(None)
        position = end
    return found


def _closing(text: str, opening: int) -> int:
    """The offset after the parenthesis that closes the one at `opening`."""
    depth = 0
    for i in range(opening, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return len(text)


def _same(parsed: shapely.Geometry, exact: shapely.Geometry | None) -> shapely.Geometry:
    """GEOS's reading of the literal when it is the package's up to float rounding."""
    if exact is None or exact.geom_type != parsed.geom_type or exact.is_empty:
        return parsed
    exact = shapely.force_2d(exact)
    ours, theirs = shapely.get_coordinates(exact), shapely.get_coordinates(parsed)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=1e-12, atol=0.0):
        return parsed
    return exact


class GeometryReader:
    """Geometry literals in `filter-crs` (axis order as the CRS defines it) to CRS84."""

    def __init__(self, crs: str | None) -> None:
        """`crs` must name CRS84 or an EPSG code: client text never reaches PROJ's parser."""
        text = (CRS84 if crs is None else crs).strip().strip("<>[]")  # "" is no CRS
        code = _EPSG.fullmatch(text)
        try:
            if text not in _CRS84_NAMES and code is None:
                raise ValueError(f"'{crs}' is not CRS84 or an EPSG CRS ({EPSG_URI}<code>)")
            self.crs = f"EPSG:{code.group(1)}" if code and text not in _CRS84_NAMES else None
            axis = parse_crs(self.crs).axis_info[0].direction if self.crs else "east"
        except ValueError as e:
            raise InvalidParameter("filter-crs", str(e)) from None
        self.swap = axis in ("north", "south")
        self.exact: list[shapely.Geometry | None] = []

    def expect(self, exact: list[shapely.Geometry | None]) -> None:
        """The text's geometry literals as GEOS read them, in order (see wkt_literals)."""
        self.exact = list(reversed(exact))

    def _to84(self, geometry: shapely.Geometry, swap: bool) -> shapely.Geometry:
        if self.crs is None:
            return geometry
        if swap:
            geometry = shapely.transform(geometry, lambda xy: np.ascontiguousarray(xy[:, ::-1]))
        to84 = transformer(self.crs)
        moved = shapely.transform(geometry, lambda xy: np.column_stack(to84.transform(*xy.T)))
        if not np.all(np.isfinite(shapely.get_coordinates(moved))):
            raise _fail(f"a geometry lies outside the area of {self.crs}")
        return moved

    def geojson(self, node: Mapping[str, Any]) -> shapely.Geometry:
        try:
            geometry = shapely.force_2d(shapely.geometry.shape(node))
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
            raise _fail(f"invalid geometry: {e}") from None
        geometry = _same(geometry, self.exact.pop() if self.exact else None)
        if geometry.is_empty:
            raise _fail("empty geometries are not supported")
        geometry = self._to84(geometry, self.swap)
        if not geometry.is_valid:
            raise _fail(f"invalid geometry: {shapely.is_valid_reason(geometry)}")
        return geometry

    def bbox(self, values: Any) -> shapely.Geometry:
        """A box (two across the antimeridian; densified when the CRS is projected)."""
        if not isinstance(values, list) or len(values) not in (4, 6):
            raise _fail("BBOX takes 4 or 6 numbers")
        half = len(values) // 2
        x1, y1, x2, y2 = values[0], values[1], values[half], values[half + 1]
        if self.swap:
            x1, y1, x2, y2 = y1, x1, y2, x2
        if y1 > y2:
            raise _fail("BBOX has its minimum above its maximum")
        if self.crs is not None and not parse_crs(self.crs).is_geographic:
            box = shapely.segmentize(shapely.box(x1, y1, x2, y2), max(x2 - x1, y2 - y1) / 32)
            return self._to84(box, swap=False)
        boxes = [(x1, y1, x2, y2)] if x1 <= x2 else [(x1, y1, 180.0, y2), (-180.0, y1, x2, y2)]
        parts = [self._to84(shapely.box(*b), swap=False) for b in boxes]
        return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


__all__ = ["GeometryReader", "wkt_literals"]
