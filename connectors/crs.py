"""CRS helpers shared by the connectors: name a CRS the OGC way and move geometries to CRS84.

Every transform here is vectorised: pyproj is called once per array of coordinates, never
once per point, because a Python loop over pyproj costs ~50 µs per call and sources hold
tens of thousands of points.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from connectors.base import CRS84

EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
Geometry = shapely.Geometry
BBox = tuple[float, float, float, float]


@lru_cache(maxsize=128)
def parse_crs(value: str) -> CRS:
    """A pyproj CRS from "EPSG:25832", an OGC URN, an OGC http URI or the CRS84 URI."""
    text = value.strip()
    if text.startswith("https://www.opengis.net/"):
        text = "http://" + text.removeprefix("https://")
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise ValueError(
            f"unknown CRS '{value}' (use e.g. EPSG:25832 or {EPSG_URI}25832)"
        ) from None


@lru_cache(maxsize=128)
def crs_uri(value: str) -> str:
    """The OGC URI of a CRS: `http://www.opengis.net/def/crs/EPSG/0/<code>` or CRS84."""
    crs = parse_crs(value)
    authority = crs.to_authority(min_confidence=90)
    if authority == ("OGC", "CRS84"):
        return CRS84
    if authority and authority[0] == "EPSG":
        return f"{EPSG_URI}{authority[1]}"
    raise ValueError(f"CRS '{value}' has no EPSG code, so it cannot be named in OGC API")


def is_crs84(value: str) -> bool:
    return crs_uri(value) == CRS84


@lru_cache(maxsize=128)
def transformer(source: str, target: str = CRS84) -> Transformer:
    """A cached transformer; always_xy so x is easting/longitude whatever the CRS axis order."""
    return Transformer.from_crs(parse_crs(source), parse_crs(target), always_xy=True)


def transform_xy(
    xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Transform whole coordinate arrays to CRS84 in one pyproj call."""
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    if is_crs84(source):
        return x, y
    return transformer(source).transform(x, y)


def transform_geometries(geoms: Sequence[Geometry | None] | np.ndarray, source: str) -> np.ndarray:
    """Transform an array of shapely geometries (None allowed) to CRS84, not rounded: the
    gateway evaluates filters on these and serves them, so a client that sends a served
    geometry back (S_EQUALS) finds the feature, and a shared boundary stays shared.

    `shapely.transform` hands all coordinates of all geometries to pyproj at once. The
    transform is a function of each coordinate pair alone, so vertices two geometries share
    in the storage CRS are still shared in CRS84 (a geometry given in the storage CRS with
    `filter-crs` is moved by the same transformer): predicates decided by shared vertices
    and the edges between them hold exactly. A point lying *on an edge* of the other
    geometry between its vertices may land a rounding error off that edge, because a
    straight edge is not straight after the transform; and a geometry given in CRS84
    against projected storage is only as exact as the transform itself.
    """
    array = np.asarray(geoms, dtype=object)
    if is_crs84(source):
        return array
    to84 = transformer(source)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = to84.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y, *coords.T[2:]])  # heights stay (horizontal CRSs)

    return shapely.transform(array, apply, include_z=None)


def transform_geometry(geom: Geometry, source: str) -> Geometry:
    """One geometry to CRS84 (vectorised over its coordinates)."""
    return transform_geometries([geom], source)[0]


def to_geojson(geoms: np.ndarray) -> list[dict[str, Any] | None]:
    """GeoJSON geometry dicts; None for missing or empty geometries."""
    empty = shapely.is_empty(geoms)
    texts = shapely.to_geojson(np.where(empty, None, geoms))
    return [None if t is None else orjson.loads(t) for t in texts]


def geometry_type(geoms: np.ndarray) -> str | None:
    """The one GeoJSON type all geometries share, "Geometry" when mixed, None when none."""
    present = [g for g in geoms if g is not None and not g.is_empty]
    types = {g.geom_type for g in present}
    if not types:
        return None
    return types.pop() if len(types) == 1 else "Geometry"


def extent(geoms: np.ndarray) -> BBox | None:
    """CRS84 extent of geometries already in CRS84, None when there are none."""
    if len(geoms) == 0:
        return None
    bounds = shapely.total_bounds(geoms)
    if not np.all(np.isfinite(bounds)):
        return None
    return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))


def split_bbox(bbox: BBox) -> list[BBox]:
    """A CRS84 bbox as one or two boxes: minx > maxx means it crosses the antimeridian."""
    minx, miny, maxx, maxy = bbox
    if minx > maxx:
        return [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
    return [bbox]


def bbox_geometry(bbox: BBox) -> Geometry:
    """The area of a CRS84 bbox for exact tests (degenerate boxes become lines or points)."""
    parts = []
    for minx, miny, maxx, maxy in split_bbox(bbox):
        if minx == maxx and miny == maxy:
            parts.append(shapely.Point(minx, miny))
        elif minx == maxx or miny == maxy:
            parts.append(shapely.LineString([(minx, miny), (maxx, maxy)]))
        else:
            parts.append(shapely.box(minx, miny, maxx, maxy))
    return parts[0] if len(parts) == 1 else shapely.GeometryCollection(parts)


def _ring(bbox: BBox, per_edge: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = bbox
    t = np.linspace(0.0, 1.0, per_edge)[:-1]
    xs = np.concatenate([minx + (maxx - minx) * t, np.full_like(t, maxx)])
    xs = np.concatenate([xs, maxx - (maxx - minx) * t, np.full_like(t, minx)])
    ys = np.concatenate([np.full_like(t, miny), miny + (maxy - miny) * t])
    ys = np.concatenate([ys, np.full_like(t, maxy), maxy - (maxy - miny) * t])
    return xs, ys


def transform_bbox(bbox: BBox, source: str, target: str, per_edge: int = 21) -> BBox | None:
    """Envelope of a box after transforming its densified edges; None if any point fails."""
    xs, ys = _ring(bbox, per_edge)
    x, y = transformer(source, target).transform(xs, ys)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return None
    return (float(x.min()), float(y.min()), float(x.max()), float(y.max()))


def bbox_from_crs84(bbox: BBox, target: str, per_edge: int = 21) -> BBox | None:
    """A CRS84 box (not crossing the antimeridian) as a search envelope in `target`.

    None means the projection cannot bound the box (far outside its area of use, where a
    transverse Mercator folds over): search without the envelope then. The check maps the
    envelope back and requires it to cover the box; a 1 % margin absorbs edge curvature
    (projected targets only).
    """
    env = transform_bbox(bbox, CRS84, target, per_edge)
    if env is None:
        return None
    minx, miny, maxx, maxy = env
    geographic = parse_crs(target).is_geographic
    # lon/lat to lon/lat keeps edges straight (a datum shift bends them by far less than
    # 1e-7°, about a centimetre): no relative margin, which would widen a WFS's answer by
    # every feature in the 1 % strips around the box
    margin = 0.0 if geographic else 0.01
    dx = (maxx - minx) * margin + 1e-9 * max(1.0, abs(maxx)) + (1e-7 if geographic else 0)
    dy = (maxy - miny) * margin + 1e-9 * max(1.0, abs(maxy)) + (1e-7 if geographic else 0)
    env = (minx - dx, miny - dy, maxx + dx, maxy + dy)
    if geographic:
        return env  # lon/lat to lon/lat never folds
    xs, ys = _ring(env, per_edge)
    bx, by = transformer(target, CRS84).transform(xs, ys)
    if not (np.all(np.isfinite(bx)) and np.all(np.isfinite(by))):
        return None
    back = shapely.Polygon(np.column_stack([bx, by]))
    if not back.is_valid or not back.covers(bbox_geometry(bbox)):
        return None
    return env
