"""Geometry checks with shapely: missing, empty, or not valid (self-intersecting rings,
too few points, coordinates that are not numbers)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException, ShapelyError
from shapely.geometry import shape
from shapely.validation import explain_validity


class GeometryProblem(StrEnum):
    MISSING = "missing"
    EMPTY = "empty"
    INVALID = "invalid"


def geometry_problem(geometry: Any) -> tuple[GeometryProblem | None, str]:
    """(problem or None, why) for one GeoJSON geometry."""
    if geometry is None:
        return GeometryProblem.MISSING, "no geometry"
    if not isinstance(geometry, dict):
        return GeometryProblem.INVALID, f"not a GeoJSON geometry object: {type(geometry).__name__}"
    try:
        geom = shape(geometry)
    except (
        GEOSException,
        ShapelyError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
    ) as e:
        return GeometryProblem.INVALID, f"not readable as GeoJSON: {type(e).__name__}: {e}"[:200]
    if geom.is_empty:
        return GeometryProblem.EMPTY, "empty geometry"
    if not geom.is_valid:
        return GeometryProblem.INVALID, explain_validity(geom)[:200]
    if not _finite(geom):
        return GeometryProblem.INVALID, "coordinates that are not finite numbers"
    return None, ""


def _finite(geom: shapely.Geometry) -> bool:
    coords = shapely.get_coordinates(geom)
    return bool(np.isfinite(coords).all())
