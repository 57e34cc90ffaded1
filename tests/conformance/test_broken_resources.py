"""More Part 1 checks shown able to fail: resources that answer errors, and paging, extent
and API-definition faults (same method as test_broken_features)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conformance import breakers as B
from tests.conformance import features_breakage as X
from tests.conformance.conftest import PART1, LoopThread, explain, flagged, run_suite

ITEMS = X.ITEMS

CASES: list[tuple[str, Callable[[Any], Any], set[str]]] = [
    (
        "landing page answers 500",
        lambda a: B.set_status(a, X.on(r"^/$"), 500),
        {"core/root-op"},
    ),
    (
        "/conformance answers 500",
        lambda a: B.set_status(a, X.on(r"^/conformance$"), 500),
        {"core/conformance-op", "core/conformance-success", "core/root-success-targets"},
    ),
    (
        "/collections answers 500",
        lambda a: B.set_status(a, X.on(r"^/collections$"), 500),
        {"core/fc-md-op", "core/fc-md-success", "core/root-success-targets", "oas30/oas-impl"},
    ),
    (
        "collection title is a number",
        lambda a: B.rewrite_json(
            a, B.on_path(r"^/collections(/[^/]+)?$"), X.collection_title_number
        ),
        {"core/fc-md-success"},
    ),
    (
        "/collections lists no collection",
        lambda a: B.rewrite_json(
            a, B.on_path(r"^/collections$"), lambda d, s: {**d, "collections": []}
        ),
        {"core/fc-md-items"},
    ),
    (
        "/collections crs list starts with EPSG:4326",
        lambda a: B.rewrite_json(
            a,
            B.on_path(r"^/collections$"),
            lambda d, s: {
                **d,
                "crs": ["http://www.opengis.net/def/crs/EPSG/0/4326", *d.get("crs", [])],
            },
        ),
        {"core/collections-crs-default"},
    ),
    (
        "collection answers 500",
        lambda a: B.set_status(a, X.on(r"^/collections/[^/]+$"), 500),
        {
            "core/sfc-md-op",
            "core/sfc-md-success",
            "core/f-links-targets",
            "core/fc-links-targets",
            "oas30/oas-impl",
        },
    ),
    (
        "first items page answers 500",
        lambda a: B.set_status(a, X.first_items_page, 500),
        {"core/fc-op", "oas30/oas-impl"},
    ),
    # A FeatureCollection of another type breaks Part 1 core and the GeoJSON class alike.
    (
        "items are not of type FeatureCollection",
        lambda a: B.rewrite_json(a, B.on_path(ITEMS), lambda d, s: {**d, "type": "Collection"}),
        {"core/fc-response", "geojson/content"},
    ),
    (
        "items without alternate links",
        lambda a: B.rewrite_json(a, X.on(ITEMS), B.drop_links("alternate")),
        {"core/fc-links"},
    ),
    (
        "items link to their collection without type",
        lambda a: B.rewrite_json(
            a, X.on(ITEMS), B.edit_links("collection", lambda x: x.pop("type"))
        ),
        {"core/fc-rel-type"},
    ),
    (
        "feature answers 404",
        lambda a: B.set_status(a, X.feature_url, 404),
        {"core/f-op", "core/f-success", "oas30/oas-impl"},
    ),
    (
        "feature answers 500",
        lambda a: B.set_status(a, X.feature_url, 500),
        {"core/f-success", "oas30/oas-impl"},
    ),
    (
        "API definition lists a path the server lacks",
        lambda a: B.rewrite_json(a, B.on_path(r"^/api$"), X.api(X.extra_api_path)),
        {"oas30/oas-impl"},
    ),
    (
        "next pages overlap by one feature",
        lambda a: B.rewrite_json(a, X.paged, X.with_offset_step(1)),
        {"core/fc-next-2"},
    ),
    (
        "next pages larger than the first",
        lambda a: B.rewrite_json(a, X.paged, X.bigger_next_pages),
        {"core/fc-next-3"},
    ),
    (
        "limit above the maximum answered 400",
        X.reject_large_limit,
        {"core/fc-limit-response-above-maximum"},
    ),
    ("datetime intervals answered 400", X.reject_intervals, {"core/fc-time-response"}),
    (
        "extent smaller than the data",
        lambda a: B.rewrite_json(a, B.on_path(r"^/collections(/[^/]+)?$"), X.shrink_extent),
        {"core/fc-md-extent"},
    ),
    (
        "API documentation page answers 404",
        lambda a: B.set_status(a, B.on_path(r"^/api\.html$"), 404),
        {"core/api-definition-op"},
    ),
]


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_suite_flags_exactly_the_broken_requirement(
    loop_thread: LoopThread,
    demo_app: Any,
    baseline: set[str],
    name: str,
    breaker,
    expected,
):
    report = run_suite(loop_thread, breaker(demo_app), checks=PART1)
    assert flagged(report) - baseline == expected - baseline, f"{name}:\n{explain(report)}"
