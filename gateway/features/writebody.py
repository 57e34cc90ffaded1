"""The body of a write: one GeoJSON Feature (or a merge patch of one), read with the
server's size limit, its media type checked (415), its JSON and shape checked (400), its
geometry moved from the declared `Content-Crs` to CRS84 (a CRS the collection does not
offer is a 400, as Part 2 has it for `crs`)."""

from __future__ import annotations

from typing import Any

import orjson
import shapely
from starlette.requests import Request

from connectors.base import CRS84
from gateway.bodies import read_body
from gateway.errors import InvalidParameter, UnsupportedMediaType
from gateway.features.crs import collection_crs, geometry_to_crs84, parse_crs

GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
FEATURE_MEDIA = (GEOJSON, "application/json")
PATCH_MEDIA = (MERGE_PATCH, *FEATURE_MEDIA)
GEOMETRY_TYPES = {
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
}


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json(request: Request, limit: int, accepted: tuple[str, ...]) -> Any:
    """The parsed body: 415 for another media type, 413 past `limit`, 400 for bad JSON."""
    media = media_type(request)
    if media not in accepted:
        raise UnsupportedMediaType(
            f"the body must be one of {', '.join(accepted)}, not '{media or 'none'}'"
        )
    return parse_json(await read_body(request, limit))


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise InvalidParameter("body", "a feature is required")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidParameter("body", f"not JSON: {e}") from None


def content_crs(request: Request, storage_crs: str) -> str:
    """The CRS of the body's coordinates: `Content-Crs` (one of the collection's), else
    CRS84."""
    value = request.headers.get("content-crs")
    if value is None:
        return CRS84
    return parse_crs(value, collection_crs(storage_crs), "Content-Crs")


def feature(doc: Any, crs: str, *, partial: bool = False) -> dict[str, Any]:
    """A GeoJSON Feature (or, `partial`, a merge patch of one) with its geometry in CRS84."""
    if not isinstance(doc, dict):
        raise InvalidParameter("body", "expected a GeoJSON Feature (a JSON object)")
    if not partial and doc.get("type") != "Feature":
        raise InvalidParameter("body", "expected a GeoJSON Feature: 'type' must be 'Feature'")
    if partial and doc.get("type", "Feature") != "Feature":
        raise InvalidParameter("body", "'type' must be 'Feature' when given")
    props = doc.get("properties")
    if props is not None and not isinstance(props, dict):
        raise InvalidParameter("properties", "must be an object or null")
    fid = doc.get("id")
    if fid is not None and (isinstance(fid, bool) or not isinstance(fid, str | int)):
        raise InvalidParameter("id", "must be a string or an integer")
    out = dict(doc)
    if "geometry" in doc:
        out["geometry"] = geometry(doc["geometry"], crs)
    elif not partial:
        raise InvalidParameter("geometry", "a Feature needs 'geometry' (null when it has none)")
    return out


def geometry(value: Any, crs: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise InvalidParameter("geometry", "not a GeoJSON geometry")
    try:
        shape = shapely.from_geojson(orjson.dumps(value))
    except (shapely.errors.ShapelyError, ValueError, TypeError) as e:
        raise InvalidParameter("geometry", f"not a valid GeoJSON geometry: {e}") from None
    if shape is None or shape.is_empty:
        raise InvalidParameter("geometry", "an empty geometry: send null for none")
    if not shapely.is_valid(shape) and shape.geom_type in ("Polygon", "MultiPolygon"):
        reason = shapely.is_valid_reason(shape)
        raise InvalidParameter("geometry", f"not a valid geometry: {reason}")
    if crs == CRS84:
        _in_range(shape)
        return value
    try:
        moved = geometry_to_crs84(value, crs)
    except (ValueError, TypeError) as e:
        raise InvalidParameter("geometry", f"cannot be moved to CRS84: {e}") from None
    _in_range(shapely.from_geojson(orjson.dumps(moved)))
    return moved


def _in_range(shape: shapely.Geometry) -> None:
    xs = shapely.get_coordinates(shape)
    if xs.size and not (abs(xs[:, 0]) <= 180).all():
        raise InvalidParameter("geometry", "longitudes must lie within -180..180")
    if xs.size and not (abs(xs[:, 1]) <= 90).all():
        raise InvalidParameter("geometry", "latitudes must lie within -90..90")


__all__ = [
    "FEATURE_MEDIA",
    "GEOJSON",
    "MERGE_PATCH",
    "PATCH_MEDIA",
    "content_crs",
    "feature",
    "media_type",
    "parse_json",
    "read_json",
]
