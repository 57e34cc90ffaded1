"""A record's location, read from where the API keeps it: a GeoJSON object, lon/lat numbers
or a WKT text, in the configured CRS, and returned as GeoJSON in CRS84.

One page is transformed at once (connectors/crs.py is vectorised). A value that is not a
geometry (a string where a number belongs, broken WKT, an object without coordinates)
leaves that record without a geometry; it never fails the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from connectors import paths
from connectors.crs import is_crs84, to_geojson, transform_geometries
from connectors.rest.config import Geometry

_GEOJSON_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)


class GeometryReader:
    def __init__(self, config: Geometry) -> None:
        self.config = config
        self.crs84 = is_crs84(config.crs)
        parse = paths.parse
        self._geojson = parse(config.geojson) if config.geojson else None
        self._lon = parse(config.lon) if config.lon else None
        self._lat = parse(config.lat) if config.lat else None
        self._wkt = parse(config.wkt) if config.wkt else None
        self._drop = config.paths

    @property
    def enabled(self) -> bool:
        return bool(self._drop)

    @property
    def field(self) -> str:
        """The geometry's source field(s), as data-quality reports name them."""
        return ",".join(self._drop)

    def present(self, item: dict[str, Any]) -> bool:
        """Does the item hold anything where its location belongs?"""
        return any(paths.get(item, paths.parse(p)) is not None for p in self._drop)

    def read(self, items: Sequence[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """GeoJSON geometries in CRS84 of a page's items (None where there is none)."""
        if not self._drop:
            return [None] * len(items)
        if self._geojson is not None:
            found = [_geojson(paths.get(item, self._geojson)) for item in items]
            if self.crs84:
                return found
            return self._transformed([_shape(g) for g in found])
        if self._lon is not None and self._lat is not None:
            xy = [
                (_number(paths.get(i, self._lon)), _number(paths.get(i, self._lat))) for i in items
            ]
            if self.crs84:
                return [
                    None if x is None or y is None else {"type": "Point", "coordinates": [x, y]}
                    for x, y in xy
                ]
            points = [None if x is None or y is None else shapely.Point(x, y) for x, y in xy]
            return self._transformed(points)
        texts = [paths.get(item, self._wkt) for item in items]  # type: ignore[arg-type]
        texts = [t if isinstance(t, str) and t.strip() else None for t in texts]
        geoms = shapely.from_wkt(np.array(texts, dtype=object), on_invalid="ignore")
        if self.crs84:
            return to_geojson(np.asarray(geoms, dtype=object))
        return self._transformed(list(geoms))

    def strip(self, props: dict[str, Any]) -> dict[str, Any]:
        """The flattened properties without the geometry's own fields."""
        if not self._drop:
            return props
        return {k: v for k, v in props.items() if not _under(k, self._drop)}

    def _transformed(self, geoms: list[Any]) -> list[dict[str, Any] | None]:
        moved = transform_geometries(np.array(geoms, dtype=object), self.config.crs)
        return to_geojson(moved)


def _under(key: str, roots: tuple[str, ...]) -> bool:
    return any(key == r or key.startswith((r + ".", r + "[")) for r in roots)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _geojson(value: Any) -> dict[str, Any] | None:
    """A GeoJSON geometry object as given, when shapely can read it."""
    if not isinstance(value, dict) or value.get("type") not in _GEOJSON_TYPES:
        return None
    try:
        geom = shape(value)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None
    except shapely.errors.ShapelyError:
        return None
    if geom.is_empty:
        return None
    return value


def _shape(value: dict[str, Any] | None) -> Any:
    return None if value is None else shape(value)


__all__ = ["GeometryReader"]
