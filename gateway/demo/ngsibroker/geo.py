"""Geo-queries of the NGSI test broker: a georel, a reference shape, and the test of an
entity's location against them, evaluated with shapely.

NGSI-v2 and NGSI-LD say the same things differently, so the parsing is per dialect and
the evaluation shared:
- v2: `georel=near;maxDistance:1000`, `geometry=point|line|polygon|box`, `coords` as
  **lat,lon** pairs joined by `;` (Orion's manual, "Geographical Queries");
- LD: `georel=near;maxDistance==1000`, `geometry=Point|Polygon|…`, `coordinates` as a
  GeoJSON array in **lon,lat** order (`ld_query`).
Distances are metres on a sphere of 6378.1 km (MongoDB's `2dsphere`, which Orion uses):
the entity's geometry is projected to an azimuthal equidistant plane centred on the
reference point, where the distance from the centre is exact.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import shapely
from pyproj import Transformer
from shapely.errors import GEOSException
from shapely.geometry import LineString, Point, Polygon, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform

EARTH_RADIUS = 6378100.0
V2_GEOMETRIES = ("point", "line", "polygon", "box")
RELATIONS = ("near", "coveredBy", "intersects", "disjoint", "equals", "within", "contains")


class GeoError(ValueError):
    """A geo-query that does not follow the syntax (answered 400 BadRequest)."""


@dataclass(frozen=True)
class GeoQuery:
    relation: str  # one of RELATIONS
    shape: BaseGeometry  # lon,lat (CRS84)
    max_distance: float | None = None  # metres, near only
    min_distance: float | None = None

    def matches(self, geometry: BaseGeometry | None) -> bool:
        """Whether an entity located at `geometry` (lon,lat) satisfies the query; an entity
        without a location never matches (not even `disjoint`)."""
        if geometry is None or geometry.is_empty:
            return False
        if self.relation == "near":
            metres = distance(self.shape, geometry)
            if self.max_distance is not None and metres > self.max_distance:
                return False
            return self.min_distance is None or metres >= self.min_distance
        if self.relation in ("coveredBy", "within"):
            return bool(self.shape.covers(geometry))
        if self.relation == "contains":
            return bool(geometry.covers(self.shape))
        if self.relation == "intersects":
            return bool(self.shape.intersects(geometry))
        if self.relation == "disjoint":
            return bool(self.shape.disjoint(geometry))
        return bool(self.shape.equals(geometry))


@lru_cache(maxsize=64)
def _aeqd(lon: float, lat: float) -> Transformer:
    proj = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +R={EARTH_RADIUS} +units=m"
    return Transformer.from_crs("+proj=longlat +R=6378100 +no_defs", proj, always_xy=True)


def distance(point: BaseGeometry, geometry: BaseGeometry) -> float:
    """Metres from a reference point to the nearest part of `geometry`."""
    centre = point.centroid if not isinstance(point, Point) else point
    if isinstance(geometry, Point):
        return haversine(centre.x, centre.y, geometry.x, geometry.y)
    projected = transform(_aeqd(centre.x, centre.y).transform, geometry)
    return float(Point(0.0, 0.0).distance(projected))


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(a)))


# --- parsing -----------------------------------------------------------------------------


def parse_georel(text: str, *, sep: str) -> tuple[str, float | None, float | None]:
    """`near;maxDistance:1000` (v2, sep ':') or `near;maxDistance==1000` (LD, sep '==')
    -> (relation, max, min)."""
    tokens = text.split(";")
    relation, modifiers = tokens[0], tokens[1:]
    if relation not in RELATIONS:
        raise GeoError(f"unknown georel: {relation[:40]}")
    found: dict[str, float] = {}
    for modifier in modifiers:
        name, _, value = modifier.partition(sep)
        if relation != "near" or name not in ("maxDistance", "minDistance") or not value:
            raise GeoError(f"invalid georel modifier: {modifier[:40]}")
        try:
            number = float(value)
        except ValueError:
            raise GeoError(f"invalid distance in georel: {value[:40]}") from None
        if not math.isfinite(number) or number < 0:
            raise GeoError(f"invalid distance in georel: {value[:40]}")
        found[name] = number
    if relation == "near" and not found:
        raise GeoError("georel near needs maxDistance or minDistance")
    return relation, found.get("maxDistance"), found.get("minDistance")


def _latlon_pairs(coords: str) -> list[tuple[float, float]]:
    """`lat,lon;lat,lon` -> [(lon, lat), …], checking ranges."""
    points = []
    for pair in coords.split(";"):
        parts = pair.split(",")
        if len(parts) != 2:
            raise GeoError(f"invalid coordinates pair: {pair[:40]}")
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError:
            raise GeoError(f"invalid coordinates: {pair[:40]}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise GeoError(f"coordinates out of range: {pair[:40]}")
        points.append((lon, lat))
    return points


def v2_shape(geometry: str, coords: str) -> BaseGeometry:
    """The reference shape of a v2 geo-query (`coords` in lat,lon order)."""
    if geometry not in V2_GEOMETRIES:
        raise GeoError(f"unknown geometry: {geometry[:40]}")
    points = _latlon_pairs(coords)
    if geometry == "point":
        if len(points) != 1:
            raise GeoError("geometry point needs one pair of coordinates")
        return Point(points[0])
    if geometry == "line":
        if len(points) < 2:
            raise GeoError("geometry line needs at least two pairs of coordinates")
        return LineString(points)
    if geometry == "box":
        if len(points) != 2:
            raise GeoError("geometry box needs two pairs of coordinates")
        (x1, y1), (x2, y2) = points
        return box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    if len(points) < 4 or points[0] != points[-1]:
        raise GeoError("geometry polygon needs at least four pairs, the last equal to the first")
    polygon = Polygon(points)
    if not polygon.is_valid:
        raise GeoError("geometry polygon is not a valid polygon")
    return polygon


def v2_query(georel: str | None, geometry: str | None, coords: str | None) -> GeoQuery | None:
    """The v2 geo-query of a request's parameters (None when it has none)."""
    if georel is None and geometry is None and coords is None:
        return None
    if not (georel and geometry and coords):
        raise GeoError("georel, geometry and coords must be used together")
    relation, most, least = parse_georel(georel, sep=":")
    if relation in ("within", "contains"):
        raise GeoError(f"unknown georel: {relation}")
    reference = v2_shape(geometry, coords)
    if relation == "near" and geometry != "point":
        raise GeoError("georel near needs geometry point")
    return GeoQuery(relation, reference, most, least)


def ld_query(georel: str | None, geometry: str | None, coordinates: Any) -> GeoQuery | None:
    """The NGSI-LD geo-query (`coordinates` a JSON array, or its text, in lon,lat order)."""
    if georel is None and geometry is None and coordinates is None:
        return None
    if not (georel and geometry and coordinates is not None):
        raise GeoError("georel, geometry and coordinates must be used together")
    relation, most, least = parse_georel(georel, sep="==")
    if relation == "coveredBy":
        raise GeoError("unknown georel: coveredBy")
    if isinstance(coordinates, str):
        try:
            coordinates = json.loads(coordinates)
        except ValueError:
            raise GeoError("coordinates is not a JSON array") from None
    reference = geojson_shape({"type": geometry, "coordinates": coordinates})
    if reference is None:
        raise GeoError(f"invalid {geometry[:40]} coordinates")
    if relation == "near" and not isinstance(reference, Point):
        raise GeoError("georel near needs geometry Point")
    return GeoQuery(relation, reference, most, least)


# --- entity locations --------------------------------------------------------------------


def geojson_shape(value: Any) -> BaseGeometry | None:
    """A GeoJSON geometry (or Feature) as shapely, None when it is not one (2D only)."""
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or value.get("type") == "GeometryCollection":
        return None
    try:
        found = shape(value)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, GEOSException):
        return None
    if found.is_empty:
        return None
    return shapely.force_2d(found)


def simple_location(kind: str, value: Any) -> BaseGeometry | None:
    """A Simple Location Format value (`geo:point` "lat, lon", `geo:line`, `geo:box`,
    `geo:polygon`: lists of such strings) as shapely lon,lat; None when malformed."""
    try:
        if kind == "geo:point":
            if not isinstance(value, str):
                return None
            return Point(_latlon_pairs(value.replace(" ", ""))[0])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        points = _latlon_pairs(";".join(v.replace(" ", "") for v in value))
        if kind == "geo:line" and len(points) >= 2:
            return LineString(points)
        if kind == "geo:box" and len(points) == 2:
            (x1, y1), (x2, y2) = points
            return box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        if kind == "geo:polygon" and len(points) >= 4 and points[0] == points[-1]:
            return Polygon(points)
    except GeoError:
        return None
    return None


LOCATION_TYPES = ("geo:json", "geo:point", "geo:line", "geo:box", "geo:polygon")


def attribute_location(kind: str, value: Any) -> BaseGeometry | None:
    """The location an attribute of NGSI type `kind` holds (None: not a location)."""
    if kind == "geo:json":
        return geojson_shape(value)
    if kind in LOCATION_TYPES:
        return simple_location(kind, value)
    return None


__all__ = [
    "GeoError",
    "GeoQuery",
    "LOCATION_TYPES",
    "attribute_location",
    "distance",
    "geojson_shape",
    "haversine",
    "ld_query",
    "parse_georel",
    "simple_location",
    "v2_query",
    "v2_shape",
]
