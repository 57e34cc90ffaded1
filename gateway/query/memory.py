"""In-memory evaluation over mapped features, with a spatial index.

File sources are mapped once and indexed here, so a request costs an R-tree lookup and a
slice, not a parse. The same evaluation (`matches`) is the reference the pushdown paths are
tested against. Geometries are kept as shapely objects too, made once: the R-tree and
every spatial predicate use them, as the connector loaded them (never rounded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import shapely
from shapely import STRtree
from shapely.geometry import box

from gateway.query.budget import UNLIMITED, Budget
from gateway.query.model import BBox, Page, Query, SortKey
from gateway.query.sorting import sort_features
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
        self._geometries = geometries
        self._with_geometry = [i for i, g in enumerate(geometries) if g is not None]
        self._tree = STRtree([geometries[i] for i in self._with_geometry])
        self._spans = [self._span(f) for f in features]
        self._by_id = {str(f["id"]): f for f in features}
        self._orders: dict[tuple[SortKey, ...], list[int]] = {}
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

    def select(self, query: Query, budget: Budget = UNLIMITED) -> Sequence[int]:
        """Indices of the matching features: source order, or `sortby` order. The time the
        filter takes counts against `budget` (rows do not: nothing is read per request)."""
        selected: Sequence[int] = range(len(self.features))
        if query.bbox is not None:
            hits: set[int] = set()
            for b in bbox_boxes(query.bbox):
                hits.update(self._tree.query(b, predicate="intersects").tolist())
            selected = sorted(self._with_geometry[h] for h in hits)
        if query.datetime is not None:
            spans, interval = self._spans, query.datetime
            selected = [
                i for i in selected if spans[i] is not None and interval.intersects(*spans[i])
            ]
        if query.filter is not None:
            selected = budget.meter().keep(self._test(query.filter), selected, rows=False)
        if query.sortby:
            keep = set(selected)
            selected = [i for i in self._order(query.sortby) if i in keep]
        return selected

    def _test(self, expr: object) -> Callable[[int], bool]:
        """The filter as a test of feature i, with its geometry already made."""
        features, geometries = self.features, self._geometries
        current: list[shapely.Geometry | None] = [None]
        predicate = compile_predicate(expr, geometry=lambda feature: current[0])

        def test(i: int) -> bool:
            current[0] = geometries[i]
            return predicate(features[i])

        return test

    def _order(self, keys: tuple[SortKey, ...]) -> list[int]:
        """The whole dataset in `keys` order, computed once per key set."""
        order = self._orders.get(keys)
        if order is None:
            positions = {id(f): i for i, f in enumerate(self.features)}
            order = [positions[id(f)] for f in sort_features(self.features, keys)]
            if len(self._orders) > 32:
                self._orders.clear()
            self._orders[keys] = order
        return order

    def page(self, query: Query, budget: Budget = UNLIMITED) -> Page:
        selected = self.select(query, budget)
        end = query.offset + query.limit
        chunk = selected[query.offset : end]
        return Page(
            features=[self.features[i] for i in chunk],
            number_matched=len(selected),
            has_next=end < len(selected),
        )


def compile_predicate(expr: object, **options: Any) -> Callable[[Feature], bool]:
    from gateway.query.evaluate import compile_predicate as compile_expr

    return compile_expr(expr, **options)  # type: ignore[arg-type]


def predicate(query: Query, temporal_property: str | None) -> Callable[[Feature], bool]:
    """The reference evaluation of a query's filters (bbox, datetime, filter) on one mapped
    feature, compiled once per query."""
    boxes = bbox_boxes(query.bbox) if query.bbox is not None else None
    interval = query.datetime
    expr = compile_predicate(query.filter) if query.filter is not None else None

    def test(feature: Feature) -> bool:
        if boxes is not None:
            geometry = geometry_of(feature)
            if geometry is None or not any(geometry.intersects(b) for b in boxes):
                return False
        if interval is not None:
            value = feature["properties"].get(temporal_property) if temporal_property else None
            span = value_span(value)
            if span is None or not interval.intersects(*span):
                return False
        return expr is None or expr(feature)

    return test
