"""The items request: every query parameter of `/collections/{id}/items` parsed into a
neutral Query (what to select) and a Presentation (how to encode what was selected)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.base import CRS84
from connectors.filters import GEOMETRY, Call, Literal, Property
from gateway.config import ServerSettings
from gateway.errors import InvalidParameter, UnknownParameter
from gateway.features import crs as crs_part
from gateway.features.filtering import FILTER_PARAMS, filter_limits, parse_filters
from gateway.features.jsonfg import JsonFg
from gateway.features.params import (
    parse_bbox,
    parse_bool,
    parse_datetime,
    parse_exclude_properties,
    parse_limit,
    parse_offset,
    parse_properties,
    parse_sortby,
)
from gateway.features.views import Collection
from gateway.query.model import Query

ITEMS_PARAMS = (
    "f",
    "limit",
    "offset",
    "cursor",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "sortby",
    "properties",
    "exclude-properties",
    "skipGeometry",
    *FILTER_PARAMS,
)
ITEM_PARAMS = ("f", "crs", "properties", "exclude-properties", "skipGeometry")


# Pages with a larger limit are streamed (GeoJSON/JSON): their memory stays flat however
# large the limit an operator allows; smaller pages take the list path, tuned for speed.
STREAM_ABOVE = 1000
# HTML pages show at most this many features (a table and a map; use f=json for more).
HTML_LIMIT = 1000


@dataclass(frozen=True)
class Presentation:
    crs: str = CRS84
    properties: list[str] | None = None
    skip_geometry: bool = False
    exclude: frozenset[str] = frozenset()
    jsonfg: JsonFg | None = None  # set: the features become JSON-FG features

    @property
    def content_crs(self) -> str:
        """The CRS of the coordinates the client asked for: JSON-FG's are in `place`."""
        return self.jsonfg.place_crs if self.jsonfg is not None else self.crs

    def apply(self, features: list[dict[str, Any]]) -> list[dict[str, Any]]:
        source = features
        if self.properties is not None:
            keep = self.properties
            features = [
                {**f, "properties": {k: f["properties"].get(k) for k in keep}} for f in features
            ]
        elif self.exclude:
            drop = self.exclude
            features = [
                {**f, "properties": {k: v for k, v in f["properties"].items() if k not in drop}}
                for f in features
            ]
        if self.skip_geometry or GEOMETRY in self.exclude:
            features = [{**f, "geometry": None} for f in features]
        if self.jsonfg is not None:
            return self.jsonfg.features(features, source)
        if self.skip_geometry or GEOMETRY in self.exclude:
            return features
        return crs_part.features_to_crs(features, self.crs)


def split_values(values: dict[str, str], c: Collection) -> tuple[dict[str, str], dict[str, str]]:
    """Standard parameters, and queryables given as parameters (`?genus=Tilia`)."""
    standard, by_queryable = {}, {}
    queryables = set(c.queryables())
    for name, value in values.items():
        if name in ITEMS_PARAMS:
            standard[name] = value
        elif name in queryables:
            by_queryable[name] = value
        else:
            raise UnknownParameter(name)
    return standard, by_queryable


def items_request(
    values: dict[str, str], c: Collection, settings: ServerSettings, body: Any = None
) -> tuple[Query, Presentation]:
    standard, by_queryable = split_values(values, c)
    offered = crs_part.collection_crs(c.storage_crs)
    bbox_crs = crs_part.parse_crs(standard.get("bbox-crs"), offered, "bbox-crs")
    bbox = parse_bbox(standard.get("bbox"), geographic=bbox_crs == CRS84)
    fields = c.fields()
    queryables = {n: fields[n] for n in c.queryables()}
    limits = filter_limits(settings.query)
    filter_ = parse_filters(standard, by_queryable, queryables, body, limits)
    if bbox is not None and bbox_crs != CRS84:
        # The CRS84 envelope selects candidates; the exact area is a filter term.
        area = crs_part.bbox_area_crs84(bbox, bbox_crs)
        exact = Call("s_intersects", (Property(GEOMETRY), Literal(area)))
        filter_ = exact if filter_ is None else Call("and", (exact, filter_))
        bbox = crs_part.bbox_to_crs84(bbox, bbox_crs)
    if "cursor" in standard and "offset" in standard:
        raise InvalidParameter("cursor", "give offset or cursor, not both")
    query = Query(
        limit=parse_limit(standard.get("limit"), settings.default_limit, settings.max_limit),
        offset=parse_offset(standard.get("offset")),
        bbox=bbox,
        datetime=parse_datetime(standard.get("datetime")),
        filter=filter_,
        sortby=parse_sortby(standard.get("sortby"), c.sortables()),
    )
    return query, item_presentation(standard, c)


def item_presentation(values: dict[str, str], c: Collection) -> Presentation:
    """crs, properties, exclude-properties and skipGeometry: how items are shown."""
    fields = c.fields()
    return Presentation(
        crs=crs_part.parse_crs(values.get("crs"), crs_part.collection_crs(c.storage_crs)),
        properties=parse_properties(values.get("properties"), fields),
        skip_geometry=parse_bool(values.get("skipGeometry"), "skipGeometry"),
        exclude=parse_exclude_properties(
            values.get("exclude-properties"), fields, values.get("properties")
        ),
    )
