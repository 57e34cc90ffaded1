"""OGC API – Features Part 2 (CRS by reference): which CRS a collection offers, and moving
a page of features or a bbox between CRS84 and those.

Only URIs from a collection's own list are accepted: a client string never reaches pyproj's
free-form parser. Axis order follows the CRS definition (EPSG:4326 is latitude first), as
Part 2 requires; CRS84 and the projected CRSs here are easting/longitude first.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import Transformer

from connectors.base import CRS84
from connectors.crs import EPSG_URI, crs_uri
from gateway.errors import InvalidParameter
from gateway.query.model import BBox

CRS84H = "http://www.opengis.net/def/crs/OGC/0/CRS84h"
OFFERED = [CRS84, f"{EPSG_URI}4326", f"{EPSG_URI}3857", f"{EPSG_URI}25832", f"{EPSG_URI}25833"]
Feature = dict[str, Any]


def storage_crs_uri(storage_crs: str) -> str:
    try:
        return crs_uri(storage_crs)
    except ValueError:
        return CRS84


def collection_crs(storage_crs: str) -> list[str]:
    """CRS84 first (the default), then the common ones, then the storage CRS if different."""
    offered = list(OFFERED)
    storage = storage_crs_uri(storage_crs)
    if storage not in offered:
        offered.append(storage)
    return offered


def parse_crs(value: str | None, offered: list[str], parameter: str = "crs") -> str:
    if value is None:
        return CRS84
    text = value.strip().strip("<>").strip("[]")
    if text.startswith("https://"):
        text = "http://" + text.removeprefix("https://")
    if text.upper().startswith("EPSG:"):
        text = f"{EPSG_URI}{text[5:]}"
    if text in offered:
        return text
    raise InvalidParameter(parameter, f"'{value}' is not offered; use one of: {', '.join(offered)}")


@lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> Transformer:
    """Authority axis order on both sides (always_xy=False): lat/lon for EPSG:4326."""
    return Transformer.from_crs(_pyproj_name(source), _pyproj_name(target), always_xy=False)


def _pyproj_name(uri: str) -> str:
    if uri == CRS84:
        return "OGC:CRS84"
    return f"EPSG:{uri.removeprefix(EPSG_URI)}"


def bbox_to_crs84(bbox: BBox, bbox_crs: str) -> BBox:
    """A bbox given in `bbox_crs` axis order, as a CRS84 box (densified edges)."""
    if bbox_crs == CRS84:
        return bbox
    minx, miny, maxx, maxy = _transformer(bbox_crs, CRS84).transform_bounds(*bbox, densify_pts=21)
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        raise InvalidParameter("bbox", "the box lies outside the area of its bbox-crs")
    return (max(minx, -180.0), max(miny, -90.0), min(maxx, 180.0), min(maxy, 90.0))


def bbox_area_crs84(bbox: BBox, bbox_crs: str, points_per_edge: int = 21) -> shapely.Polygon:
    """The exact area of a bbox given in another CRS, as a CRS84 polygon: its edges are
    densified before the transform, because a box in EPSG:25832 is no box in CRS84."""
    minx, miny, maxx, maxy = bbox
    steps = np.linspace(0.0, 1.0, points_per_edge)
    xs = np.concatenate(
        [
            minx + (maxx - minx) * steps,
            np.full_like(steps, maxx),
            maxx - (maxx - minx) * steps,
            np.full_like(steps, minx),
        ]
    )
    ys = np.concatenate(
        [
            np.full_like(steps, miny),
            miny + (maxy - miny) * steps,
            np.full_like(steps, maxy),
            maxy - (maxy - miny) * steps,
        ]
    )
    lon, lat = _transformer(bbox_crs, CRS84).transform(xs, ys)
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise InvalidParameter("bbox", "the box lies outside the area of its bbox-crs")
    return shapely.Polygon(np.column_stack([lon, lat]))


def _collect(coords: Any, out: list[tuple[float, float]]) -> None:
    if coords and isinstance(coords[0], int | float):
        out.append((coords[0], coords[1]))
    else:
        for part in coords:
            _collect(part, out)


def _rebuild(coords: Any, xs: np.ndarray, ys: np.ndarray, at: list[int], digits: int) -> Any:
    if coords and isinstance(coords[0], int | float):
        i = at[0]
        at[0] += 1
        return [round(float(xs[i]), digits), round(float(ys[i]), digits), *coords[2:]]
    return [_rebuild(part, xs, ys, at, digits) for part in coords]


def _geometries(geometry: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not geometry:
        return []
    if geometry.get("type") == "GeometryCollection":
        return [g for member in geometry.get("geometries", []) for g in _geometries(member)]
    return [geometry]


def features_to_crs(features: list[Feature], target: str) -> list[Feature]:
    """The page in `target`: one pyproj call for all coordinates of all features."""
    if target == CRS84 or not features:
        return features
    points: list[tuple[float, float]] = []
    for feature in features:
        for geometry in _geometries(feature.get("geometry")):
            _collect(geometry.get("coordinates") or [], points)
    if not points:
        return features
    lon, lat = np.array(points, dtype=float).T
    xs, ys = _transformer(CRS84, target).transform(lon, lat)
    digits = 7 if target == f"{EPSG_URI}4326" else 3
    at = [0]
    return [{**f, "geometry": _moved(f.get("geometry"), xs, ys, at, digits)} for f in features]


def _moved(
    geometry: dict[str, Any] | None, xs: np.ndarray, ys: np.ndarray, at: list[int], digits: int
) -> dict[str, Any] | None:
    if not geometry:
        return geometry
    if geometry.get("type") == "GeometryCollection":
        members = [_moved(g, xs, ys, at, digits) for g in geometry.get("geometries", [])]
        return {**geometry, "geometries": members}
    coordinates = _rebuild(geometry.get("coordinates") or [], xs, ys, at, digits)
    return {**geometry, "coordinates": coordinates}


def geometry_to_crs84(geometry: dict[str, Any], source: str) -> dict[str, Any]:
    """A GeoJSON geometry given in `source` (a URI from a collection's list, in its axis
    order), in CRS84: what a write in `Content-Crs` stores."""
    if source == CRS84:
        return geometry
    to84 = _transformer(source, CRS84)

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = to84.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y, *coords.T[2:]])

    shape = shapely.transform(shapely.from_geojson(orjson.dumps(geometry)), move, include_z=None)
    moved: dict[str, Any] = orjson.loads(shapely.to_geojson(shape))
    return moved
