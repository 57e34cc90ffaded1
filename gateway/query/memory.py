"""In-memory evaluation over mapped features, with a spatial index.

File sources are mapped once and indexed here, so a request costs an R-tree lookup and a
slice, not a parse. The same evaluation (`matches`) is the reference the pushdown paths are
tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import shapely
from shapely import STRtree
from shapely.geometry import box

from gateway.query.model import BBox, Interval, Page, Query
from gateway.query.temporal import value_span

Feature = dict[str, Any]


def bbox_boxes(bbox: BBox) -> list[shapely.Geometry]:
    """One box, or two when the bbox crosses the antimeridian (minx > maxx)."""
    minx, miny, maxx, maxy = bbox
    if minx <= maxx:
        return [box(minx, miny, maxx, maxy)]
    return [box(minx, miny, 180.0, maxy), box(-180.0, miny, maxx, maxy)]


def geometry_of(feature: Feature) -> shapely.Geometry | None:
    geometry = feature.get("geometry")
    if not geometry:
        return None
    try:
        return shapely.geometry.shape(geometry)
    except (ValueError, TypeError, AttributeError, KeyError):
        return None


class MemoryIndex:
    def __init__(self, features: list[Feature], temporal_property: str | None) -> None:
        self.features = features
        self.temporal_property = temporal_property
        geometries = [geometry_of(f) for f in features]
        self._with_geometry = [i for i, g in enumerate(geometries) if g is not None]
        self._tree = STRtree([geometries[i] for i in self._with_geometry])
        self._spans = [self._span(f) for f in features]
        self._by_id = {str(f["id"]): f for f in features}
        valid = [g for g in geometries if g is not None]
        self.bbox: BBox | None = (
            tuple(shapely.total_bounds(valid).tolist()) if valid else None  # type: ignore[assignment]
        )
        spans = [s for s in self._spans if s is not None]
        self.temporal_extent: tuple[datetime, datetime] | None = (
            (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
        )

    def _span(self, feature: Feature) -> tuple[datetime, datetime] | None:
        if not self.temporal_property:
            return None
        return value_span(feature["properties"].get(self.temporal_property))

    def get(self, feature_id: str) -> Feature | None:
        return self._by_id.get(feature_id)

    def select(self, bbox: BBox | None, interval: Interval | None) -> Sequence[int]:
        """Indices of the matching features, in source order."""
        selected: Sequence[int] = range(len(self.features))
        if bbox is not None:
            hits: set[int] = set()
            for b in bbox_boxes(bbox):
                hits.update(self._tree.query(b, predicate="intersects").tolist())
            selected = sorted(self._with_geometry[h] for h in hits)
        if interval is not None:
            spans = self._spans
            selected = [
                i for i in selected if spans[i] is not None and interval.intersects(*spans[i])
            ]
        return selected

    def page(self, query: Query) -> Page:
        selected = self.select(query.bbox, query.datetime)
        end = query.offset + query.limit
        chunk = selected[query.offset : end]
        return Page(
            features=[self.features[i] for i in chunk],
            number_matched=len(selected),
            has_next=end < len(selected),
        )


def matches(feature: Feature, query: Query, temporal_property: str | None) -> bool:
    """The reference evaluation of one mapped feature against a query's filters."""
    if query.bbox is not None:
        geometry = geometry_of(feature)
        if geometry is None or not any(geometry.intersects(b) for b in bbox_boxes(query.bbox)):
            return False
    if query.datetime is not None:
        value = feature["properties"].get(temporal_property) if temporal_property else None
        span = value_span(value)
        if span is None or not query.datetime.intersects(*span):
            return False
    return True
