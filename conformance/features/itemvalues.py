"""Values the suite reads off a collection's own items to build queries whose right answer
it can compute: a test box over part of the data and the property that carries time.
The items, params, results, temporal, paging, CRS and filter checks share them, so they
live apart from any one of those check modules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from conformance.context import Test
from conformance.features import api
from conformance.features.names import F3, JSON, SCHEMA_JSON
from conformance.geo import as_shape, bbox_shape, positions
from conformance.model import CheckSkipped
from conformance.timeutil import value_span


def number(v: float) -> str:
    """A coordinate as a client writes it (1 rather than 1.0)."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def bbox_param(bbox: list[float]) -> str:
    return ",".join(number(v) for v in bbox)


@dataclass(frozen=True)
class Box:
    """A test box in CRS84, with the `bbox` parameter that asks for it."""

    bbox: list[float]

    @property
    def param(self) -> str:
        return bbox_param(self.bbox)


def _between(values: list[float], fraction: float) -> float | None:
    """A value between two neighbouring distinct values near the given quantile."""
    distinct = sorted(set(values))
    if len(distinct) < 2:
        return None
    i = min(max(int(len(distinct) * fraction), 1), len(distinct) - 1)
    return (distinct[i - 1] + distinct[i]) / 2


async def quadrant_box(t: Test) -> Box | None:
    """A box over the south-west part of the items, its inner edges between coordinates."""
    everything = await api.all_items(t, t.collection)
    xs, ys = [], []
    for f in everything.features:
        for p in positions(f.get("geometry")):
            xs.append(p[0])
            ys.append(p[1])
    x, y = _between(xs, 0.5), _between(ys, 0.5)
    if x is None or y is None:
        return None
    west, south = max(min(xs) - 0.01, -180.0), max(min(ys) - 0.01, -90.0)
    return Box([round(west, 6), round(south, 6), x, y])


def inside(f: dict[str, Any], box: Box) -> bool:
    """Whether `f` belongs in the answer to `box`: what the suite expects a server to return."""
    if f.get("geometry") is None:
        return False  # "only features that have a spatial geometry that intersects" (A)
    shape = as_shape(f["geometry"])
    return shape is not None and shape.intersects(bbox_shape(box.bbox))


async def _queryable_instant(t: Test) -> str | None:
    if f"{F3}/conf/queryables" not in await api.declared(t):
        return None
    url = api.collection_url(t, t.collection) + "/queryables"
    got = await t.get(url, accept=f"{SCHEMA_JSON}, {JSON};q=0.9", cache=True)
    if got.status != 200:
        return None
    props = got.json_object().get("properties") or {}
    for name, schema in props.items():
        if isinstance(schema, dict) and schema.get("x-ogc-role") == "primary-instant":
            return name
    return None


def _temporal_candidates(features: list[dict[str, Any]]) -> list[str]:
    counts: Counter[str] = Counter()
    bad: set[str] = set()
    for f in features:
        for name, value in (f.get("properties") or {}).items():
            if value is None:
                continue
            if value_span(value) is None:
                bad.add(name)
            else:
                counts[name] += 1
    return [n for n in counts if n not in bad]


async def temporal_property(t: Test, features: list[dict[str, Any]]) -> str:
    """The property that carries time: the queryable with x-ogc-role primary-instant, else
    the one property whose values are all dates or date-times (else the check is skipped)."""
    name = await _queryable_instant(t)
    if name:
        return name
    candidates = _temporal_candidates(features)
    if len(candidates) != 1:
        found = ", ".join(candidates) or "none"
        raise CheckSkipped(f"cannot tell which property is the temporal one (candidates: {found})")
    return candidates[0]
