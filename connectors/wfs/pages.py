"""One GetFeature answer read into records: GeoJSON whole, GML as it arrives.

Whatever the status, an `ows:ExceptionReport` is the upstream saying no: a SourceError
carrying its exceptionText (cut short), never retried as another query. A body that is
neither the asked format nor an exception report, or that does not parse, is a SourceError
too (502). Geometries are moved to CRS84 a batch at a time (one pyproj call per batch).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from lxml import etree

from connectors.base import FieldType, Record
from connectors.crs import to_geojson, transform_geometries
from connectors.errors import SourceError
from connectors.remote.http import HttpStream
from connectors.remote.xml import XMLRejected, ows_exception_text, parse_xml
from connectors.wfs.gml import parse_feature_collection
from connectors.wfs.gmlgeom import srs_axes

BATCH = 500  # features moved to CRS84 per pyproj call


@dataclass(frozen=True)
class Layout:
    """How the answer's features become records."""

    source: str  # the connector's name, for messages
    kind: str  # "geojson" or "gml"
    crs: str  # srsName asked for
    fields: Mapping[str, FieldType]
    geometry_name: str | None
    id_field: str | None
    empty_is_null: bool = False


def upstream_error(source: str, body: bytes, status: int) -> SourceError:
    """The SourceError for an answer that is not features: the exception text when it is an
    OWS exception report, else what the body looks like."""
    text = None
    if body.lstrip()[:1] == b"<":
        try:
            text = ows_exception_text(parse_xml(body))
        except XMLRejected as e:
            return SourceError(f"{source}: the WFS answered {status} with unreadable XML: {e}")
    if text is not None:
        return SourceError(f"{source}: the WFS answered with an exception: {text}")
    return SourceError(f"{source}: the WFS answered {status} with something else than features")


async def records(answer: HttpStream, layout: Layout) -> AsyncIterator[Record]:
    """The page's records in source names, geometries as GeoJSON in CRS84."""
    content_type = answer.headers.get("content-type", "").lower()
    if answer.status >= 400 or "xml" in content_type and layout.kind == "geojson":
        raise upstream_error(layout.source, await answer.read(), answer.status)
    if layout.kind == "gml":  # gml.py moves geometries to CRS84 a batch at a time
        async for record in _gml_features(layout, answer):
            yield _finish(record, record["geometry"], layout)
        return
    features = _geojson_features(layout, await answer.read())
    for start in range(0, len(features), BATCH):
        batch = features[start : start + BATCH]
        geoms = _shapes([r["geometry"] for r in batch])
        moved = to_geojson(transform_geometries(geoms, srs_axes(layout.crs)[0]))
        for record, geometry in zip(batch, moved, strict=True):
            yield _finish(record, geometry, layout)


def _geojson_features(layout: Layout, body: bytes) -> list[Record]:
    try:
        features = orjson.loads(body)["features"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        raise upstream_error(layout.source, body, 200) from e
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        raise SourceError(f"{layout.source}: GeoJSON features that are not objects")
    return [
        {
            "id": f.get("id"),
            "properties": f.get("properties") or {},
            "geometry": None if f.get("geometry") is None else orjson.dumps(f["geometry"]),
        }
        for f in features
    ]


async def _gml_features(layout: Layout, answer: HttpStream) -> AsyncIterator[Record]:
    parsed = parse_feature_collection(
        answer.chunks(),
        fields=layout.fields,
        geometry_name=layout.geometry_name,
        crs=layout.crs,
        empty_is_null=layout.empty_is_null,
    )
    try:
        async for record in parsed:
            yield record
    except SourceError as e:
        raise SourceError(f"{layout.source}: {e}") from e
    except (XMLRejected, etree.XMLSyntaxError) as e:
        raise SourceError(f"{layout.source}: unreadable GML: {e}") from e


def _finish(record: Record, geometry: Any, layout: Layout) -> Record:
    """Properties in schema order (absent ones null), typed alike from GeoJSON and GML."""
    props = record["properties"]
    fields = layout.fields
    properties = {name: _typed(props.get(name), fields[name]) for name in fields}
    if layout.empty_is_null:
        properties = {k: None if v == "" else v for k, v in properties.items()}
    rid = properties.get(layout.id_field) if layout.id_field else record["id"]
    if rid is None:
        raise SourceError(
            f"{layout.source}: a feature without id (set id_field to the property "
            "that identifies features)"
        )
    return {"id": rid, "properties": properties, "geometry": geometry}


def _shapes(geometries: list[bytes | None]) -> Any:
    try:
        return shapely.from_geojson(geometries, on_invalid="raise")
    except shapely.errors.GEOSException as e:
        raise SourceError(f"invalid GeoJSON geometry: {e}") from e


def _typed(value: Any, kind: FieldType) -> Any:
    """GeoJSON numbers stay numbers; a float-valued integer (12.0) becomes int, as in GML."""
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


__all__ = ["BATCH", "Layout", "records", "upstream_error"]
