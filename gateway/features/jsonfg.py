"""JSON-FG (OGC Features and Geometries JSON 1.0, OGC 21-045) for items and item.

A JSON-FG feature is a GeoJSON feature plus `place`, `time` and `featureType`, so plain
GeoJSON readers keep working: `geometry` stays WGS 84 (CRS84) always, the fallback of the
"jsonfg-plus" profile, and `place` carries the same geometry in the CRS the client asked
for with `crs`, else in the collection's storage CRS, where German cities keep their data
(EPSG:25832/25833). The spec forbids a simple geometry in CRS84 in `place`, so where the
CRS is CRS84 (asked for, or the storage CRS of a federated collection whose members differ)
`place` is null and `geometry` says it all. The CRS of `place` is stated once, as the root
object's `coordRefSys` (/req/core/same-crs).

Heights: positions with a z keep it in both members (the CRS transforms are horizontal), so
a source with 3D coordinates gives 3D geometry and place. Nothing more is claimed: a Prism
needs a vertical CRS, and a height property (a tree's `height_m`) is above ground, in no
vertical CRS, so it stays a property and is no extrusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from connectors.base import CRS84
from gateway.features import crs as crs_part
from gateway.features.crs import CRS84H

if TYPE_CHECKING:
    from gateway.features.views import Collection

JSONFG = "application/vnd.ogc.fg+json"
# Earlier drafts' media types, accepted in Accept as JSON-FG too.
JSONFG_ACCEPTED = (JSONFG, "application/fg+json")
SPEC = "http://www.opengis.net/spec/json-fg-1/1.0/conf"
CORE = f"{SPEC}/core"
TYPES_SCHEMAS = f"{SPEC}/types-schemas"
CLASSES = (CORE, TYPES_SCHEMAS)
PROFILE = "http://www.opengis.net/def/profile/OGC/0/jsonfg-plus"
_DIMENSION = {
    "point": 0,
    "multipoint": 0,
    "linestring": 1,
    "multilinestring": 1,
    "polygon": 2,
    "multipolygon": 2,
}
Feature = dict[str, Any]


def geometry_dimension(geometry_type: str | None) -> int | None:
    """0 points, 1 curves, 2 surfaces; None when the collection mixes or does not say."""
    return _DIMENSION.get((geometry_type or "").lower())


def time_of(value: Any) -> dict[str, str] | None:
    """A temporal property's value as a JSON-FG `time`: a date stays a date, a date-time
    becomes a UTC timestamp ("Z"), anything else is no time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return {"date": value.isoformat()}
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return {"date": date.fromisoformat(text).isoformat()}
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return {"timestamp": moment.isoformat(timespec="auto") + "Z"}


@dataclass(frozen=True)
class JsonFg:
    """How one request's features become JSON-FG: the CRS of `place` (CRS84: no place),
    the feature type, and the property `time` comes from."""

    place_crs: str
    feature_type: str
    temporal_property: str | None
    schema_url: str
    dimension: int | None = None

    @property
    def has_place(self) -> bool:
        return self.place_crs not in (CRS84, CRS84H)

    def root_members(self) -> dict[str, Any]:
        """The members a feature collection (or a single feature) states once."""
        members: dict[str, Any] = {
            "conformsTo": list(CLASSES),
            "featureType": self.feature_type,
            "featureSchema": self.schema_url,
        }
        if self.has_place:
            members["coordRefSys"] = self.place_crs
        return members

    def collection_members(self) -> dict[str, Any]:
        members = self.root_members()
        if self.dimension is not None:
            members["geometryDimension"] = self.dimension
        return members

    def features(self, features: list[Feature], source: list[Feature]) -> list[Feature]:
        """`features` as presented (properties selected, geometry in CRS84 or None);
        `source` the same features with all their properties, for `time`."""
        placed = crs_part.features_to_crs(features, self.place_crs) if self.has_place else features
        out = []
        for shown, where, full in zip(features, placed, source, strict=True):
            props = full.get("properties") or {}
            value = props.get(self.temporal_property) if self.temporal_property else None
            feature: Feature = {"type": "Feature"}
            if "id" in shown:
                feature["id"] = shown["id"]
            feature["featureType"] = self.feature_type
            feature["time"] = time_of(value)
            feature["geometry"] = shown.get("geometry")
            feature["place"] = where.get("geometry") if self.has_place else None
            feature["properties"] = shown.get("properties")
            if "links" in shown:
                feature["links"] = shown["links"]
            out.append(feature)
        return out


def for_request(c: Collection, root: str, crs_given: bool, presentation_crs: str) -> JsonFg:
    """`place` in the CRS the client named with `crs`, else in the storage CRS."""
    profile = getattr(c, "profile", None)
    return JsonFg(
        place_crs=presentation_crs if crs_given else crs_part.storage_crs_uri(c.storage_crs),
        feature_type=profile.id if profile is not None else c.id,
        temporal_property=c.temporal_property,
        schema_url=f"{root}/collections/{c.id}/schema",
        dimension=geometry_dimension(c.geometry_type),
    )


def openapi_schemas(links: dict[str, Any]) -> dict[str, Any]:
    """The JSON-FG documents in the OpenAPI document, in outline: the official JSON
    Schemas check them in the tests."""
    members = {
        "conformsTo": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "featureType": {"type": "string"},
        "featureSchema": {"type": "string"},
        "coordRefSys": {"type": "string"},
    }
    feature = {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "featureType": {"type": "string"},
        "time": {"type": "object", "nullable": True},
        "geometry": {"type": "object", "nullable": True},
        "place": {"type": "object", "nullable": True},
        "properties": {"type": "object", "nullable": True},
        "links": links,
    }
    return {
        "featureJSONFG": {
            "type": "object",
            "required": ["type", "conformsTo", "geometry", "properties"],
            "properties": {**feature, **members},
        },
        "featureCollectionJSONFG": {
            "type": "object",
            "required": ["type", "conformsTo", "features"],
            "properties": {
                **members,
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "geometryDimension": {"type": "integer", "minimum": 0, "maximum": 3},
                "features": {
                    "type": "array",
                    "items": {"type": "object", "properties": feature},
                },
                "links": links,
                "timeStamp": {"type": "string", "format": "date-time"},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
            },
        },
    }
