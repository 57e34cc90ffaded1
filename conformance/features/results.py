"""Result sets and extents checked against every item of the collection (beyond OGC's ETS,
which only looks at the features a bbox request returned, never at the ones it left out)."""

from __future__ import annotations

from typing import Any

from conformance.context import Problems, Test
from conformance.features import api
from conformance.features import links as L
from conformance.features.collections import FC_MD_ITEMS_LINKS
from conformance.features.itemvalues import inside, quadrant_box, temporal_property
from conformance.features.names import core
from conformance.features.params import FC_BBOX_RESPONSE
from conformance.geo import positions
from conformance.model import CheckSkipped
from conformance.registry import FEATURES, check
from conformance.timeutil import parse_rfc3339, value_span

FC_MD_EXTENT = core(
    "fc-md-extent",
    "The extent SHALL include all spatial geometries and all temporal geometries of the collection",
)
TOLERANCE = 1e-5  # degrees (about a metre): extents are often rounded


@check(
    FC_BBOX_RESPONSE,
    "core/fc-bbox-response-complete",
    "bbox returns exactly the features that intersect it (none missing, none extra)",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def bbox_complete(t: Test) -> str:
    everything = await api.all_items(t, t.collection)
    everything.require_complete("bbox completeness needs every item")
    if any("id" not in f for f in everything.features):
        raise CheckSkipped("items carry no id, so result sets cannot be compared")
    box = await quadrant_box(t)
    if box is None:
        raise CheckSkipped("the items have too few distinct coordinates for a test box")
    got = await api.all_items(t, t.collection, {"bbox": box.param})
    got.require_complete(f"bbox={box.param}")
    expected = {str(f["id"]) for f in everything.features if inside(f, box)}
    ids = {str(f.get("id")) for f in got.features}
    found = Problems()
    for fid in sorted(expected - ids):
        found.add(f"{fid} intersects but is missing")
    for fid in sorted(ids - expected):
        found.add(f"{fid} does not intersect but was returned")
    found.raise_if_any(f"bbox={box.param} ({len(expected)} expected, {len(ids)} returned)")
    return f"bbox={box.param}: all {len(expected)} intersecting features, nothing else"


def _temporal_problems(t: Test, entry: dict[str, Any], features: list, prop: str) -> list[str]:
    try:
        begin, end = entry["extent"]["temporal"]["interval"][0]
    except (KeyError, IndexError, TypeError, ValueError):
        return []
    lo, hi = parse_rfc3339(begin), parse_rfc3339(end)
    found = []
    for f in features:
        span = value_span((f.get("properties") or {}).get(prop))
        if span is None:
            continue
        if (lo and span[0] < lo) or (hi and span[0] > hi):
            found.append(
                f"{f.get('id')}: {prop}={f['properties'][prop]} is outside [{begin}, {end}]"
            )
    return found


@check(
    FC_MD_EXTENT,
    "core/fc-md-extent",
    "every item lies inside the collection's spatial and temporal extent",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def extent_holds_items(t: Test) -> str:
    entry = await api.collection_entry(t, t.collection)
    everything = await api.all_items(t, t.collection)
    everything.require_complete("the extent check needs every item")
    found = Problems()
    try:
        bbox = entry["extent"]["spatial"]["bbox"][0]
        minx, miny, maxx, maxy = (bbox[0], bbox[1], bbox[-2], bbox[-1])
    except (KeyError, IndexError, TypeError, ValueError):
        bbox = None
    if bbox is not None:
        crosses = minx > maxx
        for f in everything.features:
            for p in positions(f.get("geometry")):
                x_ok = (
                    (p[0] >= minx - TOLERANCE or p[0] <= maxx + TOLERANCE)
                    if crosses
                    else (minx - TOLERANCE <= p[0] <= maxx + TOLERANCE)
                )
                if not (x_ok and miny - TOLERANCE <= p[1] <= maxy + TOLERANCE):
                    found.add(f"{f.get('id')}: position {p[:2]} is outside the extent {bbox}")
                    break
    try:
        prop = await temporal_property(t, everything.features)
    except CheckSkipped:
        prop = None
    if prop:
        for problem in _temporal_problems(t, entry, everything.features, prop):
            found.add(problem)
    found.raise_if_any(f"{len(everything.features)} items")
    temporal = f" and '{prop}' values" if prop else ""
    return f"{len(everything.features)} items inside the spatial extent{temporal}"


@check(
    FC_MD_ITEMS_LINKS,
    "core/fc-md-items-links-targets",
    "each collection's items links answer 200 in the announced media type",
    suite=FEATURES,
    per_collection=True,
    beyond_cite=True,
)
async def items_links_resolve(t: Test) -> str:
    entry = await api.collection_entry(t, t.collection)
    base = (await api.collections_fetch(t)).url
    found = Problems()
    links = L.find(L.links_of(entry), "items")
    for link in links:
        got = await t.get(L.resolve(link, base), accept=link.get("type") or "*/*")
        want = L.base_type(link.get("type"))
        found.check(
            got.status == 200 and (not want or got.media_type == want),
            f"{L.describe(link)} answered {got.status} {got.media_type!r}",
        )
    found.raise_if_any()
    return f"{len(links)} items link(s) resolve"
