"""GeoJSON files: a FeatureCollection held in memory, moved to CRS84 on load.

Older files (GeoJSON 2008, QGIS exports of projected layers) name their CRS in a `crs`
member; RFC 7946 files have none and are CRS84. Both are read.
"""

from __future__ import annotations

from typing import Any

import orjson
import shapely.geometry
from pydantic import Field, field_validator

from connectors.base import (
    CRS84,
    ConnectorConfig,
    Description,
    FieldInfo,
    FileConnector,
    Record,
    infer_type,
)
from connectors.crs import crs_uri, extent, geometry_type, to_geojson, transform_geometries


class GeoJSONConnector(FileConnector):
    class Config(ConnectorConfig):
        path: str = Field(description="GeoJSON file, relative to the configuration file.")
        crs: str | None = Field(
            None,
            description="CRS of the coordinates (e.g. EPSG:25832); overrides the file's "
            "`crs` member. Default: the file's `crs` member, else CRS84.",
        )
        id_field: str | None = Field(
            None,
            description="Property holding the feature id. Default: the features' `id` "
            "members when every feature has one, else the 0-based position in the file.",
        )
        encoding: str = Field("utf-8", description="Text encoding of the file.")

        @field_validator("crs")
        @classmethod
        def _known_crs(cls, value: str | None) -> str | None:
            if value is not None:
                crs_uri(value)
            return value

    config: Config

    def load(self) -> tuple[Description, list[Record]]:
        path = self.path()
        doc = self._read()
        try:
            source_crs = crs_uri(self.config.crs or _legacy_crs(doc) or CRS84)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        features = doc["features"]
        properties = [_properties(f, i, path) for i, f in enumerate(features)]
        geoms = transform_geometries(
            [_geometry(f, i, path) for i, f in enumerate(features)], source_crs
        )
        ids = self._ids(features, properties)
        records = [
            {"id": fid, "properties": props, "geometry": geom}
            for fid, props, geom in zip(ids, properties, to_geojson(geoms), strict=True)
        ]
        description = Description(
            fields=_fields(properties),
            geometry_type=geometry_type(geoms),
            storage_crs=source_crs,
            bbox=extent(geoms),
            id_field=self.config.id_field,
        )
        return description, records

    def _read(self) -> dict[str, Any]:
        path = self.path()
        try:
            text = path.read_text(encoding=self.config.encoding)
        except FileNotFoundError:
            raise ValueError(f"{path}: GeoJSON file not found") from None
        except OSError as e:
            raise ValueError(f"{path}: cannot read ({e.strerror})") from None
        except (UnicodeDecodeError, LookupError) as e:
            raise ValueError(f"{path}: not {self.config.encoding} text ({e})") from None
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
        if not isinstance(doc.get("features"), list):
            raise ValueError(f"{path}: FeatureCollection has no 'features' array")
        return doc

    def _ids(self, features: list[Any], properties: list[dict[str, Any]]) -> list[Any]:
        """Ids by the configured rule; duplicates are refused since `get()` could not work."""
        path, field = self.path(), self.config.id_field
        if field is not None:
            ids = [p.get(field) for p in properties]
            missing = [i for i, v in enumerate(ids) if v is None]
            if missing:
                raise ValueError(f"{path}: feature {missing[0]} has no id_field '{field}'")
        elif all("id" in f and f["id"] is not None for f in features):
            ids = [f["id"] for f in features]
        else:
            ids = list(range(len(features)))
        seen: set[str] = set()
        for fid in ids:
            if str(fid) in seen:
                raise ValueError(f"{path}: duplicate feature id '{fid}' (set id_field?)")
            seen.add(str(fid))
        return ids


def _legacy_crs(doc: dict[str, Any]) -> str | None:
    """The CRS name of a GeoJSON 2008 `crs` member, e.g. urn:ogc:def:crs:EPSG::25832."""
    member = doc.get("crs")
    if not isinstance(member, dict):
        return None
    props = member.get("properties")
    name = props.get("name") if isinstance(props, dict) else None
    return name if isinstance(name, str) else None


def _properties(feature: Any, index: int, path: object) -> dict[str, Any]:
    if not isinstance(feature, dict):
        raise ValueError(f"{path}: feature {index} is not a JSON object")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise ValueError(f"{path}: feature {index} has properties that are not an object")
    return props


def _geometry(feature: dict[str, Any], index: int, path: object) -> shapely.Geometry | None:
    geom = feature.get("geometry")
    if geom is None:
        return None
    try:
        return shapely.geometry.shape(geom)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as e:
        raise ValueError(f"{path}: feature {index} has an invalid geometry ({e})") from None


def _fields(properties: list[dict[str, Any]]) -> tuple[FieldInfo, ...]:
    names: dict[str, None] = {}
    for props in properties:
        names.update(dict.fromkeys(props))
    return tuple(FieldInfo(name, infer_type(p.get(name) for p in properties)) for name in names)


__all__ = ["GeoJSONConnector"]
