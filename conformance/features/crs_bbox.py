"""Part 2: `bbox-crs` (ETS crs.query.bboxcrs; the exact-result check is beyond the ETS)."""

from __future__ import annotations

from conformance.context import Problems, Test, expect
from conformance.features import api
from conformance.features.crs import (
    BBOX_ACTION,
    BBOX_DEFAULT,
    BBOX_VALID,
    NEEDS,
    _box_in,
    _expected,
    from_crs84,
    other_crs,
)
from conformance.features.itemvalues import bbox_param, quadrant_box
from conformance.features.names import CRS84, GEOJSON, UNSUPPORTED_CRS
from conformance.features.samples import extent_bbox
from conformance.geo import as_shape, bbox_shape
from conformance.model import CheckSkipped
from conformance.registry import FEATURES, check


def _ids(features: list[dict]) -> set[str]:
    return {str(f.get("id")) for f in features}


def _on_a_later_page(features: list[dict], extent: list[float]) -> set[str]:
    """Ids of items inside the CRS84 box, whom a CRS84 request finds on a later page: an
    item on the extent's very edge may fall either side of the transformed box (rounding),
    which shifts one first page against the other. A stranger outside the box stays extra."""
    area = bbox_shape(extent[:4])
    return {
        str(f.get("id"))
        for f in features
        if (g := as_shape(f.get("geometry"))) is not None and g.intersects(area)
    }


@check(
    BBOX_ACTION,
    "crs/fc-bbox-crs-action",
    "bbox given in another CRS answers 200 with features also found in CRS84 (ETS method)",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def bbox_crs_subset(t: Test) -> str:
    uris = await other_crs(t)
    extent = await extent_bbox(t)
    if not uris or extent is None:
        raise CheckSkipped("no CRS besides CRS84 that PROJ knows, or no spatial extent")
    if extent[:4] == [-180.0, -90.0, 180.0, 90.0]:
        extent = [-175.0, -85.0, 175.0, 85.0]  # as the ETS does for projected CRSs
    url = api.items_url(t, t.collection)
    plain = await t.get(url, params={"bbox": bbox_param(extent)}, accept=GEOJSON, cache=True)
    expect(plain.status == 200, f"{plain.url}: status {plain.status}")
    allowed = _ids(api.features_of(plain.json_object()))
    more = api.next_link(plain.json_object(), plain.url) is not None
    found = Problems()
    for uri in uris:
        moved = list(from_crs84(uri).transform_bounds(*extent[:4], densify_pts=21))
        params = {"bbox": bbox_param(moved), "bbox-crs": uri}
        got = await t.get(url, params=params, accept=GEOJSON)
        if not found.check(got.status == 200, f"{got.url}: status {got.status}"):
            continue
        features = api.features_of(got.json_object())
        extra = _ids(features) - allowed
        if more:  # CRS84's later pages may hold them (see _on_a_later_page)
            extra -= _on_a_later_page(features, extent)
        found.check(not extra, f"bbox-crs={uri}: {sorted(extra)[:3]} not found with CRS84")
    found.raise_if_any()
    return f"bbox-crs accepted for {len(uris)} CRS(s), results consistent with CRS84"


@check(
    BBOX_ACTION,
    "crs/fc-bbox-crs-action-exact",
    "bbox in another CRS returns exactly the items intersecting it there",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
    beyond_cite=True,
)
async def bbox_crs_exact(t: Test) -> str:
    everything = await api.all_items(t, t.collection)
    everything.require_complete("bbox-crs results need every item")
    uris = await other_crs(t)
    if not uris:
        raise CheckSkipped("the collection offers no CRS besides CRS84 that PROJ knows")
    found = Problems()
    for uri in uris:
        boxes = await _box_in(t, uri)
        if boxes is None:
            raise CheckSkipped("the items have too few distinct coordinates for a test box")
        projected = boxes[1]
        inside, unsure = _expected(everything.features, uri, projected)
        got = await api.all_items(t, t.collection, {"bbox": bbox_param(projected), "bbox-crs": uri})
        got.require_complete(f"bbox-crs={uri}")
        ids = _ids(got.features)
        for fid in sorted(inside - ids)[:5]:
            found.add(f"bbox-crs={uri}: {fid} intersects but is missing")
        for fid in sorted(ids - inside - unsure)[:5]:
            found.add(f"bbox-crs={uri}: {fid} does not intersect but was returned")
    found.raise_if_any()
    return f"exact results for {len(uris)} CRS(s)"


@check(
    BBOX_VALID,
    "crs/fc-bbox-crs-valid-value",
    "an unsupported bbox-crs answers 400",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def bbox_crs_invalid(t: Test) -> str:
    params = {"bbox": "0,0,1,1", "bbox-crs": UNSUPPORTED_CRS}
    got = await t.get(api.items_url(t, t.collection), params=params, accept=GEOJSON)
    expect(got.status == 400, f"{got.url}: expected 400, got {got.status}")
    return "400 for an unsupported bbox-crs"


@check(
    BBOX_DEFAULT,
    "crs/fc-bbox-crs-valid-default-value",
    "bbox with bbox-crs=CRS84 selects what bbox alone selects",
    suite=FEATURES,
    needs=NEEDS,
    per_collection=True,
)
async def bbox_crs_default(t: Test) -> str:
    quad = await quadrant_box(t)
    if quad is None:
        raise CheckSkipped("the items have too few distinct coordinates for a test box")
    plain = await api.all_items(t, t.collection, {"bbox": quad.param})
    explicit = await api.all_items(t, t.collection, {"bbox": quad.param, "bbox-crs": CRS84})
    expect(
        _ids(plain.features) == _ids(explicit.features),
        f"bbox={quad.param}: {len(plain.features)} items without bbox-crs, "
        f"{len(explicit.features)} with bbox-crs={CRS84}",
    )
    return f"same {len(plain.features)} items either way"
