"""Spatial predicates of the reference evaluation, on shapely geometries.

GEOS decides S_INTERSECTS … S_CONTAINS on the coordinates it is given: the gateway hands it
geometries as stored (moved to CRS84, never rounded; see connectors/crs.py), so shared
boundaries stay shared. S_DWITHIN measures metres in an azimuthal equidistant projection
centred on the second geometry (exact geodesic distance from that centre).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from connectors import filters

Feature = Mapping[str, Any]
GeometryGetter = Callable[[Feature], shapely.Geometry | None]
SPATIAL = {op: getattr(shapely, op[2:]) for op in filters.SPATIAL - {"s_dwithin"}}


def to_geometry(value: Any) -> shapely.Geometry | None:
    """A shapely geometry from a geometry or a GeoJSON dict; None for null, empty, broken."""
    try:
        geometry = value if isinstance(value, shapely.Geometry) else shapely.geometry.shape(value)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.ShapelyError):
        return None
    return None if geometry.is_empty else geometry


def geometry_getter() -> GeometryGetter:
    """Reads `feature["geometry"]` once per feature: the last feature's shape is kept, which
    is all a predicate with several spatial terms needs."""
    last: list[Any] = [None, None]

    def get(feature: Feature) -> shapely.Geometry | None:
        if feature is not last[0]:
            last[0], last[1] = feature, to_geometry(feature.get("geometry"))
        return last[1]

    return get


def spatial(op: str, a: Any, b: Any) -> bool | None:
    a, b = to_geometry(a), to_geometry(b)
    if a is None or b is None:
        return None
    try:
        return bool(SPATIAL[op](a, b))
    except shapely.errors.ShapelyError:
        return None


@lru_cache(maxsize=64)
def _aeqd(lon: float, lat: float) -> Transformer:
    proj = f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +datum=WGS84 +units=m"
    return Transformer.from_crs("OGC:CRS84", proj, always_xy=True)


def distance_to(b: Any) -> Callable[[Any], float | None]:
    """Metres from a geometry to `b`, measured in the projection centred on `b` (b is
    projected once, so a literal costs one transform per feature, not two)."""
    b = to_geometry(b)
    if b is None:
        return lambda a: None
    centre = b.centroid
    to_metres = _aeqd(centre.x, centre.y)

    def project(xy: Any) -> Any:
        return np.column_stack(to_metres.transform(xy[:, 0], xy[:, 1]))

    try:
        target = shapely.transform(b, project)
    except shapely.errors.ShapelyError:
        return lambda a: None
    shapely.prepare(target)

    def measure(a: Any) -> float | None:
        a = to_geometry(a)
        if a is None:
            return None
        try:
            if isinstance(a, shapely.Point):  # most features: one pyproj call on two floats
                return float(shapely.distance(shapely.Point(to_metres.transform(a.x, a.y)), target))
            return float(shapely.distance(shapely.transform(a, project), target))
        except shapely.errors.ShapelyError:
            return None

    return measure


__all__ = ["SPATIAL", "GeometryGetter", "distance_to", "geometry_getter", "spatial", "to_geometry"]
