"""Geometry literals of a filter as GML 3.2, in the CRS and axis order the server expects.

The gateway's literals are CRS84 (lon/lat). A WFS reads a geometry in the CRS its `srsName`
names and in that CRS's axis order: EPSG:4326 and every geographic EPSG CRS name latitude
first, EPSG:25832/25833 easting first, CRS84 longitude first. The name is always written as
`urn:ogc:def:crs:EPSG::<code>` (or CRS84's URN), never as `EPSG:<code>`, whose axis order
servers read each their own way (MapServer: lon/lat).

A straight edge in CRS84 is not straight in a projected CRS: moved into one, each edge is
first cut into pieces short enough that the polygon the server sees stays within a given
tolerance of the gateway's (`densify_step`: the sagitta of a chord of length L on a curve
of curvature k is L²k/8, and a parallel drawn in a transverse Mercator bends with
k <= tan(lat)/R, taken at 70° N).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import shapely
from lxml import etree

from connectors.base import CRS84
from connectors.crs import crs_uri, parse_crs, transformer

GML = "http://www.opengis.net/gml/3.2"
CRS84_URN = "urn:ogc:def:crs:OGC:1.3:CRS84"
_CURVATURE = 2.75 / 6_371_000.0  # 1/m: tan(70°)/R
_METRES_PER_DEGREE = 111_320.0
_G = f"{{{GML}}}"


@lru_cache(maxsize=64)
def srs(crs: str) -> tuple[str, bool, bool]:
    """(srsName, latitude or northing first, geographic) of a CRS."""
    uri = crs_uri(crs)
    parsed = parse_crs(crs)
    if uri == CRS84:
        return CRS84_URN, False, True
    code = uri.rsplit("/", 1)[-1]
    first = parsed.axis_info[0].direction.lower() if parsed.axis_info else "east"
    return f"urn:ogc:def:crs:EPSG::{code}", first in ("north", "south"), parsed.is_geographic


def is_lonlat(crs: str) -> bool:
    """True when the CRS holds CRS84's very coordinates (CRS84 itself or EPSG:4326)."""
    return crs_uri(crs) in (CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326")


def densify_step(tolerance: float) -> float:
    """Degrees between added vertices so that edges stay within `tolerance` metres."""
    return (8.0 * tolerance / _CURVATURE) ** 0.5 / _METRES_PER_DEGREE


def to_crs(
    geom: shapely.Geometry, crs: str, tolerance: float = 0.001, *, densify: bool = True
) -> shapely.Geometry:
    """A CRS84 geometry in `crs` (x = easting or longitude); into a projected CRS densified
    so that its edges stay within `tolerance` metres of the CRS84 ones (unless not to)."""
    if is_lonlat(crs):
        return geom
    if densify and not srs(crs)[2]:
        geom = shapely.segmentize(geom, densify_step(tolerance))
    move = transformer(CRS84, crs)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = move.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)


def _pos_list(coords: np.ndarray, swap: bool, projected: bool = False) -> str:
    """Coordinates as text: degrees exactly (repr), metres to 0.1 mm (the densified edges
    are approximations anyway, and full digits would double a filter's length)."""
    pairs = (coords[:, ::-1] if swap else coords)[:, :2].ravel()
    if projected:
        return " ".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in pairs.tolist())
    return " ".join(repr(v) for v in pairs.tolist())


class GmlWriter:
    """Writes GML 3.2 elements for one filter (gml:id values must be unique in it).

    `exact`: for a geometry to store (WFS-T) rather than to compare with: only its vertices
    are moved, every digit kept, edges left as the client drew them."""

    def __init__(self, crs: str, tolerance: float = 0.001, *, exact: bool = False) -> None:
        self.crs, self.tolerance, self.exact = crs, tolerance, exact
        self.name, self.swap, geographic = srs(crs)
        self.projected = not geographic and not exact  # metres rounded to 0.1 mm
        self._ids = iter(range(1, 1_000_000))

    def _element(self, tag: str, root: bool = False) -> etree._Element:
        elem = etree.Element(_G + tag, nsmap={"gml": GML})
        elem.set(_G + "id", f"twinbridge.{next(self._ids)}")
        if root:
            elem.set("srsName", self.name)
        return elem

    def geometry(self, geom: shapely.Geometry) -> etree._Element:
        """`geom` (CRS84) as a GML 3.2 geometry in the writer's CRS."""
        moved = to_crs(geom, self.crs, self.tolerance, densify=not self.exact)
        return self._write(moved, root=True)

    def envelope(self, bounds: tuple[float, float, float, float]) -> etree._Element:
        """A CRS84 box as gml:Envelope (only for lon/lat CRSs: elsewhere a box is no box)."""
        minx, miny, maxx, maxy = bounds
        elem = etree.Element(_G + "Envelope", nsmap={"gml": GML})
        elem.set("srsName", self.name)
        corners = np.array([[minx, miny], [maxx, maxy]], dtype=float)
        for tag, row in (("lowerCorner", corners[:1]), ("upperCorner", corners[1:])):
            etree.SubElement(elem, _G + tag).text = _pos_list(row, self.swap)
        return elem

    def _write(self, geom: shapely.Geometry, root: bool = False) -> etree._Element:
        kind = geom.geom_type
        if kind == "Point":
            elem = self._element("Point", root)
            pos = np.array([[geom.x, geom.y]])
            etree.SubElement(elem, _G + "pos").text = _pos_list(pos, self.swap, self.projected)
            return elem
        if kind == "LineString":
            elem = self._element("LineString", root)
            etree.SubElement(elem, _G + "posList").text = self._coords(geom)
            return elem
        if kind == "Polygon":
            elem = self._element("Polygon", root)
            for tag, ring in self._rings(geom):
                ring_elem = etree.SubElement(etree.SubElement(elem, _G + tag), _G + "LinearRing")
                etree.SubElement(ring_elem, _G + "posList").text = self._coords(ring)
            return elem
        if kind in _MULTI:
            collection, member = _MULTI[kind]
            elem = self._element(collection, root)
            for part in geom.geoms:
                etree.SubElement(elem, _G + member).append(self._write(part))
            return elem
        raise ValueError(f"no GML for a {kind}")

    @staticmethod
    def _rings(polygon: shapely.Polygon) -> Iterator[tuple[str, shapely.LinearRing]]:
        yield "exterior", polygon.exterior
        for ring in polygon.interiors:
            yield "interior", ring

    def _coords(self, geom: shapely.Geometry) -> str:
        return _pos_list(np.asarray(geom.coords), self.swap, self.projected)


_MULTI = {
    "MultiPoint": ("MultiPoint", "pointMember"),
    "MultiLineString": ("MultiCurve", "curveMember"),
    "MultiPolygon": ("MultiSurface", "surfaceMember"),
}
# the gml:GeometryOperand a geometry needs declared, by shapely type (any of them will do)
OPERANDS: dict[str, tuple[str, ...]] = {
    "Point": ("Point",),
    "LineString": ("LineString", "Curve"),
    "Polygon": ("Polygon", "Surface"),
    "MultiPoint": ("MultiPoint",),
    "MultiLineString": ("MultiCurve", "MultiLineString"),
    "MultiPolygon": ("MultiSurface", "MultiPolygon"),
}

__all__ = [
    "CRS84_URN",
    "GML",
    "OPERANDS",
    "GmlWriter",
    "densify_step",
    "is_lonlat",
    "srs",
    "to_crs",
]
